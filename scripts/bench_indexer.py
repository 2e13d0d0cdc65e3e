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
import tempfile
import time
from pathlib import Path

from scf_chain.chain.deploy import LEDGER_CONTRACT
from scf_chain.index.indexer import Indexer
from scf_chain.runtime import local_chain, open_runtime
from scf_chain.settings import Settings
from tools.bench.indexer import VARIANTS, WithoutLogTimestamps, populate, time_build


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issuances", type=int, default=150, help="issuances to write (each makes 4 to 6 txs)")
    parser.add_argument("--split-parts", type=int, default=40, help="parts of every third issuance's wide split")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="scf-bench-indexer-") as data_dir:
        settings = Settings(data_dir=Path(data_dir), chain_port=0, rpc_url=None, dev_mode=True)
        chain = local_chain(settings)
        chain.start()
        try:
            runtime = open_runtime(settings, deploy_if_missing=True)
            print(f"writing {options.issuances} issuances to a fresh chain ...")
            started = time.perf_counter()

            def progress(written: int) -> None:
                if written % 25 == 0:
                    block = runtime.w3.eth.block_number
                    print(f"  {written}/{options.issuances} issuances written, chain at block {block}")

            populate(runtime, options.issuances, options.split_parts, progress)
            print(f"written in {time.perf_counter() - started:.1f} s; chain at block {runtime.w3.eth.block_number}")
            abi = runtime.contracts[LEDGER_CONTRACT].abi
            for name, indexer_class in zip(VARIANTS, (Indexer, WithoutLogTimestamps), strict=True):
                figures = time_build(runtime.w3, runtime.ledger.address, abi, Path(data_dir), name, indexer_class)
                for label, key in (("first sync", "first_sync"), ("rebuild", "rebuild")):
                    print(
                        f"{name:>24} {label:>10}: {figures['events']:6d} events, {figures['blocks']:5d} blocks"
                        f" in {figures[key + '_s']:6.3f} s = {figures[key + '_events_per_s']:8.0f} events/s"
                    )
        finally:
            chain.stop()


if __name__ == "__main__":
    main()
