"""The ledger's clock: what "now" and "today" are for the contracts.

The contracts judge maturities, offer expiry and grace periods by block time, which
on a development chain can run ahead of the wall clock (``scf chain advance``). The
gateway therefore takes the later of the wall clock and the latest block's time for
everything it dates or counts: maturity bounds, offers' days, obligations, the ledger
date of ``GET /v1/me``, and the times of its own records (operations, financing
requests, offers, uploads). On a production network the two agree; on a chain moved
forward the gateway agrees with the contracts.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import date

from web3 import Web3

from scf_chain.domain.money import from_day

log = logging.getLogger(__name__)

SECONDS_PER_DAY = 86_400


class LedgerClock:
    """Unix seconds and dates as the ledger sees them; the wall clock alone without a chain."""

    def __init__(self, w3: Web3 | None = None, max_tenor_days: int | None = None) -> None:
        self._w3 = w3
        self.max_tenor_days = max_tenor_days
        self._lock = threading.Lock()
        self._last_block_time = 0

    def now(self) -> int:
        return int(self.seconds())

    def seconds(self) -> float:
        wall = time.time()
        if self._w3 is None:
            return wall
        try:
            latest = int(self._w3.eth.get_block("latest")["timestamp"])
        except Exception as exc:  # a chain that does not answer must not block validation
            log.debug("reading the latest block's time failed: %s", exc)
            with self._lock:
                latest = self._last_block_time
        else:
            with self._lock:
                self._last_block_time = latest
        return max(wall, latest)

    def today(self) -> date:
        return from_day(self.now() // SECONDS_PER_DAY)


_clock = LedgerClock()


def install(w3: Web3 | None, max_tenor_days: int | None = None) -> None:
    """Makes the ledger at ``w3`` the clock of this process (None: back to the wall clock).

    ``max_tenor_days`` is the ledger's own limit on maturities, read from the contract.
    """
    global _clock
    _clock = LedgerClock(w3, max_tenor_days)


def ledger_now() -> int:
    """Unix seconds, by the ledger's clock."""
    return _clock.now()


def ledger_time() -> float:
    """Unix seconds with their fraction, by the ledger's clock: for the times of the gateway's own records."""
    return _clock.seconds()


def ledger_max_tenor_days() -> int | None:
    """The furthest maturity the ledger accepts, in days after its today; None before the ledger is known."""
    return _clock.max_tenor_days


def ledger_today() -> date:
    """Today (UTC), by the ledger's clock."""
    return _clock.today()
