"""Prints the gauntlet's table from the figures its tests recorded (see tests/gauntlet.py).

Run by ``make gauntlet`` after the tests; ``--markdown`` prints the table in Markdown, and
``--readme`` writes it into the README's Reliability section.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIGURES_DIR = ROOT / "test-artifacts" / "gauntlet"
README = ROOT / "README.md"
START, END = "<!-- gauntlet:start -->", "<!-- gauntlet:end -->"


def _figures(kept: dict) -> str:
    return ", ".join(f"{name} {value}" for name, value in kept["figures"].items())


def _markdown(rows: list[dict]) -> str:
    lines = ["| check | strength | figures |", "|---|---|---|"]
    lines += [f"| {kept['check']} | {kept['strength']} | {_figures(kept)} |" for kept in rows]
    return "\n".join(lines)


def _write_readme(table: str) -> None:
    text = README.read_text()
    if START not in text or END not in text:
        raise SystemExit(f"error: {README} has no {START} ... {END} section")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    README.write_text(f"{head}{START}\n{table}\n{END}{tail}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--readme", action="store_true", help="write the Markdown table into README.md")
    args = parser.parse_args()
    files = sorted(FIGURES_DIR.glob("*.json")) if FIGURES_DIR.exists() else []
    if not files:
        print(f"error: no gauntlet figures in {FIGURES_DIR}; run `make gauntlet` first", file=sys.stderr)
        return 1
    rows = [json.loads(path.read_text()) for path in files]
    if args.readme:
        _write_readme(_markdown(rows))
    if args.markdown:
        print(_markdown(rows))
        return 0
    width = max(len(kept["check"]) for kept in rows)
    for kept in rows:
        print(f"{kept['check']:<{width}}  {kept['strength']:<5}  {_figures(kept)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
