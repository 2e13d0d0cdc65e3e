"""Builds the gateway application."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response

from api.gateway import Gateway
from api.json_body import JsonBody
from api.middleware import RequestGuard
from api.openapi import install_openapi, operation_id
from api.render.problems import install_problem_handlers
from api.routes import (
    audit,
    balances,
    certificates,
    credit_lines,
    docs,
    documents,
    explorer,
    financing,
    health,
    members,
    operations,
    provenance,
    risk,
    settlement,
)
from api.services import overdue, recovery, rollback
from api.services.financing import LAPSED_OFFERS_INTERVAL_S, release_lapsed
from api.settings import GatewaySettings, gateway_settings, get_gateway_settings
from scf_chain.client import clock
from scf_chain.settings import InvalidSettings, Settings, make_data_dir_private

log = logging.getLogger(__name__)

DESCRIPTION = """
The scf-chain gateway: core enterprises issue payable certificates against invoices,
suppliers accept, split and pass them down the chain, and everyone reads what they
may see. Every request carries `Authorization: Bearer <api key>`; the key decides
which member the request acts as, and the gateway signs on that member's behalf.

Amounts are decimal strings in CNY (`"1250.50"`, at most two decimals); dates are
`YYYY-MM-DD` in UTC. Every POST and PUT takes an `Idempotency-Key` header. Writes wait
for the ledger by default; send `Prefer: respond-async` to get 202 and an operation
to poll. Errors are `application/problem+json` with a stable `code`.

Financing and settlement are paid in the settlement token, a tokenized CNY deposit
that the operator credits (`/v1/deposits`) and debits (`/v1/withdrawals`). A holder
asks for financing on a certificate, financiers make signed offers, and the
holder accepts one: payment and delivery in one ledger transaction. From maturity the
core enterprise settles each issuance (`/v1/settlements`). Dates are judged by the
ledger's clock: the later of the wall clock and the latest block's time.

A document (invoice, contract) is identified everywhere by its document hash: the
SHA-256 of the file's bytes, `0x` and 64 hex digits. Upload it to `/v1/documents` and
issue against it with `document_id`, or anchor a hash computed elsewhere with
`document_hash`. Each certificate's provenance (`/v1/certificates/{id}/provenance`)
can be verified against the chain (`/verify`), and auditors export every ledger event
from `/v1/audit/events`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = gateway_settings(settings) if settings is not None else get_gateway_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        make_data_dir_private(settings.data_dir)  # before the gateway opens or creates anything in it
        gateway = Gateway(settings)
        try:
            rollback.repair(gateway)  # first: blocks the chain lost are filled again before anything else is sent
        except Exception:
            log.exception("the journal is checked against the chain later: the chain did not answer")
        gateway.start()
        interrupted = recovery.InterruptedOperations(gateway)
        try:
            interrupted.settle(gateway)  # before the first request, where the chain answers
        except Exception:
            log.exception("interrupted operations are settled later: the chain did not answer")
        # Once per network, on the leader among replicas; every replica settles its own interrupted operations.
        gateway.every(settings.overdue_interval_s, "overdue", overdue.mark_past_grace, leader_only=True)
        gateway.every(recovery.SETTLE_INTERVAL_S, "interrupted-operations", interrupted.settle)
        gateway.every(rollback.CHECK_INTERVAL_S, "chain-rollback", rollback.repair, leader_only=True)
        gateway.every(LAPSED_OFFERS_INTERVAL_S, "lapsed-offers", release_lapsed, leader_only=True)
        app.state.gateway = gateway
        try:
            yield
        finally:
            gateway.stop()

    app = FastAPI(
        title="scf-chain gateway",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        # FastAPI's own pages load their scripts from a CDN; api.routes.docs serves them from the gateway.
        docs_url=None,
        redoc_url=None,
    )
    # Document uploads carry a file: their bodies may reach the document limit, plus the form around it.
    upload_limit = settings.max_document_bytes + settings.max_body_bytes
    app.add_middleware(
        RequestGuard,
        max_body_bytes=settings.max_body_bytes,
        body_limits={"/v1/documents": upload_limit, "/v1/documents/verify": upload_limit},
    )
    app.add_middleware(JsonBody)  # curl -d bodies are JSON too

    @app.middleware("http")
    async def ledger_clock(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        # Dates are validated as the contracts will judge them, by this gateway's ledger clock and tenor.
        with clock.use(request.app.state.gateway.runtime.clock):
            return await call_next(request)

    install_problem_handlers(app)
    routers = (
        health,
        members,
        credit_lines,
        certificates,
        balances,
        financing,
        settlement,
        risk,
        operations,
        explorer,
    )
    for module in (*routers, provenance, documents, audit, docs):
        app.include_router(module.router)
    install_openapi(app, (module.router for module in (*routers, provenance, documents, audit)))
    explorer.mount_assets(app)
    return app


def app_factory() -> FastAPI:
    """For `uvicorn --factory api.main:app_factory`."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings: GatewaySettings = get_gateway_settings()
    except InvalidSettings as exc:
        raise SystemExit(f"error: {exc}") from None  # one line, not a traceback
    return create_app(settings)
