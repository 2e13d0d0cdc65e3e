"""Money and dates, exactly as the ledger stores them.

Amounts are ``Decimal`` in currency units (CNY) in Python and integers in minor
units (1 = CNY 0.01) on chain. Conversion is exact: an amount with more than two
decimal places is an error, never rounded. Dates are whole days since
1970-01-01 UTC on chain.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal

from scf_chain.domain.errors import InvalidAmount

CURRENCY = "CNY"
MINOR_UNITS_PER_UNIT = 100
# Face values are uint64 on chain.
MAX_MINOR_UNITS = 2**64 - 1
# No amount on chain is wider than uint256: anything larger is refused before any arithmetic.
MAX_LEDGER_MINOR_UNITS = 2**256 - 1
# The one written form of an amount, in the API, the CLI and the docs: digits, then at most two decimals.
AMOUNT_PATTERN = r"^\d+(\.\d{1,2})?$"
# The same digits with an optional minus and any number of decimals, so that "-5.00" and "1.005" are told what
# is wrong with them rather than only that they are malformed; ASCII digits only.
_AMOUNT_TEXT = re.compile(r"(-?)([0-9]+)(?:\.([0-9]+))?")
EPOCH = date(1970, 1, 1)


def to_minor_units(amount: Decimal | str | int) -> int:
    """Converts an amount in currency units to minor units, exactly; rejects fractions of a fen.

    Text must be written as :data:`AMOUNT_PATTERN` says: no exponent, sign, spaces, NaN or Infinity.
    Arithmetic is on integers, so no amount is ever rounded to fit a precision.
    """
    if isinstance(amount, bool):
        raise InvalidAmount(f"{amount!r} is not an amount")
    if isinstance(amount, int):
        return _within_ledger(amount * MINOR_UNITS_PER_UNIT, amount)
    if isinstance(amount, str):
        return _parse_amount(amount)
    if isinstance(amount, Decimal):
        return _decimal_to_minor_units(amount)
    raise InvalidAmount(f"{amount!r} is not an amount")


def _parse_amount(text: str) -> int:
    match = _AMOUNT_TEXT.fullmatch(text)
    if match is None:
        raise InvalidAmount(f"{text!r} is not an amount; write digits with at most two decimals, such as 1250.50")
    sign, whole, fraction = match[1], match[2], match[3] or ""
    if sign:
        raise InvalidAmount(f"{text} is negative; an amount is zero or more")
    if len(fraction) > 2:
        raise InvalidAmount(f"{text} has more than 2 decimal places; amounts are in whole fen (0.01)")
    if len(whole) > len(str(MAX_LEDGER_MINOR_UNITS)):
        raise InvalidAmount(f"{text} is beyond any amount the ledger can hold")
    return _within_ledger(int(whole) * MINOR_UNITS_PER_UNIT + int(fraction.ljust(2, "0")), text)


def _decimal_to_minor_units(value: Decimal) -> int:
    if not value.is_finite():
        raise InvalidAmount(f"{value} is not a finite amount")
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite, checked above
    if not any(digits):
        return 0
    if value.adjusted() >= len(str(MAX_LEDGER_MINOR_UNITS)):
        raise InvalidAmount(f"{value} is beyond any amount the ledger can hold")
    # Trailing zeros past the fen say nothing (Decimal("1.000") is 1.00); any other digit there is a fraction of one.
    kept = list(digits)
    while exponent < -2 and kept[-1] == 0:
        kept.pop()
        exponent += 1
    if exponent < -2:
        raise InvalidAmount(f"{value} has more than 2 decimal places; amounts are in whole fen (0.01)")
    minor = int("".join(map(str, kept))) * 10 ** (exponent + 2)
    return _within_ledger(-minor if sign else minor, value)


def _within_ledger(minor: int, amount: object) -> int:
    if abs(minor) > MAX_LEDGER_MINOR_UNITS:
        raise InvalidAmount(f"{amount} is beyond any amount the ledger can hold")
    return minor


def to_positive_minor_units(amount: Decimal | str | int) -> int:
    """Like :func:`to_minor_units`, for a face value or part: positive and within the ledger's range."""
    minor = to_minor_units(amount)
    if minor <= 0:
        raise InvalidAmount(f"{amount} must be positive")
    if minor > MAX_MINOR_UNITS:
        raise InvalidAmount(f"{amount} is beyond the ledger's largest amount, {from_minor_units(MAX_MINOR_UNITS)}")
    return minor


def from_minor_units(minor: int) -> Decimal:
    """Converts minor units to a ``Decimal`` with exactly two places.

    Built from text, which is exact at any size; division would round past the context's 28 digits.
    """
    units, fen = divmod(abs(minor), MINOR_UNITS_PER_UNIT)
    return Decimal(f"{'-' if minor < 0 else ''}{units}.{fen:02d}")


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
