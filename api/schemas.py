"""Request and response bodies.

Input models hold only what a caller may set: never a signer, a nonce, gas or a
chain id; unknown fields are refused. Amounts are decimal strings in CNY with at
most two decimals; dates are ISO ``YYYY-MM-DD`` in UTC.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from eth_utils import is_address, to_checksum_address
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, WithJsonSchema

from scf_chain.errors import InvalidAmount
from scf_chain.money import CURRENCY, from_minor_units, to_minor_units, to_positive_minor_units, today_utc

MAX_TENOR = timedelta(days=365)


def _amount(value: Any) -> Decimal:
    if not isinstance(value, str):
        raise ValueError('must be a decimal string such as "1250.50"')
    try:
        return from_minor_units(to_positive_minor_units(value.strip()))
    except InvalidAmount as exc:
        raise ValueError(str(exc)) from None


def _limit(value: Any) -> Decimal:
    if not isinstance(value, str):
        raise ValueError('must be a decimal string such as "2000000.00"')
    try:
        minor = to_minor_units(value.strip())
    except InvalidAmount as exc:
        raise ValueError(str(exc)) from None
    if minor < 0 or minor >= 2**128:
        raise ValueError("must be zero or more, and within the ledger's range")
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
    today = today_utc()
    if value < today:
        raise ValueError(f"{value} is in the past (today is {today}, UTC)")
    if value > today + MAX_TENOR:
        raise ValueError(f"{value} is more than a year ahead; the latest is {today + MAX_TENOR}")
    return value


def _document_hash(value: Any) -> str:
    text = value if isinstance(value, str) else ""
    digits = text.removeprefix("0x")
    if len(digits) != 64 or any(c not in "0123456789abcdefABCDEF" for c in digits):
        raise ValueError("must be a 32-byte hash as 0x followed by 64 hex digits")
    return "0x" + digits.lower()


_money_schema = WithJsonSchema({"type": "string", "pattern": r"^\d+(\.\d{1,2})?$", "examples": ["1250.50"]})
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


class Role(StrEnum):
    CORE_ENTERPRISE = "core_enterprise"
    SUPPLIER = "supplier"
    FINANCIER = "financier"
    AUDITOR = "auditor"


# Inputs


class MemberCreate(Input):
    name: str = Field(min_length=1, max_length=200, examples=["Huaxia Motors Co., Ltd."])
    role: Role
    address: Address | None = Field(
        default=None, description="An address whose key the member keeps; leave out to have the gateway keep one."
    )

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "Tier 1 Parts Ltd.", "role": "supplier"}]}
    )


class CreditLimitUpdate(Input):
    limit: Limit

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"limit": "2000000.00"}]})


class CertificateIssue(Input):
    to: Address
    amount: Amount
    maturity_date: MaturityDate
    document_hash: DocumentHash
    invoice_number: str | None = Field(default=None, max_length=100)

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "to": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
                    "amount": "1000000.00",
                    "maturity_date": "2027-03-31",
                    "document_hash": "0x" + "ab" * 32,
                    "invoice_number": "INV-2026-0001",
                }
            ]
        },
    )


class SplitPart(Input):
    to: Address
    amount: Amount


class CertificateSplitRequest(Input):
    parts: list[SplitPart] = Field(min_length=2, max_length=100)

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "parts": [
                        {"to": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "amount": "600000.00"},
                        {"to": "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", "amount": "400000.00"},
                    ]
                }
            ]
        },
    )


class CertificateTransfer(Input):
    to: Address
    amount: Amount | None = Field(
        default=None, description="Leave out to move the whole certificate; with an amount, only that part moves."
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"to": "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", "amount": "250000.00"}]},
    )


# Outputs


class MemberOut(BaseModel):
    address: str
    name: str
    role: str
    status: str


class MemberCreated(MemberOut):
    api_key: str = Field(description="Shown this once; only its hash is kept.")


class ApiKeyOut(BaseModel):
    member: str
    api_key: str = Field(description="Shown this once; only its hash is kept.")


class CreditLineOut(BaseModel):
    obligor: str
    limit: Money
    outstanding: Money
    available: Money
    currency: str = CURRENCY


class CertificateOut(BaseModel):
    id: int
    root_id: int
    parent_id: int | None
    obligor: str
    holder: str | None
    amount: Money
    currency: str = CURRENCY
    maturity_date: date
    hops: int
    document_hash: str
    status: str
    frozen: bool
    child_ids: list[int]
    tx_hash: str
    created_at: datetime
    invoice_number: str | None = None


class CertificatePage(BaseModel):
    items: list[CertificateOut]
    total: int
    limit: int
    offset: int
    indexed_block: int


class WriteResult(BaseModel):
    tx_hash: str
    block_number: int
    certificates: list[CertificateOut]
    indexed_block: int


class OperationOut(BaseModel):
    id: str
    kind: str
    status: str = Field(description="submitted, mined, confirmed or failed")
    result: Any = None
    problem: Any = None
    created_at: datetime
    updated_at: datetime


class Health(BaseModel):
    status: str
    detail: str | None = None
    chain_id: int | None = None
    block: int | None = None
    ledger: str | None = None
    indexed_block: int | None = None
