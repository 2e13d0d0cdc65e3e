"""Who may call what: 401 without a valid key, 403 for the wrong role, 404 for others' objects."""

import pytest

from tests.api.conftest import Api, maturity_in, new_document_hash, new_invoice_number

PROTECTED = [
    ("GET", "/v1/me"),
    ("GET", "/v1/members"),
    ("POST", "/v1/members"),
    ("GET", "/v1/certificates"),
    ("POST", "/v1/certificates"),
    ("GET", "/v1/certificates/1"),
    ("POST", "/v1/certificates/1/accept"),
    ("POST", "/v1/certificates/1/reject"),
    ("POST", "/v1/certificates/1/cancel"),
    ("POST", "/v1/certificates/1/split"),
    ("POST", "/v1/certificates/1/transfer"),
    ("POST", "/v1/certificates/1/freeze"),
    ("POST", "/v1/certificates/1/unfreeze"),
    ("PUT", "/v1/credit-lines/0x70997970C51812dc3A010C7d01b50e0d17dc79C8"),
    ("GET", "/v1/credit-lines/0x70997970C51812dc3A010C7d01b50e0d17dc79C8"),
    ("GET", "/v1/operations/abc"),
]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
@pytest.mark.parametrize("key", [None, "scf_not-a-real-key"])
def test_missing_or_unknown_key_is_401_problem(gateway, method, path, key):
    response = Api(gateway.base_url, key).client.request(method, path, json={})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "unauthorized"


@pytest.mark.parametrize(("method", "path"), [(method, path) for method, path in PROTECTED if method != "GET"])
def test_authentication_comes_before_anything_about_the_idempotency_key(gateway, method, path):
    headers = {"Idempotency-Key": "k" * 300}  # too long: a 422, but only for someone who may write at all
    response = Api(gateway.base_url, "scf_not-a-real-key").client.request(method, path, json={}, headers=headers)
    assert response.status_code == 401 and response.json()["code"] == "unauthorized"


def test_frozen_member_is_401_until_unfrozen(onboard, operator_api):
    supplier = onboard("supplier")
    assert supplier.api.get("/v1/me").status_code == 200
    assert operator_api.post(f"/v1/members/{supplier.address}/freeze").status_code == 200
    response = supplier.api.get("/v1/me")
    assert response.status_code == 401 and "frozen" in response.json()["detail"]
    assert operator_api.post(f"/v1/members/{supplier.address}/unfreeze").status_code == 200
    assert supplier.api.get("/v1/me").json()["address"] == supplier.address


def test_rotated_key_replaces_the_old_one_and_revoked_keys_stop_working(gateway, onboard, operator_api):
    supplier = onboard("supplier")
    rotated = operator_api.post(f"/v1/members/{supplier.address}/api-keys")
    assert rotated.status_code == 201
    new_api = Api(gateway.base_url, rotated.json()["api_key"])
    assert supplier.api.get("/v1/me").status_code == 401
    assert new_api.get("/v1/me").json()["address"] == supplier.address
    assert operator_api.client.delete(f"/v1/members/{supplier.address}/api-keys").status_code == 204
    assert new_api.get("/v1/me").status_code == 401


@pytest.mark.parametrize(
    ("role", "method", "path", "body"),
    [
        ("supplier", "POST", "/v1/members", {"name": "X", "role": "supplier"}),
        ("core_enterprise", "POST", "/v1/members", {"name": "X", "role": "supplier"}),
        ("auditor", "PUT", "/v1/credit-lines/{core}", {"limit": "1.00"}),
        ("supplier", "POST", "/v1/members/{core}/freeze", None),
        ("financier", "POST", "/v1/certificates/{cert}/freeze", None),
    ],
)
def test_wrong_role_is_403(issued, onboard, role, method, path, body):
    core, _, certificate = issued()
    caller = onboard(role)
    url = path.format(core=core.address, cert=certificate["id"])
    response = caller.api.client.request(method, url, json=body)
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "forbidden_role"


def test_supplier_cannot_issue(onboard):
    supplier, other = onboard("supplier"), onboard("supplier")
    response = supplier.api.post(
        "/v1/certificates",
        {
            "to": other.address,
            "amount": "1.00",
            "maturity_date": maturity_in(),
            "document_hash": new_document_hash(),
            "invoice_number": new_invoice_number(),
        },
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("GET", "", None),
        ("POST", "/accept", None),
        ("POST", "/reject", None),
        ("POST", "/cancel", None),
        ("POST", "/split", {"parts": [{"to": "{me}", "amount": "1.00"}, {"to": "{me}", "amount": "2.00"}]}),
        ("POST", "/transfer", {"to": "{me}"}),
    ],
)
def test_someone_elses_certificate_is_the_same_404_as_a_missing_one(issued, onboard, method, suffix, body):
    _, _, certificate = issued()
    stranger = onboard("supplier")
    if body is not None:
        body = _fill(body, stranger.address)
    theirs = stranger.api.client.request(method, f"/v1/certificates/{certificate['id']}{suffix}", json=body)
    missing = stranger.api.client.request(method, f"/v1/certificates/999999{suffix}", json=body)
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json()


def test_credit_line_of_another_obligor_is_404(issued, onboard):
    core, supplier, _ = issued()
    other_core = onboard("core_enterprise")
    assert other_core.api.get(f"/v1/credit-lines/{core.address}").status_code == 404
    assert supplier.api.get(f"/v1/credit-lines/{core.address}").status_code == 404
    assert core.api.get(f"/v1/credit-lines/{core.address}").status_code == 200


def test_members_see_only_the_active_members_they_can_pay(onboard, operator_api):
    supplier, auditor = onboard("supplier"), onboard("auditor")
    frozen = onboard("supplier")
    operator_api.post(f"/v1/members/{frozen.address}/freeze")
    seen = {m["address"] for m in supplier.api.get("/v1/members").json()}
    assert supplier.address in seen
    assert auditor.address not in seen and frozen.address not in seen
    assert supplier.api.get(f"/v1/members/{auditor.address}").status_code == 404
    assert auditor.api.get(f"/v1/members/{frozen.address}").json()["status"] == "frozen"


def _fill(body, address):
    if isinstance(body, dict):
        return {k: _fill(v, address) for k, v in body.items()}
    if isinstance(body, list):
        return [_fill(v, address) for v in body]
    return address if body == "{me}" else body
