"""Idempotent writes, asynchronous operations, and concurrent sends from one member."""

import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from tests.api.conftest import maturity_in, new_document_hash


def _issue(core, supplier, key, amount="100.00", document=None):
    body = {
        "to": supplier.address,
        "amount": amount,
        "maturity_date": maturity_in(),
        "document_hash": document or new_document_hash(),
    }
    return core.api.post("/v1/certificates", body, headers={"Idempotency-Key": key}), body


def test_replay_returns_the_first_response_and_sends_nothing(issued):
    core, supplier, _ = issued()
    first, body = _issue(core, supplier, "issue-replay-1")
    assert first.status_code == 201
    replay = core.api.post("/v1/certificates", body, headers={"Idempotency-Key": "issue-replay-1"})
    assert replay.status_code == 201
    assert replay.json() == first.json()
    assert replay.headers["idempotent-replayed"] == "true"
    assert core.api.get(f"/v1/credit-lines/{core.address}").json()["outstanding"] == "1000100.00"


def test_same_key_with_another_body_is_409(issued):
    core, supplier, _ = issued()
    _issue(core, supplier, "issue-conflict-1")
    conflict, _ = _issue(core, supplier, "issue-conflict-1", amount="200.00")
    assert conflict.status_code == 409
    assert conflict.json()["code"] == "idempotency_key_reused"


def test_replay_after_a_gateway_restart(issued, gateway):
    core, supplier, _ = issued()
    first, body = _issue(core, supplier, "issue-restart-1")
    gateway.restart()
    replay = core.api.post("/v1/certificates", body, headers={"Idempotency-Key": "issue-restart-1"})
    assert replay.status_code == 201
    assert replay.json() == first.json()
    assert core.api.get(f"/v1/credit-lines/{core.address}").json()["outstanding"] == "1000100.00"


def test_async_write_returns_an_operation_to_poll(issued):
    core, supplier, _ = issued()
    body = {
        "to": supplier.address,
        "amount": "5.00",
        "maturity_date": maturity_in(),
        "document_hash": new_document_hash(),
    }
    accepted = core.api.post("/v1/certificates", body, headers={"Prefer": "respond-async"})
    assert accepted.status_code == 202
    operation = accepted.json()
    assert accepted.headers["location"] == f"/v1/operations/{operation['id']}"
    deadline = time.monotonic() + 30
    while operation["status"] not in ("confirmed", "failed") and time.monotonic() < deadline:
        time.sleep(0.1)
        operation = core.api.get(f"/v1/operations/{operation['id']}").json()
    assert operation["status"] == "confirmed"
    assert operation["result"]["certificates"][0]["amount"] == "5.00"
    assert supplier.api.get(f"/v1/operations/{operation['id']}").status_code == 404


def test_failed_async_write_reports_the_problem(issued):
    core, supplier, _ = issued(limit="1000000.00")
    body = {
        "to": supplier.address,
        "amount": "1.00",
        "maturity_date": maturity_in(),
        "document_hash": new_document_hash(),
    }
    operation = core.api.post("/v1/certificates", body, headers={"Prefer": "respond-async"}).json()
    deadline = time.monotonic() + 30
    while operation["status"] not in ("confirmed", "failed") and time.monotonic() < deadline:
        time.sleep(0.1)
        operation = core.api.get(f"/v1/operations/{operation['id']}").json()
    assert operation["status"] == "failed"
    assert operation["problem"]["code"] == "credit_line_exceeded"


def test_fifty_concurrent_transfers_from_one_member_all_succeed(issued, onboard):
    _, supplier, certificate = issued("5000.00")
    receiver = onboard("supplier")
    parts = [{"to": supplier.address, "amount": "100.00"}] * 50
    split = supplier.api.post(f"/v1/certificates/{certificate['id']}/split", {"parts": parts})
    assert split.status_code == 201, split.text
    ids = [c["id"] for c in split.json()["certificates"]]

    def transfer(certificate_id):
        return supplier.api.post(f"/v1/certificates/{certificate_id}/transfer", {"to": receiver.address})

    with ThreadPoolExecutor(max_workers=50) as pool:
        responses = list(pool.map(transfer, ids))
    assert [r.status_code for r in responses] == [200] * 50, [r.text for r in responses if r.status_code != 200]
    held = receiver.api.get("/v1/certificates", params={"limit": 100}).json()
    assert held["total"] == 50
    assert sum(Decimal(c["amount"]) for c in held["items"]) == Decimal("5000.00")
