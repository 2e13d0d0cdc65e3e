"""Write throughput and latency: transfer-part through the gateway, beside the same calls sent raw to Anvil.

The clients and the certificates they spend are :mod:`tools.bench.load`'s. A burst (every
signed transaction sent back to back, then every receipt awaited) gives the raw chain's
ceiling.

Every run starts from the same chain state: Anvil takes longer to mine each block as
its state grows, and runs that each added thousands of certificates would measure an
ever slower chain. The chain is snapshotted once the certificates are handed out and reverted before each
run (``evm_snapshot``, ``evm_revert``); the gateway is restarted after a revert, as its
nonces and index are of the abandoned chain, and warmed up with one request per member.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scf_chain.domain.types import MemberRole
from tools.bench.environment import Ledger
from tools.bench.load import SUMMARY_KEYS, GatewayClients, Holdings, RawClients, closed_loop, hand_out, raw_run, warm_up
from tools.bench.profiles import Profile
from tools.bench.stats import median_of
from tools.bench.ui import Steps


def requests_needed(profile: Profile, *, gateway: bool, isolate: str, repeats: int) -> int:
    """Certificates used between two reverts at most; after a revert they are unspent again.

    ``isolate``: the chain is reverted before every "run", before each concurrency "level", or once per
    gateway "configuration" (every level's runs on one chain).
    """
    runs = 1 if isolate == "run" else repeats
    levels = [profile.requests_at(c) for c in profile.concurrency]
    most = (sum(levels) if isolate == "configuration" else max(levels)) * runs
    if gateway:
        return most + profile.suppliers  # and the warm-up, one request per member
    return max(most, profile.raw_burst * runs)


def profile_concurrency(profile: Profile) -> int:
    """The gateway is profiled at 8 clients, the level of the latency target, or the nearest level measured."""
    return min(profile.concurrency, key=lambda c: abs(c - 8))


@dataclass
class Setup:
    gateway: Holdings
    raw: Holdings
    gateway_clients: GatewayClients
    raw_clients: RawClients
    fresh: Fresh | None = None


def prepare(
    ledger: Ledger,
    profile: Profile,
    steps: Steps,
    *,
    section: str = "throughput",
    isolate: str | None = None,
    repeats: int | None = None,
) -> Setup:
    """Members for the gateway and (separately, so nonces never clash) for raw sends, with certificates to pay.

    ``isolate`` and ``repeats``: how often the chain is reverted and each level run (see
    :func:`requests_needed`); the profile's by default.
    """
    isolate = isolate or profile.isolate
    repeats = repeats or profile.repeats
    with steps.task(f"{section}: onboarding members and handing out certificates", total=4) as advance:
        core = ledger.core_enterprise(f"Bench {section.title()} Motors")
        names = [f"Bench Gateway Supplier {n + 1}" for n in range(profile.suppliers)]
        gateway_members = ledger.members(MemberRole.SUPPLIER, names)
        raw_members = ledger.members(
            MemberRole.SUPPLIER, [f"Bench Raw Supplier {n + 1}" for n in range(profile.suppliers)]
        )
        advance(1)
        needed = requests_needed(profile, gateway=True, isolate=isolate, repeats=repeats)
        each = math.ceil(needed / profile.suppliers) + 1
        gateway_holdings = hand_out(ledger, core, gateway_members, each)
        advance(1)
        needed = requests_needed(profile, gateway=False, isolate=isolate, repeats=repeats)
        each = math.ceil(needed / profile.suppliers) + 1
        raw_holdings = hand_out(ledger, core, raw_members, each)
        advance(1)
        ledger.wait_indexed()
        advance(1)
    return Setup(
        gateway_holdings, raw_holdings, GatewayClients.of(ledger, gateway_holdings), RawClients(ledger, raw_holdings)
    )


class Fresh:
    """Reverts the chain to the state right after the hand-out, for the next run."""

    def __init__(self, ledger: Ledger, setup: Setup) -> None:
        self.ledger = ledger
        self.setup = setup
        self._snapshot = ledger.snapshot()

    def revert(self, *, gateway: bool) -> None:
        """The chain as it was after the hand-out; with ``gateway``, a restarted and warmed-up gateway too."""
        self.ledger.revert(self._snapshot)
        self._snapshot = self.ledger.snapshot()  # a snapshot is used up by reverting to it
        self.setup.gateway.reset()
        self.setup.raw.reset()
        if gateway:  # restarted by the revert
            warm_up(self.setup.gateway, self.setup.gateway_clients)


def measure(ledger: Ledger, setup: Setup, profile: Profile, steps: Steps) -> dict[str, Any]:
    fresh = Fresh(ledger, setup)
    gateway_levels: list[dict[str, Any]] = []
    raw_levels: list[dict[str, Any]] = []
    for concurrency in profile.concurrency:
        count = profile.requests_at(concurrency)
        gateway_runs, raw_runs = [], []
        with steps.task(
            f"throughput: {concurrency} clients, gateway and raw", total=2 * count * profile.repeats
        ) as advance:
            for repeat in range(profile.repeats):
                if repeat == 0 or profile.isolate == "run":
                    fresh.revert(gateway=True)
                plan = setup.gateway.plan(count, concurrency)
                gateway_runs.append(closed_loop(plan, setup.gateway_clients.request, advance))
                if profile.isolate == "run":
                    fresh.revert(gateway=False)
                raw_runs.append(raw_run(setup.raw, setup.raw_clients, count, concurrency, advance))
        gateway_levels.append(
            {"concurrency": concurrency, "runs": gateway_runs, "median": median_of(gateway_runs, SUMMARY_KEYS)}
        )
        raw_levels.append({"concurrency": concurrency, "runs": raw_runs, "median": median_of(raw_runs, SUMMARY_KEYS)})
        gateway_median, raw_median = gateway_levels[-1]["median"], raw_levels[-1]["median"]
        steps.note(
            f"  {concurrency:>3} client{'s' if concurrency > 1 else ' '}: "
            f"gateway {gateway_median['ops_per_s']:.1f} ops/s "
            f"(p50 {gateway_median['p50_ms']:.0f} ms, p99 {gateway_median['p99_ms']:.0f} ms); "
            f"raw {raw_median['ops_per_s']:.1f} ops/s (p50 {raw_median['p50_ms']:.1f} ms)"
        )
    burst = measure_burst(
        fresh, setup, profile, steps, section="throughput", repeats=profile.repeats, isolate=profile.isolate
    )
    setup.fresh = fresh
    return _verdict(profile, gateway_levels, raw_levels, burst)


def measure_burst(
    fresh: Fresh, setup: Setup, profile: Profile, steps: Steps, *, section: str, repeats: int, isolate: str
) -> dict[str, Any]:
    """The raw chain's ceiling: every signed transaction sent back to back from one client, then every receipt."""
    bursts: list[dict[str, Any]] = []
    with steps.task(f"{section}: raw burst (all sent back to back)", total=profile.raw_burst * repeats) as advance:
        for repeat in range(repeats):
            if repeat == 0 or isolate == "run":
                fresh.revert(gateway=False)
            bursts.append(setup.raw_clients.burst(setup.raw.plan(profile.raw_burst, 1), advance))
    burst: dict[str, Any] = {"runs": bursts, "median": median_of(bursts, ("ops_per_s", "errors"))}
    steps.note(f"  raw burst: {burst['median']['ops_per_s']:.1f} ops/s")
    return burst


def raw_best(raw_levels: list[dict[str, Any]], burst: dict[str, Any]) -> tuple[str, float]:
    """The raw chain's best rate, and how it was reached: at a client count, or in a burst."""
    candidates = [(f"{level['concurrency']} clients", level["median"]["ops_per_s"]) for level in raw_levels]
    candidates.append(("burst", burst["median"]["ops_per_s"]))
    return max(candidates, key=lambda pair: pair[1])


def _verdict(
    profile: Profile, gateway_levels: list[dict[str, Any]], raw_levels: list[dict[str, Any]], burst: dict[str, Any]
) -> dict[str, Any]:
    best_gateway = max(gateway_levels, key=lambda level: level["median"]["ops_per_s"])
    raw_best_label, raw_best_rate = raw_best(raw_levels, burst)
    ratio = best_gateway["median"]["ops_per_s"] / raw_best_rate if raw_best_rate else 0.0
    at_eight = next((level for level in gateway_levels if level["concurrency"] == 8), None)
    return {
        "operation": "transfer-part",
        "members": profile.suppliers,
        "repeats": profile.repeats,
        "gateway": gateway_levels,
        "raw": raw_levels,
        "raw_burst": burst,
        "best": {
            "gateway_concurrency": best_gateway["concurrency"],
            "gateway_ops_per_s": best_gateway["median"]["ops_per_s"],
            "raw_mode": raw_best_label,
            "raw_ops_per_s": raw_best_rate,
            "ratio": round(ratio, 3),
        },
        "same_concurrency_ratio": [
            {
                "concurrency": g["concurrency"],
                "ratio": round(g["median"]["ops_per_s"] / r["median"]["ops_per_s"], 3)
                if r["median"]["ops_per_s"]
                else None,
            }
            for g, r in zip(gateway_levels, raw_levels, strict=True)
        ],
        "p99_ms_at_8": at_eight["median"]["p99_ms"] if at_eight else None,
    }


def profiled_run(
    ledger: Ledger, setup: Setup, profile: Profile
) -> tuple[Callable[[], int], Callable[[], dict[str, Any]]]:
    """For the profiler: readying a gateway run from the usual state (returns the gateway's process id), and
    the run itself, at the profiling concurrency (its figures are not counted elsewhere)."""
    concurrency = profile_concurrency(profile)

    def prepare() -> int:
        if setup.fresh is not None:
            setup.fresh.revert(gateway=True)
        assert ledger.gateway is not None
        return ledger.gateway.pid

    def run() -> dict[str, Any]:
        plan = setup.gateway.plan(profile.requests_at(concurrency), concurrency)
        return closed_loop(plan, setup.gateway_clients.request, lambda _: None)

    return prepare, run


def single_client_writes(ledger: Ledger, gateway: Holdings, raw: Holdings, count: int) -> dict[str, Any]:
    """``count`` transfer-parts by one client through the gateway, then ``count`` sent raw: writes at this size."""
    gateway_run = closed_loop(gateway.plan(count, 1), GatewayClients.of(ledger, gateway).request, lambda _: None)
    return {"gateway": gateway_run, "raw": raw_run(raw, RawClients(ledger, raw), count, 1, lambda _: None)}
