"""The event projection: ledger events applied to the derived tables (certificates, holdings, members)
in chain order, the way the contract changes its own state."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from typing import ClassVar

from scf_chain.index.records import (
    ACTIVE,
    CANCELLED,
    FINANCED,
    LEDGER,
    OVERDUE,
    PENDING,
    SETTLED,
    SPLIT,
    ZERO_ADDRESS,
    LogEntry,
    event_position,
    role_label,
)

log = logging.getLogger(__name__)

_CERTIFICATE_COLUMNS = (
    "id, root_id, parent_id, obligor, holder, last_holder, face_value, maturity_day, hops, document_hash, "
    "status, frozen, first_child_id, child_count, created_tx, created_block, created_at"
)


class Projection:
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
            ACTIVE,
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
            status=PENDING,
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
            parent_id, "status = ?, holder = NULL, first_child_id = ?, child_count = ?", SPLIT, first, len(amounts)
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
                status=ACTIVE,
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
        self._update(int(entry.args["id"]), "status = ?", ACTIVE)

    def _cancelled(self, entry: LogEntry) -> None:
        self._update(int(entry.args["id"]), "status = ?, holder = NULL", CANCELLED)

    def _financed(self, entry: LogEntry) -> None:
        # The move to the financier (a whole Transfer, or a split-off part) came first in the transaction.
        self._update(int(entry.args["id"]), "status = ?", FINANCED)

    def _settled(self, entry: LogEntry) -> None:
        # Retired like a split parent, after its burn Transfer: it keeps its last holder.
        self._update(int(entry.args["id"]), "status = ?, holder = NULL", SETTLED)

    def _overdue(self, entry: LogEntry) -> None:
        self._update(int(entry.args["id"]), "status = ?", OVERDUE)

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

    _handlers: ClassVar[dict[str, Callable[[Projection, LogEntry], None]]] = {
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
