"""Statuses and roles, by the labels the API shows."""

from __future__ import annotations

from enum import StrEnum

from scf_chain.domain.types import CertificateStatus, MemberStatus, Role

__all__ = ["CertificateStatus", "MemberStatus", "OperationStatus", "Role"]


class OperationStatus(StrEnum):
    SUBMITTED = "submitted"
    MINED = "mined"
    CONFIRMED = "confirmed"
    FAILED = "failed"
    # It had finished, but the chain lost the block its transactions were in; they are being sent again.
    UNCONFIRMED = "unconfirmed"
