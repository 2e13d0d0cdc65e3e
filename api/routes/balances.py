"""The payment asset: the settlement token, a tokenized CNY deposit.

The operator, as the deposit bank, credits tokens when a member pays money in and
debits them when it pays money out. Members read their balance and set how much the
settlement desk may draw from it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from api.deps import CurrentCaller, GatewayDep, OperatorCaller, require_role, visible_member
from api.gateway import Caller
from api.render.problems import not_found
from api.render.responses import WRITE_RESPONSES, problem_responses
from api.schemas import (
    AllowanceOut,
    AllowanceUpdate,
    BalanceOut,
    OperationOut,
    TokenMovement,
    TokenMovementOut,
)
from api.services.payments import member_lock
from api.services.writes import Report, respond, signer_for
from scf_chain.domain.types import Role

router = APIRouter(tags=["balances"])

# Every role but the auditor pays or is paid.
Payer = Annotated[Caller, Depends(require_role(Role.OPERATOR, Role.CORE_ENTERPRISE, Role.SUPPLIER, Role.FINANCIER))]


def _movement(status: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": TokenMovementOut}, 202: {"model": OperationOut}, **WRITE_RESPONSES}


@router.get(
    "/v1/balances",
    summary="The caller's settlement-token balance",
    description="What the caller holds in settlement tokens (CNY) and what the settlement desk may still draw. "
    "The operator and auditors may ask for any member with `member`.",
    response_model=BalanceOut,
    responses=problem_responses(401, 404, 422, 503),
)
def get_balance(
    caller: CurrentCaller,
    gateway: GatewayDep,
    member: Annotated[str | None, Query(description="Another member's address (operator and auditors).")] = None,
) -> BalanceOut:
    address = caller.address
    if member is not None:
        record = visible_member(gateway, caller, member)
        if record.address != caller.address and not caller.sees_everything:
            raise not_found("member")
        address = record.address
    ledger = gateway.runtime.ledger
    return BalanceOut(member=address, balance=ledger.balance_of(address), allowance=ledger.allowance(address))


def _move(body: TokenMovement, caller: Caller, gateway: GatewayDep, request: Request, *, deposit: bool) -> JSONResponse:
    record = visible_member(gateway, caller, body.member)
    ledger = gateway.runtime.ledger

    def action(report: Report) -> TokenMovementOut:
        move = ledger.deposit if deposit else ledger.withdraw
        result = move(gateway.runtime.operator, record.address, body.amount)
        gateway.wait_indexed(result.block_number)  # the movement is in the audit export once it is answered
        return TokenMovementOut(
            member=record.address,
            amount=body.amount,
            balance=ledger.balance_of(record.address),
            tx_hash=result.tx_hash,
            block_number=result.block_number,
        )

    return respond(gateway, caller, request, "deposit" if deposit else "withdrawal", action, status_code=201)


@router.post(
    "/v1/deposits",
    summary="Credit settlement tokens for money paid in (operator)",
    description="The deposit bank credits `amount` of settlement tokens to a member that paid the money in.",
    status_code=201,
    response_model=TokenMovementOut,
    responses=_movement(201),
)
def create_deposit(body: TokenMovement, caller: OperatorCaller, gateway: GatewayDep, request: Request) -> JSONResponse:
    return _move(body, caller, gateway, request, deposit=True)


@router.post(
    "/v1/withdrawals",
    summary="Debit settlement tokens for money paid out (operator)",
    description="The deposit bank debits `amount` of a member's settlement tokens as it pays the money out. "
    "A member holding less gets 409 `erc20_insufficient_balance`.",
    status_code=201,
    response_model=TokenMovementOut,
    responses=_movement(201),
)
def create_withdrawal(
    body: TokenMovement, caller: OperatorCaller, gateway: GatewayDep, request: Request
) -> JSONResponse:
    return _move(body, caller, gateway, request, deposit=False)


@router.put(
    "/v1/allowance",
    summary="Set what the settlement desk may draw from the caller",
    description="The caller approves the settlement desk to draw up to `amount` of its tokens: an obligor for "
    "holders who present matured certificates, a financier for offers, a seller for a recourse claim. Settling "
    "an issuance and paying a recourse claim approve what they need themselves; so does making an offer.",
    response_model=AllowanceOut,
    responses={200: {"model": AllowanceOut}, 202: {"model": OperationOut}, **WRITE_RESPONSES},
)
def set_allowance(body: AllowanceUpdate, caller: Payer, gateway: GatewayDep, request: Request) -> JSONResponse:
    ledger = gateway.runtime.ledger
    signer = signer_for(gateway, caller)

    def action(report: Report) -> AllowanceOut:
        with member_lock(caller.address):
            result = ledger.approve_desk(signer, body.amount)
        return AllowanceOut(
            member=caller.address,
            allowance=ledger.allowance(caller.address),
            balance=ledger.balance_of(caller.address),
            tx_hash=result.tx_hash,
            block_number=result.block_number,
        )

    return respond(gateway, caller, request, "allowance", action)
