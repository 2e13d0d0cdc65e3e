"""Every query on the ledger index, run on a connection that :class:`~scf_chain.index.store.LedgerIndex` gives.

A :class:`Snapshot` is a set of queries that see one state of the index: ``LedgerIndex.snapshot()``
runs them in one read transaction, so that provenance, verification and the event export see the
same indexed block across several queries. Every query runs on an index (``certificates`` by
primary key, ``parent_id`` or ``root_id``, ``holdings`` by (address, id), ``events`` by (block,
log index)), so its cost follows the size of the answer, not of the ledger.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Iterable, Sequence
from datetime import date
from typing import Any

from eth_utils import is_address, to_checksum_address

from scf_chain.domain.money import to_day
from scf_chain.index.records import (
    POSITION_SHIFT,
    BlockRef,
    CertificateRecord,
    EventRange,
    EventRecord,
    MemberRecord,
    TreeVersion,
    epoch,
    utc,
)

# Chunk size for IN lists: far below SQLite's limit on bound parameters.
_IN_CHUNK = 500

_CERTIFICATE_COLUMNS = (
    "c.id, c.root_id, c.parent_id, c.obligor, c.holder, c.last_holder, c.face_value, c.maturity_day, c.hops, "
    "c.document_hash, c.status, c.frozen, c.first_child_id, c.child_count, c.created_tx, c.created_block, "
    "c.created_at"
)
_ONE = f"SELECT {_CERTIFICATE_COLUMNS} FROM certificates c WHERE c.id = ?"  # noqa: S608 - constant columns
# Parent links, with UNION (not UNION ALL): even an index damaged into a cycle ends the walk.
_SUBTREE = (
    "WITH RECURSIVE tree(id) AS (SELECT ? UNION SELECT c.id FROM certificates c JOIN tree t ON c.parent_id = t.id) "  # noqa: S608
    f"SELECT {_CERTIFICATE_COLUMNS} FROM tree JOIN certificates c ON c.id = tree.id ORDER BY c.id"
)
# A whole issuance by its root, on the root_id index: one range scan instead of a walk.
_ISSUANCE = f"SELECT {_CERTIFICATE_COLUMNS} FROM certificates c WHERE c.root_id = ? ORDER BY c.id"  # noqa: S608
_PATH = (
    "WITH RECURSIVE up(id) AS (SELECT ? UNION SELECT c.parent_id FROM certificates c JOIN up u ON c.id = u.id "  # noqa: S608
    "WHERE c.parent_id IS NOT NULL) "
    f"SELECT {_CERTIFICATE_COLUMNS} FROM up JOIN certificates c ON c.id = up.id ORDER BY c.id"
)
# What changed in an issuance after an event position, on the (root_id, last_change) index.
_CHANGED = f"SELECT {_CERTIFICATE_COLUMNS} FROM certificates c WHERE c.root_id = ? AND c.last_change > ? ORDER BY c.id"  # noqa: S608
_TREE_VERSION = (
    "SELECT (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'generation'), "  # noqa: S608 - a constant shift
    "(SELECT max(last_change) FROM certificates WHERE root_id = ?), "
    f"(SELECT coalesce(max((registered_block << {POSITION_SHIFT}) | registered_log), -1) FROM members)"
)
_EVENT_COLUMNS = "block_number, log_index, block_hash, tx_hash, timestamp, name, args, contract"
_MEMBER_COLUMNS = "address, name, role, frozen, registered_block"
# What a dump compares: the read model, not the bookkeeping of which blocks were fetched.
_DUMP_TABLES = {
    "events": "block_number, log_index",
    "certificates": "id",
    "holdings": "address, certificate_id",
    "members": "address",
}


def certificate_of(row: Sequence[Any]) -> CertificateRecord:
    """A stored row as a record: the face value is stored as text (a uint64 does not fit SQLite's INTEGER)."""
    return CertificateRecord._make((*row[:6], int(row[6]), *row[7:11], bool(row[11]), *row[12:17]))


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
        timestamp=utc(timestamp),
        name=name,
        args=json.loads(args),
        contract=contract,
    )


