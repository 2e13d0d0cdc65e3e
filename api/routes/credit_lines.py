"""Credit lines of core enterprises."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse

from api.deps import CurrentCaller, GatewayDep, OperatorCaller, visible_member
from api.gateway import Gateway
from api.render.problems import Problem, not_found
from api.render.responses import WRITE_RESPONSES, problem_responses
from api.schemas import CreditLimitUpdate, CreditLineOut, OperationOut
from api.services.writes import Report, respond
from scf_chain.domain.types import Role

router = APIRouter(prefix="/v1/credit-lines", tags=["credit lines"])

Obligor = Annotated[str, Path(description="The core enterprise's address.")]


@router.put(
    "/{obligor}",
    summary="Set a core enterprise's credit limit (operator)",
    response_model=CreditLineOut,
    responses={200: {"model": CreditLineOut}, 202: {"model": OperationOut}, **WRITE_RESPONSES},
)
def set_credit_limit(
    obligor: Obligor, body: CreditLimitUpdate, caller: OperatorCaller, gateway: GatewayDep, request: Request
) -> JSONResponse:
    record = visible_member(gateway, caller, obligor)
    if record.role != Role.CORE_ENTERPRISE:
        raise Problem(422, "not_core_enterprise", "Only a core enterprise has a credit line.", field="obligor")
    ledger = gateway.runtime.ledger

    def action(report: Report) -> CreditLineOut:
        ledger.set_credit_limit(gateway.runtime.operator, record.address, body.limit)
        return _credit_line_out(gateway, record.address)

    return respond(gateway, caller, request, "set_credit_limit", action)


def _credit_line_out(gateway: Gateway, obligor: str) -> CreditLineOut:
    line = gateway.runtime.ledger.credit_line(obligor)
    return CreditLineOut(obligor=line.obligor, limit=line.limit, outstanding=line.outstanding, available=line.available)


@router.get(
    "/{obligor}",
    summary="Read a credit line",
    description="The operator, auditors and the obligor itself see its limit, outstanding and available credit.",
    response_model=CreditLineOut,
    responses=problem_responses(401, 404, 503),
)
def get_credit_line(obligor: Obligor, caller: CurrentCaller, gateway: GatewayDep) -> CreditLineOut:
    record = visible_member(gateway, caller, obligor)
    allowed = caller.role in (Role.OPERATOR, Role.AUDITOR) or caller.address == record.address
    if not allowed or record.role != Role.CORE_ENTERPRISE:
        raise not_found("credit line")
    return _credit_line_out(gateway, record.address)
