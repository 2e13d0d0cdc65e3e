"""Asynchronous writes, polled by the caller that started them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from api.deps import CurrentCaller, GatewayDep
from api.render.problems import not_found
from api.render.responses import problem_responses
from api.schemas import OperationOut
from api.services.writes import operation_out

router = APIRouter(prefix="/v1/operations", tags=["operations"])


@router.get(
    "/{operation_id}",
    summary="Status of an asynchronous write",
    description="Writes sent with `Prefer: respond-async` answer 202 with an operation; poll it here until it is "
    "`confirmed` (with the result) or `failed` (with a problem).",
    response_model=OperationOut,
    responses=problem_responses(401, 404),
)
def get_operation(
    operation_id: Annotated[str, Path(max_length=64)], caller: CurrentCaller, gateway: GatewayDep
) -> OperationOut:
    operation = gateway.store.operation(operation_id)
    if operation is None or operation.member != caller.address:
        raise not_found("operation")
    return operation_out(operation)
