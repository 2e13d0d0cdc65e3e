"""An obligor's risk figures over HTTP: what it owes, to whom, how deep and how soon, and who may read them.

A chain and gateway of their own (tests/api/financing_harness.py), so that maturities are
dated from the chain's today, which the figures count from.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from api.services.risk import share
from tests.api.conftest import ApiMember, new_document_hash, new_invoice_number
from tests.api.financing_harness import Harness, own_gateway


@pytest.fixture(scope="module")
def h(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    with own_gateway(tmp_path_factory.mktemp("risk-obligor-gateway")) as harness:
        yield harness


def _pending(h: Harness, core: ApiMember, holder: ApiMember, amount: str, days: int) -> dict[str, Any]:
    response = core.api.post(
        "/v1/certificates",
        {
            "to": holder.address,
            "amount": amount,
            "maturity_date": h.date_in(days).isoformat(),
            "document_hash": new_document_hash(),
            "invoice_number": new_invoice_number(),
        },
    )
    assert response.status_code == 201, response.text
    certificate: dict[str, Any] = response.json()["certificates"][0]
    return certificate


def _transfer(holder: ApiMember, certificate_id: int, to: ApiMember, amount: str) -> dict[str, Any]:
    response = holder.api.post(f"/v1/certificates/{certificate_id}/transfer", {"to": to.address, "amount": amount})
    assert response.status_code == 201, response.text
    part: dict[str, Any] = response.json()["certificates"][1]
    return part


def test_shares_are_rounded_half_up_to_four_places() -> None:
    assert share(915, 1000) == "0.9150"
    assert share(1, 3) == "0.3333"
    assert share(2, 3) == "0.6667"
    assert share(1, 20_000) == "0.0001"  # 0.00005, half up
    assert share(1, 20_001) == "0.0000"
    assert share(3, 2) == "1.5000"
    assert share(5, 0) is None


def test_the_figures_of_an_obligor_with_a_chain_of_suppliers(h: Harness) -> None:
    core = h.core(limit="1000000.00")
    t1, t2, t3, bank = h.onboard("supplier"), h.onboard("supplier"), h.onboard("supplier"), h.onboard("financier")
    a = h.issue(core, t1, "400000.00", days=5)
    h.issue(core, t2, "300000.00", days=20)
    c = h.issue(core, t1, "100000.00", days=60)
    _pending(h, core, t2, "50000.00", days=100)  # drawn on the line, not yet owed at a maturity
    t2_part = _transfer(t1, a["id"], t2, "100000.00")  # tier 2
    _transfer(t2, t2_part["id"], t3, "20000.00")  # tier 3
    h.finance(t1, bank, c["id"])
    cancelled = _pending(h, core, t3, "10000.00", days=30)
    assert core.api.post(f"/v1/certificates/{cancelled['id']}/cancel").status_code == 200

    response = core.api.get(f"/v1/risk/obligors/{core.address}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == {
        "obligor": core.address,
        "name": core.name,
        "credit_limit": "1000000.00",
        "outstanding": "850000.00",
        "credit_line_use": "0.8500",
        "credit_line_high_since": None,
        "overdue_amount": "0.00",
        "overdue_count": 0,
        "overdue_certificate_ids": [],
        # t2 holds 80,000.00 of a's part and 300,000.00 of its own (its pending 50,000.00 too): 430,000.00.
        "largest_holder": {"address": t2.address, "name": t2.name, "amount": "430000.00", "share": "0.5059"},
        "deepest_tier": 3,
        "maturing": [
            {"days": 7, "amount": "400000.00"},
            {"days": 30, "amount": "700000.00"},
            {"days": 90, "amount": "800000.00"},
        ],
        "inventory": [],
        "as_of": h.date_in(0).isoformat(),
        "indexed_block": body["indexed_block"],
        "currency": body["currency"],
    }
    assert body["indexed_block"] > 0

    # The same figures for the operator, an auditor and the financier that bought one of its certificates.
    auditor = h.onboard("auditor")
    for reader in (h.operator, auditor.api, bank.api):
        seen = reader.get(f"/v1/risk/obligors/{core.address}")
        assert seen.status_code == 200, seen.text
        assert {k: v for k, v in seen.json().items() if k != "indexed_block"} == {
            k: v for k, v in body.items() if k != "indexed_block"
        }


def test_an_obligor_with_nothing_issued(h: Harness) -> None:
    core = h.core(limit="0.00")
    body = h.operator.get(f"/v1/risk/obligors/{core.address}").json()
    assert (body["credit_limit"], body["outstanding"], body["credit_line_use"]) == ("0.00", "0.00", None)
    assert (body["largest_holder"], body["deepest_tier"], body["inventory"]) == (None, None, [])
    assert [m["amount"] for m in body["maturing"]] == ["0.00", "0.00", "0.00"]


def test_others_get_the_404_of_a_missing_obligor(h: Harness) -> None:
    core, other_core = h.core(), h.core()
    supplier, stranger_bank = h.onboard("supplier"), h.onboard("financier")
    h.issue(core, supplier, "1000.00", days=30)
    missing = h.operator.get("/v1/risk/obligors/0x000000000000000000000000000000000000dEaD")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert missing.headers["content-type"].startswith("application/problem+json")
    for reader in (supplier, stranger_bank, other_core):
        theirs = reader.api.get(f"/v1/risk/obligors/{core.address}")
        assert (theirs.status_code, theirs.json()) == (404, missing.json())
    # A member that is not a core enterprise is no obligor, and a malformed address none either.
    assert h.operator.get(f"/v1/risk/obligors/{supplier.address}").json() == missing.json()
    assert h.operator.get("/v1/risk/obligors/not-an-address").json() == missing.json()
    unauthenticated = h.operator.client.get(f"/v1/risk/obligors/{core.address}", headers={"Authorization": ""})
    assert unauthenticated.status_code == 401
