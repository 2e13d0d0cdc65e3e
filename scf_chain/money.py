"""Money and dates, exactly as the ledger stores them.

Amounts are ``Decimal`` in currency units (CNY) in Python and integers in minor
units (1 = CNY 0.01) on chain. Conversion is exact: an amount with more than two
decimal places is an error, never rounded. Dates are whole days since
1970-01-01 UTC on chain.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

from scf_chain.errors import InvalidAmount

CURRENCY = "CNY"
MINOR_UNITS_PER_UNIT = 100
# Face values are uint64 on chain.
MAX_MINOR_UNITS = 2**64 - 1
EPOCH = date(1970, 1, 1)


def to_minor_units(amount: Decimal | str | int) -> int:
    """Converts an amount in currency units to minor units, exactly; rejects fractions of a fen."""
    try:
        value = Decimal(amount) if not isinstance(amount, Decimal) else amount
    except (InvalidOperation, ValueError) as exc:
        raise InvalidAmount(f"{amount!r} is not a decimal amount") from exc
    if not value.is_finite():
        raise InvalidAmount(f"{amount!r} is not a finite amount")
    minor = value * MINOR_UNITS_PER_UNIT
    if minor != minor.to_integral_value():
        raise InvalidAmount(f"{value} has more than 2 decimal places; amounts are in whole fen (0.01)")
    return int(minor)


def to_positive_minor_units(amount: Decimal | str | int) -> int:
    """Like :func:`to_minor_units`, for a face value or part: positive and within the ledger's range."""
    minor = to_minor_units(amount)
    if minor <= 0:
        raise InvalidAmount(f"{amount} must be positive")
    if minor > MAX_MINOR_UNITS:
        raise InvalidAmount(f"{amount} is beyond the ledger's largest amount, {from_minor_units(MAX_MINOR_UNITS)}")
    return minor


def from_minor_units(minor: int) -> Decimal:
    """Converts minor units to a ``Decimal`` with exactly two places."""
    return (Decimal(minor) / MINOR_UNITS_PER_UNIT).quantize(Decimal("0.01"))


def format_amount(minor: int) -> str:
    """A human-readable amount, for example ``1,000,000.00``."""
    return f"{from_minor_units(minor):,.2f}"


def to_day(value: date) -> int:
    """Days since 1970-01-01, the ledger's date."""
    return (value - EPOCH).days


def from_day(day: int) -> date:
    return date.fromordinal(EPOCH.toordinal() + day)


def today_utc() -> date:
    return datetime.now(UTC).date()
