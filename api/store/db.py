"""The gateway database's one connection, its transactions, and its migrations.

SQLite in the data folder by default. One connection, serialized by a lock: every statement
is short, and WAL mode keeps readers of other processes unblocked. The statements every request
runs are built once, at import, with bound parameters: building a statement costs more than running it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeAlias

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from scf_chain.settings import create_private_file

metadata = sa.MetaData()
# A row of any statement: its columns are read by name.
AnyRow: TypeAlias = sa.Row[*tuple[Any, ...]]

# Unix seconds, as a float; REAL as the tables were made before migrations, a double elsewhere.
UnixTime: sa.types.TypeEngine[float] = sa.Double().with_variant(sa.REAL(), "sqlite")

MIGRATIONS = Path(__file__).with_name("migrations")
# The schema of the last gateway that kept no migration version (see migrations/versions/0001_baseline.py).
BASELINE_REVISION = "0001_baseline"
BASELINE_TABLES = frozenset(
    {
        "api_keys",
        "idempotency",
        "operations",
        "journal",
        "issuance_notes",
        "document_uploads",
        "financing_requests",
        "offers",
        "offer_withdrawals",
        "offer_allowances",
    }
)


class Database:
    def __init__(self, path: Path) -> None:
        # Owner-only before SQLite opens it: its -wal and -shm files take the database file's mode.
        create_private_file(path)
        # The driver's autocommit, so that BEGIN IMMEDIATE below is the only transaction there is.
        self._engine = sa.create_engine(
            sa.URL.create("sqlite", database=str(path)),
            connect_args={"check_same_thread": False},
            isolation_level="AUTOCOMMIT",
        )
        self._connection = self._engine.connect()
        self._connection.exec_driver_sql("PRAGMA journal_mode=WAL")
        self._connection.exec_driver_sql("PRAGMA synchronous=NORMAL")
        self._lock = threading.RLock()
        try:
            # In one write transaction, so that two processes opening a new file do not both migrate it.
            with self.transaction() as connection:
                _upgrade(connection)
        except BaseException:
            self.close()
            raise

    @contextmanager
    def transaction(self) -> Iterator[sa.Connection]:
        """A short write transaction: it takes SQLite's write lock at once, so it never fails half way to upgrade."""
        with self._lock:
            self._connection.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield self._connection
            except BaseException:
                self._connection.exec_driver_sql("ROLLBACK")
                raise
            self._connection.exec_driver_sql("COMMIT")

    @contextmanager
    def snapshot(self) -> Iterator[sa.Connection]:
        """A read transaction: several queries that see the database as of one moment, without its write lock."""
        with self._lock:
            self._connection.exec_driver_sql("BEGIN")
            try:
                yield self._connection
            finally:
                self._connection.exec_driver_sql("COMMIT")

    def query(self, statement: sa.Executable, params: Mapping[str, Any] | None = None) -> Sequence[AnyRow]:
        with self._lock:
            return self._connection.execute(statement, params).all()

    @contextmanager
    def erasing(self) -> Iterator[None]:
        """Overwrites, rather than only unlinks, what is deleted or replaced meanwhile, and empties the WAL after."""
        with self._lock:
            self._connection.exec_driver_sql("PRAGMA secure_delete=ON")
            try:
                yield
                self._connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                self._connection.exec_driver_sql("PRAGMA secure_delete=OFF")

    def close(self) -> None:
        with self._lock:
            self._connection.close()
            self._engine.dispose()


def alembic_config(connection: sa.Connection) -> Config:
    """Alembic's configuration for the migrations beside this module, run on ``connection`` (no alembic.ini)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: sa.Connection) -> None:
    config = alembic_config(connection)
    tables = set(sa.inspect(connection).get_table_names())
    if "alembic_version" not in tables and tables & BASELINE_TABLES:
        # Made by a gateway before migrations: its tables are the baseline's, and are kept as they are.
        missing = BASELINE_TABLES - tables
        if missing:
            raise RuntimeError(
                f"the gateway database lacks {', '.join(sorted(missing))}: it was made by a gateway older than "
                "the last one without migrations; open it with that gateway first, which adds them"
            )
        command.stamp(config, BASELINE_REVISION)
    command.upgrade(config, "head")


class StorePart:
    """What every part of the store shares: the database, and the clock of what members see."""

    _db: Database
    # The time of operations, financing requests, offers and uploads: the gateway passes the ledger's clock,
    # so that these are dated like the certificates. Keys and the journal keep the wall clock.
    _clock: Callable[[], float]
