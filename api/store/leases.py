"""Leases: which gateway process (replica) holds a signer's nonces, or leads the indexing, for a while.

Replicas share one PostgreSQL database and one chain, and every one serves every route. A lease is a
row ``(name, holder, expires_at, next_nonce)``, named ``signer:<address>``, ``indexer`` (the leader, which
alone writes the index and runs the tasks that run once per network), or ``replica:<id>`` (a replica's
own, held while it runs: what it left unfinished is another's to settle once it lapses).

- Taking a lease is one conditional upsert: the row is taken where it is free (released), ours, or expired,
  and otherwise left as it is; the row it returns says who holds it. One statement is atomic by itself, so
  a lease needs no transaction of its own, and does not queue behind the store's write lock, which every
  journal entry and operation takes. Times are the database's clock, which every replica reads alike.
- The holder of a signer releases it at the end of each section with the signer's next nonce, and the
  next holder goes on from it. A lease taken other than released (new, or expired with its holder) comes
  with no nonce: the signer is resumed from the journal and the chain (``TransactionSender``).
- A replica that finds a lease held marks the row as asked for, and the holder's process, which would
  otherwise take it straight back for its next local send, lets it go to the asker first; an ask lapses
  quickly, so that an asker gone away holds nobody up. Without it a process whose requests queue for one
  signer would keep the lease between them, and the others' polls would rarely find it free.
- A holder renews the leases it has held for a while (a section waiting for a predecessor, a replay, the
  leader's and its own), from a keeper thread; one that stops (killed, hung) loses them within the bound.

Only used where the store is shared (``GatewayStore.shared``): one process on SQLite takes no lease.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler

from api.store.db import BigInt, StorePart, UnixTime, metadata
from scf_chain.domain.errors import DatabaseUnavailable, SignerBusy

log = logging.getLogger(__name__)

# This process, among the replicas that share the database: its leases, its operations, its idempotency records.
# New for every process (a restarted one is another replica); the host and process id tell an operator which.
REPLICA_ID = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
LEADER = "indexer"
SIGNER_PREFIX = "signer:"
REPLICA_PREFIX = "replica:"
# An ask for a held lease lapses after this long unless its asker asks again (it polls far more often).
ASK_S = 0.5
# A waiter polls a held lease from this often up to this seldom.
POLL_MIN_S = 0.001
POLL_MAX_S = 0.01

leases = sa.Table(
    "leases",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("holder", sa.Text),  # None: released
    sa.Column("expires_at", UnixTime, nullable=False),  # the database's clock, in Unix seconds
    sa.Column("next_nonce", BigInt),  # a signer's, as its last holder released it; None: ask the chain
    sa.Column("asked_by", sa.Text),  # a replica waiting for it, which is handed it next
    sa.Column("asked_at", UnixTime),
)


class database_now(sa.sql.expression.FunctionElement[float]):  # noqa: N801 - a SQL function, named as one
    """The database server's clock, in Unix seconds: one clock for every replica's leases."""

    type = sa.Double()
    inherit_cache = True
    name = "database_now"


@compiles(database_now, "postgresql")
def _now_postgresql(element: database_now, compiler: SQLCompiler, **kw: Any) -> str:
    return "CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS DOUBLE PRECISION)"


@compiles(database_now, "sqlite")
def _now_sqlite(element: database_now, compiler: SQLCompiler, **kw: Any) -> str:
    return "((julianday('now') - 2440587.5) * 86400.0)"


_NOW = database_now()
_ME: sa.BindParameter[str] = sa.bindparam("me", type_=sa.Text())
_ASK_OPEN = sa.or_(leases.c.asked_by.is_(None), leases.c.asked_by == _ME, leases.c.asked_at < _NOW - ASK_S)
_FREE = sa.or_(
    sa.and_(leases.c.holder.is_(None), _ASK_OPEN),  # released, and nobody else is next
    leases.c.holder == _ME,
    sa.and_(leases.c.holder.is_not(None), leases.c.expires_at < _NOW),  # its holder stopped renewing it
)
_UNTIL = _NOW + sa.bindparam("seconds", type_=sa.Double())


def _take_statement(insert: Any) -> sa.Insert:
    """Takes the lease where it is free, ours or expired; else only asks for it. Returns the row as it is now.

    A lease taken other than released (ours unreleased, or expired) loses its next nonce: whatever held it
    stopped part way, and the chain and the journal say where the signer stands. Every expression on the right
    reads the row as it was.
    """
    statement = insert(leases).values(name=sa.bindparam("name"), holder=_ME, expires_at=_UNTIL)
    statement = statement.on_conflict_do_update(
        index_elements=[leases.c.name],
        set_={
            "holder": sa.case((_FREE, _ME), else_=leases.c.holder),
            "expires_at": sa.case((_FREE, _UNTIL), else_=leases.c.expires_at),
            "next_nonce": sa.case((sa.and_(_FREE, leases.c.holder.is_not(None)), sa.null()), else_=leases.c.next_nonce),
            "asked_by": sa.case((_FREE, sa.null()), (_ASK_OPEN, _ME), else_=leases.c.asked_by),
            "asked_at": sa.case((_FREE, sa.null()), (_ASK_OPEN, _NOW), else_=leases.c.asked_at),
        },
    )
    return statement.returning(leases.c.holder, leases.c.next_nonce)


_TAKE = {"sqlite": _take_statement(sqlite.insert), "postgresql": _take_statement(postgresql.insert)}
_RELEASE = (
    leases.update()
    .where(leases.c.name == sa.bindparam("of_name"), leases.c.holder == _ME)
    .values(holder=None, next_nonce=sa.bindparam("next"))
)
_RENEW = (
    leases.update()
    .where(leases.c.holder == _ME, leases.c.name.in_(sa.bindparam("names", expanding=True)))
    .values(expires_at=_UNTIL)
    .returning(leases.c.name)
)
_FORGET_NONCES = leases.update().where(leases.c.name.startswith(SIGNER_PREFIX)).values(next_nonce=None)
_LIVE_REPLICAS = sa.select(leases.c.name).where(
    leases.c.name.startswith(REPLICA_PREFIX), leases.c.holder.is_not(None), leases.c.expires_at >= _NOW
)
_LEASE = sa.select(leases.c.holder, leases.c.next_nonce, (leases.c.expires_at - _NOW).label("remaining")).where(
    leases.c.name == sa.bindparam("of_name")
)


@dataclass(frozen=True)
class LeaseRow:
    holder: str | None
    next_nonce: int | None
    remaining_s: float = 0.0  # until it expires; negative when it has


class LeaseRecords(StorePart):
    """The leases table. Each statement stands alone (see the module's docstring): none waits for the write lock."""

    def take_lease(self, name: str, holder: str, seconds: float) -> LeaseRow:
        """Takes lease ``name`` for ``holder`` for ``seconds`` where it is free, ``holder``'s or expired, and asks
        for it otherwise; returns who holds it now, and the next nonce it was released with."""
        rows = self._db.query(_TAKE[self._db.dialect], {"name": name, "me": holder, "seconds": seconds})
        return LeaseRow(rows[0].holder, rows[0].next_nonce)

    def release_lease(self, name: str, holder: str, next_nonce: int | None = None) -> bool:
        """Frees ``holder``'s lease ``name`` with ``next_nonce``; False where it was no longer ``holder``'s."""
        rows = self._db.query(_RELEASE.returning(leases.c.name), {"of_name": name, "me": holder, "next": next_nonce})
        return bool(rows)

    def renew_leases(self, names: Collection[str], holder: str, seconds: float) -> set[str]:
        """Extends ``holder``'s leases among ``names`` to ``seconds`` from now; returns those it still held."""
        if not names:
            return set()
        rows = self._db.query(_RENEW, {"names": list(names), "me": holder, "seconds": seconds})
        return {row.name for row in rows}

    def forget_lease_nonces(self) -> None:
        """Every signer's next holder asks the chain for its nonce: for a chain that went back."""
        self._db.query(_FORGET_NONCES.returning(leases.c.name))

    def live_replicas(self) -> set[str]:
        """The replicas whose own lease is held and has not expired."""
        return {row.name.removeprefix(REPLICA_PREFIX) for row in self._db.query(_LIVE_REPLICAS)}

    def lease(self, name: str) -> LeaseRow | None:
        rows = self._db.query(_LEASE, {"of_name": name})
        return LeaseRow(rows[0].holder, rows[0].next_nonce, rows[0].remaining) if rows else None


class StoreLeases:
    """This replica's leases in the shared store: the signers' (``SignerLeases`` of the transaction sender), the
    leader's, and its own; a keeper thread renews what it holds.

    ``lease_s`` bounds how long a holder that stopped blocks what it held; a waiter for a signer waits up to
    ``wait_s`` (by default twice that: long enough to outlast a dead holder) before it gives up.
    """

    def __init__(
        self, store: LeaseRecords, *, holder: str = REPLICA_ID, lease_s: float = 5.0, wait_s: float | None = None
    ) -> None:
        if lease_s <= 0:
            raise ValueError("a lease must last a while")
        self.store = store
        self.holder = holder
        self.lease_s = lease_s
        self.wait_s = wait_s if wait_s is not None else 2 * lease_s
        # What this replica holds: lease name -> monotonic time it was last taken or renewed.
        self._held: dict[str, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._keeper: threading.Thread | None = None

    # The signers' leases (scf_chain.chain.transactions.SignerLeases)

    def acquire(self, signer: str) -> int | None:
        name = SIGNER_PREFIX + signer
        deadline = time.monotonic() + self.wait_s
        pause = POLL_MIN_S
        while True:
            taken = self.store.take_lease(name, self.holder, self.lease_s)
            if taken.holder == self.holder:
                self._note(name)
                return taken.next_nonce
            if time.monotonic() + pause >= deadline:
                raise SignerBusy(
                    f"another gateway process kept signer {signer} for more than {self.wait_s:.0f} s; retry shortly"
                )
            time.sleep(pause)
            pause = min(pause * 2, POLL_MAX_S)

    def release(self, signer: str, next_nonce: int | None) -> None:
        """Never raises: a release that does not reach the database leaves the lease to expire, and its next
        holder resumes the signer from the chain."""
        name = SIGNER_PREFIX + signer
        with self._lock:
            self._held.pop(name, None)
        try:
            if not self.store.release_lease(name, self.holder, next_nonce):
                log.warning("the lease of signer %s lapsed while held here; its next holder resumed it", signer)
        except DatabaseUnavailable:
            log.warning("the lease of signer %s was not released; it expires within %.0f s", signer, self.lease_s)

    def forget_nonces(self) -> None:
        self.store.forget_lease_nonces()

    # The leader's lease, and this replica's own

    def start(self) -> None:
        """Takes this replica's own lease and starts renewing what it holds, and trying for the leader's."""
        self._take(REPLICA_PREFIX + self.holder)
        self._take(LEADER)
        self._keeper = threading.Thread(target=self._keep, name="leases", daemon=True)
        self._keeper.start()

    def stop(self) -> None:
        """Stops renewing, and releases the leader's lease and this replica's own, for another to lead at once."""
        self._stop.set()
        if self._keeper is not None:
            self._keeper.join(timeout=self.lease_s)
        with self._lock:
            held, self._held = list(self._held), {}
        for name in held:
            with contextlib.suppress(DatabaseUnavailable):  # else it expires
                self.store.release_lease(name, self.holder)

    def leads(self) -> bool:
        """Whether this replica holds the leader's lease, renewed recently enough to be sure of it."""
        with self._lock:
            renewed = self._held.get(LEADER)
        # Renewed about every quarter of the bound: past three quarters, another may have taken it.
        return renewed is not None and time.monotonic() - renewed < self.lease_s * 0.75

    def live_replicas(self) -> set[str]:
        return self.store.live_replicas()

    def _take(self, name: str) -> bool:
        try:
            taken = self.store.take_lease(name, self.holder, self.lease_s).holder == self.holder
        except DatabaseUnavailable:
            return False
        if taken:
            self._note(name)
        return taken

    def _note(self, name: str) -> None:
        with self._lock:
            self._held[name] = time.monotonic()

    def _keep(self) -> None:
        tick = self.lease_s / 4
        while not self._stop.wait(tick):
            try:
                self._renew(older_than=tick)
                if LEADER not in self._held and self._take(LEADER):
                    log.info("this replica (%s) leads: it indexes, and settles what stopped replicas left", self.holder)
            except Exception:  # a database that does not answer: the leases lapse, and are taken again after
                log.exception("the leases of replica %s were not renewed", self.holder)

    def _renew(self, *, older_than: float) -> None:
        now = time.monotonic()
        with self._lock:
            due = {name: at for name, at in self._held.items() if now - at >= older_than}
        renewed = self.store.renew_leases(due, self.holder, self.lease_s)
        with self._lock:
            for name, at in due.items():
                if self._held.get(name) != at:
                    continue  # released, or taken again, meanwhile
                if name in renewed:
                    self._held[name] = now
                else:
                    del self._held[name]
                    log.warning("replica %s lost lease %s: it lapsed before it was renewed", self.holder, name)
