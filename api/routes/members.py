"""Members of the consortium, their API keys, and the caller's own record."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse

from api.deps import PAYABLE_ROLES, CurrentCaller, GatewayDep, OperatorCaller, shown_once, visible_member
from api.gateway import Caller, Gateway
from api.render.problems import Problem
from api.render.responses import WRITE_RESPONSES, problem_responses
from api.schemas import (
    ApiKeyOut,
    MemberCreate,
    MemberCreated,
    MemberOut,
    MemberStatus,
    MemberWriteResult,
    MeOut,
    OperationOut,
    Role,
)
from api.services.writes import Report, respond, wants_async
from api.store import SHOWN_ONCE_FIELD
from scf_chain.client.clock import ledger_today
from scf_chain.index.indexer import MemberRecord

router = APIRouter(tags=["members"])

ASYNC_ONBOARDING_NOTE = (
    "An onboarding answered through an operation shows no API key; give the member its first key with "
    "POST /v1/members/{address}/api-keys."
)

MemberAddress = Annotated[str, Path(description="The member's address.")]


def member_out(record: MemberRecord) -> MemberOut:
    status = MemberStatus.FROZEN if record.frozen else MemberStatus.ACTIVE
    return MemberOut(address=record.address, name=record.name, role=Role(record.role), status=status)


@router.get(
    "/v1/me",
    summary="The caller's own member record, and the ledger's date",
    response_model=MeOut,
    responses=problem_responses(401),
)
def get_me(caller: CurrentCaller) -> MeOut:
    return MeOut(
        address=caller.address,
        name=caller.name,
        role=Role(caller.role),
        status=MemberStatus.ACTIVE,
        ledger_date=ledger_today(),
    )


@router.post(
    "/v1/members",
    summary="Onboard a member (operator)",
    description="Registers a member on the ledger with one role. Without an address the gateway generates the "
    "member's signing key and keeps it encrypted. The response carries the member's API key, shown this once: "
    "a replay under the same Idempotency-Key answers without it.",
    status_code=201,
    response_model=MemberCreated,
    responses={201: {"model": MemberCreated}, 202: {"model": OperationOut}, **WRITE_RESPONSES},
    dependencies=[shown_once(SHOWN_ONCE_FIELD)],
)
def create_member(body: MemberCreate, caller: OperatorCaller, gateway: GatewayDep, request: Request) -> JSONResponse:
    runtime = gateway.runtime
    name = body.name.strip()
    if not name:
        raise Problem(422, "empty_member_name", "A member needs a legal name or identifier.", field="name")
    if body.address is not None and gateway.index.member(body.address) is not None:
        raise Problem(409, "member_already_registered", "That address is already a member; it holds one role.")
    role = body.role.member_role
    # An operation's result is kept in the gateway's database, which never holds an API key: an onboarding
    # answered later gets its first key from the rotation endpoint instead.
    issue_key = not wants_async(request)

    def action(report: Report) -> MemberCreated:
        address = body.address or runtime.keystore.create().address
        # The registry refuses the operator's and the contracts' addresses (422) and a name taken already (409).
        result = runtime.ledger.register_member(runtime.operator, address, role, name)
        gateway.wait_indexed(result.block_number)
        return MemberCreated(
            address=address,
            name=name,
            role=Role(body.role.value),
            status=MemberStatus.ACTIVE,
            api_key=gateway.store.create_api_key(address) if issue_key else None,
            note=None if issue_key else ASYNC_ONBOARDING_NOTE,
        )

    return respond(gateway, caller, request, "register_member", action, status_code=201)


@router.get(
    "/v1/members",
    summary="List members",
    description="The operator and auditors see every member; others see the active members they can pay.",
    response_model=list[MemberOut],
    responses=problem_responses(401),
)
def list_members(caller: CurrentCaller, gateway: GatewayDep) -> list[MemberOut]:
    records = gateway.index.members()
    if not caller.sees_everything:
        records = [r for r in records if r.role in PAYABLE_ROLES and not r.frozen]
    return [member_out(record) for record in records]


@router.get(
    "/v1/members/{address}",
    summary="Read a member",
    response_model=MemberOut,
    responses=problem_responses(401, 404),
)
def get_member(address: MemberAddress, caller: CurrentCaller, gateway: GatewayDep) -> MemberOut:
    return member_out(visible_member(gateway, caller, address))


def _set_frozen(gateway: Gateway, caller: Caller, request: Request, address: str, frozen: bool) -> JSONResponse:
    record = visible_member(gateway, caller, address)
    runtime = gateway.runtime
    # Judged by the ledger itself, not the index: a change that changes nothing sends no transaction.
    if runtime.ledger.member(record.address).frozen == frozen:
        if frozen:
            raise Problem(409, "member_already_frozen", f"{record.name} is frozen already; nothing was sent.")
        raise Problem(409, "member_not_frozen", f"{record.name} is not frozen; nothing was sent.")
    change = runtime.ledger.freeze_member if frozen else runtime.ledger.unfreeze_member

    def action(report: Report) -> MemberWriteResult:
        result = change(runtime.operator, record.address)
        indexed_block = gateway.wait_indexed(result.block_number)
        refreshed = gateway.index.member(record.address) or record
        return MemberWriteResult(
            tx_hash=result.tx_hash,
            block_number=result.block_number,
            certificates=[],
            indexed_block=indexed_block,
            member=member_out(refreshed),
        )

    return respond(gateway, caller, request, "freeze_member" if frozen else "unfreeze_member", action)


MEMBER_WRITE: dict[int | str, dict[str, Any]] = {
    200: {"model": MemberWriteResult},
    202: {"model": OperationOut},
    **WRITE_RESPONSES,
}


@router.post(
    "/v1/members/{address}/freeze",
    summary="Freeze a member (operator)",
    response_model=MemberWriteResult,
    responses=MEMBER_WRITE,
)
def freeze_member(
    address: MemberAddress, caller: OperatorCaller, gateway: GatewayDep, request: Request
) -> JSONResponse:
    return _set_frozen(gateway, caller, request, address, True)


@router.post(
    "/v1/members/{address}/unfreeze",
    summary="Unfreeze a member (operator)",
    response_model=MemberWriteResult,
    responses=MEMBER_WRITE,
)
def unfreeze_member(
    address: MemberAddress, caller: OperatorCaller, gateway: GatewayDep, request: Request
) -> JSONResponse:
    return _set_frozen(gateway, caller, request, address, False)


@router.post(
    "/v1/members/{address}/api-keys",
    summary="Rotate a member's API key (operator)",
    description="Issues a new API key for the member and revokes its previous ones at once. The key is shown this "
    "once: a replay under the same Idempotency-Key answers without it.",
    status_code=201,
    response_model=ApiKeyOut,
    responses=WRITE_RESPONSES,
    dependencies=[shown_once(SHOWN_ONCE_FIELD)],
)
def rotate_api_key(address: MemberAddress, caller: OperatorCaller, gateway: GatewayDep) -> ApiKeyOut:
    record = visible_member(gateway, caller, address)
    return ApiKeyOut(member=record.address, api_key=gateway.store.create_api_key(record.address, revoke_existing=True))


@router.delete(
    "/v1/members/{address}/api-keys",
    summary="Revoke a member's API keys (operator)",
    status_code=204,
    responses=problem_responses(401, 403, 404),
)
def revoke_api_keys(address: MemberAddress, caller: OperatorCaller, gateway: GatewayDep) -> None:
    record = visible_member(gateway, caller, address)
    gateway.store.revoke_api_keys(record.address)
