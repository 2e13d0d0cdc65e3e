"""kill -9 of the gateway during a stream of writes from several members, then every request replayed.

Four members send writes at once, each with its own Idempotency-Key: the operator credits deposits
and two core enterprises issue certificates. The gateway is killed with SIGKILL part way through,
with requests in flight, and started again. Every request is then sent again with its key until
it has a final answer. Counted against the chain: 0 lost (every success is on the ledger), 0
duplicated (each deposit credited once, each invoice issued once), 0 stuck keys (no key still
"in progress" once the chain has decided), and a request answered before the crash is answered
the same after it.

Before: a request in flight at the crash kept 409 "in progress" on every replay, for good, even
when its transaction had been mined.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from scf_chain.runtime import open_runtime
from scf_chain.settings import Settings
from tests import gauntlet
from tests.api.conftest import Api, maturity_in, new_document_hash, new_invoice_number
from tests.api.financing_harness import Harness, own_gateway

pytestmark = pytest.mark.gauntlet

REQUESTS_PER_MEMBER = gauntlet.strength(12, 60)
IN_PROGRESS_CODES = ("idempotency_request_in_progress", "idempotency_request_unconfirmed")
REPLAY_DEADLINE_S = 60.0


@dataclass
class Sent:
    """One request of the stream, and what became of it."""

    api: Api
    path: str
    body: dict[str, Any]
    key: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: bool = False  # sent before the crash
    first: httpx.Response | None = None  # its answer before the crash, if it had one
    final: httpx.Response | None = None  # its answer after the restart


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    with own_gateway(tmp_path) as harness:
        yield harness


def _stream(harness: Harness) -> tuple[list[list[Sent]], dict[str, str]]:
    """Each member's requests, in order: deposits by the operator, issues by two core enterprises."""
    suppliers = [harness.onboard("supplier") for _ in range(2)]
    cores = [harness.core() for _ in range(2)]
    amounts = itertools.count(101)
    deposits = [
        Sent(harness.operator, "/v1/deposits", {"member": suppliers[i % 2].address, "amount": f"{next(amounts)}.00"})
        for i in range(REQUESTS_PER_MEMBER)
    ]
    issues = [
        [
            Sent(
                core.api,
                "/v1/certificates",
                {
                    "to": suppliers[i % 2].address,
                    "amount": "1000.00",
                    "maturity_date": maturity_in(),
                    "document_hash": new_document_hash(),
                    "invoice_number": new_invoice_number(),
                },
            )
            for i in range(REQUESTS_PER_MEMBER)
        ]
        for core in cores
    ]
    # A third stream for the operator, so that one signer has two requests in flight at once.
    half = len(deposits) // 2
    return [deposits[:half], deposits[half:], *issues], {s.address: s.name for s in suppliers}


def _post(sent: Sent) -> httpx.Response:
    return sent.api.post(sent.path, sent.body, headers={"Idempotency-Key": sent.key})


def _final(sent: Sent) -> httpx.Response:
    """Sends the request again with its key until it is no longer in progress."""
    deadline = time.monotonic() + REPLAY_DEADLINE_S
    while True:
        response = _post(sent)
        in_progress = response.status_code == 409 and response.json().get("code") in IN_PROGRESS_CODES
        if not in_progress or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


def test_a_killed_gateway_loses_duplicates_and_strands_nothing(harness: Harness, tmp_path: Path) -> None:
    streams, supplier_names = _stream(harness)
    every = [sent for stream in streams for sent in stream]
    answered = threading.Semaphore(0)

    def send_all(stream: list[Sent]) -> None:
        for sent in stream:
            sent.started = True
            try:
                sent.first = _post(sent)
            except httpx.HTTPError:
                return  # the gateway is gone: this one and the rest are replayed after the restart
            answered.release()

    threads = [threading.Thread(target=send_all, args=(stream,)) for stream in streams]
    for thread in threads:
        thread.start()
    for _ in range(len(every) // 2):  # half way through the stream
        assert answered.acquire(timeout=120), "the stream stalled before the crash"
    process = harness.gateway.process
    assert process is not None
    process.kill()
    process.wait(timeout=20)
    harness.gateway.process = None
    for thread in threads:
        thread.join(timeout=120)
    before = sum(sent.first is not None for sent in every)
    in_flight = sum(sent.started and sent.first is None for sent in every)

    harness.gateway.start()
    for sent in every:
        sent.final = _final(sent)

    stuck = [sent.key for sent in every if sent.final is not None and sent.final.status_code == 409]
    assert stuck == [], "keys still in progress after the restart"
    changed = [
        (sent.path, sent.first.status_code, sent.final.status_code)
        for sent in every
        if sent.first is not None and sent.final is not None and sent.first.status_code != sent.final.status_code
    ]
    assert changed == [], "a replay answered differently from the first answer"
    failed = [(sent.path, sent.final.text) for sent in every if sent.final is not None and sent.final.is_error]
    assert failed == [], "every request succeeds once replayed"

    # Against the chain: each deposit credited once, each invoice issued once, with the id it was answered.
    runtime = open_runtime(Settings(data_dir=tmp_path, rpc_url=harness.gateway.env["SCF_RPC_URL"]))
    credited: dict[str, Decimal] = {}
    lost = duplicated = 0
    for sent in every:
        assert sent.final is not None
        if sent.path == "/v1/deposits":
            credited[sent.body["member"]] = credited.get(sent.body["member"], Decimal(0)) + Decimal(sent.body["amount"])
            continue
        (answered_certificate,) = sent.final.json()["certificates"]
        issuance = runtime.ledger.issuance_of(sent.body["document_hash"])
        if issuance is None:
            lost += 1
        elif issuance != answered_certificate["id"]:
            duplicated += 1
    for address, total in credited.items():
        balance = runtime.ledger.balance_of(address)
        assert balance == total, f"{supplier_names[address]} was credited {balance}, asked for {total}"
    assert (lost, duplicated) == (0, 0)
    gauntlet.record(
        "fault-gateway-kill",
        {
            "requests": len(every),
            "answered before the kill": before,
            "in flight at the kill": in_flight,
            "lost": lost,
            "duplicated": duplicated,
            "stuck keys": len(stuck),
        },
    )
