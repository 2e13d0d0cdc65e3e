"""Replicas serving the same members at once: one transaction per Idempotency-Key, and one nonce sequence per
signer, whichever replicas the requests reach."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from tests.api.conftest import Api
from tests.api.replicas.conftest import REPLICAS, Replicas, issue_body, send

IN_PROGRESS = "idempotency_request_in_progress"
ANSWER_DEADLINE_S = 60.0
WRITES_PER_REPLICA = 8


def final_answer(api: Api, path: str, body: dict[str, Any], key: str) -> httpx.Response:
    """The request's answer once it is no longer in progress (a replay waits for the first to finish)."""
    deadline = time.monotonic() + ANSWER_DEADLINE_S
    while True:
        answer = send(api, path, body, key)
        if answer.status_code != 409 or answer.json().get("code") != IN_PROGRESS or time.monotonic() > deadline:
            return answer
        time.sleep(0.1)


def test_one_key_sent_to_two_replicas_at_once_makes_one_transaction(replicas: Replicas):
    core = replicas.onboard("core_enterprise", credit="10000000.00")
    supplier = replicas.onboard("supplier")
    body, key = issue_body(supplier.address), str(uuid.uuid4())
    start = threading.Barrier(2)

    def at(replica: int) -> httpx.Response:
        api = replicas.api(replica, core.key)
        start.wait()
        return final_answer(api, "/v1/certificates", body, key)

    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(at, (0, 1))

    assert (first.status_code, second.status_code) == (201, 201), (first.text, second.text)
    assert first.json() == second.json()
    assert [answer.headers.get("idempotent-replayed") for answer in (first, second)].count("true") == 1
    chain = replicas.chain_view()
    assert chain.w3.eth.get_transaction_count(core.address) == 1  # type: ignore[arg-type]  # one issuance signed


def test_writes_of_one_member_spread_over_every_replica_take_consecutive_nonces(replicas: Replicas):
    core = replicas.onboard("core_enterprise", credit="100000000.00")
    supplier = replicas.onboard("supplier")

    def issue(n: int) -> httpx.Response:
        api = replicas.api(n % REPLICAS, core.key)
        return send(api, "/v1/certificates", issue_body(supplier.address), str(uuid.uuid4()))

    with ThreadPoolExecutor(2 * REPLICAS) as pool:
        answers = list(pool.map(issue, range(REPLICAS * WRITES_PER_REPLICA)))

    assert [answer.status_code for answer in answers] == [201] * len(answers), [a.text for a in answers]
    chain = replicas.chain_view()
    nonces = sorted(
        int(chain.w3.eth.get_transaction(answer.json()["tx_hash"])["nonce"])  # type: ignore[arg-type]
        for answer in answers
    )
    assert nonces == list(range(len(answers)))
    certificate_ids = {answer.json()["certificates"][0]["id"] for answer in answers}
    assert len(certificate_ids) == len(answers)  # each answered from the index, whichever replica indexed it
