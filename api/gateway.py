"""The gateway's long-lived parts, built once at start-up and shared by every request.

Several gateway processes (replicas) may share one PostgreSQL database and one chain, each serving every
route. They then hold leases in the database (api.store.leases): a signer's while one of its sections runs,
and the leader's, whose holder alone writes the index and runs the tasks that must run once per network
(``every(..., leader_only=True)``); the others read the index it writes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from api.ratelimit import RateLimiter
from api.services.provenance_cache import ProvenanceCache
from api.settings import GatewaySettings
from api.store import GatewayStore, SqliteJournal, StoreLeases
from scf_chain.domain.errors import SignerBusy
from scf_chain.domain.types import Role
from scf_chain.index.indexer import LedgerIndex
from scf_chain.runtime import Runtime, event_indexer, open_runtime

log = logging.getLogger(__name__)

INDEX_WAIT_S = 15.0


@dataclass(frozen=True)
class Caller:
    """The member a request acts as."""

    address: str
    name: str
    role: Role
    frozen: bool

    @property
    def sees_everything(self) -> bool:
        return self.role in (Role.OPERATOR, Role.AUDITOR)


class Gateway:
    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        # The store dates its records once the runtime below is open (the journal keeps the wall clock).
        self.store = GatewayStore(settings.gateway_database, clock=lambda: self.runtime.clock.seconds())
        self.journal = SqliteJournal(self.store)
        # One process on SQLite signs and indexes alone, as ever: no lease, no write for one.
        self.leases = StoreLeases(self.store, lease_s=settings.lease_s) if self.store.shared else None
        self.runtime: Runtime = open_runtime(
            settings, deploy_if_missing=settings.dev_mode, journal=self.journal, leases=self.leases
        )
        self.runtime.keystore.unlock_all()
        self.index = LedgerIndex(settings.index_database)
        self.indexer = event_indexer(self.runtime, self.index)
        self.provenance_cache = ProvenanceCache(settings.provenance_cache_nodes)
        self.rate_limiter = RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst)
        self.operations = ThreadPoolExecutor(max_workers=16, thread_name_prefix="operation")
        self._stop = threading.Event()
        self._indexer_thread = threading.Thread(
            target=self.indexer.run, args=(self._stop,), kwargs={"leads": self.leads}, name="indexer", daemon=True
        )
        self._tasks: list[threading.Thread] = []
        # The chain checked against the journal (api.services.rollback): the newest block found held, and whether
        # a check has run since the chain last stopped answering.
        self.verified_block: tuple[int, str] | None = None
        self.chain_checked = threading.Event()
        self.repair_lock = threading.Lock()
        self._unsettled: set[str] = set()
        self._unsettled_lock = threading.Lock()

    def start(self) -> None:
        if self.leases is not None:
            self.leases.start()  # this replica's own lease, and the leader's if nobody holds it
            log.info("replica %s on a shared database; leading: %s", self.leases.holder, self.leads())
        # Operations a previous run left unfinished are settled from receipts afterwards (api.services.recovery).
        for sender in self.journal.senders_with_unconfirmed():
            try:
                resent = self.runtime.sender.resume(sender)
            except SignerBusy:
                continue  # another replica signs for it now, and resumes it if it must
            if resent:
                log.info("rebroadcast %d journalled transactions of %s", resent, sender)
        if self.leads():
            self.indexer.sync()
        self._indexer_thread.start()

    def leads(self) -> bool:
        """Whether this process writes the index and runs the once-per-network tasks: the only one, or the
        replica that holds the leader's lease."""
        return self.leases is None or self.leases.leads()

    def every(
        self, interval_s: float, name: str, task: Callable[[Gateway], object], *, leader_only: bool = False
    ) -> None:
        """Runs ``task`` now and then every ``interval_s`` seconds in a thread of its own, until the gateway stops.

        A task that fails is logged and tried again at the next interval; 0 disables it. ``leader_only``: among
        replicas, it runs only on the one that leads at the time.
        """
        if interval_s <= 0:
            return

        def loop() -> None:
            while not self._stop.is_set():
                if leader_only and not self.leads():
                    self._stop.wait(min(interval_s, self.settings.lease_s))  # it may come to lead
                    continue
                try:
                    task(self)
                except Exception:  # a chain outage or one bad pass must not end the task for good
                    log.exception("background task %s failed; trying again in %.0f s", name, interval_s)
                self._stop.wait(interval_s)

        thread = threading.Thread(target=loop, name=name, daemon=True)
        self._tasks.append(thread)
        thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._tasks:
            thread.join(timeout=INDEX_WAIT_S)
        self.operations.shutdown(wait=True)
        if self._indexer_thread.is_alive():
            self._indexer_thread.join(timeout=5)
        if self.leases is not None:
            self.leases.stop()  # released: another replica leads at once, not after the bound
        self.store.close()

    def leave_unsettled(self, operation_id: str) -> None:
        """Hands an operation whose transactions were signed, but whose outcome its request could not wait
        for (the chain stopped answering), to the settling of interrupted operations (api.services.recovery)."""
        with self._unsettled_lock:
            self._unsettled.add(operation_id)

    def take_unsettled(self) -> set[str]:
        with self._unsettled_lock:
            taken, self._unsettled = self._unsettled, set()
        return taken

    @property
    def operator_address(self) -> str:
        return self.runtime.operator.address

    def caller_for(self, address: str) -> Caller | None:
        if address == self.operator_address:
            return Caller(address, "Consortium operator", Role.OPERATOR, False)
        member = self.index.member(address)
        if member is None:
            return None
        return Caller(member.address, member.name, member.role, member.frozen)

    def wait_indexed(self, block_number: int) -> int:
        """Waits until the index has the block, so that callers read their own writes."""
        self.indexer.wait_for(block_number, timeout=INDEX_WAIT_S)
        return self.index.indexed_block
