"""Fails when Slither finds anything of high or medium impact in our contracts.

Compiles ``contracts/`` afresh with Hardhat, then runs Slither on the artifacts, leaving out
findings that lie wholly in OpenZeppelin (``node_modules``). The build is forced because
Slither reads every build-info in ``artifacts/``, and an incremental build leaves the old one
beside the new, with line numbers that no longer match.

A finding judged a false positive is marked in the contract, on the line before it, with
``// slither-disable-next-line DETECTOR (why it is safe)``. A mark that no longer silences
anything fails too, so that none outlives its finding.

Usage: python scripts/slither.py [--counts PATH]   (PATH: the findings by impact, as JSON)
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
HARDHAT = PROJECT_ROOT / "node_modules" / ".bin" / "hardhat"
SLITHER = Path(sys.executable).parent / "slither"
CONTRACTS = PROJECT_ROOT / "contracts"
IMPACTS = ("High", "Medium", "Low", "Informational", "Optimization")
FAILING = ("High", "Medium")
MARK = re.compile(r"//\s*slither-disable-next-line\s+([\w,-]+)")
UNUSED_MARK = re.compile(r"Unused slither-disable\S* directive for (\S+) at (\S+)")


def _slither(json_out: Path) -> subprocess.CompletedProcess[str]:
    command = [
        str(SLITHER),
        ".",
        "--compile-force-framework",
        "hardhat",
        "--hardhat-ignore-compile",
        "--filter-paths",
        "node_modules",
        "--fail-medium",
        "--warn-unused-ignores",
        "--json",
        str(json_out),
    ]
    return subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, check=False)


def marks() -> int:
    """How many findings our contracts mark as judged false positives."""
    return sum(len(MARK.findall(path.read_text())) for path in CONTRACTS.rglob("*.sol"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=Path, help="write the findings by impact to this JSON file")
    args = parser.parse_args()

    compiled = subprocess.run(
        [str(HARDHAT), "compile", "--force", "--quiet"], cwd=PROJECT_ROOT, capture_output=True, text=True
    )
    if compiled.returncode != 0:
        print(f"hardhat compile failed:\n{compiled.stdout}{compiled.stderr}", file=sys.stderr)
        return 1

    with tempfile.TemporaryDirectory() as scratch:
        json_out = Path(scratch) / "slither.json"
        result = _slither(json_out)
        report = json.loads(json_out.read_text()) if json_out.exists() else {}

    if not report.get("success"):
        print(f"slither did not finish:\n{result.stdout}{result.stderr}", file=sys.stderr)
        return 1
    findings = report.get("results", {}).get("detectors", [])
    counts = Counter(finding["impact"] for finding in findings)
    # Only our own stale marks: OpenZeppelin's are not ours to keep.
    stale = [
        f"{detector} at {Path(where).relative_to(PROJECT_ROOT)}"
        for detector, where in sorted(set(UNUSED_MARK.findall(result.stderr)))
        if Path(where.split("#")[0]).is_relative_to(CONTRACTS)
    ]

    for finding in findings:
        if finding["impact"] in FAILING:
            print(f"{finding['impact']} {finding['check']}: {finding['description'].strip()}\n")
    for mark in stale:
        print(f"slither-disable mark silences nothing: {mark}")
    summary = {impact.lower(): counts.get(impact, 0) for impact in IMPACTS}
    summary["marked_false_positives"] = marks()
    print("slither findings: " + ", ".join(f"{key} {value}" for key, value in summary.items()))
    if args.counts:
        args.counts.write_text(json.dumps(summary, indent=2) + "\n")

    failed = any(counts.get(impact, 0) for impact in FAILING) or bool(stale) or result.returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
