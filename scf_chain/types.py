"""The ledger's domain types, as the Python side sees them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import IntEnum


class MemberRole(IntEnum):
    """Mirrors ``MemberRegistry.MemberRole``."""

    NONE = 0
    CORE_ENTERPRISE = 1
    SUPPLIER = 2
    FINANCIER = 3
    AUDITOR = 4

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", " ")


class CertificateStatus(IntEnum):
    """Mirrors ``CertificateLedger.CertificateStatus``."""

    NONE = 0
    PENDING = 1
    ACTIVE = 2
    SPLIT = 3
    CANCELLED = 4
    FINANCED = 5
    SETTLED = 6
    OVERDUE = 7

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Member:
    address: str
    role: MemberRole
    name: str
    frozen: bool

    @property
    def active(self) -> bool:
        return self.role is not MemberRole.NONE and not self.frozen


@dataclass(frozen=True)
class Certificate:
    id: int
    face_value: Decimal
    obligor: str
    holder: str | None  # None once retired (split, cancelled)
    last_holder: str  # the holder now, or when it was retired
    maturity_date: date
    root_id: int
    parent_id: int | None
    hops: int
    document_hash: str
    status: CertificateStatus
    frozen: bool
    child_ids: tuple[int, ...]


@dataclass(frozen=True)
class CreditLine:
    obligor: str
    limit: Decimal
    outstanding: Decimal

    @property
    def available(self) -> Decimal:
        return max(self.limit - self.outstanding, Decimal("0.00"))


@dataclass(frozen=True)
class TxResult:
    tx_hash: str
    block_number: int
    gas_used: int


@dataclass(frozen=True)
class IssueResult(TxResult):
    certificate_id: int


@dataclass(frozen=True)
class SplitResult(TxResult):
    """The certificates a split or a part transfer created, in part order."""

    certificate_ids: tuple[int, ...]
