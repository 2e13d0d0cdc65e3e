"""The SQLite read model of the ledger, kept by :class:`scf_chain.index.indexer.Indexer`.

Tables: ``events`` holds every event of the ledger, the settlement desk and the settlement
token (its ERC-20 transfers: deposits, withdrawals, payments) as decoded (the audit trail);
``certificates``, ``holdings`` (who ever held what) and ``members`` are derived from
the events exactly as the contract derives its state; ``blocks`` keeps the hash and
timestamp of indexed blocks for reorg detection; ``meta`` keeps the checkpoint.
Amounts are stored in minor units and dates as days since 1970-01-01, as on chain;
the records convert them to ``Decimal`` and ``date``.

Writes come from one indexer at a time, one transaction per block range, so that a
reader never sees half a range. Reads may come from any thread: each thread gets
its own connection, and the database runs in WAL mode so that readers never wait
for the writer.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

from eth_utils import is_address, to_checksum_address

from scf_chain.domain.money import from_day, from_minor_units, to_day
from scf_chain.domain.types import CertificateStatus, MemberRole

log = logging.getLogger(__name__)

# 4: the settlement token's transfers (deposits, withdrawals, payments) are indexed too.
SCHEMA_VERSION = 4
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"

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
# What a dump compares: the read model, not the bookkeeping of which blocks were fetched.
_DUMP_TABLES = {
    "events": "block_number, log_index",
    "certificates": "id",
    "holdings": "address, certificate_id",
    "members": "address",
}

# Which contract emitted an event. The certificates and members are the ledger's state; the desk's events
# (offers accepted at a price, recourse) and the settlement token's transfers (a mint is a deposit, a burn a
# withdrawal) are kept for the audit trail only, so that an auditor reconciles cash beside certificates.
LEDGER = "ledger"
DESK = "desk"
TOKEN = "token"  # noqa: S105 - which contract emitted an event, not a secret

_PENDING = CertificateStatus.PENDING.label
_ACTIVE = CertificateStatus.ACTIVE.label
_SPLIT = CertificateStatus.SPLIT.label
_CANCELLED = CertificateStatus.CANCELLED.label
_FINANCED = CertificateStatus.FINANCED.label
_SETTLED = CertificateStatus.SETTLED.label
_OVERDUE = CertificateStatus.OVERDUE.label


# Records


@dataclass(frozen=True)
class CertificateRecord:
    id: int
    root_id: int
    parent_id: int | None
    obligor: str
    holder: str | None  # None once retired (split, cancelled)
    last_holder: str
    face_value: Decimal
    maturity_date: date
    hops: int
    document_hash: str
    status: str  # pending, active, split, cancelled, financed, settled, overdue
    frozen: bool
    child_ids: tuple[int, ...]
    created_tx: str
    created_block: int
    created_at: datetime


@dataclass(frozen=True)
class MemberRecord:
    address: str
    name: str
    role: str  # core_enterprise, supplier, financier, auditor
    frozen: bool
    registered_block: int


@dataclass(frozen=True)
class EventRecord:
    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int
    timestamp: datetime
    name: str
    args: dict[str, Any]
    contract: str = LEDGER


class LogEntry(NamedTuple):
    """One decoded log of the ledger or the settlement desk, as the indexer hands it to the store."""

    block_number: int
    log_index: int
    block_hash: str
    tx_hash: str
    timestamp: int  # seconds since the epoch, the block's
    name: str
    args: dict[str, Any]
    contract: str = LEDGER  # LEDGER, DESK or TOKEN


class BlockRef(NamedTuple):
    number: int
    hash: str
    timestamp: int


def _utc(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def _epoch(value: datetime) -> int:
    """Seconds since the epoch; a naive datetime is taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp())


class EventRange(NamedTuple):
    """Which events to read: inclusive bounds in blocks and/or times (naive ones are UTC), after an exclusive
    (block, log index) cursor."""

    from_block: int | None = None
    to_block: int | None = None
    from_time: datetime | None = None
    to_time: datetime | None = None
    after: tuple[int, int] | None = None

    def where(self) -> tuple[str, list[Any]]:
        """The SQL ``WHERE`` clause on the events table (empty for no bounds), and its parameters."""
        clauses: list[str] = []
        params: list[Any] = []
        for clause, value in (
            ("block_number >= ?", self.from_block),
            ("block_number <= ?", self.to_block),
            ("timestamp >= ?", None if self.from_time is None else _epoch(self.from_time)),
            ("timestamp <= ?", None if self.to_time is None else _epoch(self.to_time)),
        ):
            if value is not None:
                clauses.append(clause)
                params.append(int(value))
        if self.after is not None:
            clauses.append("(block_number, log_index) > (?, ?)")
            params += [int(self.after[0]), int(self.after[1])]
        return (f"WHERE {' AND '.join(clauses)}" if clauses else ""), params


