"""Gateway replicas: transfer-part through 1, 2 and 4 gateway processes sharing PostgreSQL, beside one process
on SQLite and the raw chain, all on a ledger of their own in the same run.

Each configuration is the real service: ``scf serve --workers N`` on a PostgreSQL database of
its own (a durable cluster made for the run, ``tools.postgres.LocalPostgres``), or one process
on the data folder's SQLite files. The clients, the certificates they spend and the raw
measurement are those of the throughput section (:mod:`tools.bench.load`,
:mod:`tools.bench.throughput`); so is the chain's isolation: reverted to the state right after
the hand-out before each run, level or configuration (the profile says which), the gateway
restarted and warmed up after each revert.

Beside every run, the CPU time the gateway's processes, the chain and the database server used
(from /proc), and how busy the machine's cores were: a rate that stops growing with replicas has
hit the cores or the chain, and these figures say which.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.bench import throughput
from tools.bench.environment import Ledger
from tools.bench.load import SUMMARY_KEYS, GatewayClients, closed_loop, raw_run, warm_up
from tools.bench.processes import CpuMeter, children
from tools.bench.profiles import Profile
from tools.bench.stats import median_of
from tools.bench.throughput import Fresh, Setup
from tools.bench.ui import Steps
from tools.postgres import LocalPostgres, PostgresError

SQLITE, POSTGRES = "sqlite", "postgres"
CPU_KEYS = ("gateway_cores", "chain_cores", "database_cores", "clients_cores", "other_cores", "machine_busy")
# A machine this busy has no core left to give; a chain process this busy has no more to give of its own.
CORES_BUSY = 0.9
CHAIN_BUSY = 0.9
# The rate at the same clients as the raw chain's, beyond which the gateway is as fast as the chain lets it be.
CHAIN_BOUND_RATIO = 0.9
GROWTH = 1.05  # a rate that grew by less than this with more replicas did not grow


@dataclass(frozen=True)
class Configuration:
    database: str
    processes: int

    @property
    def name(self) -> str:
        return f"{self.database}-{self.processes}"

    @property
    def label(self) -> str:
        database = "SQLite" if self.database == SQLITE else "PostgreSQL"
        return f"{self.processes} process{'es' if self.processes > 1 else ''} on {database}"


def configurations(profile: Profile, *, postgres: bool) -> list[Configuration]:
    """One process on SQLite (it serves one process), then each replica count on PostgreSQL."""
    shared = [Configuration(POSTGRES, n) for n in profile.replicas] if postgres else []
    return [Configuration(SQLITE, 1), *shared]


class Replicas:
    """The section's ledger, database server and runs."""

    def __init__(self, folder: Path, profile: Profile, steps: Steps) -> None:
        self.profile = profile
        self.steps = steps
        self.ledger = Ledger(folder / "replicas")
        self.postgres = LocalPostgres(folder / "postgres", durable=True)
        self.databases: dict[str, str] = {}
        self._setup: Setup | None = None
        self._fresh: Fresh | None = None

    @property
    def setup(self) -> Setup:
        assert self._setup is not None, "prepare first"
        return self._setup

    @property
    def fresh(self) -> Fresh:
        assert self._fresh is not None, "prepare first"
        return self._fresh

    def close(self) -> None:
        try:
            self.ledger.stop()
        finally:
            self.postgres.stop()

    def prepare(self) -> None:
        """Members and their certificates, handed out through the chain, then the snapshot every run starts from."""
        self.ledger.start_gateway()  # on SQLite: the hand-out waits for its index
        self._setup = throughput.prepare(
            self.ledger,
            self.profile,
            self.steps,
            section="replicas",
            isolate=self.profile.replica_isolate,
            repeats=self.profile.replica_repeats,
        )
        self._fresh = Fresh(self.ledger, self._setup)

    def start_postgres(self) -> str | None:
        """Starts the database server; returns why not where PostgreSQL is not there (its configurations skipped)."""
        try:
            self.postgres.start()
        except PostgresError as exc:
            return str(exc)
        return None

    # Measuring

    def measure_raw(self) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """The raw chain at each concurrency level, and its burst, from the same snapshot as the gateway's runs."""
        profile, setup, fresh = self.profile, self.setup, self.fresh
        levels: list[dict[str, Any]] = []
        for n, concurrency in enumerate(profile.concurrency):
            count = profile.requests_at(concurrency)
            runs: list[dict[str, Any]] = []
            with self.steps.task(
                f"replicas: raw chain, {concurrency} clients", total=count * profile.replica_repeats
            ) as advance:
                for repeat in range(profile.replica_repeats):
                    if self._reverts_before(n, repeat):
                        fresh.revert(gateway=False)
                    runs.append(self._metered(raw_run, setup.raw, setup.raw_clients, count, concurrency, advance))
            median = median_of(runs, (*SUMMARY_KEYS, *CPU_KEYS))
            levels.append({"concurrency": concurrency, "runs": runs, "median": median})
            self.steps.note(
                f"  raw chain, {concurrency:>2} clients: {median['ops_per_s']:.1f} ops/s "
                f"(p50 {median['p50_ms']:.1f} ms, p99 {median['p99_ms']:.1f} ms); "
                f"chain {median['chain_cores']:.2f} cores"
            )
        burst = throughput.measure_burst(
            fresh,
            setup,
            profile,
            self.steps,
            section="replicas",
            repeats=profile.replica_repeats,
            isolate="run" if profile.replica_isolate == "run" else "level",
        )
        return levels, burst

    def measure(self, configuration: Configuration) -> dict[str, Any]:
        """Every concurrency level through one configuration of the gateway."""
        profile, setup, fresh = self.profile, self.setup, self.fresh
        start_s = self.start(configuration)
        levels: list[dict[str, Any]] = []
        for n, concurrency in enumerate(profile.concurrency):
            count = profile.requests_at(concurrency)
            runs: list[dict[str, Any]] = []
            with self.steps.task(
                f"replicas: {configuration.label}, {concurrency} clients", total=count * profile.replica_repeats
            ) as advance:
                for repeat in range(profile.replica_repeats):
                    if (n, repeat) != (0, 0) and self._reverts_before(n, repeat):
                        fresh.revert(gateway=True)
                    plan = setup.gateway.plan(count, concurrency)
                    runs.append(self._metered(closed_loop, plan, setup.gateway_clients.request, advance))
            median = median_of(runs, (*SUMMARY_KEYS, *CPU_KEYS))
            levels.append({"concurrency": concurrency, "runs": runs, "median": median})
            self.steps.note(
                f"  {configuration.label}, {concurrency:>2} clients: {median['ops_per_s']:.1f} ops/s "
                f"(p50 {median['p50_ms']:.0f} ms, p99 {median['p99_ms']:.0f} ms); cores: gateway "
                f"{median['gateway_cores']:.2f}, chain {median['chain_cores']:.2f}, database "
                f"{median['database_cores']:.2f}, clients {median['clients_cores']:.2f}, other work "
                f"{median['other_cores']:.2f}; machine {median['machine_busy']:.0%} busy"
            )
        return {
            "name": configuration.name,
            "label": configuration.label,
            "database": configuration.database,
            "processes": configuration.processes,
            "start_s": round(start_s, 1),
            "levels": levels,
        }

    def start(self, configuration: Configuration) -> float:
        """The chain as after the hand-out, and the gateway of ``configuration`` on it, warmed up; its start's
        seconds (with the index caught up)."""
        self.ledger.stop_gateway()
        self.fresh.revert(gateway=False)
        url = None
        if configuration.database == POSTGRES:
            # A database of its own: no configuration reads another's records.
            url = self.databases.get(configuration.name) or self.postgres.create_database(
                configuration.name.replace("-", "_")
            )
            self.databases[configuration.name] = url
        self.ledger.use_database(url)
        started = time.perf_counter()
        self.ledger.start_gateway(workers=configuration.processes)
        self.ledger.wait_indexed()
        seconds = time.perf_counter() - started
        self.setup.gateway_clients = GatewayClients.of(self.ledger, self.setup.gateway)
        warm_up(self.setup.gateway, self.setup.gateway_clients)
        return seconds

    def _reverts_before(self, level: int, repeat: int) -> bool:
        isolate = self.profile.replica_isolate
        if isolate == "run":
            return True
        if isolate == "level":
            return repeat == 0
        return (level, repeat) == (0, 0)

    def _metered(self, run: Callable[..., dict[str, Any]], *arguments: Any) -> dict[str, Any]:
        """``run(*arguments)``'s figures, with the CPU its processes used meanwhile."""
        groups = {
            "gateway": self._gateway_pids,
            "chain": self._chain_pids,
            "database": self._database_pids,
            "clients": lambda: [os.getpid()],  # this process: the benchmark's clients
        }
        meter = CpuMeter(groups)
        meter.start()
        figures = run(*arguments)
        used = meter.stop()
        ours = sum(used[f"{name}_cores"] for name in groups)
        # The machine's cores busy with anything else (other work on a shared machine) during the run.
        used["other_cores"] = round(max(0.0, used["machine_busy"] * (os.cpu_count() or 1) - ours), 3)
        return {**figures, **used}

    def _gateway_pids(self) -> Sequence[int]:
        gateway = self.ledger.gateway
        return gateway.pids if gateway is not None and gateway.running else []

    def _chain_pids(self) -> Sequence[int]:
        record = self.ledger.chain.record()
        return [record.pid] if record is not None else []

    def _database_pids(self) -> Sequence[int]:
        if self.ledger.database_url is None:
            return []
        try:  # PostgreSQL's own record of its server: the postmaster's pid on the first line
            postmaster = int((self.postgres.data_dir / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return []
        return [postmaster, *children(postmaster)]

    # Profiling

    def profiled_run(self, configuration: Configuration) -> tuple[Callable[[], int], Callable[[], dict[str, Any]]]:
        """For the profiler: the configuration readied from the usual state (returns one worker's process id),
        and a run at the profiling concurrency (its figures are not counted elsewhere)."""
        concurrency = throughput.profile_concurrency(self.profile)
        self.start(configuration)

        def prepare() -> int:
            self.fresh.revert(gateway=True)
            assert self.ledger.gateway is not None
            return self.ledger.gateway.worker_pids[0]

        def run() -> dict[str, Any]:
            plan = self.setup.gateway.plan(self.profile.requests_at(concurrency), concurrency)
            return closed_loop(plan, self.setup.gateway_clients.request, lambda _: None)

        return prepare, run


def measure(folder: Path, profile: Profile, steps: Steps, output_dir: Path, targets: dict[str, Any]) -> dict[str, Any]:
    """The section: raw chain, then each configuration, then (in a profiled run, where a target is missed) the
    best configuration under py-spy."""
    from tools.bench.profiler import profile_gateway, py_spy_path

    replicas = Replicas(folder, profile, steps)
    try:
        replicas.prepare()
        raw_levels, burst = replicas.measure_raw()
        skipped = replicas.start_postgres()
        if skipped:
            steps.note(f"  replicas on PostgreSQL skipped: {skipped}")
        measured = [replicas.measure(c) for c in configurations(profile, postgres=skipped is None)]
        results = summarise(profile, raw_levels, burst, measured, targets)
        results["postgres"] = {"skipped": skipped} if skipped else {"durable": replicas.postgres.durable}
        if profile.profile and missed(results, targets):
            if py_spy_path() is None:
                results["profile"] = {"skipped": "py-spy is not installed"}
            else:
                best = results["best"]
                configuration = Configuration(best["database"], best["processes"])
                with steps.task(f"replicas: profiling {configuration.label} with py-spy", total=None):
                    prepare, load = replicas.profiled_run(configuration)
                    results["profile"] = {
                        "configuration": configuration.label,
                        **profile_gateway(prepare, load, output_dir, prefix="replicas-profile"),
                    }
        return results
    finally:
        replicas.close()


def summarise(
    profile: Profile,
    raw_levels: list[dict[str, Any]],
    burst: dict[str, Any],
    measured: list[dict[str, Any]],
    targets: dict[str, Any],
) -> dict[str, Any]:
    """Each configuration's best level and the limit it met; the best configuration; growth with replicas."""
    raw_mode, raw_rate = throughput.raw_best(raw_levels, burst)
    raw_at = {level["concurrency"]: level["median"]["ops_per_s"] for level in raw_levels}
    for configuration in measured:
        best = max(configuration["levels"], key=lambda level: level["median"]["ops_per_s"])
        rate = best["median"]["ops_per_s"]
        configuration["best"] = {
            "concurrency": best["concurrency"],
            "ops_per_s": rate,
            "ratio": round(rate / raw_rate, 3) if raw_rate else 0.0,
        }
        configuration["limit"] = limit_of(best, raw_at.get(best["concurrency"]))
        at_eight = next((level for level in configuration["levels"] if level["concurrency"] == 8), None)
        configuration["p99_ms_at_8"] = at_eight["median"]["p99_ms"] if at_eight else None
    top = max(measured, key=lambda c: c["best"]["ops_per_s"])
    return {
        "operation": "transfer-part",
        "members": profile.suppliers,
        "repeats": profile.replica_repeats,
        "isolate": profile.replica_isolate,
        "concurrency": list(profile.concurrency),
        "raw": raw_levels,
        "raw_burst": burst,
        "configurations": measured,
        "best": {
            "configuration": top["label"],
            "database": top["database"],
            "processes": top["processes"],
            "concurrency": top["best"]["concurrency"],
            "ops_per_s": top["best"]["ops_per_s"],
            "raw_mode": raw_mode,
            "raw_ops_per_s": raw_rate,
            "ratio": top["best"]["ratio"],
            "p99_ms_at_8": top["p99_ms_at_8"],
        },
        "growth": growth([c for c in measured if c["database"] == POSTGRES]),
    }


def limit_of(level: dict[str, Any], raw_rate: float | None) -> dict[str, Any]:
    """What held a level's rate: the machine's cores, the chain, or neither (then the gateway's own waits)."""
    median = level["median"]
    busy, chain = median.get("machine_busy", 0.0), median.get("chain_cores", 0.0)
    rate = median["ops_per_s"]
    figures = (
        f"machine {busy:.0%} busy; cores used: gateway {median.get('gateway_cores', 0.0):.2f}, chain {chain:.2f}, "
        f"database {median.get('database_cores', 0.0):.2f}, clients {median.get('clients_cores', 0.0):.2f}, "
        f"other work {median.get('other_cores', 0.0):.2f}"
    )
    if raw_rate:
        figures += f"; {rate / raw_rate:.0%} of the raw chain's rate at the same clients"
    if busy >= CORES_BUSY:
        kind = "cores"
    elif chain >= CHAIN_BUSY or (raw_rate and rate >= CHAIN_BOUND_RATIO * raw_rate):
        kind = "chain"
    else:
        kind = "neither"
    return {"kind": kind, "figures": figures}


def growth(shared: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Whether the rate grew with each step in replicas, or stopped where the cores or the chain were the limit."""
    ordered = sorted(shared, key=lambda c: c["processes"])
    if len(ordered) < 2:
        return None
    steps = []
    holds = True
    for before, after in itertools.pairwise(ordered):
        grew = after["best"]["ops_per_s"] > before["best"]["ops_per_s"] * GROWTH
        limited = before["limit"]["kind"] in ("cores", "chain")
        holds = holds and (grew or limited)
        steps.append({"from": before["processes"], "to": after["processes"], "grew": grew, "limit_before": limited})
    last = ordered[-1]
    return {
        "rates": [{"processes": c["processes"], "ops_per_s": c["best"]["ops_per_s"]} for c in ordered],
        "steps": steps,
        "holds": holds,
        "limit": last["limit"]["kind"],
        "limit_figures": last["limit"]["figures"],
    }


def missed(results: dict[str, Any], targets: dict[str, Any]) -> bool:
    """Whether any of the section's targets is missed (then the best configuration is profiled)."""
    best = results["best"]
    if best["ratio"] < targets["replicas_vs_raw_ratio"]:
        return True
    p99 = best["p99_ms_at_8"]
    if p99 is not None and p99 > targets["replicas_p99_ms_at_8_clients"]:
        return True
    return results["growth"] is not None and not results["growth"]["holds"]
