"""Settlement at maturity, obligations, presentment, overdue marking and recourse."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.certificates import CertificateOut
from api.schemas.enums import CertificateStatus
from api.schemas.fields import Input, Money
from scf_chain.domain.money import CURRENCY


class SettlementCreate(Input):
    root_id: int = Field(ge=1, le=2**40 - 1, description="The issuance: the id of its first certificate.")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"root_id": 1}]})


class ObligationItem(BaseModel):
    id: int
    root_id: int
    holder: str
    holder_name: str | None
    amount: Money
    status: CertificateStatus
    maturity_date: date


class MaturityTotal(BaseModel):
    maturity_date: date
    total: Money
    due: bool = Field(description="Whether the date has come: the issuances can be settled.")
    root_ids: list[int]
    certificates: list[ObligationItem]


class HolderTotal(BaseModel):
    holder: str
    holder_name: str | None
    total: Money
    certificate_count: int


class ObligationsOut(BaseModel):
    obligor: str
    currency: str = CURRENCY
    as_of: date = Field(description="The ledger's today.")
    total: Money
    certificate_count: int
    by_maturity: list[MaturityTotal]
    by_holder: list[HolderTotal]
    balance: Money
    allowance: Money
    indexed_block: int


class SettlementBatch(BaseModel):
    tx_hash: str
    block_number: int
    certificates_settled: int
    paid: Money


class Payment(BaseModel):
    certificate_id: int
    holder: str
    amount: Money
    late: bool


class SettlementOut(BaseModel):
    root_id: int
    obligor: str
    currency: str = CURRENCY
    face_value: Money
    paid_total: Money = Field(description="What this request paid.")
    certificates_settled: int = Field(description="How many certificates this request paid.")
    settled_total: Money = Field(description="What the issuance has been paid in all.")
    outstanding: Money
    certificates_outstanding: int
    skipped_frozen: list[int] = Field(
        description="Certificates left unpaid because the operator froze them or their holder; settle again once "
        "unfrozen."
    )
    status: str = Field(description="settled, or partially_settled while certificates remain unpaid")
    approval_tx_hash: str | None
    batches: list[SettlementBatch]
    payments: list[Payment]
    indexed_block: int


class SettlementStatusOut(BaseModel):
    root_id: int
    obligor: str
    maturity_date: date
    currency: str = CURRENCY
    face_value: Money
    settled_total: Money
    outstanding: Money
    certificates_settled: int
    certificates_outstanding: int
    certificates_overdue: int
    status: str = Field(description="not_due, due, partially_settled or settled")
    indexed_block: int


class PresentmentOut(BaseModel):
    certificate_id: int
    root_id: int
    holder: str
    amount: Money
    late: bool
    currency: str = CURRENCY
    tx_hash: str
    block_number: int
    certificates: list[CertificateOut]
    indexed_block: int


class OverdueOut(BaseModel):
    root_id: int
    certificates_marked: int
    certificate_ids: list[int]
    batches: list[str] = Field(description="The transactions, one per batch of at most 200 certificates.")
    certificates: list[CertificateOut]
    indexed_block: int


class RecourseClaimOut(BaseModel):
    certificate_id: int
    seller: str
    financier: str
    amount: Money
    currency: str = CURRENCY
    status: str = Field(description="none, recorded or paid")
    tx_hash: str | None = None
    block_number: int | None = None
    certificates: list[CertificateOut] = Field(default_factory=list)
    indexed_block: int | None = None
