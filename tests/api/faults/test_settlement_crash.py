"""The gateway is killed (SIGKILL) in the middle of settling a large issuance, and finishes it after a restart.

One issuance is split into many certificates held by several suppliers, matures, and its core
enterprise settles it with an ``Idempotency-Key``. The chain is told not to mine, so that the test
lets the settlement's transactions into blocks one at a time and kills the gateway where it
chooses: with a batch sent but not yet mined, or just after a batch was mined and before the
next was sent. Restarted on the same data folder, the gateway is sent the same request with the
same key until it answers finally. Then every holder has been paid exactly the face value of what
it held, once; the core enterprise has paid exactly the issuance's face value; every certificate
is settled on the chain, and the desk's allowance is back where it was.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from scf_chain.domain.types import CertificateStatusCode
from tests.api.conftest import ApiMember
from tests.api.faults.chain_view import ChainView
from tests.api.financing_harness import Harness, own_gateway
from tests.gauntlet import record, strength

pytestmark = pytest.mark.gauntlet

# The desk pays at most this many certificates a transaction (SettlementDesk.MAX_BATCH); a split makes at most
# MAX_PARTS. The issuance is larger than one batch, so that a kill can fall between two of them.
MAX_BATCH = 200
MAX_PARTS = 100
CERTIFICATES = strength(250, 1000)
SUPPLIERS = strength(4, 8)
FACE_VALUE = Decimal("100.00")
FINAL_WITHIN_S = 120.0


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    """A chain of its own: this test stops its mining and moves its clock."""
    with own_gateway(tmp_path) as harness:
        yield harness


def _rpc(url: str, method: str, *params: Any) -> Any:
    answer = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).json()
    assert "error" not in answer, answer
    return answer["result"]


def _pending(url: str) -> int:
    return len(_rpc(url, "eth_getBlockByNumber", "pending", False)["transactions"])


def _until(predicate: Any, timeout: float = 60.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what or predicate}")


def _split(h: Harness, holder: ApiMember, certificate_id: int, parts: list[dict[str, str]]) -> list[dict[str, Any]]:
    response = holder.api.post(f"/v1/certificates/{certificate_id}/split", {"parts": parts})
    assert response.status_code == 201, response.text
    certificates: list[dict[str, Any]] = response.json()["certificates"]
    return certificates


def _large_issuance(h: Harness) -> tuple[ApiMember, list[ApiMember], dict[str, Any], dict[str, Decimal], list[int]]:
    """An issuance of ``CERTIFICATES`` certificates of ``FACE_VALUE``, round-robin over the suppliers.

    Returns the core enterprise, the suppliers, the root, what each holder is owed and the certificates' ids.
    """
    core = h.core(limit="100000000.00")
    suppliers = [h.onboard("supplier") for _ in range(SUPPLIERS)]
    first = suppliers[0]
    total = FACE_VALUE * CERTIFICATES
    root = h.issue(core, first, f"{total:.2f}", days=10)
    # The root is split into parts of at most MAX_PARTS certificates each, which are split among the suppliers.
    sizes = [min(MAX_PARTS, CERTIFICATES - start) for start in range(0, CERTIFICATES, MAX_PARTS)]
    if len(sizes) > 1 and sizes[-1] == 1:  # a split makes at least two
        sizes[-2:] = [sizes[-2] - 1, 2]
    if len(sizes) == 1:
        chunks = [root]
    else:
        chunks = _split(h, first, root["id"], [{"to": first.address, "amount": f"{FACE_VALUE * n:.2f}"} for n in sizes])
    owed: dict[str, Decimal] = defaultdict(Decimal)
    leaves: list[int] = []
    turn = 0
    for chunk, size in zip(chunks, sizes, strict=True):
        parts = []
        for _ in range(size):
            holder = suppliers[turn % len(suppliers)]
            turn += 1
            parts.append({"to": holder.address, "amount": f"{FACE_VALUE:.2f}"})
            owed[holder.address] += FACE_VALUE
        made = _split(h, first, chunk["id"], parts)
        leaves += [c["id"] for c in made]
    assert len(leaves) == CERTIFICATES and sum(owed.values()) == total
    return core, suppliers, root, dict(owed), leaves


def _kill(h: Harness) -> None:
    process = h.gateway.process
    assert process is not None
    process.kill()
    process.wait(timeout=20)
    h.gateway.process = None


def _settle_until_final(core: ApiMember, root_id: int, key: str) -> tuple[httpx.Response, list[int]]:
    """Sends the settlement again with its key, after Retry-After, until it answers other than "not yet"."""
    seen: list[int] = []
    deadline = time.monotonic() + FINAL_WITHIN_S
    while True:
        response = core.api.post("/v1/settlements", {"root_id": root_id}, headers={"Idempotency-Key": key})
        seen.append(response.status_code)
        not_yet = response.status_code == 503 or (
            response.status_code == 409 and response.json().get("code", "").startswith("idempotency_request_")
        )
        if not not_yet:
            return response, seen
        assert time.monotonic() < deadline, f"the settlement never had a final answer: {response.text}"
        time.sleep(min(float(response.headers.get("retry-after", 1)), 1.0))


@pytest.mark.parametrize("kill_at", ["batch_sent", "batch_mined"])
def test_a_settlement_killed_part_way_finishes_after_a_restart_paying_each_holder_once(
    harness: Harness, kill_at: str
) -> None:
    h = harness
    url = h.gateway.env["SCF_RPC_URL"]
    chain = ChainView(h.gateway.data_dir, url)
    core, suppliers, root, owed, leaves = _large_issuance(h)
    total = FACE_VALUE * CERTIFICATES
    h.deposit(core, total)
    h.travel_to(h.today() + 10)
    holders = [s.address for s in suppliers]
    before = {address: chain.balance(address) for address in [*holders, core.address]}
    allowance_before = chain.allowance(core.address)
    batches = -(-CERTIFICATES // MAX_BATCH)
    # Kill in the last batch but one at quick strength; further in at full strength, with more batches.
    kill_in_batch = strength(1, batches - 1)

    _rpc(url, "evm_setAutomine", False)
    key = str(uuid.uuid4())
    first_answer: dict[str, Any] = {}

    def settle() -> None:
        try:
            first_answer["response"] = core.api.post(
                "/v1/settlements", {"root_id": root["id"]}, headers={"Idempotency-Key": key}
            )
        except httpx.HTTPError as exc:  # the gateway is killed while this waits
            first_answer["error"] = exc

    waiting = threading.Thread(target=settle)
    waiting.start()
    # The approval of the desk, then the batches, are let into blocks one at a time.
    for sent in range(kill_in_batch + 1):
        _until(lambda: _pending(url) == 1, what=f"transaction {sent} of the settlement")
        if kill_at == "batch_sent" and sent == kill_in_batch:
            break
        _rpc(url, "evm_mine")
    if kill_at == "batch_mined":
        _until(lambda: chain.settled_amount(root["id"]) > 0, what="a batch in a block")
    _kill(h)
    waiting.join(timeout=60)
    assert "error" in first_answer, first_answer
    paid_at_kill = chain.settled_amount(root["id"])
    in_flight = _pending(url)
    assert 0 < paid_at_kill < total or (kill_at == "batch_sent" and in_flight == 1), (paid_at_kill, in_flight)

    h.gateway.start()
    _rpc(url, "evm_setAutomine", True)
    _rpc(url, "evm_mine")  # whatever the killed gateway left in the pool
    started = time.monotonic()
    answer, statuses = _settle_until_final(core, root["id"], key)
    finished_in = time.monotonic() - started
    body = answer.json()

    received = {address: chain.balance(address) - before[address] for address in holders}
    core_paid = before[core.address] - chain.balance(core.address)
    settled_on_chain = sum(1 for i in leaves if chain.status_code(i) == CertificateStatusCode.SETTLED)
    leftover_allowance = chain.allowance(core.address) - allowance_before
    record(
        f"fault-settlement-kill-{kill_at.replace('_', '-')}",
        {
            "certificates": CERTIFICATES,
            "holders": len(holders),
            "batches": batches,
            "killed_in_batch": kill_in_batch,
            "paid_at_kill": paid_at_kill,
            "replay_statuses": sorted(set(statuses)),
            "replays": len(statuses),
            "finished_after_restart_s": round(finished_in, 2),
            "settled_on_chain": settled_on_chain,
            "paid_twice": sum(max(Decimal(0), received[a] - owed[a]) for a in holders),
            "unpaid": sum(max(Decimal(0), owed[a] - received[a]) for a in holders),
            "leftover_allowance": leftover_allowance,
        },
    )
    assert answer.status_code == 200, answer.text
    assert body["status"] == "settled" and body["certificates_outstanding"] == 0, body
    assert received == owed, (received, owed)
    assert core_paid == total
    assert chain.settled_amount(root["id"]) == total
    assert settled_on_chain == CERTIFICATES
    # The desk is left no allowance the core enterprise did not give it for presentment.
    assert leftover_allowance == 0
    status = core.api.get(f"/v1/settlements/{root['id']}").json()
    assert (status["status"], status["certificates_settled"]) == ("settled", CERTIFICATES), status
