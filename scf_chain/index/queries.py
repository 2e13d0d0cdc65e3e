"""Every query on the ledger index, run on a connection that :class:`~scf_chain.index.store.LedgerIndex` gives.

A :class:`Snapshot` is a set of queries that see one state of the index: ``LedgerIndex.snapshot()``
runs them in one read transaction, so that provenance, verification and the event export see the
same indexed block across several queries. Every query runs on an index (``certificates`` by
primary key, ``parent_id`` or ``root_id``, ``holdings`` by (address, id), ``events`` by (block,
log index)), so its cost follows the size of the answer, not of the ledger.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from datetime import date
from typing import Any

from eth_utils import is_address, to_checksum_address
from sqlalchemy import BigInteger, Connection, Integer, Select, bindparam, cast, func, literal, or_, select, tuple_
from sqlalchemy.sql.elements import ColumnElement

from scf_chain.domain.money import to_day
from scf_chain.domain.types import CertificateStatus, Role
from scf_chain.index.records import (
    LEDGER,
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
from scf_chain.index.schema import BigInt, blocks, certificates, events, holdings, members, meta

# Chunk size for IN lists: far below SQLite's limit on bound parameters.
_IN_CHUNK = 500

c = certificates.c
# In the order of CertificateRecord's fields.
_CERTIFICATE_COLUMNS = (
    c.id,
    c.root_id,
    c.parent_id,
    c.obligor,
    c.holder,
    c.last_holder,
    c.face_value,
    c.maturity_day,
    c.hops,
    c.document_hash,
    c.status,
    c.frozen,
    c.first_child_id,
    c.child_count,
    c.created_tx,
    c.created_block,
    c.created_at,
)
_CERTIFICATES = select(*_CERTIFICATE_COLUMNS)
_ONE = _CERTIFICATES.where(c.id == bindparam("id"))
_CHILDREN = _CERTIFICATES.where(c.parent_id == bindparam("id")).order_by(c.id)
# A whole issuance by its root, on the root_id index: one range scan instead of a walk.
_ISSUANCE = _CERTIFICATES.where(c.root_id == bindparam("id")).order_by(c.id)
# What changed in an issuance after an event position, on the (root_id, last_change) index.
_CHANGED = _CERTIFICATES.where(c.root_id == bindparam("root"), c.last_change > bindparam("position")).order_by(c.id)


def _walk_down() -> Select[Any]:
    """The certificate and everything split from it, by parent links. UNION, not UNION ALL: even an index
    damaged into a cycle ends the walk."""
    tree = select(bindparam("id", type_=BigInt).label("id")).cte("tree", recursive=True)
    below = certificates.alias("below")
    tree = tree.union(select(below.c.id).join(tree, below.c.parent_id == tree.c.id))
    return _CERTIFICATES.join_from(certificates, tree, c.id == tree.c.id).order_by(c.id)


def _walk_up() -> Select[Any]:
    """From the certificate up to its root, by parent links (UNION ends even a cycle)."""
    up = select(bindparam("id", type_=BigInt).label("id")).cte("up", recursive=True)
    above = certificates.alias("above")
    up = up.union(select(above.c.parent_id).join(up, above.c.id == up.c.id).where(above.c.parent_id.is_not(None)))
    return _CERTIFICATES.join_from(certificates, up, c.id == up.c.id).order_by(c.id)


_SUBTREE = _walk_down()
_PATH = _walk_up()
# A member registration's event position, as records.event_position computes it.
# The shift as a 32-bit integer: PostgreSQL shifts a BIGINT by an INTEGER only.
_REGISTRATION_POSITION = members.c.registered_block.op("<<")(literal(POSITION_SHIFT, Integer)).op("|")(
    members.c.registered_log
)
_TREE_VERSION = select(
    select(cast(meta.c.value, BigInteger)).where(meta.c.key == "generation").scalar_subquery(),
    select(func.max(c.last_change)).where(c.root_id == bindparam("root")).scalar_subquery(),
    select(func.coalesce(func.max(_REGISTRATION_POSITION), -1)).scalar_subquery(),
)
_META = select(meta.c.value).where(meta.c.key == bindparam("key"))
_BLOCKS = select(blocks.c.number, blocks.c.hash, blocks.c.timestamp)
_BLOCK = _BLOCKS.where(blocks.c.number == bindparam("number"))
_BLOCKS_BEFORE = (
    _BLOCKS.where(blocks.c.number < bindparam("number")).order_by(blocks.c.number.desc()).limit(bindparam("limit"))
)
_HELD = select(holdings.c.certificate_id).where(
    holdings.c.address == bindparam("address"),
    holdings.c.certificate_id.between(bindparam("low"), bindparam("high")),
)
_HELD_IN_TREE = (
    select(1)
    .select_from(holdings.join(certificates, c.id == holdings.c.certificate_id))
    .where(holdings.c.address == bindparam("address"), c.root_id == bindparam("root"))
    .limit(1)
)
_MEMBERS = select(members.c.address, members.c.name, members.c.role, members.c.frozen, members.c.registered_block)
_MEMBER = _MEMBERS.where(members.c.address == bindparam("address"))
_EVENT_ORDER = (events.c.block_number, events.c.log_index)
_EVENTS = select(
    events.c.block_number,
    events.c.log_index,
    events.c.block_hash,
    events.c.tx_hash,
    events.c.timestamp,
    events.c.name,
    events.c.args,
    events.c.contract,
)
# What a dump compares: the read model, not the bookkeeping of which blocks were fetched.
_DUMP = {
    "events": select(events).order_by(*_EVENT_ORDER),
    "certificates": select(certificates).order_by(c.id),
    "holdings": select(holdings).order_by(holdings.c.address, holdings.c.certificate_id),
    "members": select(members).order_by(members.c.address),
}


_STATUS = CertificateRecord._fields.index("status")


def certificate_of(row: Sequence[Any]) -> CertificateRecord:
    values = list(row)
    values[_STATUS] = CertificateStatus(values[_STATUS])  # stored as its label
    return CertificateRecord._make(values)


def _member(row: Sequence[Any]) -> MemberRecord:
    address, name, role, frozen, block = row
    return MemberRecord(address=address, name=name, role=Role(role), frozen=frozen, registered_block=block)


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


def _event_where(scope: EventRange) -> list[ColumnElement[bool]]:
    """The conditions on the events table that ``scope`` sets."""
    clauses: list[ColumnElement[bool]] = []
    if scope.from_block is not None:
        clauses.append(events.c.block_number >= int(scope.from_block))
    if scope.to_block is not None:
        clauses.append(events.c.block_number <= int(scope.to_block))
    if scope.from_time is not None:
        clauses.append(events.c.timestamp >= epoch(scope.from_time))
    if scope.to_time is not None:
        clauses.append(events.c.timestamp <= epoch(scope.to_time))
    if scope.after is not None:
        clauses.append(tuple_(*_EVENT_ORDER) > tuple_(int(scope.after[0]), int(scope.after[1])))
    return clauses


class Snapshot:
    """The index's queries, on one connection: inside ``LedgerIndex.snapshot()`` they all see one state."""

    def __init__(self, db: Connection) -> None:
        self._db = db

    # Checkpoint and bookkeeping

    def indexed_block(self) -> int:
        """The last fully indexed block, -1 if none."""
        value = self.meta("indexed_block")
        return -1 if value is None else int(value)

    def meta(self, key: str) -> str | None:
        value = self._db.execute(_META, {"key": key}).scalar()
        return None if value is None else str(value)

    def block(self, number: int) -> BlockRef | None:
        row = self._db.execute(_BLOCK, {"number": int(number)}).first()
        return None if row is None else BlockRef(*row)

    def blocks_before(self, number: int, limit: int) -> list[BlockRef]:
        rows = self._db.execute(_BLOCKS_BEFORE, {"number": int(number), "limit": int(limit)})
        return [BlockRef(*row) for row in rows]

    def tree_version(self, root_id: int) -> TreeVersion:
        """The version of issuance ``root_id``'s tree (two index lookups and a scan of the member list)."""
        row = self._db.execute(_TREE_VERSION, {"root": int(root_id)}).one()
        generation, tree_change, names_change = row
        return TreeVersion(int(generation or 0), -1 if tree_change is None else int(tree_change), int(names_change))

    # Certificates

    def certificate(self, certificate_id: int) -> CertificateRecord | None:
        row = self._db.execute(_ONE, {"id": int(certificate_id)}).first()
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
        clauses: list[ColumnElement[bool]] = []
        if root_ids is not None:
            if not root_ids:
                return [], 0
            clauses.append(c.root_id.in_([int(root_id) for root_id in root_ids]))
        if issuances_only:
            clauses.append(c.parent_id.is_(None))
        for column, address in (("holder", holder), ("obligor", obligor), ("party", party)):
            if address is None:
                continue
            checksummed = _address_or_none(address)
            if checksummed is None:
                return [], 0
            if column == "party":
                clauses.append(or_(c.holder == checksummed, c.obligor == checksummed))
            else:
                clauses.append(c[column] == checksummed)
        if status is not None:
            clauses.append(c.status == status.lower())
        if maturity_from is not None:
            clauses.append(c.maturity_day >= to_day(maturity_from))
        if maturity_to is not None:
            clauses.append(c.maturity_day <= to_day(maturity_to))
        total = self._db.execute(select(func.count()).select_from(certificates).where(*clauses)).scalar_one()
        rows = self._db.execute(
            _CERTIFICATES.where(*clauses).order_by(c.id).limit(max(int(limit), 0)).offset(max(int(offset), 0))
        )
        return [certificate_of(row) for row in rows], int(total)

    def children(self, certificate_id: int) -> list[CertificateRecord]:
        return [certificate_of(row) for row in self._db.execute(_CHILDREN, {"id": int(certificate_id)})]

    def subtree(self, top: CertificateRecord) -> list[CertificateRecord]:
        """The certificate and everything split from it, in id order (parents first: children have higher ids)."""
        # For a root, the rows of its issuance (one range scan); below, a walk down the parent links.
        query = _ISSUANCE if top.parent_id is None else _SUBTREE
        return [certificate_of(row) for row in self._db.execute(query, {"id": top.id})]

    def path(self, certificate_id: int) -> list[CertificateRecord]:
        """From the root down to the certificate, by parent links; empty for an unknown id."""
        return [certificate_of(row) for row in self._db.execute(_PATH, {"id": int(certificate_id)})]

    def changed_since(self, root_id: int, position: int) -> list[CertificateRecord]:
        """The certificates of issuance ``root_id`` that events after ``position`` changed or made, in id order."""
        rows = self._db.execute(_CHANGED, {"root": int(root_id), "position": int(position)})
        return [certificate_of(row) for row in rows]

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
        rows = self._db.execute(_HELD, {"address": address, "low": min(wanted), "high": max(wanted)})
        return set(rows.scalars()) & wanted

    def held_in_tree(self, address: str, root_id: int) -> bool:
        """Whether ``address`` holds or held any certificate of issuance ``root_id``."""
        return self._db.execute(_HELD_IN_TREE, {"address": address, "root": int(root_id)}).first() is not None

    # Members

    def member(self, address: str) -> MemberRecord | None:
        checksummed = _address_or_none(address)
        if checksummed is None:
            return None
        row = self._db.execute(_MEMBER, {"address": checksummed}).first()
        return None if row is None else _member(row)

    def members(self) -> list[MemberRecord]:
        """Every registered member, in order of registration."""
        rows = self._db.execute(_MEMBERS.order_by(members.c.registered_block, members.c.registered_log))
        return [_member(row) for row in rows]

    def member_names(self, addresses: Iterable[str]) -> dict[str, str]:
        wanted = sorted(set(addresses))
        names: dict[str, str] = {}
        for start in range(0, len(wanted), _IN_CHUNK):
            chunk = wanted[start : start + _IN_CHUNK]
            rows = self._db.execute(select(members.c.address, members.c.name).where(members.c.address.in_(chunk)))
            names.update({address: name for address, name in rows})
        return names

    # Events

    def events(self, scope: EventRange, limit: int) -> list[EventRecord]:
        """Stored events in chain order (block, log index)."""
        query = _EVENTS.where(*_event_where(scope)).order_by(*_EVENT_ORDER).limit(max(int(limit), 0))
        return [_event(row) for row in self._db.execute(query)]

    def event_count(self) -> int:
        return int(self._db.execute(select(func.count()).select_from(events)).scalar_one())

    def event_key_at(self, scope: EventRange, offset: int) -> tuple[int, int] | None:
        """(block, log index) of the event ``offset`` places into ``scope``, in chain order."""
        query = select(*_EVENT_ORDER).where(*_event_where(scope)).order_by(*_EVENT_ORDER).limit(1).offset(int(offset))
        row = self._db.execute(query).first()
        return None if row is None else (int(row[0]), int(row[1]))

    # Comparison

    def dump(self) -> dict[str, Any]:
        """Every row of the read model and the checkpoint, for comparing two indexes."""
        dumped: dict[str, Any] = {
            table: [tuple(row) for row in self._db.execute(query)] for table, query in _DUMP.items()
        }
        dumped["indexed_block"] = self.indexed_block()
        return dumped

    # Risk: what an obligor owes and to whom, and the events a breach opened with

    def obligor_certificates(self, obligor: str) -> list[CertificateRecord]:
        """Every certificate ``obligor`` owes or owed, of any status, in id order (on the obligor index)."""
        checksummed = _address_or_none(obligor)
        if checksummed is None:
            return []
        return [certificate_of(row) for row in self._db.execute(_OF_OBLIGOR, {"obligor": checksummed})]

    def held_certificates(self, address: str) -> list[CertificateRecord]:
        """The certificates ``address`` holds now, in id order (on the holder index)."""
        checksummed = _address_or_none(address)
        if checksummed is None:
            return []
        return [certificate_of(row) for row in self._db.execute(_HELD_NOW, {"holder": checksummed})]

    def obligors_held(self, address: str) -> set[str]:
        """The obligors of every certificate ``address`` holds or ever held (one range scan of its holdings)."""
        checksummed = _address_or_none(address)
        if checksummed is None:
            return set()
        return set(self._db.execute(_OBLIGORS_HELD, {"address": checksummed}).scalars())

    def ledger_events_named(self, names: Collection[str]) -> list[EventRecord]:
        """The ledger's events with one of ``names``, in chain order.

        The events table has no index by name, so this reads it whole: the risk signals call it once a
        request, for the few kinds of event (credit limits, issues and releases, overdue marks, freezes)
        that say when a breach opened.
        """
        if not names:
            return []
        query = _EVENTS.where(events.c.contract == LEDGER, events.c.name.in_(sorted(names))).order_by(*_EVENT_ORDER)
        return [_event(row) for row in self._db.execute(query)]


# The risk queries' statements, built once.
_OF_OBLIGOR = _CERTIFICATES.where(c.obligor == bindparam("obligor")).order_by(c.id)
_HELD_NOW = _CERTIFICATES.where(c.holder == bindparam("holder")).order_by(c.id)
_OBLIGORS_HELD = (
    select(c.obligor)
    .select_from(holdings.join(certificates, c.id == holdings.c.certificate_id))
    .where(holdings.c.address == bindparam("address"))
    .distinct()
)
