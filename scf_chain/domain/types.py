"""The ledger's domain types, as the Python side sees them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import IntEnum, StrEnum


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


class Role(StrEnum):
    """Who a member or a caller acts as, by the labels the index and the API share.

    A member's role, or the consortium operator, who holds the contracts' operator role and is no member.
    """

    OPERATOR = "operator"
    CORE_ENTERPRISE = "core_enterprise"
    SUPPLIER = "supplier"
    FINANCIER = "financier"
    AUDITOR = "auditor"

    @classmethod
    def of(cls, role: MemberRole) -> Role:
        """The label of a registry role; ``MemberRole.NONE`` is no role and raises ValueError."""
        return cls(role.name.lower())

    @property
    def member_role(self) -> MemberRole:
        """The registry's role; the operator has none (``MemberRole.NONE``)."""
        return MemberRole.NONE if self is Role.OPERATOR else MemberRole[self.name]


class MemberStatus(StrEnum):
    ACTIVE = "active"
    FROZEN = "frozen"


class CertificateStatus(StrEnum):
    """The ledger's certificate statuses, by their labels."""

    PENDING = "pending"
    ACTIVE = "active"
    SPLIT = "split"
    CANCELLED = "cancelled"
    FINANCED = "financed"
    SETTLED = "settled"
    OVERDUE = "overdue"

    @property
    def code(self) -> CertificateStatusCode:
        return CertificateStatusCode[self.name]


class CertificateStatusCode(IntEnum):
    """Mirrors ``CertificateLedger.CertificateStatus``: the statuses as the contract stores them."""

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
        """The status's label (a CertificateStatus for all but NONE, which is no certificate)."""
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
    status: CertificateStatusCode
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


class RecourseClaimStatus(IntEnum):
    """Mirrors ``SettlementDesk.RecourseClaimStatus``."""

    NONE = 0
    RECORDED = 1
    PAID = 2

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Offer:
    """A financier's quote to finance a certificate, as it signs it (EIP-712) off chain.

    Only ``seller`` can accept it, for at most ``amount`` (CNY of face value), the amount
    the financier priced. ``annual_rate`` is a fraction a year
    (``Decimal("0.0385")`` for 3.85%), at most 8 decimals; ``day_count`` is the basis,
    360 or 365; ``expires_at`` is in unix seconds, inclusive; each ``nonce`` of a
    financier can be accepted or withdrawn once.
    """

    certificate_id: int
    amount: Decimal
    financier: str
    seller: str
    annual_rate: Decimal
    day_count: int
    expires_at: int
    recourse: bool
    nonce: int


@dataclass(frozen=True)
class SignedOffer:
    offer: Offer
    signature: bytes


@dataclass(frozen=True)
class Recourse:
    """Who sold a certificate financed with recourse, and the claim on them."""

    certificate_id: int
    seller: str
    claim: RecourseClaimStatus


@dataclass(frozen=True)
class FinanceResult(TxResult):
    """An accepted offer: what the financier bought, for how much, in one transaction."""

    certificate_id: int  # the certificate the financier now holds
    remainder_id: int | None  # what stayed with the seller, when a part was sold
    financier: str
    seller: str
    face_value: Decimal
    interest: Decimal
    price: Decimal
    days: int


@dataclass(frozen=True)
class SettlementResult(TxResult):
    """One settlement transaction: the certificates it paid and what each holder received."""

    root_id: int
    payments: tuple[tuple[int, str, Decimal, bool], ...]  # (certificate id, holder, amount, late)

    @property
    def total(self) -> Decimal:
        return sum((amount for _, _, amount, _ in self.payments), Decimal("0.00"))
