"""The read model of the ledger, kept by :class:`scf_chain.index.indexer.Indexer`: the one owner of the index
database (SQLite in WAL mode by default, or PostgreSQL beside the gateway's store, through SQLAlchemy Core).

Tables (:mod:`scf_chain.index.schema`): ``events`` holds every event of the ledger, the settlement
desk and the settlement token (its ERC-20 transfers: deposits, withdrawals, payments) as decoded
(the audit trail); ``certificates``, ``holdings`` (who ever held what) and ``members`` are derived
from the events exactly as the contract derives its state (:mod:`scf_chain.index.projection`);
``blocks`` keeps the hash and timestamp of indexed blocks for reorg detection; ``meta`` keeps the
checkpoint. Every query lives in :mod:`scf_chain.index.queries`; the tables are made and changed by
the Alembic migrations in :mod:`scf_chain.index.migrations`, run when the index opens.

Writes come from one indexer at a time, one transaction per block range, so that a
reader never sees half a range: on SQLite the write transaction takes the file's write lock at its start,
on PostgreSQL the index's advisory lock, so that writers of other processes wait as they would on SQLite.
Reads may come from any thread, and never wait for the writer: on SQLite each reading thread keeps a
connection of its own (WAL mode), on PostgreSQL each read takes one from the pool. ``snapshot()`` gives
queries that all see one state. A server that does not answer raises
:class:`~scf_chain.domain.errors.DatabaseUnavailable`; the pool connects again for the next read or write.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
    Text,
    bindparam,
    cast,
    create_engine,
    delete,
    event,
    func,
    inspect,
    make_url,
    select,
    update,
)
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.pool import ConnectionPoolEntry

from scf_chain.domain.errors import DatabaseUnavailable
from scf_chain.index.projection import Projection
from scf_chain.index.queries import Snapshot
from scf_chain.index.records import (
    DESK,
    LEDGER,
    TOKEN,
    ZERO_ADDRESS,
    BlockRef,
    CertificateRecord,
    EventRange,
    EventRecord,
    LogEntry,
    MemberRecord,
    TreeVersion,
    event_position,
    role_label,
)
from scf_chain.index.schema import DERIVED_TABLES, LEGACY_SCHEMA_VERSION, Upsert, blocks, events, meta, metadata
from scf_chain.settings import shown_database_url

__all__ = [
    "DESK",
    "LEDGER",
    "TOKEN",
    "ZERO_ADDRESS",
    "BlockRef",
    "CertificateRecord",
    "EventRange",
    "EventRecord",
    "LedgerIndex",
    "LogEntry",
    "MemberRecord",
    "Snapshot",
    "TreeVersion",
    "event_position",
    "role_label",
]

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# The revision whose tables are those of the index before migrations (schema version 4).
BASELINE_REVISION = "0001"
# Chunk size for IN lists: far below SQLite's limit on bound parameters.
_IN_CHUNK = 500
# An execution option: this connection's transactions take the write lock from their start.
_WRITE = "scf_index_write"
# Alembic's table of the index's revision. On PostgreSQL the index shares its database with the gateway's store,
# whose migrations keep theirs in alembic_version; SQLite files keep the name they have.
SQLITE_VERSION_TABLE = "alembic_version"
POSTGRESQL_VERSION_TABLE = "index_alembic_version"
# The advisory lock of the index's writer on PostgreSQL (the gateway's store has its own).
INDEX_WRITE_LOCK = 0x5CF_0002
_TAKE_WRITE_LOCK = select(func.pg_advisory_xact_lock(INDEX_WRITE_LOCK))
# Connections of one process on PostgreSQL: request threads read at once, within the server's 100 for replicas.
POOL_SIZE = 4
POOL_OVERFLOW = 8
CONNECT_TIMEOUT_S = 5
# What the driver raises for a server that went away or cannot be reached: "try again shortly".
UNAVAILABLE = (OperationalError, InterfaceError)

# Both keys of the events table may conflict (the indexer skips those it stored already: see _unseen).
_INSERT_EVENTS = Upsert(events)
_RECORD_BLOCKS = Upsert(blocks, [blocks.c.number], lambda new: {"hash": new.hash, "timestamp": new.timestamp})
_SET_META_ROW = Upsert(meta, [meta.c.key], lambda new: {"value": new.value})
_LEDGER_EVENTS = (
    select(
        events.c.block_number,
        events.c.log_index,
        events.c.block_hash,
        events.c.tx_hash,
        events.c.timestamp,
        events.c.name,
        events.c.args,
        events.c.contract,
    )
    .where(events.c.contract == LEDGER)
    .order_by(events.c.block_number, events.c.log_index)
)


_SET_META = update(meta).where(meta.c.key == bindparam("name")).values(value=bindparam("setting"))
_NEXT_GENERATION = (
    update(meta).where(meta.c.key == "generation").values(value=cast(cast(meta.c.value, BigInteger) + 1, Text))
)
_PLACES_IN_RANGE = select(events.c.block_number, events.c.log_index).where(
    events.c.block_number.between(bindparam("low"), bindparam("high"))
)
_PLACES_OF_TRANSACTIONS = select(events.c.tx_hash, events.c.log_index).where(
    events.c.tx_hash.in_(bindparam("hashes", expanding=True))
)
_DROP_EVENTS_AFTER = delete(events).where(events.c.block_number > bindparam("block"))
_DROP_BLOCKS_AFTER = delete(blocks).where(blocks.c.number > bindparam("block"))
_CLEAR = {table.name: delete(table) for table in (events, blocks, *DERIVED_TABLES)}


def _set_meta(db: Connection, key: str, value: str) -> None:
    db.execute(_SET_META, {"name": key, "setting": value})


def _next_generation(db: Connection) -> None:
    """After a rollback or reset, event positions may come back with other events: the generation tells them apart."""
    db.execute(_NEXT_GENERATION)


def _on_connect(dbapi_connection: Any, _: ConnectionPoolEntry) -> None:
    # The driver's own transaction handling would start transactions late; the "begin" hook starts them.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # kept in the file: after the first connection, a no-op
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=OFF")
    cursor.close()


def _on_begin(connection: Connection) -> None:
    # A writer takes SQLite's write lock at BEGIN, so that two writers never deadlock upgrading a read lock.
    connection.exec_driver_sql("BEGIN IMMEDIATE" if connection.get_execution_options().get(_WRITE) else "BEGIN")


def _sqlite_engine(path: Path) -> Engine:
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        f"sqlite:///{path}",
        connect_args={"check_same_thread": False, "timeout": 30.0},
        pool_size=8,
        max_overflow=-1,  # a burst of request threads never waits for a connection
    )
    event.listen(engine, "connect", _on_connect)
    event.listen(engine, "begin", _on_begin)
    return engine


def _postgresql_engine(url: str) -> Engine:
    parsed = make_url(url)
    connect_args = {} if "connect_timeout" in parsed.query else {"connect_timeout": CONNECT_TIMEOUT_S}
    # pool_pre_ping: a connection the server closed (it restarted) is replaced before it is used.
    return create_engine(
        parsed, pool_pre_ping=True, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW, connect_args=connect_args
    )


class LedgerIndex:
    """The ledger's read model (thread-safe: reads may come from any thread; a write takes a connection of its
    own, under the process's write lock and, on PostgreSQL, the index's advisory lock)."""

    def __init__(self, location: Path | str) -> None:
        """``location``: the SQLite file, or a PostgreSQL URL (``scf_chain.settings.Settings.index_database``)."""
        self.path: Path | None = None  # the SQLite file, if it is one
        if isinstance(location, Path):
            self.path = location
            self.location = str(location)
            self._engine: Engine = _sqlite_engine(location)
        else:
            self.location = shown_database_url(location)  # as it may be logged: without a password
            self._engine = _postgresql_engine(location)
        self.dialect = self._engine.dialect.name
        self._postgresql = self.dialect == "postgresql"
        # Reads on PostgreSQL: a read-only transaction that sees the index as of its first query.
        self._reading = self._engine.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        self._write_lock = threading.Lock()
        # On SQLite each reading thread keeps one connection: a checkout from the pool for every read would cost
        # more than most reads do.
        self._local = threading.local()
        self._readers: list[Connection] = []
        self._readers_lock = threading.Lock()
        try:
            self._migrate()
        except BaseException:
            self._engine.dispose()
            raise

    # Connections and migrations

    @contextmanager
    def _answering(self) -> Iterator[None]:
        try:
            yield
        except UNAVAILABLE as exc:
            reason = (str(exc.orig).strip().splitlines() or [type(exc.orig).__name__])[0]  # names no password
            log.warning("the index database at %s does not answer: %s", self.location, reason)
            raise DatabaseUnavailable(f"the index database at {self.location} does not answer") from exc

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        """One write transaction, under the process's write lock (and the database's, from its first statement)."""
        with self._answering(), self._write_lock, self._engine.connect() as db:
            db.execution_options(**{_WRITE: True})
            with db.begin():
                if self._postgresql:
                    db.execute(_TAKE_WRITE_LOCK)  # held until the transaction ends, committed or rolled back
                yield db

    def _migrate(self) -> None:
        """Brings the tables to the newest revision; an index older than the migrations is rebuilt, with a reason.

        In a write transaction: processes opening the index at once migrate it once.
        """
        version_table = POSTGRESQL_VERSION_TABLE if self._postgresql else SQLITE_VERSION_TABLE
        with self._writing() as db:
            tables = set(inspect(db).get_table_names())
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            config.attributes["connection"] = db
            config.attributes["version_table"] = version_table
            if version_table not in tables and tables & set(metadata.tables):
                version = (
                    db.execute(select(meta.c.value).where(meta.c.key == "schema_version")).scalar()
                    if "meta" in tables
                    else None
                )
                if version == LEGACY_SCHEMA_VERSION:
                    log.info(
                        "the index at %s predates its migrations; taking its tables as the baseline", self.location
                    )
                    command.stamp(config, BASELINE_REVISION)
                else:
                    # The index is only a copy of the chain: a layout no migration starts from is read again.
                    log.warning(
                        "the index at %s has schema version %s, older than any migration; rebuilding it from the chain",
                        self.location,
                        version,
                    )
                    metadata.drop_all(db)
            command.upgrade(config, "head")

    def close(self) -> None:
        """Closes every connection this index opened, in any thread."""
        with self._readers_lock:
            readers, self._readers = self._readers, []
        for db in readers:
            db.close()
        self._local = threading.local()
        self._engine.dispose()

    def __enter__(self) -> LedgerIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Reads: every query is the Snapshot's (scf_chain.index.queries)

    @contextmanager
    def snapshot(self) -> Iterator[Snapshot]:
        """Queries that all see one state of the index: they run in one read transaction."""
        if self._postgresql:
            with self._answering(), self._reading.connect() as pooled, pooled.begin():
                yield Snapshot(pooled)
            return
        db: Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = self._engine.connect()
            with self._readers_lock:
                self._readers.append(db)
        with self._answering(), db.begin():
            yield Snapshot(db)

    # Checkpoint

    @property
    def indexed_block(self) -> int:
        """The last fully indexed block, -1 if none."""
        with self.snapshot() as snapshot:
            return snapshot.indexed_block()

    def meta(self, key: str) -> str | None:
        with self.snapshot() as snapshot:
            return snapshot.meta(key)

    def set_meta(self, key: str, value: str) -> None:
        with self._writing() as db:
            db.execute(_SET_META_ROW.on(db), {"key": key, "value": value})

    def block(self, number: int) -> BlockRef | None:
        """The stored hash and timestamp of indexed block ``number``, if it was recorded."""
        with self.snapshot() as snapshot:
            return snapshot.block(number)

    def blocks_before(self, number: int, limit: int) -> list[BlockRef]:
        """Recorded blocks below ``number``, highest first."""
        with self.snapshot() as snapshot:
            return snapshot.blocks_before(number, limit)

    # Writes (the indexer's)

    def apply(self, entries: Iterable[LogEntry], blocks: Iterable[BlockRef], indexed_block: int) -> int:
        """Records one range: its events, derived changes, block hashes and the new checkpoint, atomically.

        Events already stored (same place in the chain, or same transaction hash and log index) are
        skipped, so a range may be applied twice. Returns how many events were new.
        """
        entries = list(entries)
        with self._writing() as db:
            fresh = self._unseen(db, entries)
            if fresh:
                db.execute(
                    _INSERT_EVENTS.on(db),
                    [
                        {
                            "block_number": entry.block_number,
                            "log_index": entry.log_index,
                            "block_hash": entry.block_hash,
                            "tx_hash": entry.tx_hash,
                            "timestamp": entry.timestamp,
                            "name": entry.name,
                            "args": json.dumps(entry.args, separators=(",", ":")),
                            "contract": entry.contract,
                        }
                        for entry in fresh
                    ],
                )
                projection = Projection(db)
                for entry in fresh:
                    projection.apply(entry)
            recorded = [{"number": n, "hash": h, "timestamp": t} for n, h, t in blocks]
            if recorded:
                db.execute(_RECORD_BLOCKS.on(db), recorded)
            _set_meta(db, "indexed_block", str(indexed_block))
        return len(fresh)

    @staticmethod
    def _unseen(db: Connection, entries: list[LogEntry]) -> list[LogEntry]:
        """The entries not stored yet (by either key of the events table), each once, in the order given."""
        if not entries:
            return []
        places: set[tuple[Any, ...]] = set()
        low, high = min(e.block_number for e in entries), max(e.block_number for e in entries)
        places.update(tuple(row) for row in db.execute(_PLACES_IN_RANGE, {"low": low, "high": high}))
        hashes = sorted({entry.tx_hash for entry in entries})
        for start in range(0, len(hashes), _IN_CHUNK):
            rows = db.execute(_PLACES_OF_TRANSACTIONS, {"hashes": hashes[start : start + _IN_CHUNK]})
            places.update(tuple(row) for row in rows)
        fresh: list[LogEntry] = []
        for entry in entries:
            keys = ((entry.block_number, entry.log_index), (entry.tx_hash, entry.log_index))
            if places.isdisjoint(keys):
                places.update(keys)
                fresh.append(entry)
        return fresh

    def rollback(self, block_number: int) -> int:
        """Forgets everything after ``block_number`` and recomputes the derived tables; returns events dropped."""
        with self._writing() as db:
            dropped = db.execute(_DROP_EVENTS_AFTER, {"block": block_number}).rowcount
            db.execute(_DROP_BLOCKS_AFTER, {"block": block_number})
            for table in DERIVED_TABLES:
                db.execute(_CLEAR[table.name])
            projection = Projection(db)
            for block, index, block_hash, tx_hash, timestamp, name, args, contract in db.execute(_LEDGER_EVENTS).all():
                projection.apply(
                    LogEntry(block, index, block_hash, tx_hash, timestamp, name, json.loads(args), contract)
                )
            _set_meta(db, "indexed_block", str(max(block_number, -1)))
            _next_generation(db)
        return int(dropped)

    def reset(self) -> None:
        """Drops every indexed row; the checkpoint goes back to -1."""
        with self._writing() as db:
            for clear in _CLEAR.values():
                db.execute(clear)
            _set_meta(db, "indexed_block", "-1")
            _next_generation(db)

    # Certificates

    def certificate(self, certificate_id: int) -> CertificateRecord | None:
        with self.snapshot() as snapshot:
            return snapshot.certificate(certificate_id)

    def certificates(
        self,
        *,
        party: str | None = None,
        status: str | None = None,
        holder: str | None = None,
        obligor: str | None = None,
        maturity_from: date | None = None,
        maturity_to: date | None = None,
        root_ids: Collection[int] | None = None,
        issuances_only: bool = False,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[CertificateRecord], int]:
        """Certificates matching every filter given, ordered by id, and how many match in all.

        ``party`` matches certificates whose holder or obligor is that address; ``root_ids``
        certificates of those issuances; ``issuances_only`` the issued certificates, not their parts.
        """
        with self.snapshot() as snapshot:
            return snapshot.certificates(
                party=party,
                status=status,
                holder=holder,
                obligor=obligor,
                maturity_from=maturity_from,
                maturity_to=maturity_to,
                root_ids=root_ids,
                issuances_only=issuances_only,
                limit=limit,
                offset=offset,
            )

    def children(self, certificate_id: int) -> list[CertificateRecord]:
        with self.snapshot() as snapshot:
            return snapshot.children(certificate_id)

    def subtree(self, certificate_id: int) -> list[CertificateRecord]:
        """The certificate and all its descendants, parents first (children always have higher ids)."""
        with self.snapshot() as snapshot:
            top = snapshot.certificate(certificate_id)
            return [] if top is None else snapshot.subtree(top)

    def path_to_root(self, certificate_id: int) -> list[CertificateRecord]:
        """From the root down to the certificate itself; empty for an unknown id."""
        with self.snapshot() as snapshot:
            return snapshot.path(certificate_id)

    def has_held(self, address: str, certificate_id: int) -> bool:
        """Whether ``address`` holds, or ever held (or was issued), the certificate."""
        with self.snapshot() as snapshot:
            return snapshot.has_held(address, certificate_id)

    # Members

    def member(self, address: str) -> MemberRecord | None:
        with self.snapshot() as snapshot:
            return snapshot.member(address)

    def members(self) -> list[MemberRecord]:
        """Every registered member, in order of registration."""
        with self.snapshot() as snapshot:
            return snapshot.members()

    # Events

    def events(
        self,
        *,
        from_block: int | None = None,
        to_block: int | None = None,
        from_time: datetime | None = None,
        to_time: datetime | None = None,
        limit: int = 1000,
        after: tuple[int, int] | None = None,
    ) -> list[EventRecord]:
        """Stored events in chain order (block, log index); bounds are inclusive, ``after`` is exclusive."""
        with self.snapshot() as snapshot:
            return snapshot.events(EventRange(from_block, to_block, from_time, to_time, after), limit)

    def event_count(self) -> int:
        with self.snapshot() as snapshot:
            return snapshot.event_count()

    # Comparison

    def dump(self) -> dict[str, Any]:
        """Every row of the read model and the checkpoint, for comparing two indexes."""
        with self.snapshot() as snapshot:
            return snapshot.dump()
