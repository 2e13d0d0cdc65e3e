"""Serving the gateway, and handing out API keys from the machine it runs on."""

from __future__ import annotations

import logging

import uvicorn

from api.main import create_app
from api.settings import gateway_settings
from api.store import GatewayStore
from scf_chain.settings import Settings


def create_api_key(settings: Settings, address: str) -> str:
    """A new API key for the member at ``address``, stored as a hash in the gateway's database."""
    store = GatewayStore(gateway_settings(settings).gateway_db_path)
    try:
        return store.create_api_key(address)
    finally:
        store.close()


def members_with_api_keys(settings: Settings) -> set[str]:
    """The addresses that hold a live API key in the gateway's database."""
    store = GatewayStore(gateway_settings(settings).gateway_db_path)
    try:
        return store.members_with_api_keys()
    finally:
        store.close()


def serve(settings: Settings) -> None:
    """Runs the gateway in the foreground until interrupted."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(create_app(settings), host=settings.api_host, port=settings.api_port, log_level="info")
