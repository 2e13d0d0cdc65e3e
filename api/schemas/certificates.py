"""Certificates: issuing, splitting and moving them, and how they read."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.schemas.enums import CertificateStatus
from api.schemas.fields import EXAMPLE_TENOR, Address, Amount, DocumentHash, Input, MaturityDate, Money, _dated_examples
from scf_chain.domain.money import CURRENCY


class CertificateIssue(Input):
    to: Address
    amount: Amount
    maturity_date: MaturityDate
    document_hash: DocumentHash | None = Field(
        default=None,
        description="SHA-256 of the invoice or contract's bytes, 0x-prefixed. Give this or `document_id`.",
    )
    document_id: DocumentHash | None = Field(
        default=None,
        description="The `document_hash` of a document you uploaded to `POST /v1/documents`, to anchor it. "
        "Give this or `document_hash`.",
    )
    invoice_number: str = Field(
        min_length=1,
        max_length=100,
        pattern=r"\S",
        description="The invoice's number. The obligor may issue against it once (again only after that issuance "
        "was cancelled or rejected), compared without case or extra spaces; the ledger keeps only its hash.",
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=_dated_examples(
            lambda today: [
                {
                    "to": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
                    "amount": "1000000.00",
                    "maturity_date": (today + EXAMPLE_TENOR).isoformat(),
                    "document_hash": "0x" + "ab" * 32,
                    "invoice_number": "INV-2026-0001",
                },
                {
                    "to": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
                    "amount": "250000.00",
                    "maturity_date": (today + EXAMPLE_TENOR).isoformat(),
                    "document_id": "0x" + "cd" * 32,
                    "invoice_number": "INV-2026-0002",
                },
            ]
        ),
    )

    @model_validator(mode="after")
    def _one_document(self) -> CertificateIssue:
        if (self.document_hash is None) == (self.document_id is None):
            raise ValueError("give exactly one of document_hash and document_id")
        return self


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
    status: CertificateStatus
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
