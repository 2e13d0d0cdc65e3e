"""Statuses and roles, by the labels the API shows."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    CORE_ENTERPRISE = "core_enterprise"
    SUPPLIER = "supplier"
    FINANCIER = "financier"
    AUDITOR = "auditor"


class RoleOut(StrEnum):
    """The role a caller or member acts as: a member's role, or the consortium operator (who is no member)."""

    OPERATOR = "operator"
    CORE_ENTERPRISE = "core_enterprise"
    SUPPLIER = "supplier"
    FINANCIER = "financier"
    AUDITOR = "auditor"


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


class OperationStatus(StrEnum):
    SUBMITTED = "submitted"
    MINED = "mined"
    CONFIRMED = "confirmed"
    FAILED = "failed"
