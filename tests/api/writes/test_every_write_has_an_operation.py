"""Every write answers Prefer: respond-async the same way, and every write, waited for or not, has an operation.

Members, credit lines and financing requests used to ignore the header and had no operation.
"""

from __future__ import annotations

import time
from typing import Any

from tests.api.conftest import Api

ASYNC = {"Prefer": "respond-async"}


def _finished(api: Api, accepted: Any) -> dict[str, Any]:
    assert accepted.status_code == 202, accepted.text
    location = accepted.headers["location"]
    assert accepted.headers["operation-location"] == location == f"/v1/operations/{accepted.json()['id']}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        operation = api.get(location).json()
        if operation["status"] in ("confirmed", "failed"):
            return dict(operation)
        time.sleep(0.05)
    raise AssertionError(f"{location} did not finish")


def test_onboarding_freezing_and_credit_lines_answer_202_with_an_operation(operator_api: Api) -> None:
    onboarded = _finished(
        operator_api, operator_api.post("/v1/members", {"name": "Async Castings", "role": "supplier"}, headers=ASYNC)
    )
    assert onboarded["status"] == "confirmed", onboarded
    assert len(onboarded["tx_hashes"]) == 1
    member = onboarded["result"]
    # An operation is kept in the gateway's database, which never holds an API key.
    assert member["api_key"] is None and "api-keys" in member["note"]
    assert operator_api.get(f"/v1/members/{member['address']}").json()["role"] == "supplier"

    frozen = _finished(operator_api, operator_api.post(f"/v1/members/{member['address']}/freeze", headers=ASYNC))
    assert frozen["status"] == "confirmed" and frozen["result"]["member"]["status"] == "frozen"
    assert frozen["tx_hashes"] == [frozen["result"]["tx_hash"]]

    core = operator_api.post("/v1/members", {"name": "Async Motors", "role": "core_enterprise"}).json()
    line = _finished(
        operator_api, operator_api.put(f"/v1/credit-lines/{core['address']}", {"limit": "750000.00"}, headers=ASYNC)
    )
    assert line["status"] == "confirmed" and line["result"]["limit"] == "750000.00", line
    assert len(line["tx_hashes"]) == 1


def test_a_waited_write_names_its_operation_with_its_transaction(operator_api: Api) -> None:
    created = operator_api.post("/v1/members", {"name": "Waited Forge", "role": "supplier"})
    assert created.status_code == 201, created.text
    operation = operator_api.get(created.headers["operation-location"]).json()
    assert operation["status"] == "confirmed" and operation["kind"] == "register_member"
    assert len(operation["tx_hashes"]) == 1
    assert operation["result"]["address"] == created.json()["address"]
    assert operation["result"]["api_key"] is None  # shown once, in the answer, and kept nowhere


def test_the_operator_is_no_member_and_a_refusal_is_answered_at_once(operator_api: Api) -> None:
    refused = operator_api.post("/v1/members", {"name": "Operator Again", "role": "operator"}, headers=ASYNC)
    # Refused by validation before anything runs, asynchronous or not: a problem, not an operation.
    assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "validation_error" and "operation-location" not in refused.headers


def test_financing_requests_answer_202_too(issued: Any) -> None:
    _, supplier, certificate = issued()
    asked = _finished(
        supplier.api,
        supplier.api.post(f"/v1/certificates/{certificate['id']}/financing-requests", {}, headers=ASYNC),
    )
    assert asked["status"] == "confirmed" and asked["result"]["certificate_id"] == certificate["id"]
    assert asked["tx_hashes"] == []  # kept beside the chain: no transaction
    cancelled = _finished(
        supplier.api, supplier.api.post(f"/v1/financing-requests/{asked['result']['id']}/cancel", headers=ASYNC)
    )
    assert cancelled["status"] == "confirmed" and cancelled["result"]["status"] == "cancelled"
