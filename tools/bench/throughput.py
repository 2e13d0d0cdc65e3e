"""Write throughput and latency: transfer-part through the gateway, beside the same calls sent raw to Anvil.

Clients are closed loops: each sends one request, waits for its answer, and sends the
next. Through the gateway, a request is ``POST /v1/certificates/{id}/transfer`` with an
amount and an ``Idempotency-Key``, as real clients send it; it answers once the
transaction is mined and indexed. Raw, the same call is signed beforehand and sent with
``eth_sendRawTransaction``, and the client polls for its receipt: that is what the chain
itself can do on this machine. A burst (every signed transaction sent back to back,
then every receipt awaited) gives the raw chain's ceiling.

Requests come from many members, as real traffic does: the clients take turns over
all of them, each member paying part of one of its own certificates to the next.

Every run starts from the same chain state: Anvil takes longer to mine each block as
its state grows, and runs that each added thousands of certificates would measure an
ever slower chain. The
chain is snapshotted once the certificates are handed out and reverted before each
run (``evm_snapshot``, ``evm_revert``); the gateway is restarted after a revert, as its
nonces and index are of the abandoned chain, and warmed up with one request per member.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import requests
from eth_account.signers.local import LocalAccount

from scf_chain.domain.money import from_day
from scf_chain.domain.types import MemberRole
from tools.bench.chainops import GAS_LIMIT, MAX_PARTS, Rpc, SignedTx, Tx
from tools.bench.environment import Ledger
from tools.bench.profiles import Profile
from tools.bench.stats import latency_summary, median_of
from tools.bench.ui import Advance, Steps

PART_FACE_MINOR = 10_000  # each certificate handed out is CNY 100.00
TRANSFER_MINOR = 100  # and each request pays CNY 1.00 of it
SUMMARY_KEYS = ("ops_per_s", "p50_ms", "p95_ms", "p99_ms", "mean_ms", "errors")


@dataclass(frozen=True)
class Work:
    """One transfer-part: the paying member, its certificate, the receiver."""

    member: int
    certificate_id: int
    to: str


class Holdings:
    """Certificates handed out to members beforehand, taken one per request."""

    def __init__(self, members: Sequence[LocalAccount], certificates: dict[int, list[int]]) -> None:
        self.members = list(members)
        self._handed_out = {member: list(ids) for member, ids in certificates.items()}
        self._certificates = certificates
        self._lock = threading.Lock()
        self._turn = 0  # the member whose turn is next, so that every member pays as often over all runs

    def reset(self) -> None:
        """Every certificate is unspent again: the chain was reverted to before they were used."""
        with self._lock:
            self._certificates = {member: list(ids) for member, ids in self._handed_out.items()}
            self._turn = 0

    def plan(self, requests_total: int, concurrency: int) -> list[list[Work]]:
        """Requests dealt in turn over every member, then to clients: client w gets requests w, w+c, w+2c..."""
        per_client: list[list[Work]] = [[] for _ in range(concurrency)]
        with self._lock:
            for n in range(requests_total):
                member = (self._turn + n) % len(self.members)
                if not self._certificates[member]:
                    raise RuntimeError("the benchmark handed out too few certificates for its requests")
                certificate_id = self._certificates[member].pop(0)
                to = self.members[(member + 1) % len(self.members)].address
                per_client[n % concurrency].append(Work(member, certificate_id, to))
            self._turn = (self._turn + requests_total) % len(self.members)
        return per_client


def hand_out(ledger: Ledger, core: LocalAccount, members: Sequence[LocalAccount], each: int) -> Holdings:
    """Gives every member ``each`` certificates of CNY 100.00: issued to it, accepted, and split to itself."""
    maturity = from_day(ledger.chain_today() + 90)
    certificates: dict[int, list[int]] = {n: [] for n in range(len(members))}
    remaining = each
    while remaining > 0:
        parts = min(MAX_PARTS, max(remaining, 2))
        roots = ledger.writer.issue(core, members, parts * PART_FACE_MINOR, maturity)
        children = ledger.writer.split([(root, [root.holder] * parts) for root in roots])
        for n, child in enumerate(children):
            certificates[n // parts].append(child.id)
        remaining -= parts
    return Holdings(members, certificates)


def _closed_loop(
    plan: Sequence[Sequence[Work]], request: Callable[[Work, dict[str, Any]], str | None], advance: Advance
) -> dict[str, Any]:
    """Runs every client's requests in turn, all clients at once; ``request`` returns an error or None."""
    latencies: list[float] = []
    errors: list[str] = []
    finished: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(plan) + 1)

    def client(work: Sequence[Work]) -> None:
        state: dict[str, Any] = {}
        barrier.wait()
        mine: list[float] = []
        for item in work:
            started = time.perf_counter()
            try:
                error = request(item, state)
            except Exception as exc:  # a failed request is counted, and the run goes on
                error = f"{type(exc).__name__}: {exc}"
            elapsed = time.perf_counter() - started
            with lock:
                if error is None:
                    mine.append(elapsed)
                else:
                    errors.append(error)
            advance(1)
        with lock:
            latencies.extend(mine)
            finished.append(time.perf_counter())

    threads = [threading.Thread(target=client, args=(work,), daemon=True) for work in plan]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    barrier.wait()
    for thread in threads:
        thread.join()
    seconds = max(finished) - started
    return {
        "concurrency": len(plan),
        "requests": sum(len(work) for work in plan),
        "ok": len(latencies),
        "errors": len(errors),
        "first_error": errors[0][:300] if errors else None,
        "seconds": round(seconds, 3),
        "ops_per_s": round(len(latencies) / seconds, 2) if seconds > 0 else 0.0,
        **latency_summary(latencies),
    }


