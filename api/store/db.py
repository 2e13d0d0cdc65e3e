"""The gateway database's connections, its transactions, and its migrations.

SQLite in the data folder by default: one connection, serialized by a lock. Every statement is
short, and WAL mode keeps readers of other processes unblocked.

PostgreSQL (``SCF_DATABASE_URL``) when gateway processes share the store: a pool of connections,
and every write transaction takes the store's advisory lock first, so that writes are serialized
across processes as SQLite's ``BEGIN IMMEDIATE`` serializes them. The store's parts read and then
write in one transaction, and rely on it.

A server that does not answer raises :class:`~scf_chain.domain.errors.DatabaseUnavailable`, after the
transaction is rolled back; the pool connects again for the next statement.

The statements every request runs are built once, at import, with bound parameters: building a
statement costs more than running it. Those that differ between the two (upserts) are built for
each dialect (:class:`Upsert`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, TypeAlias

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler

from scf_chain.domain.errors import DatabaseUnavailable
from scf_chain.settings import create_private_file, shown_database_url

log = logging.getLogger(__name__)

metadata = sa.MetaData()
# A row of any statement: its columns are read by name.
AnyRow: TypeAlias = sa.Row[*tuple[Any, ...]]
Dialect: TypeAlias = Literal["sqlite", "postgresql"]

# Unix seconds, as a float; REAL as the tables were made before migrations, a double elsewhere.
UnixTime: sa.types.TypeEngine[float] = sa.Double().with_variant(sa.REAL(), "sqlite")
# Ids, nonces, block numbers, sizes, times: 64 bits on PostgreSQL. SQLite's INTEGER is 64 bits already, and an
# INTEGER PRIMARY KEY is the rowid, so its files keep the type they always had.
BigInt: sa.types.TypeEngine[int] = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

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

# The advisory lock every write transaction of the store takes on PostgreSQL (the index's writer has its own):
# a number no other part of the project locks with.
STORE_WRITE_LOCK = 0x5CF_0001
_TAKE_WRITE_LOCK = sa.select(sa.func.pg_advisory_xact_lock(STORE_WRITE_LOCK))
# Connections of one process: a few requests at a time, and several replicas within PostgreSQL's 100.
POOL_SIZE = 4
POOL_OVERFLOW = 6
# A server that is out of reach is given up on after this long, and answered 503.
CONNECT_TIMEOUT_S = 5
# What the driver raises for a server that went away or cannot be reached (also a serialization failure or a
# statement cancelled by the server: all of them mean "try again shortly").
UNAVAILABLE = (sa.exc.OperationalError, sa.exc.InterfaceError)


class Upsert:
    """An INSERT that, where a row with the same ``key`` exists, updates the columns ``changes`` names from the
    new row (``excluded``), or with no ``changes`` leaves the existing row as it is; built for each dialect, with
    the same conflict target and semantics on both."""

    _INSERTS: Mapping[str, Callable[[sa.Table], Any]] = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}

    def __init__(
        self,
        table: sa.Table,
        key: Sequence[sa.Column[Any]],
        changes: Callable[[Any], Mapping[str, Any]] | None = None,
    ) -> None:
        self._statements: dict[str, sa.Insert] = {}
        for dialect, insert in self._INSERTS.items():
            statement = insert(table)
            if changes is None:
                statement = statement.on_conflict_do_nothing(index_elements=key)
            else:
                statement = statement.on_conflict_do_update(index_elements=key, set_=changes(statement.excluded))
            # An INSERT's rowcount says whether it inserted (or updated): SQLAlchemy keeps it only when asked.
            self._statements[dialect] = statement.execution_options(preserve_rowcount=True)

    def on(self, db: sa.Connection) -> sa.Insert:
        """The statement for ``db``'s dialect."""
        return self._statements[db.dialect.name]


class contains_bytes(sa.sql.expression.FunctionElement[bool]):  # noqa: N801 - a SQL function, named as one
    """Whether the binary ``haystack`` holds ``needle``, byte for byte."""

    type = sa.Boolean()
    inherit_cache = True
    name = "contains_bytes"


@compiles(contains_bytes, "sqlite")
def _contains_bytes_sqlite(element: contains_bytes, compiler: SQLCompiler, **kw: Any) -> str:
    haystack, needle = list(element.clauses)
    return f"instr({compiler.process(haystack, **kw)}, {compiler.process(needle, **kw)}) > 0"


@compiles(contains_bytes, "postgresql")
def _contains_bytes_postgresql(element: contains_bytes, compiler: SQLCompiler, **kw: Any) -> str:
    haystack, needle = list(element.clauses)
    return f"position({compiler.process(needle, **kw)} in {compiler.process(haystack, **kw)}) > 0"


