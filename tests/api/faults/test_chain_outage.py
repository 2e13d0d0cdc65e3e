"""The chain goes away for a few seconds under load, and comes back on the same port.

Several members write (issue, accept, transfer a part) and read through one gateway, each write
with its own ``Idempotency-Key``, while the chain is stopped cleanly (its state saved) and started
again, and then hangs (SIGSTOP) and resumes (SIGCONT). While it is away a request is answered
``503`` problem+json with ``Retry-After``, never 500 and never after more than a bound; afterwards
the gateway carries on by itself. Every write is sent again with its key until it has a final
answer, and the certificates on the chain are exactly those the 2xx answers named: none lost,
none made twice. The gateway runs with its receipt timeout (30 s), which an outage of a few seconds
stays within, and with one of 1 s, which the outage outlasts: a transaction signed just before the
chain went away is then given up on while it may still be delivered.

A chain restarted from its saved state has lost its pool: a write waiting for a transaction that was
in it sends it again, and is answered once.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.conftest import ApiMember, new_document_hash, new_invoice_number
from tests.api.faults.chain_view import ChainView
from tests.api.financing_harness import Harness, own_gateway
from tests.gauntlet import record, strength

pytestmark = pytest.mark.gauntlet

AWAY_S = 3.0
# No answer may take longer than this, outage or not. A request that reached the node just as it hung waits
# for the JSON-RPC timeout (30 s) before it is answered 503.
ANSWER_BOUND_S = 35.0
# A write is sent again with its key until it has a final answer, for at most this long.
FINAL_WITHIN_S = 60.0
NOT_FINAL = ("idempotency_request_in_progress", "idempotency_request_unconfirmed")


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    """A chain of its own: this test stops it."""
    with own_gateway(tmp_path) as harness:
        yield harness


@dataclass
class Attempt:
    status: int
    seconds: float
    during_outage: bool
    code: str | None
    retry_after: str | None
    content_type: str


@dataclass
class Tally:
    attempts: list[Attempt] = field(default_factory=list)
    answered: dict[str, httpx.Response] = field(default_factory=dict)  # key -> final answer
    created: list[int] = field(default_factory=list)  # certificate ids the 2xx answers made
    unfinished: list[tuple[ApiMember, str, str, dict[str, Any]]] = field(default_factory=list)
    stuck: list[tuple[str, str]] = field(default_factory=list)  # (path, key) whose record keeps a 503 for good
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Outage:
    """Whether the chain is away now, for telling the answers given meanwhile."""

    def __init__(self) -> None:
        self.away = threading.Event()


def _attempt(member: ApiMember, path: str, key: str, body: dict[str, Any] | None, outage: Outage, tally: Tally) -> Any:
    started = time.monotonic()
    away = outage.away.is_set()
    try:
        response = member.api.post(path, body, headers={"Idempotency-Key": key})
    except httpx.HTTPError as exc:
        with tally.lock:
            tally.errors.append(f"{path}: {type(exc).__name__} after {time.monotonic() - started:.1f}s")
        return None
    seconds = time.monotonic() - started
    is_problem = response.headers.get("content-type", "").startswith("application/problem+json")
    attempt = Attempt(
        response.status_code,
        seconds,
        away or outage.away.is_set(),
        response.json().get("code") if is_problem else None,
        response.headers.get("retry-after"),
        response.headers.get("content-type", ""),
    )
    with tally.lock:
        tally.attempts.append(attempt)
    return response


def _final(response: httpx.Response | None) -> bool:
    if response is None:
        return False
    if response.status_code == 503:
        return False
    return not (response.status_code == 409 and response.json().get("code") in NOT_FINAL)


def _write(
    member: ApiMember,
    path: str,
    body: dict[str, Any] | None,
    outage: Outage,
    tally: Tally,
    stop: threading.Event,
    key: str | None = None,
) -> httpx.Response | None:
    """Sends a write with its key as a client would, again after Retry-After, until final or ``stop``."""
    key = key or str(uuid.uuid4())
    deadline = time.monotonic() + FINAL_WITHIN_S
    while True:
        response = _attempt(member, path, key, body, outage, tally)
        if response is not None and response.status_code == 503 and response.headers.get("idempotent-replayed"):
            # The record itself holds the 503: it will answer the same however often it is asked.
            with tally.lock:
                tally.stuck.append((path, key))
            return None
        if _final(response):
            assert response is not None
            with tally.lock:
                tally.answered[key] = response
                if response.status_code == 201:
                    # A transfer of a part may name the certificate it split; that one it did not make.
                    made = [c["id"] for c in response.json()["certificates"] if c["status"] != "split"]
                    tally.created.extend(made)
            return response
        if stop.is_set() or time.monotonic() > deadline:
            with tally.lock:
                tally.unfinished.append((member, path, key, body or {}))
            return None
        retry_after = response.headers.get("retry-after") if response is not None else None
        time.sleep(min(float(retry_after or 1), 1.0))


def _member_writes(
    h: Harness,
    core: ApiMember,
    supplier: ApiMember,
    downstream: ApiMember,
    outage: Outage,
    tally: Tally,
    stop: threading.Event,
) -> None:
    """One member's round: issue to its supplier, who accepts and passes a part down; reads in between."""
    maturity = h.date_in(90).isoformat()  # read from the chain now, while it answers
    try:
        while not stop.is_set():
            body = {
                "to": supplier.address,
                "amount": "1000.00",
                "maturity_date": maturity,
                "document_hash": new_document_hash(),
                "invoice_number": new_invoice_number(),
            }
            issued = _write(core, "/v1/certificates", body, outage, tally, stop)
            if issued is None or issued.status_code != 201:
                continue
            certificate_id = issued.json()["certificates"][0]["id"]
            read = supplier.api.get(f"/v1/certificates/{certificate_id}")
            with tally.lock:
                tally.attempts.append(
                    Attempt(read.status_code, read.elapsed.total_seconds(), outage.away.is_set(), None, None, "")
                )
            accepted = _write(supplier, f"/v1/certificates/{certificate_id}/accept", None, outage, tally, stop)
            if accepted is None or accepted.status_code != 200:
                continue
            part = {"to": downstream.address, "amount": "400.00"}
            _write(supplier, f"/v1/certificates/{certificate_id}/transfer", part, outage, tally, stop)
    except Exception as exc:  # the test fails on it below, with the others' tally intact
        with tally.lock:
            tally.errors.append(f"{type(exc).__name__}: {exc}")


