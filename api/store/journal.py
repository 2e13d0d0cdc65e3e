"""The transaction journal: every signed transaction, recorded before it is broadcast."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from api.store.db import StorePart, UnixTime, metadata
from api.store.operations import add_operation_transaction, recorded_operation
from scf_chain.chain.transactions import SignedSend

journal = sa.Table(
    "journal",
    metadata,
    sa.Column("tx_hash", sa.Text, primary_key=True),
    sa.Column("sender", sa.Text, nullable=False),
    sa.Column("nonce", sa.Integer, nullable=False),
    sa.Column("raw", sa.LargeBinary, nullable=False),
    sa.Column("status", sa.Text, nullable=False),  # signed, mined, reverted
    sa.Column("block_number", sa.Integer),
    sa.Column("created_at", UnixTime, nullable=False),
    sa.Index("journal_sender", "sender", "status", "nonce"),
)


# A send journalled again (its rebroadcast) starts over as signed, as if it were new.
_RECORD = sqlite.insert(journal)
_RECORD = _RECORD.on_conflict_do_update(
    index_elements=[journal.c.tx_hash],
    set_={
        **{name: _RECORD.excluded[name] for name in ("sender", "nonce", "raw", "status", "created_at")},
        "block_number": None,
    },
)
_CONFIRM = journal.update().where(journal.c.tx_hash == sa.bindparam("of_hash"))
_UNCONFIRMED = (
    sa.select(journal.c.sender, journal.c.nonce, journal.c.tx_hash, journal.c.raw)
    .where(journal.c.sender == sa.bindparam("of_sender"), journal.c.status == "signed")
    .order_by(journal.c.nonce)
)
_STATUS = sa.select(journal.c.status, journal.c.block_number).where(journal.c.tx_hash == sa.bindparam("of_hash"))


class JournalRecords(StorePart):
    def record_signed(self, send: SignedSend, operation_id: str | None) -> None:
        """Journals ``send`` as signed, and adds it to operation ``operation_id``'s transactions, in one step."""
        row = {"tx_hash": send.tx_hash, "sender": send.sender, "nonce": send.nonce, "raw": send.raw}
        with self._db.transaction() as db:
            db.execute(_RECORD, {**row, "status": "signed", "created_at": time.time()})
            if operation_id is not None:
                add_operation_transaction(db, operation_id, send.tx_hash)

    def unconfirmed_sends(self, sender: str) -> list[SignedSend]:
        """Signed sends of ``sender`` not yet known to be mined, lowest nonce first."""
        rows = self._db.query(_UNCONFIRMED, {"of_sender": sender})
        return [SignedSend(row.sender, row.nonce, row.tx_hash, bytes(row.raw)) for row in rows]

    def confirm_send(self, tx_hash: str, block_number: int, success: bool) -> None:
        status = "mined" if success else "reverted"
        with self._db.transaction() as db:
            db.execute(_CONFIRM, {"of_hash": tx_hash, "status": status, "block_number": block_number})

    def senders_with_unconfirmed(self) -> list[str]:
        rows = self._db.query(sa.select(journal.c.sender).distinct().where(journal.c.status == "signed"))
        return [row.sender for row in rows]

    def journal_size(self) -> int:
        return int(self._db.query(sa.select(sa.func.count()).select_from(journal))[0][0])

    def transaction_status(self, tx_hash: str) -> tuple[str, int | None] | None:
        """The journal's word on a transaction: ``("signed", None)``, ``("mined", block)``, ``("reverted", block)``.

        None for a transaction this gateway never signed.
        """
        rows = self._db.query(_STATUS, {"of_hash": tx_hash})
        return (rows[0].status, rows[0].block_number) if rows else None


# The hashes of the transactions signed while one request is handled (see watch_signed_transactions).
_signed_in_request: ContextVar[list[str] | None] = ContextVar("signed_in_request", default=None)


@contextmanager
def watch_signed_transactions() -> Iterator[list[str]]:
    """Collects the hashes of the transactions the journal records in this context.

    The context reaches the threads a request's handler runs in, so that the request guard
    can tell a refusal that sent nothing from one that already put a transaction on its way.
    """
    signed: list[str] = []
    token = _signed_in_request.set(signed)
    try:
        yield signed
    finally:
        _signed_in_request.reset(token)


class SqliteJournal:
    """The journal of :mod:`scf_chain.chain.transactions`, kept by the gateway's store.

    In a :func:`~api.store.operations.recording_operation` context, each send is also one of that operation's.
    """

    def __init__(self, store: JournalRecords) -> None:
        self._store = store

    def record(self, send: SignedSend) -> None:
        self._store.record_signed(send, recorded_operation())
        signed = _signed_in_request.get()
        if signed is not None:
            signed.append(send.tx_hash)

    def unconfirmed(self, sender: str) -> list[SignedSend]:
        return self._store.unconfirmed_sends(sender)

    def confirm(self, tx_hash: str, block_number: int, success: bool) -> None:
        self._store.confirm_send(tx_hash, block_number, success)

    def senders_with_unconfirmed(self) -> list[str]:
        return self._store.senders_with_unconfirmed()

    def count(self) -> int:
        return self._store.journal_size()
