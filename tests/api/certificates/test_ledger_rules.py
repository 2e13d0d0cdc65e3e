"""The ledger's own rules, as the gateway answers them: who can be a member, one name and one invoice each,
and no certificate passed to its holder or to its obligor."""

from __future__ import annotations

import itertools

import pytest

from scf_chain.chain.deploy import Deployment
from scf_chain.chain.keys import anvil_account
from scf_chain.settings import Settings
from tests.api.conftest import maturity_in, new_document_hash

_names = itertools.count(1)


def _unique(name: str) -> str:
    return f"{name} {next(_names)}"


@pytest.mark.parametrize("which", ["operator", "ledger", "settlement_desk", "settlement_token", "zero"])
def test_the_operator_and_the_contracts_cannot_be_onboarded(gateway, operator_api, which):
    """Before: the operator's own address was registered as a supplier, then frozen, and its keys revoked."""
    deployment = Deployment.load(Settings(data_dir=gateway.data_dir).manifest_path)
    assert deployment is not None
    address = {
        "operator": anvil_account(0).address,
        "ledger": deployment.ledger,
        "settlement_desk": deployment.settlement_desk,
        "settlement_token": deployment.settlement_token,
        "zero": "0x" + "00" * 20,
    }[which]
    response = operator_api.post(
        "/v1/members", {"name": _unique("Sneaky Supplies"), "role": "supplier", "address": address}
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "invalid_member_address"
    assert operator_api.get(f"/v1/members/{address}").status_code == 404
    assert operator_api.get("/v1/me").json()["role"] == "operator"


def test_a_member_name_is_taken_once(onboard, operator_api):
    """Before: a second member of the same name was registered, and the CLI answered "ambiguous member"."""
    first = onboard("supplier", _unique("Duplicate Parts Co."))
    listed = len(operator_api.get("/v1/members").json())
    for name in (first.name, first.name.upper()):
        response = operator_api.post("/v1/members", {"name": name, "role": "financier"})
        assert response.status_code == 409, response.text
        body = response.json()
        assert body["code"] == "member_name_taken"
        assert first.name in body["detail"] and "member names are unique" in body["detail"]
    assert len(operator_api.get("/v1/members").json()) == listed


def test_an_invoice_number_backs_one_issuance_of_an_obligor(issued, operator_api):
    """Before: the same invoice number, with the file changed by one byte, was issued a second time."""
    core, supplier, _ = issued(limit="3000000.00")
    body = {"to": supplier.address, "amount": "100.00", "maturity_date": maturity_in(), "invoice_number": "INV-DUP-1"}
    first = core.api.post("/v1/certificates", {**body, "document_hash": new_document_hash()})
    assert first.status_code == 201, first.text
    outstanding = core.api.get(f"/v1/credit-lines/{core.address}").json()["outstanding"]
    for number in ("INV-DUP-1", " inv-dup-1 "):
        again = core.api.post(
            "/v1/certificates", {**body, "invoice_number": number, "document_hash": new_document_hash()}
        )
        assert again.status_code == 409, again.text
        assert again.json()["code"] == "invoice_already_used"
        assert f"certificate {first.json()['certificates'][0]['id']}" in again.json()["detail"]
    assert core.api.get(f"/v1/credit-lines/{core.address}").json()["outstanding"] == outstanding
    assert first.json()["certificates"][0]["invoice_number"] == "INV-DUP-1"


@pytest.mark.parametrize("amount", [None, "1.00"])
def test_a_certificate_cannot_be_transferred_to_its_own_holder(issued, amount):
    """Before: the holder "paid" itself; a part transfer split the certificate and both halves stayed put."""
    _, supplier, certificate = issued()
    body = {"to": supplier.address} if amount is None else {"to": supplier.address, "amount": amount}
    response = supplier.api.post(f"/v1/certificates/{certificate['id']}/transfer", body)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "transfer_to_holder"
    after = supplier.api.get(f"/v1/certificates/{certificate['id']}").json()
    assert (after["status"], after["hops"]) == ("active", 0)


@pytest.mark.parametrize("amount", [None, "1.00"])
def test_a_certificate_cannot_be_transferred_to_its_obligor(issued, amount):
    """Before: the obligor took its own certificate and, at settlement, paid itself."""
    core, supplier, certificate = issued()
    body = {"to": core.address} if amount is None else {"to": core.address, "amount": amount}
    response = supplier.api.post(f"/v1/certificates/{certificate['id']}/transfer", body)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "transfer_to_obligor"
    assert "would pay itself at settlement" in response.json()["detail"]
    assert supplier.api.get(f"/v1/certificates/{certificate['id']}").json()["holder"] == supplier.address