def _issue_body(h: Harness, supplier: ApiMember, amount: str = "1000.00") -> dict[str, Any]:
    return {
        "to": supplier.address,
        "amount": amount,
        "maturity_date": h.date_in(90).isoformat(),
        "document_hash": new_document_hash(),
        "invoice_number": new_invoice_number(),
    }


def _until_ready(h: Harness, timeout: float = 30.0) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if httpx.get(f"{h.gateway.base_url}/readyz", timeout=2).status_code == 200:
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("the gateway did not become ready again by itself")


def test_writes_through_a_chain_outage_are_answered_503_and_none_is_lost_or_made_twice(harness: Harness) -> None:
    h = harness
    members = strength(6, 12)
    rounds_after = strength(2.0, 10.0)
    cores = [h.core() for _ in range(members)]
    suppliers = [h.onboard("supplier") for _ in range(members)]
    downstream = h.onboard("supplier")
    probe_core, probe_supplier = h.core(), h.onboard("supplier")
    outage, tally, stop = Outage(), Tally(), threading.Event()
    workers = [
        threading.Thread(target=_member_writes, args=(h, core, supplier, downstream, outage, tally, stop))
        for core, supplier in zip(cores, suppliers, strict=True)
    ]
    for worker in workers:
        worker.start()
    chain = h.gateway.chain
    try:
        time.sleep(strength(2.0, 10.0))
        # Refused: the chain is stopped cleanly (its state saved) and started again on the same port.
        probe_body = _issue_body(h, probe_supplier)  # its maturity read from the chain while it answers
        outage.away.set()
        chain.stop()
        # The members' writes in flight wait the outage out; one that arrives while it lasts must meet it.
        probe = threading.Thread(
            target=_write, args=(probe_core, "/v1/certificates", probe_body, outage, tally, threading.Event())
        )
        probe.start()
        time.sleep(AWAY_S)
        chain.start()
        probe.join(timeout=FINAL_WITHIN_S + 30)
        outage.away.clear()
        refused_back_after = _until_ready(h)
        time.sleep(strength(2.0, 10.0))
        # Hung: the node holds every connection and answers nothing until it is let go.
        outage.away.set()
        pid = chain.record().pid  # type: ignore[union-attr]
        os.kill(pid, signal.SIGSTOP)
        time.sleep(AWAY_S)
        os.kill(pid, signal.SIGCONT)
        outage.away.clear()
        hung_back_after = _until_ready(h)
        time.sleep(rounds_after)
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=FINAL_WITHIN_S + 30)

    # Every write left without a final answer is sent again with its key until it has one.
    left_unfinished = list(tally.unfinished)
    tally.unfinished.clear()
    for member, path, key, body in left_unfinished:
        _write(member, path, body or None, outage, tally, threading.Event(), key=key)

    attempts = tally.attempts
    statuses = sorted({a.status for a in attempts})
    unavailable = [a for a in attempts if a.status == 503]
    slowest = max(a.seconds for a in attempts)
    figures = {
        "members": members,
        "requests": len(attempts),
        "writes_answered": len(tally.answered),
        "answered_503": len(unavailable),
        "answered_500": sum(1 for a in attempts if a.status == 500),
        "statuses": statuses,
        "slowest_answer_s": round(slowest, 2),
        "back_after_refused_s": round(refused_back_after, 2),
        "back_after_hung_s": round(hung_back_after, 2),
        "transport_errors": len(tally.errors),
        "sent_again_after_outage": len(left_unfinished),
        "never_final": len(tally.unfinished),
        "stuck_at_503": len(tally.stuck),
    }
    chain_view = ChainView(h.gateway.data_dir, h.gateway.env["SCF_RPC_URL"])
    on_chain = set(range(1, chain_view.certificate_count() + 1))
    answered = set(tally.created)
    figures["certificates_on_chain"] = len(on_chain)
    figures["lost"] = len(on_chain - answered)
    figures["duplicated"] = len(tally.created) - len(answered) + len(answered - on_chain)
    record("fault-chain-outage", figures)

    assert not tally.errors, tally.errors
    # A key whose request the chain never saw must not keep a 503 for good: sent again, it is final at last.
    assert not tally.stuck, f"keys kept at 503 though the chain is back: {tally.stuck}"
    assert not tally.unfinished, [(path, key) for _, path, key, _ in tally.unfinished]
    assert 500 not in statuses, [a for a in attempts if a.status >= 500 and a.status != 503]
    assert slowest < ANSWER_BOUND_S, figures
    assert unavailable, "no request met the outage"
    for attempt in unavailable:
        assert attempt.content_type.startswith("application/problem+json") and attempt.code, attempt
        assert attempt.retry_after is not None and int(attempt.retry_after) > 0, attempt
    assert all(a.status < 500 or a.status == 503 for a in attempts), statuses
    # The gateway carries on by itself: a new write succeeds, and the index has every certificate answered.
    final_issue = _write(
        cores[0], "/v1/certificates", _issue_body(h, suppliers[0], "1.00"), outage, tally, threading.Event()
    )
    assert final_issue is not None and final_issue.status_code == 201, final_issue and final_issue.text
    # Nothing half-written: the certificates on the chain are exactly the ones answered 2xx, each once.
    assert len(tally.created) == len(set(tally.created)), "a certificate was answered twice"
    on_chain = set(range(1, chain_view.certificate_count() + 1))
    answered = set(tally.created)
    assert on_chain == answered, (sorted(on_chain - answered), sorted(answered - on_chain))
    for certificate_id in sorted(on_chain):
        indexed = h.operator.get(f"/v1/certificates/{certificate_id}")
        assert indexed.status_code == 200, indexed.text