def event_position(block_number: int, log_index: int) -> int:
    """An event's place in the chain as one integer, ordered as (block, log index) are (a block has < 2**24 logs)."""
    return (block_number << 24) | log_index


def _address_or_none(address: str) -> str | None:
    """The checksummed form of ``address``, or None if it is not an address (so it matches nothing)."""
    if not isinstance(address, str) or not is_address(address.lower()):  # any letter case will do
        return None
    return str(to_checksum_address(address.lower()))


def role_label(role: int) -> str:
    try:
        return MemberRole(role).name.lower()
    except ValueError:
        return str(role)


_CERTIFICATE_COLUMNS = (
    "id, root_id, parent_id, obligor, holder, last_holder, face_value, maturity_day, hops, document_hash, "
    "status, frozen, first_child_id, child_count, created_tx, created_block, created_at"
)

# Children always have higher ids than their parent, so ordering by id puts parents first.
_SUBTREE_QUERY = (
    "WITH RECURSIVE tree(id) AS (SELECT id FROM certificates WHERE id = ? "  # noqa: S608 - constant columns
    "UNION ALL SELECT c.id FROM certificates c JOIN tree t ON c.parent_id = t.id) "
    f"SELECT {_CERTIFICATE_COLUMNS} FROM certificates WHERE id IN (SELECT id FROM tree) ORDER BY id"
)
_PATH_QUERY = (
    "WITH RECURSIVE up(id, parent_id) AS (SELECT id, parent_id FROM certificates WHERE id = ? "  # noqa: S608
    "UNION ALL SELECT c.id, c.parent_id FROM certificates c JOIN up u ON c.id = u.parent_id) "
    f"SELECT {_CERTIFICATE_COLUMNS} FROM certificates WHERE id IN (SELECT id FROM up) ORDER BY id"
)


def _certificate(row: Sequence[Any]) -> CertificateRecord:
    (id_, root, parent, obligor, holder, last_holder, face, day, hops, doc, status, frozen, first, count) = row[:14]
    created_tx, created_block, created_at = row[14:17]
    return CertificateRecord(
        id=id_,
        root_id=root,
        parent_id=parent,
        obligor=obligor,
        holder=holder,
        last_holder=last_holder,
        face_value=from_minor_units(int(face)),
        maturity_date=from_day(day),
        hops=hops,
        document_hash=doc,
        status=status,
        frozen=bool(frozen),
        child_ids=tuple(range(first, first + count)) if count else (),
        created_tx=created_tx,
        created_block=created_block,
        created_at=_utc(created_at),
    )


def _member(row: Sequence[Any]) -> MemberRecord:
    address, name, role, frozen, block = row
    return MemberRecord(address=address, name=name, role=role, frozen=bool(frozen), registered_block=block)


def _event(row: Sequence[Any]) -> EventRecord:
    block_number, log_index, block_hash, tx_hash, timestamp, name, args, contract = row
    return EventRecord(
        block_number=block_number,
        block_hash=block_hash,
        tx_hash=tx_hash,
        log_index=log_index,
        timestamp=_utc(timestamp),
        name=name,
        args=json.loads(args),
        contract=contract,
    )


# The projection: events to derived tables


