"""The event projection: ledger events applied to the derived tables (certificates, holdings, members)
in chain order, the way the contract changes its own state."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, ClassVar

from sqlalchemy import Connection, Update, bindparam, case, select, update

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
from scf_chain.index.schema import Upsert, certificates, holdings, members

log = logging.getLogger(__name__)

c = certificates.c


def _set(**values: Any) -> Update:
    """An update of one certificate (``cid``) by the event at ``position``."""
    return update(certificates).where(c.id == bindparam("cid")).values(last_change=bindparam("position"), **values)


# Statements built once: the projection runs for every event of every write.
_BURN = _set(holder=None)
# Through the gate (active certificates only) a move to someone else is a hop.
_MOVE = _set(holder=bindparam("to"), last_holder=bindparam("to"), hops=c.hops + case((c.status == ACTIVE, 1), else_=0))
_MOVE_WITHOUT_HOP = _set(holder=bindparam("to"), last_holder=bindparam("to"))
_SPLIT_PARENT = _set(status=SPLIT, holder=None, first_child_id=bindparam("first"), child_count=bindparam("count"))
_STATUS = _set(status=bindparam("status"))
_RETIRE = _set(status=bindparam("status"), holder=None)
_FREEZE = _set(frozen=bindparam("flag"))
_HOLD = Upsert(holdings, [holdings.c.address, holdings.c.certificate_id])
_PARENT = select(c.obligor, c.maturity_day, c.hops, c.document_hash).where(c.id == bindparam("cid"))
_INSERT_CERTIFICATE = Upsert(
    certificates,
    [c.id],
    lambda new: {column.name: new[column.name] for column in certificates.columns if column.name != "id"},
)
_REGISTER = Upsert(
    members,
    [members.c.address],
    lambda new: {column.name: new[column.name] for column in members.columns if column.name != "address"},
)
_MEMBER_FREEZE = update(members).where(members.c.address == bindparam("account")).values(frozen=bindparam("flag"))


class Projection:
    """Applies ledger events to the derived tables, in chain order, the way the contract changes its state.

    The contract emits the mint ``Transfer`` of a new certificate before the event that
    says what it is (``CertificateIssued``, ``CertificateSplit``), so mints are buffered
    by token id until the end of their transaction.
    """

    def __init__(self, db: Connection) -> None:
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
            self._update(_BURN, token)
            return
        # The settlement desk's hand-over of an overdue certificate on recourse is recorded without a hop.
        self._update(_MOVE if sender != receiver else _MOVE_WITHOUT_HOP, token, to=receiver)
        self._held(receiver, token)

    def _update(self, statement: Update, certificate_id: int, **values: object) -> None:
        self.db.execute(statement, {"cid": certificate_id, "position": self._position, **values})

    def _held(self, address: str, token: int) -> None:
        self.db.execute(_HOLD.on(self.db), {"address": address, "certificate_id": token})

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
        row = self.db.execute(_PARENT, {"cid": parent_id}).first()
        if row is None:
            log.error("split of unknown certificate %d in %s; skipped", parent_id, entry.tx_hash)
            return
        obligor, day, parent_hops, document_hash = row
        self._update(_SPLIT_PARENT, parent_id, first=first, count=len(amounts))
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
            _INSERT_CERTIFICATE.on(self.db),
            {
                "id": id_,
                "root_id": root,
                "parent_id": parent,
                "obligor": obligor,
                "holder": holder,
                "last_holder": holder,
                "face_value": face,
                "maturity_day": day,
                "hops": hops,
                "document_hash": document_hash,
                "status": status,
                "frozen": False,
                "first_child_id": None,
                "child_count": 0,
                "created_tx": entry.tx_hash,
                "created_block": entry.block_number,
                "created_at": entry.timestamp,
                "last_change": self._position,
            },
        )

    def _accepted(self, entry: LogEntry) -> None:
        self._update(_STATUS, int(entry.args["id"]), status=ACTIVE)

    def _cancelled(self, entry: LogEntry) -> None:
        self._update(_RETIRE, int(entry.args["id"]), status=CANCELLED)

    def _financed(self, entry: LogEntry) -> None:
        # The move to the financier (a whole Transfer, or a split-off part) came first in the transaction.
        self._update(_STATUS, int(entry.args["id"]), status=FINANCED)

    def _settled(self, entry: LogEntry) -> None:
        # Retired like a split parent, after its burn Transfer: it keeps its last holder.
        self._update(_RETIRE, int(entry.args["id"]), status=SETTLED)

    def _overdue(self, entry: LogEntry) -> None:
        self._update(_STATUS, int(entry.args["id"]), status=OVERDUE)

    def _frozen(self, entry: LogEntry) -> None:
        self._update(_FREEZE, int(entry.args["id"]), flag=True)

    def _unfrozen(self, entry: LogEntry) -> None:
        self._update(_FREEZE, int(entry.args["id"]), flag=False)

    # Members

    def _member_registered(self, entry: LogEntry) -> None:
        args = entry.args
        self.db.execute(
            _REGISTER.on(self.db),
            {
                "address": args["account"],
                "name": args["name"],
                "role": role_label(int(args["role"])),
                "frozen": False,
                "registered_block": entry.block_number,
                "registered_log": entry.log_index,
            },
        )

    def _member_frozen(self, entry: LogEntry) -> None:
        self.db.execute(_MEMBER_FREEZE, {"account": entry.args["account"], "flag": True})

    def _member_unfrozen(self, entry: LogEntry) -> None:
        self.db.execute(_MEMBER_FREEZE, {"account": entry.args["account"], "flag": False})

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
