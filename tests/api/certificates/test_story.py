"""The whole certificate story, through HTTP only."""

from decimal import Decimal

from tests.api.conftest import maturity_in, new_document_hash


def test_onboard_issue_accept_and_pass_down_four_tiers(onboard, operator_api):
    core = onboard("core_enterprise", "Huaxia Motors")
    tiers = [onboard("supplier", f"Tier {n} Supplier") for n in range(1, 5)]
    bank, auditor = onboard("financier", "First Bank"), onboard("auditor", "Audit Office")

    line = operator_api.put(f"/v1/credit-lines/{core.address}", {"limit": "2000000.00"})
    assert line.status_code == 200
    assert line.json() == {
        "obligor": core.address,
        "limit": "2000000.00",
        "outstanding": "0.00",
        "available": "2000000.00",
        "currency": "CNY",
    }

    issued = core.api.post(
        "/v1/certificates",
        {
            "to": tiers[0].address,
            "amount": "1000000.00",
            "maturity_date": maturity_in(120),
            "document_hash": new_document_hash(),
            "invoice_number": "INV-0001",
        },
    )
    assert issued.status_code == 201, issued.text
    root = issued.json()["certificates"][0]
    assert root["status"] == "pending"
    assert root["holder"] == tiers[0].address
    assert root["invoice_number"] == "INV-0001"

    assert tiers[0].api.post(f"/v1/certificates/{root['id']}/accept").json()["certificates"][0]["status"] == "active"
    assert core.api.get(f"/v1/credit-lines/{core.address}").json()["outstanding"] == "1000000.00"

    # Each tier pays the next part of what it holds.
    held = root["id"]
    payments = ["600000.00", "350000.00", "200000.00"]
    for payer, payee, amount in zip(tiers[:-1], tiers[1:], payments, strict=True):
        response = payer.api.post(f"/v1/certificates/{held}/transfer", {"to": payee.address, "amount": amount})
        assert response.status_code == 201, response.text
        remainder, part = response.json()["certificates"]
        assert part["holder"] == payee.address and part["amount"] == amount
        assert remainder["holder"] == payer.address
        held = part["id"]

    expected = {
        tiers[0].address: Decimal("400000.00"),
        tiers[1].address: Decimal("250000.00"),
        tiers[2].address: Decimal("150000.00"),
        tiers[3].address: Decimal("200000.00"),
    }
    for tier in tiers:
        page = tier.api.get("/v1/certificates", params={"status": "active"}).json()
        held_amount = sum(Decimal(c["amount"]) for c in page["items"] if c["holder"] == tier.address)
        assert held_amount == expected[tier.address]

    # The obligor sees everything it owes; the auditor sees the whole tree; the bank sees nothing yet.
    owed = core.api.get("/v1/certificates", params={"status": "active"}).json()["items"]
    assert sum(Decimal(c["amount"]) for c in owed) == Decimal("1000000.00")
    audited = auditor.api.get("/v1/certificates", params={"obligor": core.address}).json()
    assert audited["total"] == 1 + 2 * 3
    assert bank.api.get("/v1/certificates").json()["total"] == 0
    assert bank.api.get(f"/v1/certificates/{held}").status_code == 404
