"""Idempotent writes (authenticated and rate-limited first, keys left free by refusals), asynchronous
operations, and concurrent sends from one member."""

import os
import sqlite3
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from api.settings import GatewaySettings
from scf_chain.chain.keys import anvil_account
from scf_chain.chain.local import LocalChain, free_port
from tests.api.conftest import Api, GatewayProcess, maturity_in, new_document_hash


def _invoice_number():
    # Unique across the session without a counter that a second import of a helper module would restart.
    return f"INV-IDEM-{uuid.uuid4().hex[:12]}"


def _issue(core, supplier, key, amount="100.00", document=None):
    body = {
        "to": supplier.address,
        "amount": amount,
        "maturity_date": maturity_in(),
        "document_hash": document or new_document_hash(),
        "invoice_number": _invoice_number(),
    }
    return core.api.post("/v1/certificates", body, headers={"Idempotency-Key": key}), body


def test_replay_returns_the_first_response_and_sends_nothing(issued):
    core, supplier, _ = issued()
    first, body = _issue(core, supplier, "issue-replay-1")
    assert first.status_code == 201, first.text
    replay = core.api.post("/v1/certificates", body, headers={"Idempotency-Key": "issue-replay-1"})
    assert replay.status_code == 201
    assert replay.json() == first.json()
    assert replay.headers["idempotent-replayed"] == "true"
    # It names the same operation as the first answer.
    assert replay.headers["operation-location"] == first.headers["operation-location"]
    assert core.api.get(f"/v1/credit-lines/{core.address}").json()["outstanding"] == "1000100.00"


def test_same_key_with_another_body_is_409(issued):
    core, supplier, _ = issued()
    _issue(core, supplier, "issue-conflict-1")
    conflict, _ = _issue(core, supplier, "issue-conflict-1", amount="200.00")
    assert conflict.status_code == 409
    assert conflict.json()["code"] == "idempotency_key_reused"
    assert conflict.json()["title"] == "Idempotency-Key already used"  # not a conflict with the ledger's state


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
        "invoice_number": _invoice_number(),
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
        "invoice_number": _invoice_number(),
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


def test_a_request_refused_by_validation_does_not_use_up_its_key(issued):
    core, supplier, _ = issued()
    _, body = _issue(core, supplier, "issue-after-422")  # a body to correct, issued under another key
    invalid = {**body, "amount": "one hundred", "document_hash": new_document_hash()}
    invalid["invoice_number"] = _invoice_number()
    refused = core.api.post("/v1/certificates", invalid, headers={"Idempotency-Key": "issue-fix-422"})
    assert refused.status_code == 422
    corrected = {**invalid, "amount": "100.00"}
    issued_now = core.api.post("/v1/certificates", corrected, headers={"Idempotency-Key": "issue-fix-422"})
    assert issued_now.status_code == 201, issued_now.text
    assert "idempotent-replayed" not in issued_now.headers


def test_a_request_refused_for_its_role_does_not_use_up_its_key(issued, onboard):
    _, supplier, certificate = issued()
    receiver = onboard("supplier")
    key = {"Idempotency-Key": "supplier-tries-then-transfers"}
    issuing = {
        "to": receiver.address,
        "amount": "1.00",
        "maturity_date": maturity_in(),
        "document_hash": new_document_hash(),
        "invoice_number": _invoice_number(),
    }
    assert supplier.api.post("/v1/certificates", issuing, headers=key).status_code == 403
    moved = supplier.api.post(f"/v1/certificates/{certificate['id']}/transfer", {"to": receiver.address}, headers=key)
    assert moved.status_code == 200, moved.text


def test_a_ledger_refusal_that_sent_nothing_does_not_use_up_its_key(issued, operator_api):
    core, supplier, _ = issued(limit="1000000.00")  # the whole line is used
    refused, body = _issue(core, supplier, "issue-once-credit-allows")
    assert refused.status_code == 409 and refused.json()["code"] == "credit_line_exceeded"
    assert operator_api.put(f"/v1/credit-lines/{core.address}", {"limit": "2000000.00"}).status_code == 200
    retried = core.api.post("/v1/certificates", body, headers={"Idempotency-Key": "issue-once-credit-allows"})
    assert retried.status_code == 201, retried.text
    assert "idempotent-replayed" not in retried.headers
    replay = core.api.post("/v1/certificates", body, headers={"Idempotency-Key": "issue-once-credit-allows"})
    assert replay.headers["idempotent-replayed"] == "true" and replay.json() == retried.json()