class _Projection:
    """Applies ledger events to the derived tables, in chain order, the way the contract changes its state.

    The contract emits the mint ``Transfer`` of a new certificate before the event that
    says what it is (``CertificateIssued``, ``CertificateSplit``), so mints are buffered
    by token id until the end of their transaction.
    """

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self._tx: str | None = None
        self._mints: dict[int, str] = {}
        self._position = 0  # of the event being applied

    def apply(self, entry: LogEntry) -> None:
        if entry.contract != LEDGER:
            return
        self._position = event_position(entry.block_number, entry.log_index)
        if entry.tx_hash != self._tx:
            self._tx = entry.tx_hash
            self._mints.clear()
        handler = self._handlers.get(entry.name)
        if handler is not None:
            handler(self, entry)

    # ERC-721

    def _transfer(self, entry: LogEntry) -> None:
        args = entry.args
        sender, receiver, token = args["from"], args["to"], int(args["tokenId"])
        if sender == ZERO_ADDRESS:
            if receiver != ZERO_ADDRESS:
                self._mints[token] = receiver
                self._held(receiver, token)
            return
        if receiver == ZERO_ADDRESS:  # a burn: the caller retires the certificate; the last holder stays
            self._update(token, "holder = NULL")
            return
        # Through the gate (active certificates only) a move to someone else is a hop; the settlement
        # desk's hand-over of an overdue certificate on recourse is recorded without one.
        self._update(
            token,
            "holder = ?, last_holder = ?, hops = hops + (CASE WHEN status = ? AND ? THEN 1 ELSE 0 END)",
            receiver,
            receiver,
            _ACTIVE,
            int(sender != receiver),
        )
        self._held(receiver, token)

    def _update(self, certificate_id: int, assignments: str, *values: object) -> None:
        self.db.execute(
            f"UPDATE certificates SET {assignments}, last_change = ? WHERE id = ?",  # noqa: S608 - constant assignments
            (*values, self._position, certificate_id),
        )

    def _held(self, address: str, token: int) -> None:
        self.db.execute("INSERT OR IGNORE INTO holdings (address, certificate_id) VALUES (?, ?)", (address, token))

    # Lifecycle

    def _issued(self, entry: LogEntry) -> None:
        args = entry.args
        id_ = int(args["id"])
        holder = self._mints.pop(id_, args["holder"])
        self._insert_certificate(
            entry,
            id_=id_,
            root=id_,
            parent=None,
            obligor=args["obligor"],
            holder=holder,
            face=int(args["faceValue"]),
            day=int(args["maturityDay"]),
            hops=0,
            document_hash=args["documentHash"],
            status=_PENDING,
        )
        self._held(holder, id_)

    def _split(self, entry: LogEntry) -> None:
        args = entry.args
        parent_id, first, amounts = int(args["parentId"]), int(args["firstChildId"]), args["amounts"]
        splitter = args["holder"]
        row = self.db.execute(
            "SELECT obligor, maturity_day, hops, document_hash FROM certificates WHERE id = ?", (parent_id,)
        ).fetchone()
        if row is None:
            log.error("split of unknown certificate %d in %s; skipped", parent_id, entry.tx_hash)
            return
        obligor, day, parent_hops, document_hash = row
        self._update(
            parent_id, "status = ?, holder = NULL, first_child_id = ?, child_count = ?", _SPLIT, first, len(amounts)
        )
        for offset, amount in enumerate(amounts):
            child = first + offset
            holder = self._mints.pop(child, None)
            if holder is None:
                log.error("no mint for certificate %d in %s; taking the splitter as holder", child, entry.tx_hash)
                holder = splitter
                self._held(holder, child)
            self._insert_certificate(
                entry,
                id_=child,
                root=int(args["rootId"]),
                parent=parent_id,
                obligor=obligor,
                holder=holder,
                face=int(amount),
                day=day,
                hops=parent_hops + (0 if holder == splitter else 1),
                document_hash=document_hash,
                status=_ACTIVE,
            )

    def _insert_certificate(
        self,
        entry: LogEntry,
        *,
        id_: int,
        root: int,
        parent: int | None,
        obligor: str,
        holder: str,
        face: int,
        day: int,
        hops: int,
        document_hash: str,
        status: str,
    ) -> None:
        self.db.execute(
            f"INSERT OR REPLACE INTO certificates ({_CERTIFICATE_COLUMNS}, last_change) "  # noqa: S608
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, NULL, 0, ?, ?, ?, ?)",
            (
                id_,
                root,
                parent,
                obligor,
                holder,
                holder,
                str(face),
                day,
                hops,
                document_hash,
                status,
                entry.tx_hash,
                entry.block_number,
                entry.timestamp,
                self._position,
            ),
        )

    def _accepted(self, entry: LogEntry) -> None:
        self._update(int(entry.args["id"]), "status = ?", _ACTIVE)

    def _cancelled(self, entry: LogEntry) -> None:
        self._update(int(entry.args["id"]), "status = ?, holder = NULL", _CANCELLED)

    def _financed(self, entry: LogEntry) -> None:
        # The move to the financier (a whole Transfer, or a split-off part) came first in the transaction.
        self._update(int(entry.args["id"]), "status = ?", _FINANCED)

    def _settled(self, entry: LogEntry) -> None:
        # Retired like a split parent, after its burn Transfer: it keeps its last holder.
        self._update(int(entry.args["id"]), "status = ?, holder = NULL", _SETTLED)

    def _overdue(self, entry: LogEntry) -> None:
        self._update(int(entry.args["id"]), "status = ?", _OVERDUE)

    def _frozen(self, entry: LogEntry) -> None:
        self._update(int(entry.args["id"]), "frozen = 1")

    def _unfrozen(self, entry: LogEntry) -> None:
        self._update(int(entry.args["id"]), "frozen = 0")

    # Members

    def _member_registered(self, entry: LogEntry) -> None:
        args = entry.args
        self.db.execute(
            "INSERT OR REPLACE INTO members (address, name, role, frozen, registered_block, registered_log) "
            "VALUES (?, ?, ?, 0, ?, ?)",
            (args["account"], args["name"], role_label(int(args["role"])), entry.block_number, entry.log_index),
        )

    def _member_frozen(self, entry: LogEntry) -> None:
        self.db.execute("UPDATE members SET frozen = 1 WHERE address = ?", (entry.args["account"],))

    def _member_unfrozen(self, entry: LogEntry) -> None:
        self.db.execute("UPDATE members SET frozen = 0 WHERE address = ?", (entry.args["account"],))

    _handlers: ClassVar[dict[str, Callable[[_Projection, LogEntry], None]]] = {
        "Transfer": _transfer,
        "CertificateIssued": _issued,
        "CertificateAccepted": _accepted,
        "CertificateRejected": _cancelled,
        "CertificateCancelled": _cancelled,
        "CertificateSplit": _split,
        "CertificateFinanced": _financed,
        "CertificateSettled": _settled,
        "CertificateOverdue": _overdue,
        "CertificateFrozen": _frozen,
        "CertificateUnfrozen": _unfrozen,
        "MemberRegistered": _member_registered,
        "MemberFrozen": _member_frozen,
        "MemberUnfrozen": _member_unfrozen,
    }


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

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """One read transaction: a consistent snapshot across several queries."""
        db = self._db()
        db.execute("BEGIN")
        try:
            yield db
        finally:
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
        row = self._db().execute("SELECT value FROM meta WHERE key = 'indexed_block'").fetchone()
        return int(row[0]) if row else -1

    def meta(self, key: str) -> str | None:
        row = self._db().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self._writing() as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def block(self, number: int) -> BlockRef | None:
        """The stored hash and timestamp of indexed block ``number``, if it was recorded."""
        row = self._db().execute("SELECT number, hash, timestamp FROM blocks WHERE number = ?", (number,)).fetchone()
        return None if row is None else BlockRef(*row)

    def blocks_before(self, number: int, limit: int) -> list[BlockRef]:
        """Recorded blocks below ``number``, highest first."""
        rows = self._db().execute(
            "SELECT number, hash, timestamp FROM blocks WHERE number < ? ORDER BY number DESC LIMIT ?", (number, limit)
        )
        return [BlockRef(*row) for row in rows]

    # Writes (the indexer's)

    def apply(self, entries: Iterable[LogEntry], blocks: Iterable[BlockRef], indexed_block: int) -> int:
        """Records one range: its events, derived changes, block hashes and the new checkpoint, atomically.

        Events already stored (same transaction hash and log index) are skipped, so a
        range may be applied twice. Returns how many events were new.
        """
        added = 0
        with self._writing() as db:
            projection = _Projection(db)
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
            projection = _Projection(db)
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

    # Certificates

    def certificate(self, certificate_id: int) -> CertificateRecord | None:
        row = (
            self._db()
            .execute(
                f"SELECT {_CERTIFICATE_COLUMNS} FROM certificates WHERE id = ?",  # noqa: S608 - constant columns
                (int(certificate_id),),
            )
            .fetchone()
        )
        return None if row is None else _certificate(row)

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
        clauses: list[str] = []
        params: list[Any] = []
        if root_ids is not None:
            if not root_ids:
                return [], 0
            clauses.append(f"root_id IN ({', '.join('?' * len(root_ids))})")
            params += [int(root_id) for root_id in root_ids]
        if issuances_only:
            clauses.append("parent_id IS NULL")
        for column, address in (("holder", holder), ("obligor", obligor), ("party", party)):
            if address is None:
                continue
            checksummed = _address_or_none(address)
            if checksummed is None:
                return [], 0
            if column == "party":
                clauses.append("(holder = ? OR obligor = ?)")
                params += [checksummed, checksummed]
            else:
                clauses.append(f"{column} = ?")
                params.append(checksummed)
        if status is not None:
            clauses.append("status = ?")
            params.append(status.lower())
        if maturity_from is not None:
            clauses.append("maturity_day >= ?")
            params.append(to_day(maturity_from))
        if maturity_to is not None:
            clauses.append("maturity_day <= ?")
            params.append(to_day(maturity_to))
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        with self._reading() as db:
            total = db.execute(f"SELECT COUNT(*) FROM certificates {where}", params).fetchone()[0]  # noqa: S608
            rows = db.execute(
                f"SELECT {_CERTIFICATE_COLUMNS} FROM certificates {where} ORDER BY id LIMIT ? OFFSET ?",  # noqa: S608
                [*params, max(int(limit), 0), max(int(offset), 0)],
            ).fetchall()
        return [_certificate(row) for row in rows], int(total)

    def children(self, certificate_id: int) -> list[CertificateRecord]:
        rows = self._db().execute(
            f"SELECT {_CERTIFICATE_COLUMNS} FROM certificates WHERE parent_id = ? ORDER BY id",  # noqa: S608
            (int(certificate_id),),
        )
        return [_certificate(row) for row in rows]

    def subtree(self, certificate_id: int) -> list[CertificateRecord]:
        """The certificate and all its descendants, parents first (children always have higher ids)."""
        rows = self._db().execute(
            _SUBTREE_QUERY,
            (int(certificate_id),),
        )
        return [_certificate(row) for row in rows]

    def path_to_root(self, certificate_id: int) -> list[CertificateRecord]:
        """From the root down to the certificate itself; empty for an unknown id."""
        rows = self._db().execute(
            _PATH_QUERY,
            (int(certificate_id),),
        )
        return [_certificate(row) for row in rows]

    def has_held(self, address: str, certificate_id: int) -> bool:
        """Whether ``address`` holds, or ever held (or was issued), the certificate."""
        checksummed = _address_or_none(address)
        if checksummed is None:
            return False
        row = (
            self._db()
            .execute(
                "SELECT 1 FROM holdings WHERE address = ? AND certificate_id = ?", (checksummed, int(certificate_id))
            )
            .fetchone()
        )
        return row is not None

    # Members

    def member(self, address: str) -> MemberRecord | None:
        checksummed = _address_or_none(address)
        if checksummed is None:
            return None
        row = (
            self._db()
            .execute(
                "SELECT address, name, role, frozen, registered_block FROM members WHERE address = ?", (checksummed,)
            )
            .fetchone()
        )
        return None if row is None else _member(row)

    def members(self) -> list[MemberRecord]:
        """Every registered member, in order of registration."""
        rows = self._db().execute(
            "SELECT address, name, role, frozen, registered_block FROM members "
            "ORDER BY registered_block, registered_log"
        )
        return [_member(row) for row in rows]

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
        where, params = EventRange(from_block, to_block, from_time, to_time, after).where()
        rows = self._db().execute(
            "SELECT block_number, log_index, block_hash, tx_hash, timestamp, name, args, contract "  # noqa: S608
            f"FROM events {where} ORDER BY block_number, log_index LIMIT ?",
            [*params, max(int(limit), 0)],
        )
        return [_event(row) for row in rows]

    def event_count(self) -> int:
        return int(self._db().execute("SELECT COUNT(*) FROM events").fetchone()[0])

    # Comparison

    def dump(self) -> dict[str, Any]:
        """Every row of the read model and the checkpoint, for comparing two indexes."""
        with self._reading() as db:
            dumped: dict[str, Any] = {
                table: db.execute(f"SELECT * FROM {table} ORDER BY {order}").fetchall()  # noqa: S608
                for table, order in _DUMP_TABLES.items()
            }
            dumped["indexed_block"] = int(
                db.execute("SELECT value FROM meta WHERE key = 'indexed_block'").fetchone()[0]
            )
        return dumped
