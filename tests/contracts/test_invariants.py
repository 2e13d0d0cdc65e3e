"""The contracts' invariants under forge's fuzzer, and Slither's verdict on them.

Forge runs tests/invariants: a handler calls every public operation of the ledger, the desk
and the token as random members, and after each call forge checks each invariant (the leaves
of an issuance sum to its face value, the credit limit holds, nothing passes the gate, the desk
keeps the settlement token's supply, each offer nonce is used once, ...). Runs and depth come
from tests.gauntlet.strength; each invariant must have been checked after at least runs x depth
calls. Quick, the run takes under a minute with its compilation; at full strength each
invariant gets 64 runs of 200 calls, 12,800 calls.

SCF_INVARIANT_SEED replays one seed; without it the quick run uses a fixed seed and the full
run a fresh one, recorded with the figures.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests import gauntlet

pytestmark = pytest.mark.gauntlet

PROJECT_ROOT = gauntlet.PROJECT_ROOT
FORGE = PROJECT_ROOT / "node_modules" / ".bin" / "forge"
RUNS, DEPTH = gauntlet.strength((4, 75), (64, 200))
SEED = os.environ.get("SCF_INVARIANT_SEED") or gauntlet.strength("20261203", str(time.time_ns() % 2**32))
INVARIANTS = 7


def _forge_results(stdout: str) -> dict[str, dict[str, Any]]:
    """The results by test name from forge's JSON, or an empty dict if it printed none."""
    try:
        suites = json.loads(stdout)
    except json.JSONDecodeError:
        return {}
    return {name: result for suite in suites.values() for name, result in suite["test_results"].items()}


def _calls(counterexample: Any) -> str:
    """A failing sequence, shrunk, one handler call a line: forge gives it as [original length, calls]."""
    sequence = counterexample.get("Sequence") if isinstance(counterexample, dict) else None
    calls = sequence[-1] if isinstance(sequence, list) and sequence and isinstance(sequence[-1], list) else []
    return "\n".join(f"  {call.get('signature')} ({call.get('raw_args')})" for call in calls if isinstance(call, dict))


def _failure_report(results: dict[str, dict[str, Any]], completed: subprocess.CompletedProcess[str]) -> str:
    lines = [f"forge test failed (seed {SEED}, runs {RUNS}, depth {DEPTH}, exit {completed.returncode})"]
    for name, result in sorted(results.items()):
        if result["status"] == "Success":
            continue
        lines.append(f"{name}: {result['status']}: {result.get('reason')}\n{_calls(result.get('counterexample'))}")
    if not results:
        lines.append(f"stdout:\n{completed.stdout[-4000:]}")
    lines.append(f"stderr:\n{completed.stderr[-4000:]}")
    here = Path(__file__).relative_to(PROJECT_ROOT)
    lines.append(f"replay: SCF_INVARIANT_SEED={SEED} {sys.executable} -m pytest {here}")
    return "\n".join(lines)


@pytest.mark.timeout(gauntlet.strength(600, 3600))
def test_contract_invariants_hold_under_random_operations() -> None:
    env = os.environ | {"FOUNDRY_INVARIANT_RUNS": str(RUNS), "FOUNDRY_INVARIANT_DEPTH": str(DEPTH)}
    started = time.monotonic()
    completed = subprocess.run(
        [str(FORGE), "test", "--json", "--fuzz-seed", SEED],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.monotonic() - started
    results = _forge_results(completed.stdout)
    failed = [name for name, result in results.items() if result["status"] != "Success"]
    passed = completed.returncode == 0 and bool(results) and not failed
    assert passed, _failure_report(results, completed)

    invariants = {
        name: result["kind"]["Invariant"] for name, result in results.items() if "Invariant" in result["kind"]
    }
    assert len(invariants) == INVARIANTS, f"forge ran {sorted(invariants)}, expected {INVARIANTS} invariants"
    floor = RUNS * DEPTH
    short = {name: figures["calls"] for name, figures in invariants.items() if figures["calls"] < floor}
    assert not short, f"invariants checked after fewer than {floor} calls: {short}"

    gauntlet.record(
        "contract-invariants",
        {
            "invariants": len(invariants),
            "runs": RUNS,
            "depth": DEPTH,
            "calls per invariant": min(figures["calls"] for figures in invariants.values()),
            "reverts": sum(figures["reverts"] for figures in invariants.values()),
            "failures": len(failed),
            "seconds": round(seconds, 1),
            "seed": SEED,
        },
    )


@pytest.mark.timeout(300)
@pytest.mark.skipif(not gauntlet.full(), reason="make lint runs Slither; make gauntlet records its figures")
def test_slither_has_no_high_or_medium_findings(tmp_path: Path) -> None:
    counts_file = tmp_path / "slither.json"
    completed = subprocess.run(
        [sys.executable, "scripts/slither.py", "--counts", str(counts_file)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, f"scripts/slither.py failed:\n{completed.stdout}\n{completed.stderr[-4000:]}"
    counts = json.loads(counts_file.read_text())
    assert counts["high"] == 0 and counts["medium"] == 0, counts
    gauntlet.record("slither", counts)
