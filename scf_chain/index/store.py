"""The SQLite read model of the ledger, kept by :class:`scf_chain.index.indexer.Indexer`: the one owner of
the index database.

Tables: ``events`` holds every event of the ledger, the settlement desk and the settlement
token (its ERC-20 transfers: deposits, withdrawals, payments) as decoded (the audit trail);
``certificates``, ``holdings`` (who ever held what) and ``members`` are derived from
the events exactly as the contract derives its state (:mod:`scf_chain.index.projection`);
``blocks`` keeps the hash and timestamp of indexed blocks for reorg detection; ``meta``
keeps the checkpoint. Every query lives in :mod:`scf_chain.index.queries`.

Writes come from one indexer at a time, one transaction per block range, so that a
reader never sees half a range. Reads may come from any thread: each thread gets
its own connection, and the database runs in WAL mode so that readers never wait
for the writer. ``snapshot()`` gives queries that all see one state.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

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

# 4: the settlement token's transfers (deposits, withdrawals, payments) are indexed too.
SCHEMA_VERSION = 4

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS blocks (
    number    INTEGER PRIMARY KEY,
    hash      TEXT NOT NULL,
    timestamp INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    block_number INTEGER NOT NULL,
    log_index    INTEGER NOT NULL,
    block_hash   TEXT NOT NULL,
    tx_hash      TEXT NOT NULL,
    timestamp    INTEGER NOT NULL,
    name         TEXT NOT NULL,
    args         TEXT NOT NULL,
    contract     TEXT NOT NULL,  -- which contract emitted it: ledger, desk or token
    PRIMARY KEY (block_number, log_index),
    UNIQUE (tx_hash, log_index)
);
CREATE INDEX IF NOT EXISTS events_by_time ON events (timestamp);
CREATE TABLE IF NOT EXISTS certificates (
    id             INTEGER PRIMARY KEY,
    root_id        INTEGER NOT NULL,
    parent_id      INTEGER,
    obligor        TEXT NOT NULL,
    holder         TEXT,
    last_holder    TEXT NOT NULL,
    face_value     TEXT NOT NULL,  -- minor units, as text: a uint64 does not fit SQLite's INTEGER
    maturity_day   INTEGER NOT NULL,
    hops           INTEGER NOT NULL,
    document_hash  TEXT NOT NULL,
    status         TEXT NOT NULL,
    frozen         INTEGER NOT NULL,
    first_child_id INTEGER,
    child_count    INTEGER NOT NULL,
    created_tx     TEXT NOT NULL,
    created_block  INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    last_change    INTEGER NOT NULL  -- the position of the last event that changed the row (see event_position)
);
CREATE INDEX IF NOT EXISTS certificates_by_holder ON certificates (holder);
CREATE INDEX IF NOT EXISTS certificates_by_obligor ON certificates (obligor);
CREATE INDEX IF NOT EXISTS certificates_by_parent ON certificates (parent_id);
-- Also answers "when did anything in this issuance last change" without reading its rows.
CREATE INDEX IF NOT EXISTS certificates_by_root ON certificates (root_id, last_change);
CREATE INDEX IF NOT EXISTS certificates_by_status ON certificates (status);
CREATE INDEX IF NOT EXISTS certificates_by_maturity ON certificates (maturity_day);
CREATE TABLE IF NOT EXISTS holdings (
    address        TEXT NOT NULL,
    certificate_id INTEGER NOT NULL,
    PRIMARY KEY (address, certificate_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS members (
    address          TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    role             TEXT NOT NULL,
    frozen           INTEGER NOT NULL,
    registered_block INTEGER NOT NULL,
    registered_log   INTEGER NOT NULL
);
"""

# The tables derived from events; a rollback clears them and replays the events.
_DERIVED_TABLES = ("certificates", "holdings", "members")


# The store


def _next_generation(db: sqlite3.Connection) -> None:
    """After a rollback or reset, event positions may come back with other events: the generation tells them apart."""
    db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")


