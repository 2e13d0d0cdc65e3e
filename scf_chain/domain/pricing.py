"""The price of financing, with exactly the settlement desk's integer arithmetic.

A financier buying a certificate before maturity pays its face value less simple
discount interest::

    interest = face * annual_rate * days / day_count

rounded half up to the minor unit (CNY 0.01), where ``days`` runs from today (UTC) to
the maturity day and ``day_count`` is the basis, 360 or 365. On chain the rate is an
integer in units of 1e-8 a year (3.85% is 3_850_000), so a rate with more than eight
decimal places is refused here rather than rounded.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from scf_chain.domain.errors import ScfError
from scf_chain.domain.money import MAX_MINOR_UNITS, from_minor_units, to_minor_units

RATE_SCALE = 10**8
MAX_RATE_UNITS = RATE_SCALE  # 100% a year, as SettlementDesk.MAX_ANNUAL_RATE
DAY_COUNT_BASES = (360, 365)


class InvalidTerms(ScfError, ValueError):
    """Financing terms the settlement desk would refuse: a rate, basis or day count out of range."""


def to_rate_units(annual_rate: Decimal | str | int) -> int:
    """An annual rate (0.0385 for 3.85%) in units of 1e-8, exactly; more than 8 decimals is an error."""
    try:
        rate = annual_rate if isinstance(annual_rate, Decimal) else Decimal(annual_rate)
    except (InvalidOperation, ValueError) as exc:
        raise InvalidTerms(f"{annual_rate!r} is not a decimal rate") from exc
    if not rate.is_finite():
        raise InvalidTerms(f"{annual_rate!r} is not a finite rate")
    units = rate * RATE_SCALE
    if units != units.to_integral_value():
        raise InvalidTerms(f"the rate {rate} has more than 8 decimal places")
    if not 0 <= units <= MAX_RATE_UNITS:
        raise InvalidTerms(f"the rate {rate} is not between 0 and 1 (100% a year)")
    return int(units)


def from_rate_units(units: int) -> Decimal:
    """An on-chain rate as a ``Decimal`` fraction a year (3_850_000 is 0.0385)."""
    return (Decimal(units) / RATE_SCALE).normalize()


def discount_interest_minor(face_minor: int, rate_units: int, day_count: int, days: int) -> int:
    """The discount interest in minor units, as ``SettlementDesk`` computes it, from on-chain integers."""
    _check_basis(day_count, days)
    if not 0 <= rate_units <= MAX_RATE_UNITS:
        raise InvalidTerms(f"a rate of {rate_units} units is not between 0 and {MAX_RATE_UNITS}")
    if not 0 <= face_minor <= MAX_MINOR_UNITS:
        raise InvalidTerms(f"a face value of {face_minor} minor units is out of the ledger's range")
    denominator = day_count * RATE_SCALE
    interest = (2 * face_minor * rate_units * days + denominator) // (2 * denominator)
    if interest >= face_minor:
        raise InvalidTerms(
            f"interest of {from_minor_units(interest)} on {from_minor_units(face_minor)} leaves no price to pay"
        )
    return interest


def financing_price(face: Decimal, annual_rate: Decimal, day_count: int, days: int) -> tuple[Decimal, Decimal]:
    """The discount interest and the price of ``face`` (CNY), ``days`` before maturity.

    Exactly the desk's figures: ``annual_rate`` is a fraction a year (``Decimal("0.0385")``)
    with at most 8 decimals, ``day_count`` is 360 or 365 and ``days`` at least 0.
    """
    face_minor = to_minor_units(face)
    if face_minor <= 0:
        raise InvalidTerms(f"a face value must be positive, not {face}")
    interest = discount_interest_minor(face_minor, to_rate_units(annual_rate), day_count, days)
    return from_minor_units(interest), from_minor_units(face_minor - interest)


def _check_basis(day_count: int, days: int) -> None:
    if day_count not in DAY_COUNT_BASES:
        raise InvalidTerms(f"the day-count basis must be 360 or 365, not {day_count}")
    if days < 0:
        raise InvalidTerms(f"days to maturity cannot be negative ({days})")
