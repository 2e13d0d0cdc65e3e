"""The fields bodies are made of: money, addresses, dates, document hashes, rates, with their validation."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

from eth_utils import is_address, to_checksum_address
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, PlainSerializer, WithJsonSchema

from scf_chain.client.clock import known_ledger_today, ledger_max_tenor_days
from scf_chain.domain.errors import InvalidAmount
from scf_chain.domain.money import (
    AMOUNT_PATTERN,
    MAX_MINOR_UNITS,
    from_minor_units,
    to_minor_units,
    to_positive_minor_units,
)


def _amount(value: Any) -> Decimal:
    if not isinstance(value, str):
        raise ValueError('must be a decimal string such as "1250.50"')
    try:
        return from_minor_units(to_positive_minor_units(value))
    except InvalidAmount as exc:
        raise ValueError(str(exc)) from None


def _limit(value: Any) -> Decimal:
    if not isinstance(value, str):
        raise ValueError('must be a decimal string such as "2000000.00"')
    try:
        minor = to_minor_units(value)
    except InvalidAmount as exc:
        raise ValueError(str(exc)) from None
    # The bound of every amount (a face value's, uint64): sums of such amounts stay exact in Decimal arithmetic.
    if minor > MAX_MINOR_UNITS:
        raise ValueError(f"{value} is beyond the ledger's largest amount, {from_minor_units(MAX_MINOR_UNITS)}")
    return from_minor_units(minor)


def _address(value: Any) -> str:
    if not isinstance(value, str) or not is_address(value):
        raise ValueError("must be a 0x-prefixed 20-byte address")
    return to_checksum_address(value)


def parse_address(value: str) -> str | None:
    """The checksummed address, or None for anything that is not an address."""
    return to_checksum_address(value) if is_address(value) else None


def _maturity(value: Any) -> date:
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            raise ValueError("must be a date as YYYY-MM-DD") from None
    if not isinstance(value, date):
        raise ValueError("must be a date as YYYY-MM-DD")
    # The ledger's date: the contracts judge maturity by block time, which a development chain may move ahead.
    today = known_ledger_today()  # no round trip to the chain per field validated
    if value < today:
        raise ValueError(f"{value} is in the past (today is {today}, UTC, by the ledger's clock)")
    tenor = ledger_max_tenor_days()
    if tenor is not None and value > today + timedelta(days=tenor):
        raise ValueError(f"{value} is more than {tenor} days ahead; the latest is {today + timedelta(days=tenor)}")
    return value


def _document_hash(value: Any) -> str:
    text = value if isinstance(value, str) else ""
    digits = text.removeprefix("0x")
    if len(digits) != 64 or any(c not in "0123456789abcdefABCDEF" for c in digits):
        raise ValueError("must be a 32-byte hash as 0x followed by 64 hex digits")
    return "0x" + digits.lower()


_money_schema = WithJsonSchema({"type": "string", "pattern": AMOUNT_PATTERN, "examples": ["1250.50"]})
Amount = Annotated[
    Decimal, BeforeValidator(_amount), PlainSerializer(lambda v: f"{v:.2f}", return_type=str), _money_schema
]
Limit = Annotated[
    Decimal, BeforeValidator(_limit), PlainSerializer(lambda v: f"{v:.2f}", return_type=str), _money_schema
]
Money = Annotated[Decimal, PlainSerializer(lambda v: f"{v:.2f}", return_type=str), _money_schema]
Address = Annotated[
    str,
    BeforeValidator(_address),
    WithJsonSchema({"type": "string", "examples": ["0x70997970C51812dc3A010C7d01b50e0d17dc79C8"]}),
]
MaturityDate = Annotated[date, BeforeValidator(_maturity), WithJsonSchema({"type": "string", "format": "date"})]
DocumentHash = Annotated[
    str,
    BeforeValidator(_document_hash),
    WithJsonSchema({"type": "string", "examples": ["0x" + "ab" * 32]}),
]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


EXAMPLE_TENOR = timedelta(days=90)
OFFER_EXAMPLE_VALIDITY = timedelta(days=7)


def _dated_examples(make: Callable[[date], list[dict[str, Any]]]) -> Callable[[dict[str, Any]], None]:
    """Examples built with the schema, from the ledger's today, so that their dates are valid the day they are read."""

    def extra(schema: dict[str, Any]) -> None:
        schema["examples"] = make(known_ledger_today())

    return extra


RATE_DECIMALS = 8


RATE_PATTERN = rf"^\d+(\.\d{{1,{RATE_DECIMALS}}})?$"
_RATE_TEXT = re.compile(r"[0-9]+(?:\.([0-9]+))?")


def _rate(value: Any) -> Decimal:
    # Exactly the documented form, like amounts: no exponent, sign, spaces, NaN or Infinity.
    match = _RATE_TEXT.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError('must be a decimal string such as "0.0385" (3.85% a year)')
    if len(match[1] or "") > RATE_DECIMALS:
        raise ValueError(f"has more than {RATE_DECIMALS} decimal places")
    rate = Decimal(value)  # exact: from text, no arithmetic
    if not 0 <= rate <= 1:
        raise ValueError("must be between 0 and 1 (100% a year)")
    return rate


def format_rate(rate: Decimal) -> str:
    """A rate as a plain decimal string: 0.0385, 0.05, 0."""
    text = format(rate.normalize(), "f")
    return text if text != "-0" else "0"


def _aware(value: Any) -> Any:
    # A datetime without a zone is taken as UTC.
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


AnnualRate = Annotated[
    Decimal,
    BeforeValidator(_rate),
    PlainSerializer(format_rate, return_type=str),
    WithJsonSchema({"type": "string", "pattern": RATE_PATTERN, "examples": ["0.0385"]}),
]
# The same, in responses: a rate the gateway computed or stored, shown as a plain decimal string.
Rate = Annotated[
    Decimal,
    PlainSerializer(format_rate, return_type=str),
    WithJsonSchema({"type": "string", "examples": ["0.0385"]}),
]
UtcDateTime = Annotated[datetime, AfterValidator(_aware)]
