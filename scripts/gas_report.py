"""Prints the gas of every ledger operation beside OpenZeppelin token baselines.

Runs on a fresh local chain of its own, in a temporary data folder, so it never
touches the chain of `make run`. Usage: python scripts/gas_report.py (or `scf gas`).
"""

from __future__ import annotations

from tools.gas import gas_report


def main() -> None:
    print(gas_report())


if __name__ == "__main__":
    main()
