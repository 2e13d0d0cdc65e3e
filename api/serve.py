"""Serving the gateway, as one process or as replicas, and handing out API keys from the machine it runs on.

Replicas (``scf serve --workers N``) are uvicorn's worker processes: the parent binds the
address once and spawns N workers that all accept on it, each importing
:func:`api.main.app_factory` and building a gateway of its own (spawned, not forked, so that
none inherits the parent's connections or threads). The parent does what must happen once
before any of them starts, and supervises them: a worker that dies or stops answering its
health check is replaced, and Ctrl-C or SIGTERM stops them all.
"""

from __future__ import annotations

import logging

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from api.main import create_app
from api.settings import GatewaySettings, gateway_settings
from api.store import GatewayStore, SqliteJournal
from scf_chain.domain.errors import ScfError
from scf_chain.index.indexer import LedgerIndex
from scf_chain.runtime import open_runtime
from scf_chain.settings import Settings, make_data_dir_private

log = logging.getLogger(__name__)

APP_FACTORY = "api.main:app_factory"
# A worker busy on every core still answers its supervisor's ping well within this; one that does not is hung.
WORKER_HEALTHCHECK_S = 30
WORKER_START_TIMEOUT_S = 300.0
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class NeedsSharedDatabase(ScfError):
    """Several gateway processes were asked for on a database only one process may use."""


class WorkerFailedToStart(ScfError):
    """A gateway worker exited before it served: every worker would fail the same way."""


def create_api_key(settings: Settings, address: str) -> str:
    """A new API key for the member at ``address``, stored as a hash in the gateway's database."""
    store = GatewayStore(gateway_settings(settings).gateway_database)
    try:
        return store.create_api_key(address)
    finally:
        store.close()


def members_with_api_keys(settings: Settings) -> set[str]:
    """The addresses that hold a live API key in the gateway's database."""
    store = GatewayStore(gateway_settings(settings).gateway_database)
    try:
        return store.members_with_api_keys()
    finally:
        store.close()


def serve(settings: Settings, *, workers: int = 1, access_log: bool = True) -> None:
    """Runs the gateway in the foreground until interrupted: in this process, or as ``workers`` replicas.

    Replicas read their settings from the environment, as this process did: ``settings`` must be
    the environment's (``scf serve`` reads them so).
    """
    if workers > 1 and settings.database_url is None:
        raise NeedsSharedDatabase(
            f"--workers {workers} needs a database the workers share: set SCF_DATABASE_URL to a PostgreSQL "
            "database (the SQLite files serve one process)"
        )
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    if workers <= 1:
        uvicorn.run(
            create_app(settings),
            host=settings.api_host,
            port=settings.api_port,
            log_level="info",
            access_log=access_log,
        )
        return
    prepare_shared_state(gateway_settings(settings))
    config = uvicorn.Config(
        APP_FACTORY,
        factory=True,
        host=settings.api_host,
        port=settings.api_port,
        workers=workers,
        log_level="info",
        access_log=access_log,
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_S,
    )
    supervisor = Replicas(config, sockets=[config.bind_socket()])
    supervisor.run()
    if any(process.exitcode == STARTUP_FAILURE for process in supervisor.processes):
        raise WorkerFailedToStart("a gateway worker could not start (its log above says why); all were stopped")


def prepare_shared_state(settings: GatewaySettings) -> None:
    """What must happen once, before replicas start at the same moment: the data folder made private, both
    databases created or upgraded, the contracts compiled, the operator's key made, and (in development mode)
    the ledger deployed when the chain lacks it. Each worker then finds all of it done."""
    make_data_dir_private(settings.data_dir)
    store = GatewayStore(settings.gateway_database)
    try:
        # Journalled as a gateway would, so that a deployment interrupted here is known to the replicas' recovery.
        runtime = open_runtime(settings, deploy_if_missing=settings.dev_mode, journal=SqliteJournal(store))
        LedgerIndex(settings.index_database).close()
    finally:
        store.close()
    log.info("ledger %s; the gateway's databases are ready for its workers", runtime.deployment.ledger)


class Replicas(Multiprocess):
    """uvicorn's supervisor of worker processes, saying once when every worker serves."""

    def init_processes(self) -> None:
        super().init_processes()
        for process in self.processes:
            if not process.wait_until_ready(WORKER_START_TIMEOUT_S, self.should_exit):
                return  # it died starting up: the supervisor's loop finds it and stops, or replaces it
        url = f"http://{self.config.host}:{self.config.port}"
        log.info("gateway: %d workers serving on %s", len(self.processes), url)
