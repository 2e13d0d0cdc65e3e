"""Benchmarks of the whole system, on fresh isolated ledgers: ``make bench`` / ``scf bench``.

:func:`run` measures gas, gateway write throughput and latency beside the raw chain,
reads at growing ledger sizes, provenance of growing trees, indexer catch-up,
settlement at scale and gateway replicas on PostgreSQL, then writes ``results.json``, ``REPORT.md`` and the plots it
embeds, and (for a full run) the Performance section of the README. Every figure is
measured by the run that reports it.
"""

from __future__ import annotations

import logging
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from scf_chain.chain.compiler import PROJECT_ROOT
from tools.bench.profiles import PROFILES, Profile
from tools.bench.ui import Steps

__all__ = ["PARTS", "PROFILES", "default_output_dir", "run"]

SCHEMA_VERSION = 1
README_PATH = PROJECT_ROOT / "README.md"
TARGETS: dict[str, Any] = {
    "gas": {"issue": 150_000, "transfer-part": 150_000, "whole transfer": 65_000, "accept offer": 130_000},
    "gas_settle_per_certificate": 45_000,
    "gateway_vs_raw_ratio": 0.5,
    "gateway_p99_ms_at_8_clients": 250.0,
    "replicas_vs_raw_ratio": 0.6,
    "replicas_p99_ms_at_8_clients": 250.0,
    "provenance_10k_p50_ms": 100.0,
    "indexer_events_per_s": 2_000,
}


PARTS = ("main", "reads", "replicas")  # each on a ledger of its own; ``only`` runs some of them


def default_output_dir(mode: str, only: Sequence[str] = ()) -> Path:
    """``bench/`` for the full run, whose figures the README quotes; ``bench/<mode>/`` for the small ones, and
    ``bench/<mode>-only-<parts>/`` for a run of some parts."""
    if only:
        return PROJECT_ROOT / "bench" / f"{mode}-only-{'-'.join(only)}"
    return PROJECT_ROOT / "bench" if mode == "full" else PROJECT_ROOT / "bench" / mode


class _Sections:
    """Runs each benchmark section, recording a failure instead of losing the figures of the others."""

    def __init__(self, results: dict[str, Any], steps: Steps) -> None:
        self.results = results
        self.steps = steps

    @contextmanager
    def section(self, name: str, *, fatal: bool = False) -> Iterator[None]:
        """Times a section; a failure is recorded and the run goes on, unless ``fatal``."""
        started = time.perf_counter()
        try:
            yield
        except Exception as exc:  # one broken section must not cost the others' figures
            if fatal:
                raise
            self.results.setdefault("errors", []).append(
                {"section": name, "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()[-4000:]}
            )
            self.steps.note(f"  {name} FAILED: {type(exc).__name__}: {exc}")
        finally:
            self.results.setdefault("section_seconds", {})[name] = round(time.perf_counter() - started, 1)


def _quiet_library_logs() -> Callable[[], None]:
    """The development-mode warning and the like would break the progress display; restored afterwards."""
    logger = logging.getLogger("scf_chain")
    previous = logger.level
    logger.setLevel(logging.ERROR)
    return lambda: logger.setLevel(previous)


def run(
    mode: str = "full",
    *,
    output_dir: Path | None = None,
    readme: Path | None = None,
    console: Console | None = None,
    only: Sequence[str] = (),
) -> dict[str, Any]:
    """Runs every benchmark of ``mode`` (full, quick or smoke) and writes the results; returns them.

    ``readme``: the README whose Performance section is rewritten (None leaves it alone). ``only``: the parts
    of :data:`PARTS` to run (all by default).
    """
    from tools.bench import report
    from tools.bench.machine import load_average, machine, versions

    unknown = [part for part in only if part not in PARTS]
    if unknown:
        raise ValueError(f"no benchmark part {', '.join(unknown)}; the parts are {', '.join(PARTS)}")
    profile: Profile = PROFILES[mode]
    output_dir = output_dir or default_output_dir(mode, only)
    output_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    results: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "mode": mode,
        "only": list(only),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "versions": versions(),
        "settings": asdict(profile),
        "targets": TARGETS,
        "errors": [],
    }
    restore_logs = _quiet_library_logs()
    try:
        with Steps(console) as steps, tempfile.TemporaryDirectory(prefix="scf-bench-") as folder:
            sections = _Sections(results, steps)
            steps.note(f"benchmark ({mode}): fresh chains and gateways in {folder}")
            parts = {"main": _main_ledger, "reads": _reads_ledger, "replicas": _replicas}
            for name in only or PARTS:
                parts[name](Path(folder), profile, results, sections, steps, output_dir)
    finally:
        restore_logs()
    results["machine"]["load_average_at_end"] = load_average()
    results["duration_s"] = round(time.perf_counter() - started, 1)
    results["verdicts"] = report.verdicts(results)
    report.write(results, output_dir, readme=readme)
    return results


