"""Risk signals: an obligor's exposure, and the alerts of breaches now open."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from api.schemas.fields import Money, UtcDateTime
from scf_chain.domain.money import CURRENCY

SHARE_DESCRIPTION = 'A share as a decimal string, rounded half up to four places (`"0.9150"` is 91.50%).'


class LargestHolder(BaseModel):
    address: str
    name: str
    amount: Money
    share: str = Field(description="Its part of the outstanding amount. " + SHARE_DESCRIPTION)


class Maturing(BaseModel):
    days: int = Field(description="The horizon: from today to this many days ahead, both included.")
    amount: Money = Field(description="Accepted and unpaid certificates (active, financed) maturing in it.")


class InventoryPositionOut(BaseModel):
    kind: Literal["pledge_loan", "prepayment_facility"]
    id: int
    outstanding: Money
    loan_to_value: str | None = Field(description=SHARE_DESCRIPTION)


class ObligorRiskOut(BaseModel):
    obligor: str
    name: str
    credit_limit: Money
    outstanding: Money = Field(description="Drawn on the credit line: pending, active, financed and overdue.")
    credit_line_use: str | None = Field(
        description="Outstanding over the credit limit. " + SHARE_DESCRIPTION + " Null with no limit."
    )
    credit_line_high_since: UtcDateTime | None = Field(
        description="When use went above 90% and stayed there; null while it is at or below 90%."
    )
    overdue_amount: Money = Field(description="Marked overdue, or unpaid past maturity and the grace period.")
    overdue_count: int
    overdue_certificate_ids: list[int]
    largest_holder: LargestHolder | None = Field(description="Who holds the most of the outstanding amount.")
    deepest_tier: int | None = Field(
        description="The deepest tier its certificates reached: 1 is its own suppliers, each hop one more."
    )
    maturing: list[Maturing] = Field(description="Amounts maturing in the next 7, 30 and 90 days.")
    inventory: list[InventoryPositionOut] = Field(
        description="Loans and facilities against its goods, with their loan-to-value: filled by inventory "
        "finance (pledge loans, prepayment facilities); empty until those are indexed."
    )
    as_of: date = Field(description="Today by the ledger's clock, which maturities count from.")
    indexed_block: int
    currency: str = CURRENCY


class AlertSubjectOut(BaseModel):
    kind: Literal["obligor", "certificate", "member"]
    id: int | None = Field(default=None, description="The certificate's id, for a certificate.")
    address: str | None = Field(default=None, description="The member's address, for an obligor or a member.")


class AlertOut(BaseModel):
    code: Literal["credit_line_high", "certificate_overdue", "frozen_member_holding"] = Field(
        description="Stable: `credit_line_high` (credit-line use above 90%), `certificate_overdue` (unpaid past "
        "maturity and grace), `frozen_member_holding` (a frozen member holds certificates with value)."
    )
    subject: AlertSubjectOut
    message: str
    opened_at: UtcDateTime = Field(
        description="When the breach began: the event that took use above 90%, the overdue mark (or the day "
        "after maturity and grace), the freeze."
    )
    amount: Money = Field(description="What is at stake: the outstanding, the overdue face value, the value held.")


class AlertPage(BaseModel):
    items: list[AlertOut]
    total: int
    limit: int
    offset: int
    indexed_block: int