class LedgerIndex:
    """SQLite read model of the ledger (WAL mode; safe to use from several threads: one connection per thread)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._db().execute("PRAGMA journal_mode=WAL")
        self._create_schema()

    # Connections

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30.0)
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=OFF")
            self._local.db = db
            with self._connections_lock:
                self._connections.append(db)
        return db

    def _create_schema(self) -> None:
        with self._write_lock:
            db = self._db()
            has_meta = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone()
            version = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() if has_meta else None
            if has_meta and (version is None or version[0] != str(SCHEMA_VERSION)):
                # The index is only a cache of the chain: another layout is dropped and rebuilt.
                log.warning("the index at %s has another schema version; it will be rebuilt", self.path)
                for table in ("meta", "blocks", "events", *_DERIVED_TABLES):
                    db.execute(f"DROP TABLE IF EXISTS {table}")
            db.executescript(_SCHEMA)  # every statement is IF NOT EXISTS
            db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('indexed_block', '-1')")
            db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('generation', '0')")

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, under the process's write lock."""
        with self._write_lock:
            db = self._db()
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def close(self) -> None:
        """Closes every connection this index opened, in any thread."""
        with self._connections_lock:
            connections, self._connections = self._connections, []
        for db in connections:
            db.close()
        self._local = threading.local()

    def __enter__(self) -> LedgerIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Checkpoint

    @property
    def indexed_block(self) -> int:
        """The last fully indexed block, -1 if none."""
        return self._queries().indexed_block()

    def meta(self, key: str) -> str | None:
        return self._queries().meta(key)

    def set_meta(self, key: str, value: str) -> None:
        with self._writing() as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def block(self, number: int) -> BlockRef | None:
        """The stored hash and timestamp of indexed block ``number``, if it was recorded."""
        return self._queries().block(number)

    def blocks_before(self, number: int, limit: int) -> list[BlockRef]:
        """Recorded blocks below ``number``, highest first."""
        return self._queries().blocks_before(number, limit)

    # Writes (the indexer's)

    def apply(self, entries: Iterable[LogEntry], blocks: Iterable[BlockRef], indexed_block: int) -> int:
        """Records one range: its events, derived changes, block hashes and the new checkpoint, atomically.

        Events already stored (same transaction hash and log index) are skipped, so a
        range may be applied twice. Returns how many events were new.
        """
        added = 0
        with self._writing() as db:
            projection = Projection(db)
            insert = (
                "INSERT OR IGNORE INTO events "
                "(block_number, log_index, block_hash, tx_hash, timestamp, name, args, contract) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            )
            for entry in entries:
                cursor = db.execute(
                    insert,
                    (
                        entry.block_number,
                        entry.log_index,
                        entry.block_hash,
                        entry.tx_hash,
                        entry.timestamp,
                        entry.name,
                        json.dumps(entry.args, separators=(",", ":")),
                        entry.contract,
                    ),
                )
                if cursor.rowcount == 1:
                    added += 1
                    projection.apply(entry)
            db.executemany(
                "INSERT OR REPLACE INTO blocks (number, hash, timestamp) VALUES (?, ?, ?)",
                [tuple(block) for block in blocks],
            )
            db.execute("UPDATE meta SET value = ? WHERE key = 'indexed_block'", (str(indexed_block),))
        return added

    def rollback(self, block_number: int) -> int:
        """Forgets everything after ``block_number`` and recomputes the derived tables; returns events dropped."""
        with self._writing() as db:
            dropped = db.execute("DELETE FROM events WHERE block_number > ?", (block_number,)).rowcount
            db.execute("DELETE FROM blocks WHERE number > ?", (block_number,))
            for table in _DERIVED_TABLES:
                db.execute(f"DELETE FROM {table}")  # noqa: S608 - constant table names
            projection = Projection(db)
            rows = db.execute(
                "SELECT block_number, log_index, block_hash, tx_hash, timestamp, name, args, contract FROM events "
                "WHERE contract = ? ORDER BY block_number, log_index",
                (LEDGER,),
            ).fetchall()
            for block, index, block_hash, tx_hash, timestamp, name, args, contract in rows:
                entry = LogEntry(block, index, block_hash, tx_hash, timestamp, name, json.loads(args), contract)
                projection.apply(entry)
            db.execute("UPDATE meta SET value = ? WHERE key = 'indexed_block'", (str(max(block_number, -1)),))
            _next_generation(db)
        return dropped

    def reset(self) -> None:
        """Drops every indexed row; the checkpoint goes back to -1."""
        with self._writing() as db:
            for table in ("events", "blocks", *_DERIVED_TABLES):
                db.execute(f"DELETE FROM {table}")  # noqa: S608 - constant table names
            db.execute("UPDATE meta SET value = '-1' WHERE key = 'indexed_block'")
            _next_generation(db)

    # Reads: every query is the Snapshot's (scf_chain.index.queries)

    @contextmanager
    def snapshot(self) -> Iterator[Snapshot]:
        """Queries that all see one state of the index: they run in one read transaction."""
        db = self._db()
        db.execute("BEGIN")
        try:
            yield Snapshot(db)
        finally:
            db.execute("COMMIT")

    def _queries(self) -> Snapshot:
        """The queries outside a transaction, for a read of one statement."""
        return Snapshot(self._db())

    def certificate(self, certificate_id: int) -> CertificateRecord | None:
        return self._queries().certificate(certificate_id)

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
        return self._queries().children(certificate_id)

    def subtree(self, certificate_id: int) -> list[CertificateRecord]:
        """The certificate and all its descendants, parents first (children always have higher ids)."""
        with self.snapshot() as snapshot:
            top = snapshot.certificate(certificate_id)
            return [] if top is None else snapshot.subtree(top)

    def path_to_root(self, certificate_id: int) -> list[CertificateRecord]:
        """From the root down to the certificate itself; empty for an unknown id."""
        return self._queries().path(certificate_id)

    def has_held(self, address: str, certificate_id: int) -> bool:
        """Whether ``address`` holds, or ever held (or was issued), the certificate."""
        return self._queries().has_held(address, certificate_id)

    def member(self, address: str) -> MemberRecord | None:
        return self._queries().member(address)

    def members(self) -> list[MemberRecord]:
        """Every registered member, in order of registration."""
        return self._queries().members()

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
        return self._queries().events(EventRange(from_block, to_block, from_time, to_time, after), limit)

    def event_count(self) -> int:
        return self._queries().event_count()

    def dump(self) -> dict[str, Any]:
        """Every row of the read model and the checkpoint, for comparing two indexes."""
        with self.snapshot() as snapshot:
            return snapshot.dump()
