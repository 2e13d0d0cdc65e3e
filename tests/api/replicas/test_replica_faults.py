"""kill -9 of a replica among three: what it was doing is finished by the others, and its leadership taken over.

The stream: the operator credits deposits and two core enterprises issue certificates, each member's requests
spread over every replica, each with its own Idempotency-Key. One replica is killed with SIGKILL part way
through, with requests in flight on it; every request is then sent again with its key to the survivors until
it has a final answer. Counted against the chain: 0 lost (every success is on the ledger), 0 duplicated (each
deposit credited once, each invoice issued once, with the id it was answered), and no nonce gap (every
signer's transactions are all mined: none waits behind a nonce nobody sent).
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

from scf_chain.chain.keys import anvil_account
from tests import gauntlet
from tests.api.replicas.conftest import REPLICAS, Member, Replicas, issue_body, replica_set, send
from tools.postgres import LocalPostgres

pytestmark = pytest.mark.gauntlet

REQUESTS_PER_MEMBER = gauntlet.strength(12, 60)
IN_PROGRESS_CODES = ("idempotency_request_in_progress", "idempotency_request_unconfirmed")
# What a replay may be told while the survivors take over what the killed replica held (its leases lapse).
RETRY_CODES = ("signer_busy", "database_unavailable", "chain_unavailable")
REPLAY_DEADLINE_S = 90.0


@dataclass
class Sent:
    """One request of the stream, and what became of it."""

    member: Member
    replica: int  # where it is sent first
    path: str
    body: dict[str, Any]
    key: str = field(default_factory=lambda: str(uuid.uuid4()))
    first: httpx.Response | None = None  # its answer in the stream, if it had one
    final: httpx.Response | None = None  # its answer once replayed


@pytest.fixture
def cluster(tmp_path: Path, postgres: LocalPostgres) -> Iterator[Replicas]:
    with replica_set(tmp_path, postgres) as started:
        yield started


def _stream(replicas: Replicas) -> tuple[list[list[Sent]], list[Member]]:
    """Each member's requests in order, each one sent to the next replica: deposits by the operator (two streams,
    so that one signer has two requests in flight at once), issues by two core enterprises."""
    suppliers = [replicas.onboard("supplier") for _ in range(2)]
    cores = [replicas.onboard("core_enterprise", credit="100000000.00") for _ in range(2)]
    operator = Member(anvil_account(0).address, replicas.operator_key)
    amounts = itertools.count(101)
    deposits = [
        Sent(
            operator,
            i % REPLICAS,
            "/v1/deposits",
            {"member": suppliers[i % 2].address, "amount": f"{next(amounts)}.00"},
        )
        for i in range(REQUESTS_PER_MEMBER)
    ]
    issues = [
        [
            Sent(core, (i + c) % REPLICAS, "/v1/certificates", issue_body(suppliers[i % 2].address))
            for i in range(REQUESTS_PER_MEMBER)
        ]
        for c, core in enumerate(cores, start=1)
    ]
    half = len(deposits) // 2
    return [deposits[:half], deposits[half:], *issues], cores


def _final(replicas: Replicas, sent: Sent) -> httpx.Response:
    """Sends the request again with its key to the survivors, in turn, until it has a final answer."""
    deadline = time.monotonic() + REPLAY_DEADLINE_S
    for turn in itertools.count():
        alive = replicas.alive()
        try:
            answer = send(replicas.api(alive[turn % len(alive)], sent.member.key), sent.path, sent.body, sent.key)
        except httpx.HTTPError:
            time.sleep(0.2)
            continue
        code = answer.json().get("code") if answer.is_error else None
        retry = (answer.status_code == 409 and code in IN_PROGRESS_CODES) or code in RETRY_CODES
        if not retry or time.monotonic() > deadline:
            return answer
        time.sleep(0.2)
    raise AssertionError("unreachable")


def test_a_replica_killed_under_load_loses_duplicates_and_strands_nothing(cluster: Replicas) -> None:
    streams, cores = _stream(cluster)
    every = [sent for stream in streams for sent in stream]
    answered = threading.Semaphore(0)

    def send_all(stream: list[Sent]) -> None:
        for sent in stream:
            try:
                sent.first = send(cluster.api(sent.replica, sent.member.key), sent.path, sent.body, sent.key)
            except httpx.HTTPError:
                continue  # sent to the killed replica, or in flight on it: replayed below
            answered.release()

    threads = [threading.Thread(target=send_all, args=(stream,)) for stream in streams]
    for thread in threads:
        thread.start()
    for _ in range(len(every) // 3):  # a third of the way through
        assert answered.acquire(timeout=120), "the stream stalled before the kill"
    leader = cluster.leader()
    victim = next(i for i in range(REPLICAS) if i != leader)  # its leftovers are the leader's to settle
    cluster.kill(victim)
    for thread in threads:
        thread.join(timeout=300)
    before = sum(sent.first is not None for sent in every)

    for sent in every:
        sent.final = _final(cluster, sent)

    failed = [(sent.path, sent.final.text) for sent in every if sent.final is not None and sent.final.is_error]
    assert failed == [], "every request succeeds once replayed"
    changed = [
        (sent.path, sent.first.text, sent.final.text)
        for sent in every
        if sent.first is not None and sent.final is not None and sent.first.status_code < 300
        if sent.first.json() != sent.final.json()
    ]
    assert changed == [], "a replay answered differently from the first answer"

    # Against the chain.
    chain = cluster.chain_view()
    credited: dict[str, Decimal] = {}
    lost = duplicated = 0
    for sent in every:
        assert sent.final is not None
        if sent.path == "/v1/deposits":
            member = sent.body["member"]
            credited[member] = credited.get(member, Decimal(0)) + Decimal(sent.body["amount"])
            continue
        (answered_certificate,) = sent.final.json()["certificates"]
        issuance = chain.ledger.issuance_of(sent.body["document_hash"])
        if issuance is None:
            lost += 1
        elif issuance != answered_certificate["id"]:
            duplicated += 1
    for address, total in credited.items():
        assert chain.ledger.balance_of(address) == total, f"{address} was not credited {total} exactly"
    assert (lost, duplicated) == (0, 0)
    gaps = {}
    for signer in [anvil_account(0).address, *(core.address for core in cores)]:
        mined = chain.w3.eth.get_transaction_count(signer, "latest")  # type: ignore[arg-type]
        pending = chain.w3.eth.get_transaction_count(signer, "pending")  # type: ignore[arg-type]
        if pending != mined:
            gaps[signer] = (mined, pending)
    assert gaps == {}, "transactions wait behind a nonce gap"
    for core in cores:  # a core enterprise signs its issues and nothing else: one transaction each
        assert chain.w3.eth.get_transaction_count(core.address, "latest") == REQUESTS_PER_MEMBER  # type: ignore[arg-type]
    gauntlet.record(
        "fault-replica-kill",
        {
            "replicas": REPLICAS,
            "requests": len(every),
            "answered in the stream": before,
            "lost": lost,
            "duplicated": duplicated,
            "nonce gaps": len(gaps),
        },
    )


def test_another_replica_indexes_once_the_leader_is_killed(cluster: Replicas) -> None:
    core = cluster.onboard("core_enterprise", credit="10000000.00")
    supplier = cluster.onboard("supplier")
    leader = cluster.leader()
    assert leader is not None

    cluster.kill(leader)
    survivor = next(i for i in cluster.alive())
    answer = send(cluster.api(survivor, core.key), "/v1/certificates", issue_body(supplier.address), str(uuid.uuid4()))

    assert answer.status_code == 201, answer.text
    written = answer.json()
    # Answered from the index: written, after the kill, by the replica that took the leadership over.
    assert written["indexed_block"] >= written["block_number"]
    assert len(written["certificates"]) == 1
    assert cluster.leader() in cluster.alive()