def _address_or_none(address: str) -> str | None:
    """The checksummed form of ``address``, or None if it is not an address (so it matches nothing)."""
    if not isinstance(address, str) or not is_address(address.lower()):  # any letter case will do
        return None
    return str(to_checksum_address(address.lower()))


def _event_where(scope: EventRange) -> tuple[str, list[Any]]:
    """The SQL ``WHERE`` clause on the events table (empty for no bounds), and its parameters."""
    clauses: list[str] = []
    params: list[Any] = []
    for clause, value in (
        ("block_number >= ?", scope.from_block),
        ("block_number <= ?", scope.to_block),
        ("timestamp >= ?", None if scope.from_time is None else epoch(scope.from_time)),
        ("timestamp <= ?", None if scope.to_time is None else epoch(scope.to_time)),
    ):
        if value is not None:
            clauses.append(clause)
            params.append(int(value))
    if scope.after is not None:
        clauses.append("(block_number, log_index) > (?, ?)")
        params += [int(scope.after[0]), int(scope.after[1])]
    return (f"WHERE {' AND '.join(clauses)}" if clauses else ""), params


class Snapshot:
    """The index's queries, on one connection: inside ``LedgerIndex.snapshot()`` they all see one state."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    # Checkpoint and bookkeeping

    def indexed_block(self) -> int:
        """The last fully indexed block, -1 if none."""
        value = self.meta("indexed_block")
        return -1 if value is None else int(value)

    def meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def block(self, number: int) -> BlockRef | None:
        row = self._db.execute("SELECT number, hash, timestamp FROM blocks WHERE number = ?", (number,)).fetchone()
        return None if row is None else BlockRef(*row)

    def blocks_before(self, number: int, limit: int) -> list[BlockRef]:
        rows = self._db.execute(
            "SELECT number, hash, timestamp FROM blocks WHERE number < ? ORDER BY number DESC LIMIT ?", (number, limit)
        )
        return [BlockRef(*row) for row in rows]

    def tree_version(self, root_id: int) -> TreeVersion:
        """The version of issuance ``root_id``'s tree (two index lookups and a scan of the member list)."""
        generation, tree_change, names_change = self._db.execute(_TREE_VERSION, (root_id,)).fetchone()
        return TreeVersion(int(generation or 0), -1 if tree_change is None else int(tree_change), int(names_change))

    # Certificates

    def certificate(self, certificate_id: int) -> CertificateRecord | None:
        row = self._db.execute(_ONE, (int(certificate_id),)).fetchone()
        return None if row is None else certificate_of(row)

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
        """Certificates matching every filter given, ordered by id, and how many match in all."""
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
        total = self._db.execute(f"SELECT COUNT(*) FROM certificates {where}", params).fetchone()[0]  # noqa: S608
        rows = self._db.execute(
            f"SELECT {_CERTIFICATE_COLUMNS} FROM certificates c {where} ORDER BY id LIMIT ? OFFSET ?",  # noqa: S608
            [*params, max(int(limit), 0), max(int(offset), 0)],
        ).fetchall()
        return [certificate_of(row) for row in rows], int(total)

    def children(self, certificate_id: int) -> list[CertificateRecord]:
        rows = self._db.execute(
            f"SELECT {_CERTIFICATE_COLUMNS} FROM certificates c WHERE c.parent_id = ? ORDER BY c.id",  # noqa: S608
            (int(certificate_id),),
        )
        return [certificate_of(row) for row in rows]

    def subtree(self, top: CertificateRecord) -> list[CertificateRecord]:
        """The certificate and everything split from it, in id order (parents first: children have higher ids)."""
        # For a root, the rows of its issuance (one range scan); below, a walk down the parent links.
        query = _ISSUANCE if top.parent_id is None else _SUBTREE
        return [certificate_of(row) for row in self._db.execute(query, (top.id,))]

    def path(self, certificate_id: int) -> list[CertificateRecord]:
        """From the root down to the certificate, by parent links; empty for an unknown id."""
        return [certificate_of(row) for row in self._db.execute(_PATH, (int(certificate_id),))]

    def changed_since(self, root_id: int, position: int) -> list[CertificateRecord]:
        """The certificates of issuance ``root_id`` that events after ``position`` changed or made, in id order."""
        return [certificate_of(row) for row in self._db.execute(_CHANGED, (root_id, position))]

    # Holdings

    def has_held(self, address: str, certificate_id: int) -> bool:
        """Whether ``address`` (any letter case) holds, or ever held (or was issued), the certificate."""
        checksummed = _address_or_none(address)
        if checksummed is None:
            return False
        return bool(self.held_among(checksummed, (int(certificate_id),)))

    def held_among(self, address: str, ids: Iterable[int]) -> set[int]:
        """Which of ``ids`` ``address`` holds or ever held (one range scan of its holdings)."""
        wanted = set(ids)
        if not wanted:
            return set()
        rows = self._db.execute(
            "SELECT certificate_id FROM holdings WHERE address = ? AND certificate_id BETWEEN ? AND ?",
            (address, min(wanted), max(wanted)),
        )
        return {row[0] for row in rows} & wanted

    def held_in_tree(self, address: str, root_id: int) -> bool:
        """Whether ``address`` holds or held any certificate of issuance ``root_id``."""
        row = self._db.execute(
            "SELECT 1 FROM holdings h JOIN certificates c ON c.id = h.certificate_id "
            "WHERE h.address = ? AND c.root_id = ? LIMIT 1",
            (address, root_id),
        ).fetchone()
        return row is not None

    # Members

    def member(self, address: str) -> MemberRecord | None:
        checksummed = _address_or_none(address)
        if checksummed is None:
            return None
        row = self._db.execute(f"SELECT {_MEMBER_COLUMNS} FROM members WHERE address = ?", (checksummed,)).fetchone()  # noqa: S608
        return None if row is None else _member(row)

    def members(self) -> list[MemberRecord]:
        """Every registered member, in order of registration."""
        rows = self._db.execute(f"SELECT {_MEMBER_COLUMNS} FROM members ORDER BY registered_block, registered_log")  # noqa: S608
        return [_member(row) for row in rows]

    def member_names(self, addresses: Iterable[str]) -> dict[str, str]:
        wanted = sorted(set(addresses))
        names: dict[str, str] = {}
        for start in range(0, len(wanted), _IN_CHUNK):
            chunk = wanted[start : start + _IN_CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(f"SELECT address, name FROM members WHERE address IN ({marks})", chunk)  # noqa: S608
            names.update({address: name for address, name in rows})
        return names

    # Events

    def events(self, scope: EventRange, limit: int) -> list[EventRecord]:
        """Stored events in chain order (block, log index)."""
        where, params = _event_where(scope)
        rows = self._db.execute(
            f"SELECT {_EVENT_COLUMNS} FROM events {where} ORDER BY block_number, log_index LIMIT ?",  # noqa: S608
            [*params, max(int(limit), 0)],
        )
        return [_event(row) for row in rows]

    def event_count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM events").fetchone()[0])

    def event_key_at(self, scope: EventRange, offset: int) -> tuple[int, int] | None:
        """(block, log index) of the event ``offset`` places into ``scope``, in chain order."""
        where, params = _event_where(scope)
        row = self._db.execute(
            f"SELECT block_number, log_index FROM events {where} "  # noqa: S608 - clauses are constants
            "ORDER BY block_number, log_index LIMIT 1 OFFSET ?",
            [*params, offset],
        ).fetchone()
        return None if row is None else (int(row[0]), int(row[1]))

    # Comparison

    def dump(self) -> dict[str, Any]:
        """Every row of the read model and the checkpoint, for comparing two indexes."""
        dumped: dict[str, Any] = {
            table: self._db.execute(f"SELECT * FROM {table} ORDER BY {order}").fetchall()  # noqa: S608
            for table, order in _DUMP_TABLES.items()
        }
        dumped["indexed_block"] = self.indexed_block()
        return dumped
