"""Malformed input is a 422 problem naming the field, and changes nothing."""

import pytest

from tests.api.conftest import maturity_in, new_document_hash


def _issue_body(receiver, **overrides):
    body = {"to": receiver, "amount": "100.00", "maturity_date": maturity_in(), "document_hash": new_document_hash()}
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ...}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"amount": "-5.00"}, "amount"),
        ({"amount": "0"}, "amount"),
        ({"amount": "0.00"}, "amount"),
        ({"amount": "1.005"}, "amount"),
        ({"amount": "18446744073709551616.00"}, "amount"),
        ({"amount": 100.5}, "amount"),
        ({"amount": "ten"}, "amount"),
        ({"to": "0x1234"}, "to"),
        ({"to": "not-an-address"}, "to"),
        ({"maturity_date": "2001-01-01"}, "maturity_date"),
        ({"maturity_date": maturity_in(366)}, "maturity_date"),
        ({"maturity_date": "31/12/2026"}, "maturity_date"),
        ({"document_hash": "0x1234"}, "document_hash"),
        ({"amount": ...}, "amount"),
        ({"to": ...}, "to"),
        ({"signer": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"}, "signer"),
        ({"nonce": 7}, "nonce"),
    ],
)
def test_malformed_issue_is_422_and_issues_nothing(issued, overrides, field):
    core, supplier, _ = issued()
    before = core.api.get(f"/v1/credit-lines/{core.address}").json()
    response = core.api.post("/v1/certificates", _issue_body(supplier.address, **overrides))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert problem["field"] == field
    assert problem["detail"]
    assert core.api.get(f"/v1/credit-lines/{core.address}").json() == before


@pytest.mark.parametrize(
    "parts",
    [
        [{"to": "{me}", "amount": "1.001"}, {"to": "{me}", "amount": "1.00"}],
        [{"to": "{me}", "amount": "0.00"}, {"to": "{me}", "amount": "1.00"}],
        [{"to": "{me}", "amount": "1000000.00"}],
        [{"to": "bad", "amount": "1.00"}, {"to": "{me}", "amount": "1.00"}],
    ],
)
def test_malformed_split_is_422(issued, parts):
    _, supplier, certificate = issued()
    parts = [{**p, "to": supplier.address if p["to"] == "{me}" else p["to"]} for p in parts]
    response = supplier.api.post(f"/v1/certificates/{certificate['id']}/split", {"parts": parts})
    assert response.status_code == 422, response.text
    assert supplier.api.get(f"/v1/certificates/{certificate['id']}").json()["status"] == "active"


def test_split_that_does_not_sum_is_the_ledgers_split_sum_mismatch(issued):
    _, supplier, certificate = issued("100.00")
    parts = [{"to": supplier.address, "amount": "60.00"}, {"to": supplier.address, "amount": "30.00"}]
    response = supplier.api.post(f"/v1/certificates/{certificate['id']}/split", {"parts": parts})
    assert response.status_code == 422
    assert response.json()["code"] == "split_sum_mismatch"
    assert "90.00" in response.json()["detail"]


def test_over_limit_issue_is_409_credit_line_exceeded(issued):
    core, supplier, _ = issued("100.00", limit="150.00")
    response = core.api.post("/v1/certificates", _issue_body(supplier.address, amount="50.01"))
    assert response.status_code == 409
    assert response.json()["code"] == "credit_line_exceeded"


def test_reused_document_is_409_document_already_used(issued):
    core, supplier, _ = issued()
    document = new_document_hash()
    first = core.api.post("/v1/certificates", _issue_body(supplier.address, document_hash=document))
    assert first.status_code == 201
    second = core.api.post("/v1/certificates", _issue_body(supplier.address, document_hash=document))
    assert second.status_code == 409
    assert second.json()["code"] == "document_already_used"


def test_malformed_json_and_oversized_bodies_are_problems(issued):
    core, _, _ = issued()
    broken = core.api.client.post(
        "/v1/certificates", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert broken.status_code == 422 and broken.json()["code"] == "validation_error"
    huge = core.api.client.post(
        "/v1/certificates", content=b"x" * 200_000, headers={"content-type": "application/json"}
    )
    assert huge.status_code == 413 and huge.json()["code"] == "body_too_large"


def test_bad_query_and_path_values_are_422(issued):
    core, _, _ = issued()
    assert core.api.get("/v1/certificates", params={"status": "lost"}).status_code == 422
    assert core.api.get("/v1/certificates", params={"limit": 0}).status_code == 422
    assert core.api.get("/v1/certificates/abc").status_code == 422
    assert core.api.get("/v1/certificates/-1").status_code == 422


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/certificates/{cert}/transfer", {"to": "0xabc"}, "to"),
        ("/v1/certificates/{cert}/transfer", {"to": "{me}", "amount": "1.001"}, "amount"),
        ("/v1/certificates/{cert}/transfer", {"to": "{me}", "amount": "-1.00"}, "amount"),
        ("/v1/certificates/{cert}/transfer", {"to": "{me}", "extra": 1}, "extra"),
        ("/v1/certificates/{cert}/transfer", {}, "to"),
        ("/v1/certificates/{cert}/split", {"parts": []}, "parts"),
        ("/v1/certificates/{cert}/split", {"parts": [{"to": "{me}", "amount": "1.00"}] * 101}, "parts"),
    ],
)
def test_malformed_holder_writes_are_422_and_change_nothing(issued, path, body, field):
    _, supplier, certificate = issued()
    body = {k: (supplier.address if v == "{me}" else v) for k, v in body.items()}
    if "parts" in body:
        body["parts"] = [{**p, "to": supplier.address} for p in body["parts"]]
    response = supplier.api.post(path.format(cert=certificate["id"]), body)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert supplier.api.get(f"/v1/certificates/{certificate['id']}").json()["status"] == "active"


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/v1/members", {"name": "X", "role": "banker"}, "role"),
        ("POST", "/v1/members", {"name": "", "role": "supplier"}, "name"),
        ("POST", "/v1/members", {"name": "X", "role": "supplier", "address": "0x12"}, "address"),
        ("POST", "/v1/members", {"name": "X", "role": "supplier", "is_admin": True}, "is_admin"),
        ("PUT", "/v1/credit-lines/{core}", {"limit": "-1.00"}, "limit"),
        ("PUT", "/v1/credit-lines/{core}", {"limit": "1.234"}, "limit"),
        ("PUT", "/v1/credit-lines/{core}", {"limit": 100}, "limit"),
        ("PUT", "/v1/credit-lines/{core}", {}, "limit"),
    ],
)
def test_malformed_operator_writes_are_422(issued, operator_api, method, path, body, field):
    core, _, _ = issued()
    before = operator_api.get(f"/v1/credit-lines/{core.address}").json()
    response = operator_api.client.request(method, path.format(core=core.address), json=body)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert operator_api.get(f"/v1/credit-lines/{core.address}").json() == before
