"""Statuses and roles, by the labels the API shows."""

from __future__ import annotations

from enum import StrEnum

from scf_chain.domain.types import MemberStatus, Role

__all__ = ["CertificateStatus", "MemberStatus", "OperationStatus", "Role"]


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
