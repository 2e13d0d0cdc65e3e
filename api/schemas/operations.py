"""Asynchronous writes, and the service's health."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from api.schemas.certificates import WriteResult
from api.schemas.enums import OperationStatus
from api.schemas.financing import AllowanceOut, FinancingRequestOut, FinancingResult, OfferOut, TokenMovementOut
from api.schemas.members import CreditLineOut, MemberCreated, MemberWriteResult
from api.schemas.problems import Problem
from api.schemas.settlement import OverdueOut, PresentmentOut, RecourseClaimOut, SettlementOut


class OperationOut(BaseModel):
    id: str
    kind: str
    status: OperationStatus = Field(
        description="submitted; mined (its transaction is in a block, `result` shows what is known so far); "
        "confirmed (with `result`); or failed (with `problem`)"
    )
    result: OperationResult | None = Field(
        default=None, description="The body the write answers when it is not asynchronous."
    )
    problem: Problem | None = None
    tx_hashes: list[str] = Field(
        default_factory=list,
        description="The transactions the write signed, in order, each recorded before it was broadcast.",
    )
    created_at: datetime
    updated_at: datetime


class Health(BaseModel):
    status: str
    detail: str | None = None
    chain_id: int | None = None
    block: int | None = None
    ledger: str | None = None
    indexed_block: int | None = None


# A confirmed operation's `result`: the body its write answers when it is not asynchronous. The most specific
# first, so that a client trying each in turn settles on the right one.
OperationResult = (
    FinancingResult
    | SettlementOut
    | OfferOut
    | PresentmentOut
    | OverdueOut
    | RecourseClaimOut
    | AllowanceOut
    | TokenMovementOut
    | FinancingRequestOut
    | MemberCreated
    | MemberWriteResult
    | CreditLineOut
    | WriteResult
)
OperationOut.model_rebuild()
