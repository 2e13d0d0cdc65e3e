"""Liveness and readiness, without a key."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import GatewayDep
from api.schemas import Health
from scf_chain.chain.local import rpc_answers
from scf_chain.runtime import rpc_url

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is up", response_model=Health)
def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    summary="The chain answers and the ledger is deployed",
    response_model=Health,
    responses={503: {"model": Health}},
)
def readyz(gateway: GatewayDep) -> JSONResponse:
    runtime = gateway.runtime
    if not rpc_answers(rpc_url(gateway.settings), timeout=2.0):
        body = Health(status="unavailable", detail="the chain does not answer")
        return JSONResponse(body.model_dump(), status_code=503, headers={"Retry-After": "5"})
    if not runtime.ledger.deployed():
        body = Health(status="unavailable", detail="the ledger is not deployed on this chain")
        return JSONResponse(body.model_dump(), status_code=503, headers={"Retry-After": "5"})
    body = Health(
        status="ready",
        chain_id=runtime.ledger.chain_id,
        block=runtime.ledger.head(),
        ledger=runtime.deployment.ledger,
        indexed_block=gateway.index.indexed_block,
    )
    return JSONResponse(body.model_dump())
