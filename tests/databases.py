"""The database a test run stores into: SQLite files (the default), or PostgreSQL with ``--database=postgres``.

On PostgreSQL each test worker starts one real server of its own, the first time a test needs it, in a
temporary folder, and stops it when the worker is done; every store, index and gateway process then gets
an empty database of its own on it, as it would get a data folder of its own on SQLite.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from pathlib import Path

import sqlalchemy as sa

from api.settings import GatewaySettings
from scf_chain.settings import Settings
from tools.postgres import LocalPostgres, PostgresError, postgres_bin_dir

SQLITE, POSTGRES = "sqlite", "postgres"
CHOICES = (SQLITE, POSTGRES)

_mode = SQLITE
_server: LocalPostgres | None = None
_names = itertools.count(1)


def configure(mode: str) -> None:
    """Chooses the run's database; the environment's SCF_DATABASE_URL is not the test run's to follow."""
    global _mode
    _mode = mode
    os.environ.pop("SCF_DATABASE_URL", None)


def on_postgres() -> bool:
    return _mode == POSTGRES


def missing_postgres() -> str | None:
    """Why this run cannot have PostgreSQL, or None when it can."""
    try:
        postgres_bin_dir()
    except PostgresError as missing:
        return str(missing)
    return None


def server() -> LocalPostgres:
    """This worker's PostgreSQL server, started the first time it is asked for."""
    global _server
    if _server is None:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        # Not under pytest's own temporary folder: as root, the server's user must reach the folder.
        folder = Path(tempfile.mkdtemp(prefix=f"scf-postgres-{worker}-"))
        started = LocalPostgres(folder, durable=False)
        started.start()
        _server = started
    return _server


def fresh_database_url() -> str | None:
    """A new, empty database's URL on this worker's server; None when the run is on SQLite."""
    if not on_postgres():
        return None
    return server().create_database(f"test_{next(_names)}")


def drop(url: str | None) -> None:
    """Drops the database of ``url`` (made by fresh_database_url), if any."""
    if url is not None and _server is not None:
        _server.drop_database(url.rsplit("/", 1)[1])


def stop() -> None:
    """Stops this worker's server, if it was started, and removes its folder."""
    global _server
    if _server is not None:
        server, _server = _server, None
        server.stop()
        shutil.rmtree(server.data_dir, ignore_errors=True)


def database_env(url: str | None) -> dict[str, str]:
    """The environment that points a gateway process (or ``scf run``) at ``url``; nothing on SQLite."""
    return {"SCF_DATABASE_URL": url} if url else {}


def gateway_database(data_dir: Path, url: str | None) -> Path | str:
    """Where a gateway with ``data_dir`` and ``url`` keeps its store: the database, else its SQLite file."""
    return url or GatewaySettings(data_dir=data_dir).gateway_db_path


def index_database(data_dir: Path, url: str | None) -> Path | str:
    """Where a gateway or command with ``data_dir`` and ``url`` keeps the index: the database, else its file."""
    return url or Settings(data_dir=data_dir).index_db_path


def engine(location: Path | str) -> sa.Engine:
    """An engine on the database at ``location``, for a test that reads or changes rows behind the gateway's back."""
    if isinstance(location, str):
        return sa.create_engine(location)
    return sa.create_engine(f"sqlite:///{location}", connect_args={"timeout": 30})