class GatewayClients:
    """Transfer-part requests through the gateway, each member with its own API key."""

    def __init__(self, ledger: Ledger, holdings: Holdings) -> None:
        self.url = ledger.api_url
        self.keys = [ledger.api_key(member.address) for member in holdings.members]

    def request(self, work: Work, state: dict[str, Any]) -> str | None:
        session: requests.Session = state.setdefault("session", requests.Session())
        response = session.post(
            f"{self.url}/v1/certificates/{work.certificate_id}/transfer",
            json={"to": work.to, "amount": f"{TRANSFER_MINOR / 100:.2f}"},
            headers={"Authorization": f"Bearer {self.keys[work.member]}", "Idempotency-Key": str(uuid.uuid4())},
            timeout=120,
        )
        if response.status_code != 201:
            return f"HTTP {response.status_code}: {response.text[:200]}"
        return None


class RawClients:
    """The same calls signed beforehand and sent straight to Anvil's JSON-RPC."""

    def __init__(self, ledger: Ledger, holdings: Holdings) -> None:
        self.ledger = ledger
        self.holdings = holdings
        self.rpc = Rpc(ledger.url)
        self._signed: dict[int, SignedTx] = {}

    def sign(self, plan: Sequence[Sequence[Work]]) -> None:
        """Signs in request order, which is each member's nonce order."""
        for member in self.holdings.members:
            self.ledger.signer.forget(member.address)
        calls = self.ledger.calls
        order = sorted(
            (n * len(plan) + client, work) for client, works in enumerate(plan) for n, work in enumerate(works)
        )
        for _, work in order:
            data = calls.data("transferPart", work.certificate_id, work.to, TRANSFER_MINOR)
            account = self.holdings.members[work.member]
            tx = Tx(account, calls.address, data, GAS_LIMIT["transferPart"])
            self._signed[work.certificate_id] = self.ledger.signer.sign(tx)

    def request(self, work: Work, state: dict[str, Any]) -> str | None:
        signed = self._signed[work.certificate_id]
        tx_hash = self.rpc.send_raw(signed.raw)
        receipt = self.rpc.receipt(tx_hash)
        return None if int(receipt["status"], 16) == 1 else f"transaction {tx_hash} reverted"

    def burst(self, plan: Sequence[Sequence[Work]], advance: Advance) -> dict[str, Any]:
        """Every signed transaction sent back to back from one client, then every receipt awaited."""
        self.sign(plan)
        signed = [self._signed[work.certificate_id] for works in plan for work in works]
        started = time.perf_counter()
        for item in signed:
            self.rpc.send_raw(item.raw)
            advance(1)
        receipts = self.rpc.receipts([item.tx_hash for item in signed])
        seconds = time.perf_counter() - started
        ok = sum(1 for receipt in receipts if int(receipt["status"], 16) == 1)
        return {
            "requests": len(signed),
            "ok": ok,
            "errors": len(signed) - ok,
            "seconds": round(seconds, 3),
            "ops_per_s": round(ok / seconds, 2),
        }


