"""The gateway's long-lived parts, built once at start-up and shared by every request."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from api.ratelimit import RateLimiter
from api.services.provenance_cache import ProvenanceCache
from api.settings import GatewaySettings
from api.store import GatewayStore, SqliteJournal
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
        self.runtime: Runtime = open_runtime(settings, deploy_if_missing=settings.dev_mode, journal=self.journal)
        self.runtime.keystore.unlock_all()
        self.index = LedgerIndex(settings.index_database)
        self.indexer = event_indexer(self.runtime, self.index)
        self.provenance_cache = ProvenanceCache(settings.provenance_cache_nodes)
        self.rate_limiter = RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst)
        self.operations = ThreadPoolExecutor(max_workers=16, thread_name_prefix="operation")
        self._stop = threading.Event()
        self._indexer_thread = threading.Thread(
            target=self.indexer.run, args=(self._stop,), name="indexer", daemon=True
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
        # Operations a previous run left unfinished are settled from receipts afterwards (api.services.recovery).
        for sender in self.journal.senders_with_unconfirmed():
            resent = self.runtime.sender.resume(sender)
            if resent:
                log.info("rebroadcast %d journalled transactions of %s", resent, sender)
        self.indexer.sync()
        self._indexer_thread.start()

    def every(self, interval_s: float, name: str, task: Callable[[Gateway], object]) -> None:
        """Runs ``task`` now and then every ``interval_s`` seconds in a thread of its own, until the gateway stops.

        A task that fails is logged and tried again at the next interval; 0 disables it.
        """
        if interval_s <= 0:
            return

        def loop() -> None:
            while not self._stop.is_set():
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