@pytest.fixture(params=["waits_out_the_outage", "gives_up_during_the_outage"])
def quiet_harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    """A chain of its own, which this test stops with a transaction in its pool. Its gateway waits for a
    receipt 30 s, longer than the outage, or 1 s, which the outage outlasts."""
    settings = {"RECEIPT_TIMEOUT_S": "1"} if request.param == "gives_up_during_the_outage" else {}
    with own_gateway(tmp_path, **settings) as harness:
        yield harness


def test_a_write_whose_transaction_the_restarted_chain_forgot_is_sent_again_and_answered_once(
    quiet_harness: Harness,
) -> None:
    """The chain restarts from its saved state without its pool: a transaction sent and not yet mined is gone.

    A write still waiting for its receipt when the chain is back sends the journalled transaction again and
    answers 201 within the bound. One that gave up during the outage answered 503; sent again with its key,
    it must come to 201 too (its transaction sent again, or the request run again), never keep that 503.
    Either way the key then answers the same, and the ledger has the certificate once.
    """
    h = quiet_harness
    url = h.gateway.env["SCF_RPC_URL"]
    core, supplier = h.core(), h.onboard("supplier")
    chain = ChainView(h.gateway.data_dir, url)
    body = {
        "to": supplier.address,
        "amount": "1000.00",
        "maturity_date": h.date_in(90).isoformat(),
        "document_hash": new_document_hash(),
        "invoice_number": new_invoice_number(),
    }
    key = str(uuid.uuid4())
    answer: dict[str, Any] = {}

    def issue() -> None:
        started = time.monotonic()
        answer["response"] = core.api.post("/v1/certificates", body, headers={"Idempotency-Key": key})
        answer["seconds"] = time.monotonic() - started

    httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "evm_setAutomine", "params": [False]})
    waiting = threading.Thread(target=issue)
    waiting.start()
    deadline = time.monotonic() + 30
    while not _pool(url):
        assert time.monotonic() < deadline, "the write sent nothing"
        time.sleep(0.01)
    h.gateway.chain.stop()  # saved without its pool; started again, it mines each transaction as it comes
    time.sleep(1.0)
    h.gateway.chain.start()
    waiting.join(timeout=ANSWER_BOUND_S + 10)
    first = answer["response"]
    gave_up = bool(h.gateway.env.get("SCF_RECEIPT_TIMEOUT_S"))
    response, replays = first, 0
    deadline = time.monotonic() + FINAL_WITHIN_S
    # A 503 the key's record answers again is kept for good: asking on changes nothing.
    while not _final(response) and not response.headers.get("idempotent-replayed") and time.monotonic() < deadline:
        time.sleep(min(float(response.headers.get("retry-after", 1)), 1.0))
        response = core.api.post("/v1/certificates", body, headers={"Idempotency-Key": key})
        replays += 1
    record(
        f"fault-chain-restart-forgets-pool-{'gave-up' if gave_up else 'waited'}",
        {
            "first_answer": first.status_code,
            "first_answer_s": round(answer["seconds"], 2),
            "replays": replays,
            "final_answer": response.status_code,
            "certificates_on_chain": chain.certificate_count(),
        },
    )
    assert answer["seconds"] < ANSWER_BOUND_S
    assert first.status_code in (201, 503), first.text
    assert response.status_code == 201, response.text
    again = core.api.post("/v1/certificates", body, headers={"Idempotency-Key": key})
    assert again.status_code == 201 and again.json() == response.json(), again.text
    assert chain.certificate_count() == 1
    assert response.json()["certificates"][0]["id"] == 1


def _pool(url: str) -> int:
    """How many transactions the chain holds unmined."""
    try:
        block = httpx.post(
            url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_getBlockByNumber", "params": ["pending", False]}
        ).json()["result"]
    except httpx.HTTPError:
        return 0
    return len(block["transactions"])