def test_a_frozen_member_gets_no_replay(issued, operator_api):
    core, supplier, _ = issued()
    first, body = _issue(core, supplier, "issue-then-frozen")
    assert first.status_code == 201, first.text
    assert operator_api.post(f"/v1/members/{core.address}/freeze").status_code == 200
    replay = core.api.post("/v1/certificates", body, headers={"Idempotency-Key": "issue-then-frozen"})
    assert replay.status_code == 401 and "frozen" in replay.json()["detail"]
    assert operator_api.post(f"/v1/members/{core.address}/unfreeze").status_code == 200
    replay = core.api.post("/v1/certificates", body, headers={"Idempotency-Key": "issue-then-frozen"})
    assert replay.status_code == 201 and replay.json() == first.json()


def test_a_rotated_key_gets_no_replay_and_the_new_key_sees_the_members_records(gateway, issued, operator_api):
    core, supplier, _ = issued()
    first, body = _issue(core, supplier, "issue-then-rotated")
    assert first.status_code == 201, first.text
    rotated = operator_api.post(f"/v1/members/{core.address}/api-keys")
    assert rotated.status_code == 201
    replay = core.api.post("/v1/certificates", body, headers={"Idempotency-Key": "issue-then-rotated"})
    assert replay.status_code == 401
    # Records belong to the member, not to one of its keys: the new key replays, and sends nothing again.
    new_api = Api(gateway.base_url, rotated.json()["api_key"])
    replay = new_api.post("/v1/certificates", body, headers={"Idempotency-Key": "issue-then-rotated"})
    assert replay.status_code == 201 and replay.json() == first.json()
    assert new_api.get(f"/v1/credit-lines/{core.address}").json()["outstanding"] == "1000100.00"


@pytest.fixture(scope="module")
def strict_gateway(tmp_path_factory):
    """A gateway of its own whose API keys get two requests each, for good (no refill)."""
    data_dir = tmp_path_factory.mktemp("strict-gateway")
    chain = LocalChain(data_dir / "chain", port=free_port())
    record = chain.start()
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith("SCF_")},
        "SCF_DATA_DIR": str(data_dir),
        "SCF_RPC_URL": record.url,
        "SCF_DEV_MODE": "true",
        "SCF_RATE_LIMIT_PER_MINUTE": "0",
        "SCF_RATE_LIMIT_BURST": "2",
        "SCF_OVERDUE_INTERVAL_S": "0",
    }
    process = GatewayProcess(f"http://127.0.0.1:{free_port()}", data_dir, chain, env)
    try:
        process.start()
        yield process
    finally:
        process.stop()
        chain.stop()


def _operator(gateway):
    store = gateway.open_store()
    try:
        return Api(gateway.base_url, store.create_api_key(anvil_account(0).address))
    finally:
        store.close()


def test_replays_are_rate_limited_like_any_request(strict_gateway):
    operator = _operator(strict_gateway)
    body, key = {"name": "Limited Forge", "role": "supplier"}, {"Idempotency-Key": "limited-onboarding"}
    assert operator.post("/v1/members", body, headers=key).status_code == 201
    assert operator.post("/v1/members", body, headers=key).headers["idempotent-replayed"] == "true"
    limited = operator.post("/v1/members", body, headers=key)
    assert limited.status_code == 429 and limited.json()["code"] == "rate_limited"
    assert int(limited.headers["retry-after"]) >= 1


@pytest.mark.sqlite_only  # SQLite's data_version tells of any write by another connection
def test_unauthenticated_requests_with_a_key_write_nothing(strict_gateway):
    db = sqlite3.connect(GatewaySettings(data_dir=strict_gateway.data_dir).gateway_db_path)
    try:
        before = db.execute("PRAGMA data_version").fetchone()[0]
        for number, api_key in enumerate([None, "scf_not-a-real-key"] * 10):
            anonymous = Api(strict_gateway.base_url, api_key)
            refused = anonymous.post(
                "/v1/members", {"name": "X", "role": "supplier"}, headers={"Idempotency-Key": str(number)}
            )
            assert refused.status_code == 401
        # data_version changes when another connection commits anything to the database.
        assert db.execute("PRAGMA data_version").fetchone()[0] == before
    finally:
        db.close()