def _requests_needed(profile: Profile, gateway: bool) -> int:
    """Certificates used between two reverts at most; after a revert they are unspent again."""
    runs = 1 if profile.isolate == "run" else profile.repeats
    most = max(profile.requests_at(c) for c in profile.concurrency) * runs
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


def prepare(ledger: Ledger, profile: Profile, steps: Steps) -> Setup:
    """Members for the gateway and (separately, so nonces never clash) for raw sends, with certificates to pay."""
    with steps.task("throughput: onboarding members and handing out certificates", total=4) as advance:
        core = ledger.core_enterprise("Bench Throughput Motors")
        names = [f"Bench Gateway Supplier {n + 1}" for n in range(profile.suppliers)]
        gateway_members = ledger.members(MemberRole.SUPPLIER, names)
        raw_members = ledger.members(
            MemberRole.SUPPLIER, [f"Bench Raw Supplier {n + 1}" for n in range(profile.suppliers)]
        )
        advance(1)
        each = math.ceil(_requests_needed(profile, gateway=True) / profile.suppliers) + 1
        gateway_holdings = hand_out(ledger, core, gateway_members, each)
        advance(1)
        each = math.ceil(_requests_needed(profile, gateway=False) / profile.suppliers) + 1
        raw_holdings = hand_out(ledger, core, raw_members, each)
        advance(1)
        ledger.wait_indexed()
        advance(1)
    return Setup(
        gateway_holdings, raw_holdings, GatewayClients(ledger, gateway_holdings), RawClients(ledger, raw_holdings)
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
            # One request per member: every connection, key and nonce is warm.
            members = len(self.setup.gateway.members)
            warm_up = _closed_loop(
                self.setup.gateway.plan(members, members), self.setup.gateway_clients.request, lambda _: None
            )
            if warm_up["errors"]:
                raise RuntimeError(f"the gateway's warm-up failed: {warm_up['first_error']}")


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
                gateway_runs.append(_closed_loop(plan, setup.gateway_clients.request, advance))
                if profile.isolate == "run":
                    fresh.revert(gateway=False)
                plan = setup.raw.plan(count, concurrency)
                setup.raw_clients.sign(plan)
                raw_runs.append(_closed_loop(plan, setup.raw_clients.request, advance))
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
    bursts: list[dict[str, Any]] = []
    with steps.task(
        "throughput: raw burst (all sent back to back)", total=profile.raw_burst * profile.repeats
    ) as advance:
        for repeat in range(profile.repeats):
            if repeat == 0 or profile.isolate == "run":
                fresh.revert(gateway=False)
            bursts.append(setup.raw_clients.burst(setup.raw.plan(profile.raw_burst, 1), advance))
    burst: dict[str, Any] = {"runs": bursts, "median": median_of(bursts, ("ops_per_s", "errors"))}
    steps.note(f"  raw burst: {burst['median']['ops_per_s']:.1f} ops/s")
    setup.fresh = fresh
    return _verdict(profile, gateway_levels, raw_levels, burst)


def _verdict(
    profile: Profile, gateway_levels: list[dict[str, Any]], raw_levels: list[dict[str, Any]], burst: dict[str, Any]
) -> dict[str, Any]:
    best_gateway = max(gateway_levels, key=lambda level: level["median"]["ops_per_s"])
    raw_candidates = [(f"{level['concurrency']} clients", level["median"]["ops_per_s"]) for level in raw_levels]
    raw_candidates.append(("burst", burst["median"]["ops_per_s"]))
    raw_best_label, raw_best = max(raw_candidates, key=lambda pair: pair[1])
    ratio = best_gateway["median"]["ops_per_s"] / raw_best if raw_best else 0.0
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
            "raw_ops_per_s": raw_best,
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
        return _closed_loop(plan, setup.gateway_clients.request, lambda _: None)

    return prepare, run


def single_client_writes(ledger: Ledger, gateway: Holdings, raw: Holdings, count: int) -> dict[str, Any]:
    """``count`` transfer-parts by one client through the gateway, then ``count`` sent raw: writes at this size."""
    gateway_run = _closed_loop(gateway.plan(count, 1), GatewayClients(ledger, gateway).request, lambda _: None)
    clients = RawClients(ledger, raw)
    plan = raw.plan(count, 1)
    clients.sign(plan)
    raw_run = _closed_loop(plan, clients.request, lambda _: None)
    return {"gateway": gateway_run, "raw": raw_run}