class Database:
    """The store's database, at a SQLite file (``Path``) or a PostgreSQL URL (``str``); brought to the newest
    schema when opened."""

    def __init__(self, location: Path | str) -> None:
        self._side: _Sqlite | _Postgresql = _Sqlite(location) if isinstance(location, Path) else _Postgresql(location)
        self.dialect: Dialect = self._side.dialect
        # Other processes may write the same database (replicas): what one process keeps for itself is not enough.
        self.shared = self.dialect == "postgresql"
        self.location = self._side.location  # as it may be shown: without a password
        try:
            # In one write transaction, under the write lock, so that processes opening it at once migrate it once.
            with self.transaction() as connection:
                _upgrade(connection)
        except BaseException:
            self.close()
            raise

    @contextmanager
    def transaction(self) -> Iterator[sa.Connection]:
        """A short write transaction, serialized with every other writer of the store from its first statement:
        what it reads stays as read until it commits."""
        with self._answering(), self._side.transaction() as connection:
            yield connection

    @contextmanager
    def snapshot(self) -> Iterator[sa.Connection]:
        """A read transaction: several queries that see the database as of one moment, without the write lock."""
        with self._answering(), self._side.snapshot() as connection:
            yield connection

    def query(self, statement: sa.Executable, params: Mapping[str, Any] | None = None) -> Sequence[AnyRow]:
        with self._answering():
            return self._side.query(statement, params)

    @contextmanager
    def erasing(self, *tables: sa.Table) -> Iterator[None]:
        """Deletes and replaces made meanwhile in ``tables`` do not leave the old rows readable in the files."""
        with self._answering(), self._side.erasing(tables):
            yield

    def close(self) -> None:
        self._side.close()

    @contextmanager
    def _answering(self) -> Iterator[None]:
        try:
            yield
        except UNAVAILABLE as exc:
            log.warning("the gateway database at %s does not answer: %s", self.location, _reason(exc))
            raise DatabaseUnavailable(f"the gateway database at {self.location} does not answer") from exc


def _reason(exc: sa.exc.DBAPIError) -> str:
    # The driver's own message (its first line): it names the host and port, never the password.
    return (str(exc.orig).strip().splitlines() or [type(exc.orig).__name__])[0]


class _Sqlite:
    dialect: Dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        self.location = str(path)
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

    @contextmanager
    def transaction(self) -> Iterator[sa.Connection]:
        # BEGIN IMMEDIATE takes SQLite's write lock at once, so that the transaction never fails half way to upgrade.
        with self._lock:
            self._connection.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield self._connection
            except BaseException:
                self._rollback()
                raise
            self._connection.exec_driver_sql("COMMIT")

    @contextmanager
    def snapshot(self) -> Iterator[sa.Connection]:
        with self._lock:
            self._connection.exec_driver_sql("BEGIN")
            try:
                yield self._connection
            finally:
                self._rollback()

    def query(self, statement: sa.Executable, params: Mapping[str, Any] | None) -> Sequence[AnyRow]:
        with self._lock:
            return self._connection.execute(statement, params).all()

    @contextmanager
    def erasing(self, tables: Sequence[sa.Table]) -> Iterator[None]:
        # Overwrites, rather than only unlinks, what is deleted or replaced meanwhile, and empties the WAL after.
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

    def _rollback(self) -> None:
        # SQLite ends the transaction itself on some errors (a full disk, an I/O error): then there is none left.
        if self._connection.connection.dbapi_connection.in_transaction:  # type: ignore[union-attr]
            self._connection.exec_driver_sql("ROLLBACK")


class _Postgresql:
    dialect: Dialect = "postgresql"

    def __init__(self, url: str) -> None:
        parsed = sa.make_url(url)
        self.location = shown_database_url(url)
        connect_args = {} if "connect_timeout" in parsed.query else {"connect_timeout": CONNECT_TIMEOUT_S}
        # pool_pre_ping: a connection the server closed (it restarted) is replaced before it is used.
        self._engine = sa.create_engine(
            parsed,
            pool_pre_ping=True,
            pool_size=POOL_SIZE,
            max_overflow=POOL_OVERFLOW,
            connect_args=connect_args,
        )
        # One statement, one transaction: a read that needs no other sees the newest committed state.
        self._reading = self._engine.execution_options(isolation_level="AUTOCOMMIT")
        self._snapshots = self._engine.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        # This process's writers wait here rather than each on a connection of the pool.
        self._write_lock = threading.Lock()

    @contextmanager
    def transaction(self) -> Iterator[sa.Connection]:
        with self._write_lock, self._engine.connect() as db, db.begin():
            db.execute(_TAKE_WRITE_LOCK)  # released when the transaction ends, committed or rolled back
            yield db

    @contextmanager
    def snapshot(self) -> Iterator[sa.Connection]:
        with self._snapshots.connect() as db, db.begin():
            yield db

    def query(self, statement: sa.Executable, params: Mapping[str, Any] | None) -> Sequence[AnyRow]:
        with self._reading.connect() as db:
            return db.execute(statement, params).all()

    @contextmanager
    def erasing(self, tables: Sequence[sa.Table]) -> Iterator[None]:
        # PostgreSQL has no secure delete: a deleted or replaced row stays in its table's file until VACUUM marks
        # its space free, to be overwritten by later rows. VACUUM runs outside a transaction, after the changes.
        yield
        with self._reading.connect() as db:
            for table in tables:
                db.exec_driver_sql(f'VACUUM "{table.name}"')

    def close(self) -> None:
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
