"""Builds the gateway application."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.gateway import Gateway
from api.middleware import RequestGuard
from api.problems import install_problem_handlers
from api.routes import certificates, credit_lines, health, members, operations
from scf_chain.settings import Settings, get_settings

DESCRIPTION = """
The scf-chain gateway: core enterprises issue payable certificates against invoices,
suppliers accept, split and pass them down the chain, and everyone reads what they
may see. Every request carries `Authorization: Bearer <api key>`; the key decides
which member the request acts as, and the gateway signs on that member's behalf.

Amounts are decimal strings in CNY (`"1250.50"`, at most two decimals); dates are
`YYYY-MM-DD` in UTC. Every POST and PUT takes an `Idempotency-Key` header. Writes wait
for the ledger by default; send `Prefer: respond-async` to get 202 and an operation
to poll. Errors are `application/problem+json` with a stable `code`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        gateway = Gateway(settings)
        gateway.start()
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
    )
    app.add_middleware(RequestGuard, max_body_bytes=settings.max_body_bytes)
    install_problem_handlers(app)
    for module in (health, members, credit_lines, certificates, operations):
        app.include_router(module.router)
    return app


def app_factory() -> FastAPI:
    """For `uvicorn --factory api.main:app_factory`."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return create_app()
