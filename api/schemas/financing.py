"""The settlement token, financing requests, offers and their acceptance."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.certificates import CertificateOut
from api.schemas.fields import (
    OFFER_EXAMPLE_VALIDITY,
    Address,
    Amount,
    AnnualRate,
    Input,
    Limit,
    Money,
    Rate,
    UtcDateTime,
    _dated_examples,
)
from scf_chain.domain.money import CURRENCY


class TokenMovement(Input):
    member: Address
    amount: Amount

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"member": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "amount": "500000.00"}]
        },
    )


class AllowanceUpdate(Input):
    amount: Limit = Field(description="What the settlement desk may draw from the caller's tokens from now on.")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"amount": "1000000.00"}]})


class FinancingRequestCreate(Input):
    financiers: list[Address] | None = Field(
        default=None,
        min_length=1,
        max_length=50,
        description="The financiers asked to quote; leave out to ask every financier.",
    )
    amount: Amount | None = Field(
        default=None, description="The part to finance; leave out to finance the whole certificate."
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"financiers": ["0x90F79bf6EB2c4f870365E785982E1f101E93b906"], "amount": "80000.00"}]
        },
    )


class OfferCreate(Input):
    certificate_id: int = Field(ge=1, le=2**40 - 1)
    annual_rate: AnnualRate = Field(description="Simple discount rate a year, as a fraction: 0.0385 is 3.85%.")
    day_count: Literal[360, 365] = Field(description="The day-count basis.")
    expires_at: UtcDateTime = Field(description="ISO 8601; the offer can be accepted until then (UTC if no zone).")
    recourse: bool = Field(default=False, description="Whether the financier keeps recourse to the seller.")

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=_dated_examples(
            lambda today: [
                {
                    "certificate_id": 7,
                    "annual_rate": "0.0385",
                    "day_count": 365,
                    "expires_at": f"{today + OFFER_EXAMPLE_VALIDITY}T17:00:00Z",
                    "recourse": False,
                }
            ]
        ),
    )


class OfferAccept(Input):
    amount: Amount | None = Field(
        default=None,
        description="The part to sell; leave out for the amount the offer was made for (the requested amount, "
        "else the whole certificate).",
    )

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{}, {"amount": "40000.00"}]})


class BalanceOut(BaseModel):
    member: str
    balance: Money
    allowance: Money = Field(description="What the settlement desk may still draw from the balance.")
    currency: str = CURRENCY


class TokenMovementOut(BaseModel):
    member: str
    amount: Money
    balance: Money
    currency: str = CURRENCY
    tx_hash: str
    block_number: int


class AllowanceOut(BaseModel):
    member: str
    allowance: Money
    balance: Money
    currency: str = CURRENCY
    tx_hash: str
    block_number: int


class FinancingRequestOut(BaseModel):
    id: int
    certificate_id: int
    holder: str
    holder_name: str | None
    obligor: str
    obligor_name: str | None
    face_value: Money
    amount: Money = Field(description="The amount to finance: the whole face value unless a part was asked for.")
    currency: str = CURRENCY
    maturity_date: date
    financiers: list[str] | None = Field(description="The financiers asked; null for every financier.")
    status: str = Field(description="open, financed, cancelled, replaced, or closed (no longer financeable)")
    created_at: datetime


class OfferOut(BaseModel):
    id: int
    request_id: int
    certificate_id: int
    seller: str
    financier: str
    financier_name: str | None
    annual_rate: Rate
    day_count: int
    recourse: bool
    amount: Money = Field(
        description="The face value the offer is priced for, signed with it: the most any acceptance can sell."
    )
    days: int = Field(description="Days from the ledger's today to maturity (as of acceptance, once accepted).")
    interest: Money | None
    price: Money | None = Field(description="What the financier pays for `amount`, computed exactly as the desk does.")
    currency: str = CURRENCY
    expires_at: datetime
    status: str = Field(description="open, withdrawn, accepted, expired, or closed (the certificate moved on)")
    withdrawn_because: str | None = Field(
        default=None, description="Why the gateway withdrew the offer, when its financier did not."
    )
    funded: bool | None = Field(
        default=None,
        description="For an open offer, whether the financier's balance and its allowance to the settlement desk "
        "both cover `price` today; null once the offer is no longer open.",
    )
    nonce: int
    signature: str = Field(description="The financier's EIP-712 signature over the offer.")
    created_at: datetime
    financed_certificate_id: int | None = None
    tx_hash: str | None = Field(default=None, description="The transaction that accepted or withdrew the offer.")


class FinancingResult(BaseModel):
    offer: OfferOut
    tx_hash: str
    block_number: int
    certificate_id: int = Field(description="The certificate the financier now holds, financed.")
    remainder_id: int | None = Field(description="What stayed with the seller, when a part was sold.")
    remainder_request_id: int | None = Field(
        default=None,
        description="The financing request that keeps the remainder open for financing, to the same financiers.",
    )
    seller: str
    financier: str
    face_value: Money
    interest: Money
    price: Money
    days: int
    currency: str = CURRENCY
    certificates: list[CertificateOut]
    indexed_block: int
