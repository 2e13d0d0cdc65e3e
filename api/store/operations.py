"""Operations: a member's write as it goes on, with the transactions it signed, for the caller to poll."""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from api.store.db import BigInt, StorePart, UnixTime, Upsert, metadata
from api.store.leases import REPLICA_ID

# A previous run may have left these behind: their transactions say how they ended.
UNFINISHED_STATUSES = ("submitted", "mined")
# Finished, until the chain lost the block of one of its transactions: sent again, and settled again.
UNCONFIRMED = "unconfirmed"

operations = sa.Table(
    "operations",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("member", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("result", sa.Text),
    sa.Column("problem", sa.Text),
    sa.Column("created_at", UnixTime, nullable=False),
    sa.Column("updated_at", UnixTime, nullable=False),
    sa.Column("replica", sa.Text),  # the gateway process that runs it (api.store.leases); None: made before replicas
)
operation_transactions = sa.Table(
    "operation_transactions",
    metadata,
    sa.Column("operation_id", sa.Text, primary_key=True),
    sa.Column("tx_hash", sa.Text, primary_key=True),
    sa.Column("position", BigInt, nullable=False),
)


@dataclass(frozen=True)
class Operation:
    id: str
    member: str
    kind: str
    status: str
    result: Any
    problem: Any
    created_at: float
    updated_at: float
    tx_hashes: tuple[str, ...] = ()  # in the order they were signed


# The operation whose transactions the journal is recording (see recording_operation).
_recording: ContextVar[str | None] = ContextVar("recording_operation", default=None)


@contextmanager
def recording_operation(operation_id: str) -> Iterator[None]:
    """Adds every transaction the journal records in this context to the operation's transactions.

    Each one is added in the journal row's own database transaction, so that an operation never
    lacks a transaction that was signed for it.
    """
    token = _recording.set(operation_id)
    try:
        yield
    finally:
        _recording.reset(token)


def recorded_operation() -> str | None:
    """The operation of :func:`recording_operation`'s context, if any."""
    return _recording.get()


_NEXT_POSITION = sa.select(sa.func.coalesce(sa.func.max(operation_transactions.c.position) + 1, 0)).where(
    operation_transactions.c.operation_id == sa.bindparam("of_operation")
)
_ADD_TRANSACTION = Upsert(
    operation_transactions, [operation_transactions.c.operation_id, operation_transactions.c.tx_hash]
)
_UPDATE = operations.update().where(operations.c.id == sa.bindparam("of_id"))
_SELECT = sa.select(operations).order_by(operations.c.created_at, operations.c.id)
_BY_ID = _SELECT.where(operations.c.id == sa.bindparam("of_id"))
_UNFINISHED = _SELECT.where(operations.c.status.in_(UNFINISHED_STATUSES))
_UNCONFIRMED = _SELECT.where(operations.c.status == UNCONFIRMED)
_UNCONFIRM = (
    operations.update()
    .where(
        operations.c.status.not_in(UNFINISHED_STATUSES),
        operations.c.id.in_(
            sa.select(operation_transactions.c.operation_id).where(
                operation_transactions.c.tx_hash.in_(sa.bindparam("of_hashes", expanding=True))
            )
        ),
    )
    .values(status=UNCONFIRMED, updated_at=sa.bindparam("now"))
)
_TRANSACTIONS_OF = (
    sa.select(operation_transactions.c.operation_id, operation_transactions.c.tx_hash)
    .where(operation_transactions.c.operation_id.in_(sa.bindparam("of_operations", expanding=True)))
    .order_by(operation_transactions.c.operation_id, operation_transactions.c.position)
)


def add_operation_transaction(db: sa.Connection, operation_id: str, tx_hash: str) -> None:
    """Appends ``tx_hash`` to the operation's transactions, in ``db``'s write transaction; a repeat is kept once."""
    position = db.execute(_NEXT_POSITION, {"of_operation": operation_id}).scalar_one()
    db.execute(_ADD_TRANSACTION.on(db), {"operation_id": operation_id, "tx_hash": tx_hash, "position": position})


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def _loaded(value: str | None) -> Any:
    return None if value is None else json.loads(value)


class Operations(StorePart):
    def create_operation(self, member: str, kind: str) -> Operation:
        now = self._clock()
        operation = Operation(str(uuid.uuid4()), member, kind, "submitted", None, None, now, now)
        row = {"id": operation.id, "member": member, "kind": kind, "status": operation.status, "replica": REPLICA_ID}
        with self._db.transaction() as db:
            db.execute(operations.insert(), {**row, "created_at": now, "updated_at": now})
        return operation

    def update_operation(self, operation_id: str, status: str, *, result: Any = None, problem: Any = None) -> None:
        changes = {"status": status, "result": _json(result), "problem": _json(problem), "updated_at": self._clock()}
        with self._db.transaction() as db:
            db.execute(_UPDATE, {"of_id": operation_id, **changes})

    def operation(self, operation_id: str) -> Operation | None:
        found = self._operations(_BY_ID, {"of_id": operation_id})
        return found[0] if found else None

    def unfinished_operations(self, *, except_of: Collection[str] = ()) -> list[Operation]:
        """Operations not yet confirmed or failed, oldest first: after a restart, those a previous run left.

        ``except_of``: replicas whose operations are left out (those still running, which finish their own).
        """
        select = _UNFINISHED
        if except_of:
            select = select.where(sa.or_(operations.c.replica.is_(None), operations.c.replica.not_in(except_of)))
        return self._operations(select, {})

    def unconfirmed_operations(self) -> list[Operation]:
        return self._operations(_UNCONFIRMED, {})

    def unconfirm_operations(self, tx_hashes: list[str]) -> int:
        """Marks the finished operations that sent any of ``tx_hashes`` unconfirmed; returns how many.

        Their result and problem are kept: sending the same transactions again gives the same result.
        """
        if not tx_hashes:
            return 0
        with self._db.transaction() as db:
            return db.execute(_UNCONFIRM, {"of_hashes": tx_hashes, "now": self._clock()}).rowcount

    def _operations(self, select: sa.Select[Any], params: dict[str, str]) -> list[Operation]:
        with self._db.snapshot() as db:  # the operations and their transactions as of one moment
            rows = db.execute(select, params).all()
            hashes: dict[str, list[str]] = {}
            if rows:
                for row in db.execute(_TRANSACTIONS_OF, {"of_operations": [row.id for row in rows]}):
                    hashes.setdefault(row.operation_id, []).append(row.tx_hash)
        return [
            Operation(
                row.id,
                row.member,
                row.kind,
                row.status,
                _loaded(row.result),
                _loaded(row.problem),
                row.created_at,
                row.updated_at,
                tuple(hashes.get(row.id, ())),
            )
            for row in rows
        ]
