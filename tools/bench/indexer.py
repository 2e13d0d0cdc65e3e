"""Indexer catch-up: how fast the SQLite read model is rebuilt from the chain's events, from block 0.

Two variants: with the block timestamps the node puts in each log (Anvil does), and,
for clients that leave them out, with the timestamps fetched from block headers.
``scripts/bench_indexer.py`` runs the same measurement on a ledger of its own.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from web3 import Web3

from scf_chain.chain.deploy import LEDGER_CONTRACT
from scf_chain.domain.money import today_utc
from scf_chain.domain.types import MemberRole
from scf_chain.index.indexer import Indexer, LedgerIndex
from scf_chain.runtime import Runtime

VARIANTS = ("log timestamps", "header timestamps")


def populate(runtime: Runtime, issuances: int, split_parts: int, progress: Callable[[int], None] | None = None) -> None:
    """A mix of ledger events: issuances, acceptances, part and whole transfers, and every third one a wide split."""
    ledger, operator, keystore = runtime.ledger, runtime.operator, runtime.keystore
    core = keystore.create()
    suppliers = [keystore.create() for _ in range(8)]
    ledger.register_member(operator, core.address, MemberRole.CORE_ENTERPRISE, "Bench Motors")
    for tier, supplier in enumerate(suppliers, start=1):
        ledger.register_member(operator, supplier.address, MemberRole.SUPPLIER, f"Bench Tier {tier}")
    ledger.set_credit_limit(operator, core.address, Decimal("1000000000.00"))
    maturity = today_utc() + timedelta(days=90)
    for n in range(issuances):
        first, second, third = (suppliers[(n + k) % len(suppliers)] for k in range(3))
        face = Decimal(split_parts * 100 + 1000)
        root = ledger.issue(
            core, first.address, face, maturity, f"0x{n + 1:064x}", invoice_number=f"BENCH-{n + 1:06d}"
        ).certificate_id
        ledger.accept(first, root)
        remainder, part = ledger.transfer_part(first, root, second.address, "500.00").certificate_ids
        ledger.transfer(second, part, third.address)
        if n % 3 == 0:
            # A wide split: one Transfer per part, a burn and the split itself, in one transaction.
            rest = ledger.certificate(remainder).face_value
            parts: list[tuple[str, Decimal | str]] = [
                (suppliers[i % len(suppliers)].address, Decimal(100)) for i in range(split_parts - 1)
            ]
            parts.append((first.address, rest - 100 * (split_parts - 1)))
            ledger.split(first, remainder, parts)
        if progress is not None:
            progress(n + 1)


class WithoutLogTimestamps(Indexer):
    """An indexer on a client whose logs carry no block timestamps, so it reads block headers."""

    def _rpc(self, method: str, params: list[Any]) -> Any:
        result = super()._rpc(method, params)
        if method == "eth_getLogs":
            for entry in result:
                entry.pop("blockTimestamp", None)
        return result


def time_build(
    w3: Web3, ledger_address: str, abi: list[dict[str, Any]], folder: Path, name: str, indexer_class: type[Indexer]
) -> dict[str, Any]:
    """A first sync into an empty index, then a rebuild (drop and index again) of the same one."""
    with LedgerIndex(folder / f"{name.replace(' ', '-')}.db") as index:
        indexer = indexer_class(w3, ledger_address, abi, index)
        started = time.perf_counter()
        indexer.sync()
        first = time.perf_counter() - started
        started = time.perf_counter()
        indexer.rebuild()
        again = time.perf_counter() - started
        events, blocks = index.event_count(), index.indexed_block + 1
    return {
        "events": events,
        "blocks": blocks,
        "first_sync_s": round(first, 3),
        "rebuild_s": round(again, 3),
        "first_sync_events_per_s": round(events / first, 1),
        "rebuild_events_per_s": round(events / again, 1),
    }


def measure(runtime: Runtime, repeats: int, advance: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Rebuilds of this chain's whole index, ``repeats`` times for each variant; medians of events per second."""
    abi = runtime.contracts[LEDGER_CONTRACT].abi
    variants: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="scf-bench-index-") as folder:
        for name, indexer_class in zip(VARIANTS, (Indexer, WithoutLogTimestamps), strict=True):
            runs = []
            for n in range(repeats):
                runs.append(
                    time_build(runtime.w3, runtime.ledger.address, abi, Path(folder), f"{name}-{n}", indexer_class)
                )
                if advance is not None:
                    advance(1)
            rates = [run["rebuild_events_per_s"] for run in runs] + [run["first_sync_events_per_s"] for run in runs]
            variants[name] = {
                "runs": runs,
                "events": runs[0]["events"],
                "blocks": runs[0]["blocks"],
                "events_per_s": round(statistics.median(rates), 1),
                "events_per_s_min": min(rates),
                "events_per_s_max": max(rates),
                "seconds": round(statistics.median([run["rebuild_s"] for run in runs]), 3),
            }
    return variants
