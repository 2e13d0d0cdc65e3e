"""Liveness and readiness, without a key."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.deps import GatewayDep
from api.schemas import Health
from scf_chain.chain.nodes import halted_for, nodes_of

router = APIRouter(tags=["health"])


class NodeHealth(BaseModel):
    """One node of the chain as the gateway last saw it; its URL without credentials."""

    url: str
    in_use: bool
    answering: bool
    head: int | None = None
    last_advance: float | None = None  # Unix time its head last moved, where the gateway watches it
    lagging: bool = False


class Readiness(Health):
    node: str | None = None  # the node the gateway sends to
    nodes: list[NodeHealth] = Field(default_factory=list)
    halted_for_s: float | None = None  # how long no node has made a block, once past SCF_STALL_AFTER_S


@router.get("/healthz", summary="The process is up", response_model=Health)
def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    summary="The chain answers and the ledger is deployed; the nodes, and which one is in use",
    response_model=Readiness,
    responses={503: {"model": Readiness}},
)
def readyz(gateway: GatewayDep) -> JSONResponse:
    runtime = gateway.runtime
    nodes = [
        NodeHealth(
            url=node.url,
            in_use=node.current,
            answering=node.answering,
            head=node.head,
            last_advance=node.last_advance,
            lagging=node.lagging,
        )
        for node in nodes_of(runtime.w3)
    ]
    in_use = next((node.url for node in nodes if node.in_use), None)
    if not any(node.answering for node in nodes):
        body = Readiness(status="unavailable", detail="the chain does not answer", node=in_use, nodes=nodes)
        return JSONResponse(body.model_dump(), status_code=503, headers={"Retry-After": "5"})
    halted = halted_for(runtime.w3)
    if halted is not None:
        detail = f"the network has produced no block for {halted:.0f} s"
        body = Readiness(status="unavailable", detail=detail, halted_for_s=round(halted, 1), node=in_use, nodes=nodes)
        return JSONResponse(body.model_dump(), status_code=503, headers={"Retry-After": "5"})
    if not runtime.ledger.deployed():
        detail = "the ledger is not deployed on this chain"
        body = Readiness(status="unavailable", detail=detail, node=in_use, nodes=nodes)
        return JSONResponse(body.model_dump(), status_code=503, headers={"Retry-After": "5"})
    body = Readiness(
        status="ready",
        chain_id=runtime.ledger.chain_id,
        block=runtime.ledger.head(),
        ledger=runtime.deployment.ledger,
        indexed_block=gateway.index.indexed_block,
        node=in_use,
        nodes=nodes,
    )
    return JSONResponse(body.model_dump())
