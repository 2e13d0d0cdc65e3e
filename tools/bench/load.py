"""Transfer-part load, shared by the sections that measure writes: certificates handed out to members
beforehand, and closed-loop clients that spend them through the gateway or send the same calls raw to Anvil.

Clients are closed loops: each sends one request, waits for its answer, and sends the
next. Through the gateway, a request is ``POST /v1/certificates/{id}/transfer`` with an
amount and an ``Idempotency-Key``, as real clients send it; it answers once the
transaction is mined and indexed. Raw, the same call is signed beforehand and sent with
``eth_sendRawTransaction``, and the client polls for its receipt: that is what the chain
itself can do on this machine.

Requests come from many members, as real traffic does: the clients take turns over
all of them, each member paying part of one of its own certificates to the next.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import requests
from eth_account.signers.local import LocalAccount

from scf_chain.domain.money import from_day
from tools.bench.chainops import GAS_LIMIT, MAX_PARTS, Rpc, SignedTx, Tx
from tools.bench.environment import Ledger
from tools.bench.stats import latency_summary
from tools.bench.ui import Advance

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


def closed_loop(
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
    """Transfer-part requests through the gateway at ``url``, each member with its own API key (in member order)."""

    def __init__(self, url: str, keys: Sequence[str]) -> None:
        self.url = url
        self.keys = list(keys)

    @classmethod
    def of(cls, ledger: Ledger, holdings: Holdings) -> GatewayClients:
        """Clients of the ledger's running gateway, with a new key for each member in its store."""
        return cls(ledger.api_url, [ledger.api_key(member.address) for member in holdings.members])

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


def warm_up(holdings: Holdings, clients: GatewayClients) -> None:
    """One request per member, all at once: every connection, key and nonce of a restarted gateway is warm."""
    members = len(holdings.members)
    run = closed_loop(holdings.plan(members, members), clients.request, lambda _: None)
    if run["errors"]:
        raise RuntimeError(f"the gateway's warm-up failed: {run['first_error']}")


def raw_run(holdings: Holdings, clients: RawClients, count: int, concurrency: int, advance: Advance) -> dict[str, Any]:
    """``count`` transfer-parts sent raw by ``concurrency`` closed-loop clients, signed beforehand."""
    plan = holdings.plan(count, concurrency)
    clients.sign(plan)
    return closed_loop(plan, clients.request, advance)