def _main_ledger(
    folder: Path, profile: Profile, results: dict[str, Any], sections: _Sections, steps: Steps, output_dir: Path
) -> None:
    """Gas, write throughput (and its profile), provenance, settlement and the indexer, on one ledger."""
    from tools.bench import gas, indexer, reads, settlement, throughput
    from tools.bench.environment import Ledger
    from tools.bench.profiler import profile_gateway, py_spy_path

    with sections.section("main ledger: chain and deployment", fatal=True):
        main = Ledger(folder / "main")
    try:
        with sections.section("gas"), steps.task("gas: every operation, from receipts"):
            results["gas"] = gas.measure(main.runtime)
        with sections.section("main ledger: gateway start-up", fatal=True):
            main.start_gateway()
        with sections.section("throughput"):
            setup = throughput.prepare(main, profile, steps)
            results["throughput"] = throughput.measure(main, setup, profile, steps)
            if profile.profile:
                if py_spy_path() is None:
                    results["profile"] = {"skipped": "py-spy is not installed"}
                else:
                    with steps.task("throughput: profiling the gateway with py-spy", total=None):
                        prepare, load = throughput.profiled_run(main, setup, profile)
                        results["profile"] = profile_gateway(prepare, load, output_dir)
        with sections.section("provenance"):
            results["provenance"] = reads.measure_provenance(main, profile, steps)
        with sections.section("settlement"):
            results["settlement"] = settlement.measure(main, profile, steps)
        with (
            sections.section("indexer"),
            steps.task("indexer: rebuilding the index from block 0", total=2 * profile.indexer_repeats) as advance,
        ):
            results["indexer"] = {"mixed": indexer.measure(main.runtime, profile.indexer_repeats, advance)}
    finally:
        main.stop()


def _reads_ledger(
    folder: Path, profile: Profile, results: dict[str, Any], sections: _Sections, steps: Steps, output_dir: Path
) -> None:
    """Reads at growing ledger sizes, and the indexer on the largest, on a ledger of their own."""
    from tools.bench import indexer, reads
    from tools.bench.environment import Ledger

    with sections.section("reads ledger: chain and deployment", fatal=True):
        large = Ledger(folder / "reads")
    try:
        with sections.section("reads ledger: gateway start-up", fatal=True):
            large.start_gateway()
        with sections.section("reads"):
            results["reads"] = reads.measure_reads(large, profile, steps)
        with (
            sections.section("indexer_large"),
            steps.task("indexer: rebuilding the largest ledger's index from block 0", total=2) as advance,
        ):
            results.setdefault("indexer", {})["large"] = indexer.measure(large.runtime, 1, advance)
    finally:
        large.stop()


def _replicas(
    folder: Path, profile: Profile, results: dict[str, Any], sections: _Sections, steps: Steps, output_dir: Path
) -> None:
    """Gateway replicas on PostgreSQL beside one process on SQLite and the raw chain, on a ledger of their own."""
    from tools.bench import replicas

    with sections.section("replicas"):
        results["replicas"] = replicas.measure(folder, profile, steps, output_dir, TARGETS)
