"""Prints the gauntlet's table from the figures its tests recorded (see tests/gauntlet.py).

Run by ``make gauntlet`` after the tests; ``--markdown`` prints the table for the README.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

FIGURES_DIR = Path(__file__).resolve().parent.parent / "test-artifacts" / "gauntlet"


def _figures(kept: dict) -> str:
    return ", ".join(f"{name} {value}" for name, value in kept["figures"].items())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--markdown", action="store_true", help="a Markdown table, for the README")
    args = parser.parse_args()
    files = sorted(FIGURES_DIR.glob("*.json")) if FIGURES_DIR.exists() else []
    if not files:
        print(f"error: no gauntlet figures in {FIGURES_DIR}; run `make gauntlet` first", file=sys.stderr)
        return 1
    rows = [json.loads(path.read_text()) for path in files]
    if args.markdown:
        print("| check | strength | figures |")
        print("|---|---|---|")
        for kept in rows:
            print(f"| {kept['check']} | {kept['strength']} | {_figures(kept)} |")
        return 0
    width = max(len(kept["check"]) for kept in rows)
    for kept in rows:
        print(f"{kept['check']:<{width}}  {kept['strength']:<5}  {_figures(kept)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
