"""The ledger's clock: what "now" and "today" are for the contracts.

The contracts judge maturities, offer expiry and grace periods by block time, which
on a development chain can run ahead of the wall clock (``scf chain advance``). The
gateway therefore takes the later of the wall clock and the latest block's time for
everything it dates or counts: maturity bounds, offers' days, obligations, the ledger
date of ``GET /v1/me``, and the times of its own records (operations, financing
requests, offers, uploads). On a production network the two agree; on a chain moved
forward the gateway agrees with the contracts.

A :class:`LedgerClock` belongs to one runtime (``Runtime.clock``). Code that has the
runtime uses it directly. Request validation has no runtime to hand (a pydantic
validator takes only the value), so the gateway makes its clock the *current* one for
each request with :func:`use`, held in one :class:`~contextvars.ContextVar`; the
module's ``ledger_*`` functions read that, and the wall clock where none is current.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date

from web3 import Web3

from scf_chain.domain.money import from_day

log = logging.getLogger(__name__)

SECONDS_PER_DAY = 86_400


def _day(unix_seconds: float) -> date:
    return from_day(int(unix_seconds) // SECONDS_PER_DAY)


class LedgerClock:
    """Unix seconds and dates as the ledger sees them; the wall clock alone without a chain.

    ``seconds``, ``now`` and ``today`` ask the chain for its latest block; ``known_today``
    asks nothing and uses the latest block time any of them saw, so that it can run where
    a round trip to the chain has no place (validating a request's fields).
    ``max_tenor_days`` is the ledger's own limit on maturities, read from the contract.
    """

    def __init__(self, w3: Web3 | None = None, *, max_tenor_days: int | None = None) -> None:
        self._w3 = w3
        self.max_tenor_days = max_tenor_days
        self._lock = threading.Lock()
        self._last_block_time = 0

    def seconds(self) -> float:
        if self._w3 is None:
            return time.time()
        try:
            latest = int(self._w3.eth.get_block("latest")["timestamp"])
        except Exception as exc:  # a chain that does not answer must not stop the gateway dating its records
            log.debug("reading the latest block's time failed: %s", exc)
        else:
            with self._lock:
                self._last_block_time = latest  # back with the chain too, should a snapshot be reverted
        return self.known_seconds()

    def now(self) -> int:
        return int(self.seconds())

    def today(self) -> date:
        return _day(self.seconds())

    def known_seconds(self) -> float:
        """The later of the wall clock and the latest block time seen, without asking the chain."""
        with self._lock:
            return max(time.time(), self._last_block_time)

    def known_today(self) -> date:
        return _day(self.known_seconds())


# The clock of the gateway serving the current request; unset (the wall clock) elsewhere.
_current: ContextVar[LedgerClock | None] = ContextVar("ledger_clock", default=None)


@contextmanager
def use(clock: LedgerClock) -> Iterator[LedgerClock]:
    """Makes ``clock`` the current one for the code run inside, and in tasks and threads started with its context."""
    token = _current.set(clock)
    try:
        yield clock
    finally:
        _current.reset(token)


def _clock() -> LedgerClock:
    return _current.get() or LedgerClock()


def ledger_now() -> int:
    """Unix seconds, by the current ledger clock."""
    return _clock().now()


def ledger_time() -> float:
    """Unix seconds with their fraction, by the current ledger clock: for the times of the gateway's own records."""
    return _clock().seconds()


def ledger_today() -> date:
    """Today (UTC), by the current ledger clock."""
    return _clock().today()


def known_ledger_today() -> date:
    """Today (UTC), by the current ledger clock as last seen: asks the chain nothing, for validators."""
    return _clock().known_today()


def ledger_max_tenor_days() -> int | None:
    """The furthest maturity the ledger accepts, in days after its today; None without a current ledger."""
    return _clock().max_tenor_days
