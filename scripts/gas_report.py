"""Prints the gas of every ledger operation beside OpenZeppelin token baselines.

Runs on a fresh local chain of its own, in a temporary data folder, so it never
touches the chain of `make run`. Usage: python scripts/gas_report.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from scf_chain.gas import GasFigure, measure_baselines, measure_ledger
from scf_chain.runtime import local_chain, open_runtime
from scf_chain.settings import Settings


def render(ledger: list[GasFigure], baselines: list[GasFigure]) -> str:
    erc721_transfer = next(f.gas_used for f in baselines if f.operation == "ERC-721 transfer")
    lines = [f"{'operation':<20}{'gas':>12}{'target':>12}{'vs ERC-721 transfer':>22}  verdict"]
    for figure in ledger + baselines:
        target = f"{figure.target:,}" if figure.target else "-"
        verdict = {True: "within target", False: "ABOVE TARGET", None: ""}[figure.within_target]
        ratio = figure.gas_used / erc721_transfer
        lines.append(f"{figure.operation:<20}{figure.gas_used:>12,}{target:>12}{ratio:>21.2f}x  {verdict}")
    return "\n".join(lines)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="scf-gas-") as data_dir:
        settings = Settings(data_dir=Path(data_dir), chain_port=0)
        chain = local_chain(settings)
        chain.start()
        try:
            runtime = open_runtime(settings, deploy_if_missing=True)
            print(render(measure_ledger(runtime), measure_baselines(runtime)))
        finally:
            chain.stop()


if __name__ == "__main__":
    main()
