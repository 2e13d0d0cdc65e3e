"""Idempotency records: scoped by the member, and never holding a secret a response showed.

A record of a ledger write names its operation (``attach_operation``), so that after a crash the
record is settled with what became of the operation's transactions (``api.services.recovery``):
a key is never left in progress for good.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable
from typing import Any

import sqlalchemy as sa

from api.store.db import StorePart, UnixTime, Upsert, contains_bytes, metadata
from api.store.keys import SHOWN_ONCE_FIELD, without_secrets
from api.store.leases import REPLICA_ID
from api.store.operations import operations

# Where the request guard leaves (member, key) for the write runner to attach its operation to.
IDEMPOTENCY_SCOPE_KEY = "scf.idempotency_key"

idempotency = sa.Table(
    "idempotency",
    metadata,
    sa.Column("scope", sa.Text, primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("fingerprint", sa.Text, nullable=False),
    sa.Column("response_status", sa.Integer),
    sa.Column("response_body", sa.LargeBinary),
    sa.Column("content_type", sa.Text),
    sa.Column("created_at", UnixTime, nullable=False),
    sa.Column("operation_id", sa.Text),  # the operation of a ledger write
    sa.Column("success_status", sa.Integer),  # what the write answers when it succeeds (200, 201)
    sa.Column("replica", sa.Text),  # the gateway process that claimed it (api.store.leases)
)


# The claim rests on the (scope, key) primary key: of two requests with one key, on any replica, one inserts.
_CLAIM = Upsert(idempotency, [idempotency.c.scope, idempotency.c.key])
_RECORD = sa.and_(idempotency.c.scope == sa.bindparam("of_scope"), idempotency.c.key == sa.bindparam("of_key"))
_CLAIMED = (
    sa.select(
        idempotency.c.fingerprint,
        idempotency.c.response_status,
        idempotency.c.response_body,
        idempotency.c.content_type,
        idempotency.c.operation_id,
        operations.c.status.label("operation_status"),
    )
    .select_from(idempotency.outerjoin(operations, operations.c.id == idempotency.c.operation_id))
    .where(_RECORD)
)
_COMPLETE = (
    idempotency.update()
    .where(_RECORD)
    .values(
        response_status=sa.bindparam("status"),
        response_body=sa.bindparam("body"),
        content_type=sa.bindparam("type"),
    )
)
_RELEASE = idempotency.delete().where(_RECORD)
_ATTACH = (
    idempotency.update()
    .where(_RECORD)
    .values(operation_id=sa.bindparam("operation"), success_status=sa.bindparam("success"))
)
_IN_PROGRESS = sa.select(
    idempotency.c.scope, idempotency.c.key, idempotency.c.operation_id, idempotency.c.success_status
).where(idempotency.c.response_status.is_(None))
_OF_OPERATION = sa.select(idempotency.c.scope, idempotency.c.key).where(
    idempotency.c.operation_id == sa.bindparam("of_operation")
)
_REDACT = idempotency.update().where(_RECORD).values(response_body=sa.bindparam("body"))


class Idempotency(StorePart):
    def claim_idempotency_key(self, scope: str, key: str, fingerprint: str) -> tuple[str, Any]:
        """Claims ``key`` for a new request, or says what became of the first one.

        Returns ``("new", None)``, ``("conflict", None)`` for another body under the same key,
        ``("in_progress", None)``, ``("unconfirmed", None)`` while the chain lost the block of the
        request's transaction and it is being sent again, or ``("done", (status, body, content_type, operation_id))``.
        """
        with self._db.transaction() as db:
            record = {
                "scope": scope,
                "key": key,
                "fingerprint": fingerprint,
                "created_at": time.time(),
                "replica": REPLICA_ID,
            }
            if db.execute(_CLAIM.on(db), record).rowcount == 1:
                return "new", None
            row = db.execute(_CLAIMED, {"of_scope": scope, "of_key": key}).first()
        if row is None:  # released again since the insert found it: the first request is still deciding
            return "in_progress", None
        if row.fingerprint != fingerprint:
            return "conflict", None
        if row.response_status is None:
            return "in_progress", None
        if row.operation_status == "unconfirmed":
            return "unconfirmed", None
        return "done", (row.response_status, bytes(row.response_body), row.content_type, row.operation_id)

    def complete_idempotency_key(
        self, scope: str, key: str, status: int, body: bytes, content_type: str, *, secret_fields: Iterable[str] = ()
    ) -> None:
        """Keeps the response for replays, without the ``secret_fields`` it showed (see :func:`without_secrets`)."""
        kept = without_secrets(body, secret_fields)
        with self._db.transaction() as db:
            db.execute(
                _COMPLETE, {"of_scope": scope, "of_key": key, "status": status, "body": kept, "type": content_type}
            )

    def attach_operation(self, scope: str, key: str, operation_id: str, success_status: int) -> None:
        """Names the operation that runs the request of ``key``, and the status it answers if it succeeds."""
        with self._db.transaction() as db:
            db.execute(
                _ATTACH, {"of_scope": scope, "of_key": key, "operation": operation_id, "success": success_status}
            )

    def idempotency_keys_in_progress(
        self, *, of_operation: str | None = None, except_of: Collection[str] = ()
    ) -> list[tuple[str, str, str | None, int | None]]:
        """``(scope, key, operation_id, success_status)`` of every record without a response yet, or of those
        of one operation; ``except_of``: replicas whose records are left out (those still running)."""
        select = _IN_PROGRESS
        if of_operation is not None:
            select = select.where(idempotency.c.operation_id == of_operation)
        if except_of:
            select = select.where(sa.or_(idempotency.c.replica.is_(None), idempotency.c.replica.not_in(except_of)))
        return [(row.scope, row.key, row.operation_id, row.success_status) for row in self._db.query(select)]

    def idempotency_keys_of(self, operation_id: str) -> list[tuple[str, str]]:
        return [(row.scope, row.key) for row in self._db.query(_OF_OPERATION, {"of_operation": operation_id})]

    def release_idempotency_key(self, scope: str, key: str) -> None:
        with self._db.transaction() as db:
            db.execute(_RELEASE, {"of_scope": scope, "of_key": key})

    def _redact_stored_secrets(self) -> None:
        """Removes the API keys that records written before secrets were withheld still hold."""
        shown_once = sa.literal(f'"{SHOWN_ONCE_FIELD}"'.encode(), sa.LargeBinary)
        rows = self._db.query(
            sa.select(idempotency.c.scope, idempotency.c.key, idempotency.c.response_body).where(
                contains_bytes(idempotency.c.response_body, shown_once)
            )
        )
        if not rows:
            return
        with self._db.erasing(idempotency), self._db.transaction() as db:
            for row in rows:
                body = without_secrets(bytes(row.response_body), (SHOWN_ONCE_FIELD,))
                db.execute(_REDACT, {"of_scope": row.scope, "of_key": row.key, "body": body})
