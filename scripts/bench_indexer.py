"""Measures how fast the indexer rebuilds its SQLite read model from the chain's events.

Runs on a fresh local chain of its own, in a temporary data folder: writes a few
thousand ledger events (issuances, acceptances, part transfers, wide splits and
whole transfers), then times a full index build and a rebuild, with the block
timestamps the chain puts in each log and, for clients that leave them out, with
the timestamps fetched from block headers. Prints figures; asserts nothing.

Usage: python scripts/bench_indexer.py [--issuances 150] [--split-parts 40]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from scf_chain.deploy import LEDGER_CONTRACT
from scf_chain.indexer import Indexer, LedgerIndex
from scf_chain.money import today_utc
from scf_chain.runtime import Runtime, local_chain, open_runtime
from scf_chain.settings import Settings
from scf_chain.types import MemberRole


def populate(runtime: Runtime, issuances: int, split_parts: int) -> None:
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
        root = ledger.issue(core, first.address, face, maturity, f"0x{n + 1:064x}").certificate_id
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
        if (n + 1) % 25 == 0:
            print(f"  {n + 1}/{issuances} issuances written, chain at block {runtime.w3.eth.block_number}")


class _WithoutLogTimestamps(Indexer):
    """An indexer on a client whose logs carry no block timestamps, so it reads block headers."""

    def _rpc(self, method: str, params: list[Any]) -> Any:
        result = super()._rpc(method, params)
        if method == "eth_getLogs":
            for entry in result:
                entry.pop("blockTimestamp", None)
        return result


def time_build(runtime: Runtime, folder: Path, name: str, indexer_class: type[Indexer] = Indexer) -> None:
    abi = runtime.contracts[LEDGER_CONTRACT].abi
    with LedgerIndex(folder / f"{name}.db") as index:
        indexer = indexer_class(runtime.w3, runtime.ledger.address, abi, index)
        started = time.perf_counter()
        indexer.sync()
        first = time.perf_counter() - started
        started = time.perf_counter()
        indexer.rebuild()
        again = time.perf_counter() - started
        events, blocks = index.event_count(), index.indexed_block + 1
    for label, seconds in (("first sync", first), ("rebuild", again)):
        print(
            f"{name:>24} {label:>10}: {events:6d} events, {blocks:5d} blocks in {seconds:6.3f} s"
            f" = {events / seconds:8.0f} events/s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issuances", type=int, default=150, help="issuances to write (each makes 4 to 6 txs)")
    parser.add_argument("--split-parts", type=int, default=40, help="parts of every third issuance's wide split")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="scf-bench-indexer-") as data_dir:
        settings = Settings(data_dir=Path(data_dir), chain_port=0, rpc_url=None, dev_mode=True)
        # Contracts compiled for the configured data folder are reused when their sources match.
        cache = Settings().build_dir
        if cache.is_dir() and cache.resolve() != settings.build_dir.resolve():
            settings.build_dir.mkdir(parents=True)
            for cached in cache.glob("contracts-*.json"):
                shutil.copy2(cached, settings.build_dir / cached.name)
        chain = local_chain(settings)
        chain.start()
        try:
            runtime = open_runtime(settings, deploy_if_missing=True)
            print(f"writing {options.issuances} issuances to a fresh chain ...")
            started = time.perf_counter()
            populate(runtime, options.issuances, options.split_parts)
            print(f"written in {time.perf_counter() - started:.1f} s; chain at block {runtime.w3.eth.block_number}")
            time_build(runtime, Path(data_dir), "log timestamps")
            time_build(runtime, Path(data_dir), "header timestamps", _WithoutLogTimestamps)
        finally:
            chain.stop()


if __name__ == "__main__":
    main()
