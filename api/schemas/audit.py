"""Audit: provenance, verification against the chain, documents, the event export."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from fastapi import UploadFile
from pydantic import BaseModel, ConfigDict, Field

from api.schemas.enums import CertificateStatus
from api.schemas.fields import Input, Money
from scf_chain.domain.money import CURRENCY


class Party(BaseModel):
    model_config = ConfigDict(extra="forbid")

    address: str
    name: str = Field(description="The member's registered name; empty if it is not a member.")


class ProvenanceNode(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: int
    parent_id: int | None
    holder: Party | None = Field(description="Who holds it now; null once it is retired (split, cancelled, settled).")
    last_holder: Party = Field(description="Who holds it now, or held it last before it was retired.")
    amount: Money
    status: CertificateStatus
    hops: int
    frozen: bool
    tx_hash: str = Field(description="The transaction that created it.")
    block_number: int
    created_at: datetime
    hidden_children: int | None = Field(
        default=None, description="Only in a partial view: how many of its parts are not shown to you."
    )


class ProvenanceTreeNode(ProvenanceNode):
    children: list[ProvenanceTreeNode] = Field(description="The certificates it was split into, in id order.")


class ProvenanceIssuance(BaseModel):
    model_config = ConfigDict(extra="forbid")

    root_id: int
    obligor: Party
    document_hash: str = Field(description="SHA-256 of the invoice or contract, anchored on chain at issuance.")
    invoice_number: str | None
    amount: Money
    currency: str = CURRENCY
    maturity_date: date
    tx_hash: str
    block_number: int
    issued_at: datetime


class ProvenanceTotals(BaseModel):
    model_config = ConfigDict(extra="forbid")

    face_value: Money = Field(description="This certificate's face value.")
    active: Money
    financed: Money
    settled: Money
    overdue: Money
    pending: Money
    leaves_sum: Money = Field(description="Every leaf of the tree shown that is not cancelled.")
    conserved: bool = Field(
        description="The live leaves sum to the face value, and every split's parts to their parent "
        "(over the whole tree, shown or not)."
    )
    node_count: int = Field(description="Certificates in the tree shown.")
    cancelled: Money
    hidden: Money = Field(description="Face value of the branches not shown to you (0 unless partial).")


class ProvenanceOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    certificate_id: int
    indexed_block: int
    currency: str = CURRENCY
    partial: bool = Field(description="Whether branches of the tree are left out because they are not yours.")
    issuance: ProvenanceIssuance
    path: list[ProvenanceNode] = Field(description="From the root issuance down to this certificate.")
    tree: ProvenanceTreeNode = Field(description="This certificate, with everything split from it nested below.")
    totals: ProvenanceTotals


class Mismatch(BaseModel):
    field: str
    index: Any = Field(description="What the index shows.")
    chain: Any = Field(description="What the ledger contract holds at `block_number`.")


class VerifiedNode(BaseModel):
    id: int
    matches: bool
    mismatches: list[Mismatch]


class VerificationOut(BaseModel):
    certificate_id: int
    block_number: int = Field(description="The block every chain read was pinned to: the index's indexed block.")
    indexed_block: int
    verified: bool = Field(description="True when every certificate's every field matches.")
    fields: list[str] = Field(description="The fields compared.")
    nodes: list[VerifiedNode]


class DocumentOut(BaseModel):
    document_hash: str = Field(description="SHA-256 of the file's bytes, 0x-prefixed: the hash to anchor.")
    size: int = Field(description="Bytes.")
    content_type: str
    filename: str | None
    uploaded_at: datetime


class DocumentCheck(BaseModel):
    matches: bool = Field(description="Whether the file is the document anchored at the root of the tree.")
    document_hash: str = Field(description="SHA-256 of the file sent.")
    anchored_hash: str = Field(description="The document hash the ledger holds for the issuance.")
    root_id: int
    certificate_id: int
    indexed_block: int


class AuditEvent(BaseModel):
    """One line of the event export."""

    block_number: int
    log_index: int
    block_hash: str
    tx_hash: str
    contract: Literal["ledger", "desk", "token"] = Field(
        description="Which contract emitted it: the certificate ledger, the settlement desk (offers accepted at "
        "a price, recourse claims), or the settlement token (deposits, withdrawals and payments)."
    )
    timestamp: datetime
    day: date = Field(alias="date", description="The ISO date (UTC) of `timestamp`.")  # `date` would hide the type
    name: str
    details: dict[str, Any] = Field(
        description="The arguments in the API's language: amounts as decimal CNY strings beside their raw value in "
        "minor units (`amount`, `amount_minor`), days as ISO dates (`maturity_date`, `maturity_day`), roles as "
        "words (`role`, `role_code`), rates as fractions a year (`annual_rate`, `annual_rate_units`); for the "
        "token, `movement` is deposit, withdrawal or transfer."
    )
    args: dict[str, Any] = Field(
        description="The arguments as decoded from the log, in the contracts' names and units."
    )
    cursor: str = Field(description="Pass as `after` to continue after this event.")


class DocumentUploadForm(Input):
    """Multipart form: the file to upload."""

    file: UploadFile = Field(description="The invoice or contract, any format.")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"file": "(the bytes of INV-0001.pdf)"}]})


class DocumentCheckForm(Input):
    """Multipart form: a file, and the certificate whose anchored document it should be."""

    certificate_id: int = Field(ge=1, le=2**40 - 1)
    file: UploadFile = Field(description="The file to check.")

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"certificate_id": 7, "file": "(the bytes of INV-0001.pdf)"}]},
    )
