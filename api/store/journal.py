"""The transaction journal: every signed transaction, recorded before it is broadcast."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import sqlalchemy as sa

from api.store.db import BigInt, StorePart, UnixTime, Upsert, metadata
from api.store.operations import add_operation_transaction, recorded_operation
from scf_chain.chain.transactions import SignedSend

journal = sa.Table(
    "journal",
    metadata,
    sa.Column("tx_hash", sa.Text, primary_key=True),
    sa.Column("sender", sa.Text, nullable=False),
    sa.Column("nonce", BigInt, nullable=False),
    sa.Column("raw", sa.LargeBinary, nullable=False),
    sa.Column("status", sa.Text, nullable=False),  # signed, mined, reverted; abandoned (see forget_sends_above)
    sa.Column("block_number", BigInt),  # where it was last mined; kept while it is sent again
    sa.Column("created_at", UnixTime, nullable=False),
    sa.Column("block_hash", sa.Text),  # of the block it was mined in, while the chain still holds that block
    sa.Column("tx_index", BigInt),  # its place in that block
    sa.Index("journal_sender", "sender", "status", "nonce"),
    sa.Index("journal_block", "block_number"),
)
_CONFIRMED = journal.c.status.in_(("mined", "reverted"))


# A send journalled again (its rebroadcast) starts over as signed, as if it were new.
_RECORD = Upsert(
    journal,
    [journal.c.tx_hash],
    lambda new: {
        **{name: new[name] for name in ("sender", "nonce", "raw", "status", "created_at")},
        "block_number": None,
    },
)
_CONFIRM = journal.update().where(journal.c.tx_hash == sa.bindparam("of_hash"))
_UNCONFIRMED = (
    sa.select(journal.c.sender, journal.c.nonce, journal.c.tx_hash, journal.c.raw)
    .where(journal.c.sender == sa.bindparam("of_sender"), journal.c.status == "signed")
    .order_by(journal.c.nonce)
)
_CONFIRMED_BLOCKS = (
    sa.select(journal.c.block_number, journal.c.block_hash)
    .distinct()
    .where(_CONFIRMED, journal.c.block_hash.is_not(None))
    .order_by(journal.c.block_number)
)
_NEWEST_BLOCK = (
    sa.select(journal.c.block_number, journal.c.block_hash)
    .where(_CONFIRMED, journal.c.block_hash.is_not(None))
    .order_by(journal.c.block_number.desc())
    .limit(1)
)
_ABOVE = sa.and_(_CONFIRMED, journal.c.block_number > sa.bindparam("ancestor"))
_LOST = sa.select(journal.c.tx_hash).where(_ABOVE)
_UNCONFIRM = journal.update().where(_ABOVE).values(status="signed", block_hash=None)
# In the order the chain first ran them: those mined by block and place, then the rest as they were signed.
_TO_SEND_AGAIN = (
    sa.select(journal.c.sender, journal.c.nonce, journal.c.tx_hash, journal.c.raw)
    .where(journal.c.status == "signed")
    .order_by(journal.c.block_number.is_(None), journal.c.block_number, journal.c.tx_index, journal.c.created_at)
)
_STATUS = sa.select(journal.c.status, journal.c.block_number).where(journal.c.tx_hash == sa.bindparam("of_hash"))


class JournalRecords(StorePart):
    def record_signed(self, send: SignedSend, operation_id: str | None) -> None:
        """Journals ``send`` as signed, and adds it to operation ``operation_id``'s transactions, in one step."""
        row = {"tx_hash": send.tx_hash, "sender": send.sender, "nonce": send.nonce, "raw": send.raw}
        with self._db.transaction() as db:
            db.execute(_RECORD.on(db), {**row, "status": "signed", "created_at": time.time()})
            if operation_id is not None:
                add_operation_transaction(db, operation_id, send.tx_hash)

    def unconfirmed_sends(self, sender: str) -> list[SignedSend]:
        """Signed sends of ``sender`` not yet known to be mined, lowest nonce first."""
        rows = self._db.query(_UNCONFIRMED, {"of_sender": sender})
        return [SignedSend(row.sender, row.nonce, row.tx_hash, bytes(row.raw)) for row in rows]

    def confirm_send(
        self,
        tx_hash: str,
        block_number: int,
        success: bool,
        *,
        block_hash: str | None = None,
        tx_index: int | None = None,
    ) -> None:
        status = "mined" if success else "reverted"
        with self._db.transaction() as db:
            db.execute(
                _CONFIRM,
                {
                    "of_hash": tx_hash,
                    "status": status,
                    "block_number": block_number,
                    "block_hash": block_hash,
                    "tx_index": tx_index,
                },
            )

    def confirmed_blocks(self, *, from_number: int = 0) -> list[tuple[int, str]]:
        """``(number, hash)`` of every block from ``from_number`` on that the journal saw one of its transactions
        mined in, oldest first."""
        select = _CONFIRMED_BLOCKS.where(journal.c.block_number >= from_number)
        return [(row.block_number, row.block_hash) for row in self._db.query(select)]

    def newest_confirmed_block(self) -> tuple[int, str] | None:
        rows = self._db.query(_NEWEST_BLOCK)
        return (rows[0].block_number, rows[0].block_hash) if rows else None

    def unconfirm_sends_above(self, ancestor: int) -> list[str]:
        """Marks every send mined above block ``ancestor`` unconfirmed again; returns their hashes.

        For a chain that lost those blocks: the sends are to be broadcast again, as signed.
        """
        with self._db.transaction() as db:
            lost = [row.tx_hash for row in db.execute(_LOST, {"ancestor": ancestor})]
            db.execute(_UNCONFIRM, {"ancestor": ancestor})
        return lost

    def forget_sends_above(self, block_number: int) -> int:
        """For a chain rewound on purpose (a development chain reverted to a snapshot): the sends mined above
        ``block_number``, and those never mined, are abandoned, so that they are neither taken for lost nor sent
        again. Returns how many."""
        with self._db.transaction() as db:
            return db.execute(
                journal.update()
                .where(sa.or_(journal.c.block_number > block_number, journal.c.status == "signed"))
                .values(status="abandoned", block_hash=None)
            ).rowcount

    def sends_to_replay(self) -> list[SignedSend]:
        """Every unconfirmed send of every signer, in the order the chain first ran them (see _TO_SEND_AGAIN)."""
        return [
            SignedSend(row.sender, row.nonce, row.tx_hash, bytes(row.raw)) for row in self._db.query(_TO_SEND_AGAIN)
        ]

    def senders_with_unconfirmed(self) -> list[str]:
        rows = self._db.query(sa.select(journal.c.sender).distinct().where(journal.c.status == "signed"))
        return [row.sender for row in rows]

    def journalled_send(self, tx_hash: str) -> SignedSend | None:
        rows = self._db.query(
            sa.select(journal.c.sender, journal.c.nonce, journal.c.tx_hash, journal.c.raw).where(
                journal.c.tx_hash == tx_hash
            )
        )
        return SignedSend(rows[0].sender, rows[0].nonce, rows[0].tx_hash, bytes(rows[0].raw)) if rows else None

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

    def confirm(
        self,
        tx_hash: str,
        block_number: int,
        success: bool,
        *,
        block_hash: str | None = None,
        tx_index: int | None = None,
    ) -> None:
        self._store.confirm_send(tx_hash, block_number, success, block_hash=block_hash, tx_index=tx_index)

    def senders_with_unconfirmed(self) -> list[str]:
        return self._store.senders_with_unconfirmed()

    def count(self) -> int:
        return self._store.journal_size()
