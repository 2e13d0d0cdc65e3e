"""Discounting over HTTP: financing requests, signed offers, delivery versus payment, and the payment asset.

These tests run on a chain and gateway of their own (tests/api/financing_harness.py),
since some move the chain's clock; maturities are dated from the chain's latest block.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from decimal import Decimal

import httpx
import pytest

from scf_chain.domain.pricing import financing_price
from tests.api.conftest import ApiMember, new_invoice_number
from tests.api.financing_harness import Harness, own_gateway

FACE = Decimal("100000.00")


@pytest.fixture(scope="module")
def h(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    with own_gateway(tmp_path_factory.mktemp("financing-gateway")) as harness:
        yield harness


def _state(h: Harness, certificate_id: int, *members) -> dict:  # type: ignore[no-untyped-def]
    """Everything an acceptance moves: balances, allowances and the certificate, as the API shows them."""
    certificate = h.operator.get(f"/v1/certificates/{certificate_id}").json()
    return {
        "balances": [h.operator.get("/v1/balances", params={"member": m.address}).json() for m in members],
        "certificate": (certificate["status"], certificate["holder"], certificate["child_ids"]),
    }


# The payment asset


def test_deposits_withdrawals_and_balances(h: Harness):
    supplier = h.onboard("supplier")
    assert supplier.api.get("/v1/balances").json() == {
        "member": supplier.address,
        "balance": "0.00",
        "allowance": "0.00",
        "currency": "CNY",
    }
    deposit = h.operator.post("/v1/deposits", {"member": supplier.address, "amount": "1500.25"})
    assert deposit.status_code == 201, deposit.text
    assert deposit.json()["balance"] == "1500.25" and deposit.json()["tx_hash"].startswith("0x")
    too_much = h.operator.post("/v1/withdrawals", {"member": supplier.address, "amount": "1500.26"})
    assert too_much.status_code == 409 and too_much.json()["code"] == "erc20_insufficient_balance"
    withdrawal = h.operator.post("/v1/withdrawals", {"member": supplier.address, "amount": "500.25"})
    assert withdrawal.status_code == 201 and withdrawal.json()["balance"] == "1000.00"
    assert h.balance(supplier) == Decimal("1000.00")
    # Only the operator moves money in and out; the operator reads anyone's balance, members only their own.
    for path in ("/v1/deposits", "/v1/withdrawals"):
        refused = supplier.api.post(path, {"member": supplier.address, "amount": "1.00"})
        assert refused.status_code == 403 and refused.json()["code"] == "forbidden_role"
    assert h.operator.get("/v1/balances", params={"member": supplier.address}).json()["balance"] == "1000.00"
    other = h.onboard("supplier")
    assert other.api.get("/v1/balances", params={"member": supplier.address}).status_code == 404
    assert h.operator.post("/v1/deposits", {"member": "0x" + "12" * 20, "amount": "1.00"}).status_code == 404
    invalid = h.operator.post("/v1/deposits", {"member": supplier.address, "amount": "1.001"})
    assert invalid.status_code == 422
    unknown = h.operator.post("/v1/deposits", {"member": supplier.address, "amount": "1.00", "memo": "x"})
    assert unknown.status_code == 422 and unknown.json()["field"] == "memo"
    allowance = supplier.api.put("/v1/allowance", {"amount": "250.00"})
    assert allowance.status_code == 200 and allowance.json()["allowance"] == "250.00"
    assert h.onboard("auditor").api.put("/v1/allowance", {"amount": "1.00"}).status_code == 403


# The financing flow


def test_request_two_offers_compare_accept_the_best_and_money_moves_exactly_the_price(h: Harness):
    core, supplier = h.core(), h.onboard("supplier")
    bank_a, bank_b = h.onboard("financier"), h.onboard("financier")
    certificate = h.issue(core, supplier, f"{FACE}", days=90)
    certificate_id = certificate["id"]
    h.deposit(bank_a, "200000.00")
    h.deposit(bank_b, "200000.00")

    request = h.request_financing(supplier, certificate_id)
    assert request["status"] == "open" and request["financiers"] is None
    assert (request["amount"], request["face_value"], request["holder"]) == (f"{FACE}", f"{FACE}", supplier.address)
    for bank in (bank_a, bank_b):
        seen = bank.api.get("/v1/financing-requests").json()
        assert [r["id"] for r in seen if r["certificate_id"] == certificate_id] == [request["id"]]

    offer_a = h.offer(bank_a, certificate_id, rate="0.0385", day_count=365)
    offer_b = h.offer(bank_b, certificate_id, rate="0.035", day_count=360)
    interest_a, price_a = financing_price(FACE, Decimal("0.0385"), 365, 90)
    interest_b, price_b = financing_price(FACE, Decimal("0.035"), 360, 90)
    assert (offer_a["days"], offer_a["interest"], offer_a["price"]) == (90, f"{interest_a}", f"{price_a}")
    assert (offer_a["interest"], offer_a["price"]) == ("949.32", "99050.68")
    assert (offer_b["interest"], offer_b["price"]) == ("875.00", "99125.00") == (f"{interest_b}", f"{price_b}")
    assert offer_a["status"] == "open" and offer_a["annual_rate"] == "0.0385" and offer_b["annual_rate"] == "0.035"
    assert offer_a["financier"] == bank_a.address and offer_a["seller"] == supplier.address
    # The gateway approved the desk on each financier's behalf, for the price of its offer and no more.
    assert (h.allowance(bank_a), h.allowance(bank_b)) == (price_a, price_b)
    assert offer_a["funded"] is True and offer_a["withdrawn_because"] is None

    # The holder compares: best price first. Each financier sees only its own offer.
    compared = supplier.api.get(f"/v1/certificates/{certificate_id}/offers").json()
    assert [o["id"] for o in compared] == [offer_b["id"], offer_a["id"]]
    assert [o["id"] for o in bank_a.api.get(f"/v1/certificates/{certificate_id}/offers").json()] == [offer_a["id"]]

    before = (h.balance(supplier), h.balance(bank_a), h.balance(bank_b))
    accepted = supplier.api.post(f"/v1/offers/{offer_b['id']}/accept")
    assert accepted.status_code == 200, accepted.text
    result = accepted.json()
    assert (result["price"], result["interest"], result["days"]) == ("99125.00", "875.00", 90)
    assert (result["certificate_id"], result["remainder_id"]) == (certificate_id, None)
    assert (result["seller"], result["financier"]) == (supplier.address, bank_b.address)
    assert result["offer"]["status"] == "accepted" and result["offer"]["financed_certificate_id"] == certificate_id
    assert result["certificates"][0]["status"] == "financed"
    assert h.balance(supplier) - before[0] == price_b
    assert before[2] - h.balance(bank_b) == price_b
    assert h.balance(bank_a) == before[1]

    # The index shows the certificate financed and held by the bank, which can now see it.
    held = h.certificate(bank_b, certificate_id)
    assert (held["status"], held["holder"]) == ("financed", bank_b.address)
    financed = bank_b.api.get("/v1/certificates", params={"status": "financed"}).json()["items"]
    assert [c["id"] for c in financed] == [certificate_id]
    statuses = {o["id"]: o["status"] for o in supplier.api.get(f"/v1/certificates/{certificate_id}/offers").json()}
    assert statuses == {offer_a["id"]: "closed", offer_b["id"]: "accepted"}
    # The price was drawn from bank B's allowance; bank A's closed offer no longer holds any of its allowance.
    assert (h.allowance(bank_a), h.allowance(bank_b)) == (0, 0)
    assert supplier.api.get("/v1/financing-requests").json()[0]["status"] == "financed"
    assert all(r["certificate_id"] != certificate_id for r in bank_a.api.get("/v1/financing-requests").json())

    # A replayed acceptance is refused and moves nothing; so is the other offer on the sold certificate.
    snapshot = _state(h, certificate_id, supplier, bank_a, bank_b)
    replay = supplier.api.post(f"/v1/offers/{offer_b['id']}/accept")
    assert replay.status_code == 409 and replay.json()["code"] == "offer_nonce_used"
    other = supplier.api.post(f"/v1/offers/{offer_a['id']}/accept")
    assert other.status_code == 409 and other.json()["code"] == "certificate_wrong_status"
    assert _state(h, certificate_id, supplier, bank_a, bank_b) == snapshot
    # A financed certificate cannot be offered for financing again.
    again = bank_b.api.post(f"/v1/certificates/{certificate_id}/financing-requests", {})
    assert again.status_code == 409 and again.json()["code"] == "certificate_wrong_status"


def test_partial_financing_sells_the_requested_part_and_the_remainder_stays(h: Harness):
    core, supplier, bank = h.core(), h.onboard("supplier"), h.onboard("financier")
    certificate_id = h.issue(core, supplier, "100000.00", days=120)["id"]
    request = h.request_financing(supplier, certificate_id, amount="40000.00", financiers=[bank.address])
    assert (request["amount"], request["financiers"]) == ("40000.00", [bank.address])
    offer = h.offer(bank, certificate_id, rate="0.04", day_count=360, recourse=True)
    _, price = financing_price(Decimal("40000.00"), Decimal("0.04"), 360, 120)
    assert (offer["amount"], offer["price"], offer["recourse"]) == ("40000.00", f"{price}", True)
    h.deposit(bank, price)

    result = supplier.api.post(f"/v1/offers/{offer['id']}/accept")
    assert result.status_code == 200, result.text
    body = result.json()
    assert (body["face_value"], body["price"]) == ("40000.00", f"{price}")
    assert body["remainder_id"] is not None and body["certificate_id"] != certificate_id
    part, remainder = body["certificates"]
    assert (part["holder"], part["amount"], part["status"]) == (bank.address, "40000.00", "financed")
    assert (remainder["holder"], remainder["amount"], remainder["status"]) == (supplier.address, "60000.00", "active")
    assert h.certificate(supplier, certificate_id)["status"] == "split"
    assert h.balance(supplier) == price and h.balance(bank) == 0


def test_a_seller_cannot_make_a_financier_buy_more_than_it_offered_for(h: Harness):
    """A bank priced 10,000.00 of a 100,000.00 certificate; the seller asks it to buy all of it."""
    core, supplier, bank = h.core(), h.onboard("supplier"), h.onboard("financier")
    certificate_id = h.issue(core, supplier, "100000.00", days=91)["id"]
    h.request_financing(supplier, certificate_id, amount="10000.00")
    h.deposit(bank, "200000.00")
    offer = h.offer(bank, certificate_id, rate="0.05", day_count=365)
    assert (offer["amount"], offer["interest"], offer["price"]) == ("10000.00", "124.66", "9875.34")

    before = _state(h, certificate_id, supplier, bank)
    overpaid = supplier.api.post(f"/v1/offers/{offer['id']}/accept", {"amount": "100000.00"})
    assert overpaid.status_code == 422, overpaid.text
    assert (overpaid.json()["code"], overpaid.json()["field"]) == ("finance_amount_above_offer", "amount")
    assert "10,000.00" in overpaid.json()["detail"]
    assert _state(h, certificate_id, supplier, bank) == before
    # The offer raised the bank's allowance by its own price, not by the face value.
    assert h.allowance(bank) == Decimal("9875.34")

    accepted = supplier.api.post(f"/v1/offers/{offer['id']}/accept")
    assert accepted.status_code == 200, accepted.text
    assert (accepted.json()["face_value"], accepted.json()["price"]) == ("10000.00", "9875.34")
    assert h.balance(bank) == Decimal("200000.00") - Decimal("9875.34")
    assert h.allowance(bank) == 0


def test_an_offer_raises_the_allowance_by_its_price_and_withdrawing_expiring_or_using_it_lowers_it(h: Harness):
    core, supplier, bank = h.core(), h.onboard("supplier"), h.onboard("financier")
    ids = [h.issue(core, supplier, amount, days=days)["id"] for amount, days in [("100000.00", 91), ("50000.00", 60)]]
    ids.append(h.issue(core, supplier, "20000.00", days=30)["id"])
    for certificate_id in ids:
        h.request_financing(supplier, certificate_id)
    assert h.allowance(bank) == 0

    first = h.offer(bank, ids[0], rate="0.05")
    assert h.allowance(bank) == Decimal(first["price"]) == Decimal("98753.42")
    second = h.offer(bank, ids[1])
    assert h.allowance(bank) == Decimal(first["price"]) + Decimal(second["price"])
    # The allowance is there, the tokens are not: the listing says the offer is not funded.
    assert [o["funded"] for o in supplier.api.get(f"/v1/certificates/{ids[1]}/offers").json()] == [False]

    assert bank.api.post(f"/v1/offers/{first['id']}/withdraw").status_code == 200
    assert h.allowance(bank) == Decimal(second["price"])

    expiring = h.offer(bank, ids[2], expires_in=60)
    assert h.allowance(bank) == Decimal(second["price"]) + Decimal(expiring["price"])
    h.travel(120)
    assert bank.api.get(f"/v1/offers/{expiring['id']}").json()["status"] == "expired"
    _eventually(lambda: h.allowance(bank) == Decimal(second["price"]))  # the gateway's background pass

    h.deposit(bank, "60000.00")
    assert bank.api.get(f"/v1/offers/{second['id']}").json()["funded"] is True
    accepted = supplier.api.post(f"/v1/offers/{second['id']}/accept")
    assert accepted.status_code == 200, accepted.text
    assert h.allowance(bank) == 0
    assert h.balance(bank) == Decimal("60000.00") - Decimal(second["price"])
    assert bank.api.get(f"/v1/offers/{second['id']}").json()["funded"] is None


def test_accepting_part_leaves_the_remainder_open_and_withdraws_the_other_offers(h: Harness):
    core, supplier = h.core(), h.onboard("supplier")
    bank_a, bank_b = h.onboard("financier"), h.onboard("financier")
    certificate_id = h.issue(core, supplier, "100000.00", days=120)["id"]
    h.request_financing(supplier, certificate_id, amount="40000.00")
    offer_a, offer_b = h.offer(bank_a, certificate_id), h.offer(bank_b, certificate_id, rate="0.05")
    h.deposit(bank_a, offer_a["price"])
    accepted = supplier.api.post(f"/v1/offers/{offer_a['id']}/accept")
    assert accepted.status_code == 200, accepted.text
    remainder_id, request_id = accepted.json()["remainder_id"], accepted.json()["remainder_request_id"]
    assert remainder_id is not None and request_id is not None

    # The remainder is asked for, from every financier asked before.
    (remainder_request,) = [r for r in supplier.api.get("/v1/financing-requests").json() if r["id"] == request_id]
    assert (remainder_request["certificate_id"], remainder_request["amount"]) == (remainder_id, "60000.00")
    assert (remainder_request["status"], remainder_request["financiers"]) == ("open", None)
    assert request_id in [r["id"] for r in bank_b.api.get("/v1/financing-requests").json()]
    # The other bank's offer on the certificate sold from is withdrawn, saying why, and holds none of its allowance.
    withdrawn = bank_b.api.get(f"/v1/offers/{offer_b['id']}").json()
    assert withdrawn["status"] == "withdrawn"
    assert (
        f"certificate {remainder_id}, is open for financing under request {request_id}"
        in withdrawn["withdrawn_because"]
    )
    assert (h.allowance(bank_a), h.allowance(bank_b)) == (0, 0)
    again = h.offer(bank_b, remainder_id, rate="0.05")
    assert (again["amount"], again["request_id"]) == ("60000.00", request_id)


def test_the_audit_trail_has_the_price_every_financing_paid(h: Harness):
    core, supplier, bank = h.core(), h.onboard("supplier"), h.onboard("financier")
    auditor = h.onboard("auditor")
    certificate_id = h.issue(core, supplier, "100000.00", days=90)["id"]
    accepted = h.finance(supplier, bank, certificate_id)
    events = [
        json.loads(line)
        for line in auditor.api.get("/v1/audit/events", params={"from": "0"}).text.splitlines()
        if line.strip()
    ]
    paid = [e for e in events if e["name"] == "OfferAccepted" and e["args"]["id"] == certificate_id]
    assert len(paid) == 1 and paid[0]["contract"] == "desk"
    offer = paid[0]["args"]
    assert (offer["financier"], offer["seller"]) == (bank.address, supplier.address)
    assert Decimal(offer["price"]) / 100 == Decimal(accepted["price"])  # minor units on chain
    assert Decimal(offer["faceValue"]) / 100 == Decimal("100000.00")
    financed = [e for e in events if e["name"] == "CertificateFinanced" and e["args"]["id"] == certificate_id]
    assert [e["contract"] for e in financed] == ["ledger"] and financed[0]["tx_hash"] == paid[0]["tx_hash"]
    # The desk's events are in the trail only: the certificate is as the ledger's events made it.
    assert h.certificate(bank, certificate_id)["status"] == "financed"


def test_a_part_named_at_acceptance_overrides_the_requested_one(h: Harness):
    core, supplier, bank = h.core(), h.onboard("supplier"), h.onboard("financier")
    certificate_id = h.issue(core, supplier, "1000.00", days=30)["id"]
    h.request_financing(supplier, certificate_id)
    offer = h.offer(bank, certificate_id)
    h.deposit(bank, "1000.00")
    above = supplier.api.post(f"/v1/offers/{offer['id']}/accept", {"amount": "1000.01"})
    assert above.status_code == 422 and above.json()["code"] == "finance_amount_above_offer"
    result = supplier.api.post(f"/v1/offers/{offer['id']}/accept", {"amount": "250.00"})
    assert result.status_code == 200, result.text
    assert result.json()["price"] == f"{financing_price(Decimal('250.00'), Decimal('0.0385'), 365, 30)[1]}"


def test_a_fen_short_of_balance_or_allowance_moves_nothing(h: Harness):
    core, supplier, bank = h.core(), h.onboard("supplier"), h.onboard("financier")
    certificate_id = h.issue(core, supplier, "100000.00", days=60)["id"]
    h.request_financing(supplier, certificate_id)
    offer = h.offer(bank, certificate_id)
    price = Decimal(offer["price"])

    h.deposit(bank, price - Decimal("0.01"))
    before = _state(h, certificate_id, supplier, bank)
    short = supplier.api.post(f"/v1/offers/{offer['id']}/accept")
    assert short.status_code == 409 and short.json()["code"] == "erc20_insufficient_balance"
    assert _state(h, certificate_id, supplier, bank) == before

    h.deposit(bank, "0.01")
    assert bank.api.put("/v1/allowance", {"amount": f"{price - Decimal('0.01')}"}).status_code == 200
    before = _state(h, certificate_id, supplier, bank)
    short = supplier.api.post(f"/v1/offers/{offer['id']}/accept")
    assert short.status_code == 409 and short.json()["code"] == "erc20_insufficient_allowance"
    assert _state(h, certificate_id, supplier, bank) == before
    assert bank.api.get(f"/v1/offers/{offer['id']}").json()["status"] == "open"

    assert bank.api.put("/v1/allowance", {"amount": f"{price}"}).status_code == 200
    accepted = supplier.api.post(f"/v1/offers/{offer['id']}/accept")
    assert accepted.status_code == 200, accepted.text
    assert h.balance(supplier) == price and h.balance(bank) == 0 and h.allowance(bank) == 0


def test_expired_and_withdrawn_offers_are_refused(h: Harness):
    core, supplier, bank = h.core(), h.onboard("supplier"), h.onboard("financier")
    certificate_id = h.issue(core, supplier, "5000.00", days=30)["id"]
    h.request_financing(supplier, certificate_id)
    h.deposit(bank, "5000.00")

    past = bank.api.post("/v1/offers", h.offer_body(certificate_id, expires_in=-60))
    assert past.status_code == 422 and past.json()["code"] == "offer_expiry_in_past"

    expiring = h.offer(bank, certificate_id, expires_in=60)
    h.travel(120)
    assert supplier.api.get(f"/v1/offers/{expiring['id']}").json()["status"] == "expired"
    expired = supplier.api.post(f"/v1/offers/{expiring['id']}/accept")
    assert expired.status_code == 409 and expired.json()["code"] == "offer_expired"

    withdrawn = h.offer(bank, certificate_id)
    assert withdrawn["nonce"] == expiring["nonce"] + 1
    response = bank.api.post(f"/v1/offers/{withdrawn['id']}/withdraw")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "withdrawn" and response.json()["tx_hash"].startswith("0x")
    refused = supplier.api.post(f"/v1/offers/{withdrawn['id']}/accept")
    assert refused.status_code == 409 and refused.json()["code"] == "offer_nonce_used"
    twice = bank.api.post(f"/v1/offers/{withdrawn['id']}/withdraw")
    assert twice.status_code == 409 and twice.json()["code"] == "offer_nonce_used"
    assert h.certificate(supplier, certificate_id)["status"] == "active" and h.balance(supplier) == 0


def test_certificates_that_cannot_be_financed_get_409_with_the_ledgers_code(h: Harness):
    core, supplier, other, bank = h.core(), h.onboard("supplier"), h.onboard("supplier"), h.onboard("financier")
    pending = core.api.post(
        "/v1/certificates",
        {
            "to": supplier.address,
            "amount": "100.00",
            "maturity_date": h.date_in(30).isoformat(),
            "document_hash": "0x" + "5e" * 32,
            "invoice_number": new_invoice_number(),
        },
    ).json()["certificates"][0]
    response = supplier.api.post(f"/v1/certificates/{pending['id']}/financing-requests", {})
    assert response.status_code == 409 and response.json()["code"] == "certificate_wrong_status"

    frozen = h.issue(core, supplier, "100.00", days=30)["id"]
    h.request_financing(supplier, frozen)
    assert h.operator.post(f"/v1/certificates/{frozen}/freeze").status_code == 200
    response = bank.api.post("/v1/offers", h.offer_body(frozen))
    assert response.status_code == 409 and response.json()["code"] == "certificate_is_frozen"

    moved = h.issue(core, supplier, "100.00", days=30)["id"]
    h.request_financing(supplier, moved)
    assert supplier.api.post(f"/v1/certificates/{moved}/transfer", {"to": other.address}).status_code == 200
    response = bank.api.post("/v1/offers", h.offer_body(moved))
    assert response.status_code == 409 and response.json()["code"] == "financing_request_closed"

    too_much = h.issue(core, supplier, "100.00", days=30)["id"]
    response = supplier.api.post(f"/v1/certificates/{too_much}/financing-requests", {"amount": "100.01"})
    assert response.status_code == 422 and response.json()["code"] == "finance_amount_above_face"
    response = supplier.api.post(f"/v1/certificates/{too_much}/financing-requests", {"financiers": [other.address]})
    assert response.status_code == 422 and response.json()["code"] == "not_a_financier"


def test_roles_and_objects_on_every_financing_endpoint(h: Harness):
    core, supplier, stranger = h.core(), h.onboard("supplier"), h.onboard("supplier")
    bank, other_bank = h.onboard("financier"), h.onboard("financier")
    certificate_id = h.issue(core, supplier, "1000.00", days=30)["id"]

    # Only the holder asks; the obligor sees the certificate (403), a stranger does not (404, as for a missing one).
    assert core.api.post(f"/v1/certificates/{certificate_id}/financing-requests", {}).status_code == 403
    theirs = stranger.api.post(f"/v1/certificates/{certificate_id}/financing-requests", {})
    missing = stranger.api.post("/v1/certificates/999999/financing-requests", {})
    assert theirs.status_code == missing.status_code == 404 and theirs.json() == missing.json()

    request = h.request_financing(supplier, certificate_id, financiers=[bank.address])
    # Only financiers offer, and only those asked.
    assert supplier.api.post("/v1/offers", h.offer_body(certificate_id)).json()["code"] == "forbidden_role"
    unasked = other_bank.api.post("/v1/offers", h.offer_body(certificate_id))
    assert unasked.status_code == 404
    assert other_bank.api.get("/v1/financing-requests", params={"certificate_id": certificate_id}).json() == []
    assert len(bank.api.get("/v1/financing-requests", params={"certificate_id": certificate_id}).json()) == 1
    assert other_bank.api.get(f"/v1/certificates/{certificate_id}/offers").status_code == 404
    offer = h.offer(bank, certificate_id)
    assert offer["request_id"] == request["id"]

    # Only the holder accepts: the financier sees the offer (403); strangers get the same 404 as for a missing one.
    assert bank.api.post(f"/v1/offers/{offer['id']}/accept").json()["code"] == "not_certificate_holder"
    for method, suffix in [("POST", "/accept"), ("POST", "/withdraw"), ("GET", "")]:
        theirs = other_bank.api.client.request(method, f"/v1/offers/{offer['id']}{suffix}")
        missing = other_bank.api.client.request(method, f"/v1/offers/999999{suffix}")
        assert theirs.status_code == missing.status_code == 404, (method, suffix)
        assert theirs.json() == missing.json()
    assert stranger.api.get(f"/v1/offers/{offer['id']}").status_code == 404
    assert stranger.api.get(f"/v1/certificates/{certificate_id}/offers").status_code == 404
    # Only the financier withdraws.
    assert supplier.api.post(f"/v1/offers/{offer['id']}/withdraw").json()["code"] == "forbidden_role"
    # The auditor sees everything, and can act on none of it.
    auditor = h.onboard("auditor")
    assert [o["id"] for o in auditor.api.get(f"/v1/certificates/{certificate_id}/offers").json()] == [offer["id"]]
    assert auditor.api.post(f"/v1/offers/{offer['id']}/accept").status_code == 403

    # Requests: cancelled by their holder only; a cancelled request takes no more offers.
    assert stranger.api.post(f"/v1/financing-requests/{request['id']}/cancel").status_code == 404
    cancelled = supplier.api.post(f"/v1/financing-requests/{request['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert supplier.api.post(f"/v1/financing-requests/{request['id']}/cancel").status_code == 409
    assert bank.api.post("/v1/offers", h.offer_body(certificate_id)).status_code == 404


def test_the_offers_of_a_certificate_are_the_same_404_to_everyone_who_may_not_see_it(h: Harness):
    core, supplier, stranger, other_core = (
        h.core(),
        h.onboard("supplier"),
        h.onboard("supplier"),
        h.onboard("core_enterprise"),
    )
    bank = h.onboard("financier")
    certificate_id = h.issue(core, supplier, "1000.00", days=30)["id"]
    h.request_financing(supplier, certificate_id)  # open to every financier
    missing = stranger.api.get("/v1/certificates/999999/offers")
    assert missing.status_code == 404
    for member in (stranger, other_core):
        theirs = member.api.get(f"/v1/certificates/{certificate_id}/offers")
        assert (theirs.status_code, theirs.json()) == (404, missing.json()), member.role
    # A financier the request is open to may look, and sees no offers yet.
    assert bank.api.get(f"/v1/certificates/{certificate_id}/offers").json() == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"annual_rate": "3.85%"}, "annual_rate"),
        ({"annual_rate": 0.0385}, "annual_rate"),
        ({"annual_rate": "0.123456789"}, "annual_rate"),
        ({"annual_rate": "1.5"}, "annual_rate"),
        ({"day_count": 364}, "day_count"),
        ({"expires_at": "tomorrow"}, "expires_at"),
        ({"certificate_id": 0}, "certificate_id"),
        ({"signature": "0x00"}, "signature"),
    ],
)
def test_malformed_offers_are_422(h: Harness, any_bank: ApiMember, change, field):  # type: ignore[no-untyped-def]
    body = {**h.offer_body(1), **change}
    response = any_bank.api.post("/v1/offers", body)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field


@pytest.fixture(scope="module")
def any_bank(h: Harness) -> ApiMember:
    return h.onboard("financier")


def test_offers_can_be_made_asynchronously_and_polled(h: Harness):
    core, supplier, bank = h.core(), h.onboard("supplier"), h.onboard("financier")
    certificate_id = h.issue(core, supplier, "1000.00", days=30)["id"]
    h.request_financing(supplier, certificate_id)
    body = h.offer_body(certificate_id)
    headers = {"Prefer": "respond-async", "Idempotency-Key": f"offer-{certificate_id}"}
    response = bank.api.post("/v1/offers", body, headers=headers)
    assert response.status_code == 202, response.text
    operation = _poll(bank.api.client, response.headers["location"])
    assert operation["status"] == "confirmed", operation
    offer = operation["result"]
    assert offer["certificate_id"] == certificate_id and offer["status"] == "open"
    # A retry with the same key gets the same operation, and makes no second offer.
    replay = bank.api.post("/v1/offers", body, headers=headers)
    assert replay.status_code == 202 and replay.headers["idempotent-replayed"] == "true"
    assert replay.json()["id"] == response.json()["id"]
    assert len(supplier.api.get(f"/v1/certificates/{certificate_id}/offers").json()) == 1


def _eventually(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, "the condition did not come true"
        time.sleep(0.2)


def _poll(client: httpx.Client, location: str) -> dict:  # type: ignore[type-arg]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        body: dict = client.get(location).json()  # type: ignore[type-arg]
        if body["status"] in ("confirmed", "failed"):
            return body
        time.sleep(0.1)
    raise AssertionError("the operation did not finish")


FINANCING_ENDPOINTS = [
    ("GET", "/v1/balances"),
    ("PUT", "/v1/allowance"),
    ("POST", "/v1/deposits"),
    ("POST", "/v1/withdrawals"),
    ("POST", "/v1/certificates/1/financing-requests"),
    ("GET", "/v1/financing-requests"),
    ("POST", "/v1/financing-requests/1/cancel"),
    ("POST", "/v1/offers"),
    ("GET", "/v1/offers/1"),
    ("GET", "/v1/certificates/1/offers"),
    ("POST", "/v1/offers/1/withdraw"),
    ("POST", "/v1/offers/1/accept"),
    ("GET", "/v1/obligations"),
    ("POST", "/v1/settlements"),
    ("GET", "/v1/settlements/1"),
    ("POST", "/v1/certificates/1/present"),
    ("POST", "/v1/certificates/1/mark-overdue"),
    ("POST", "/v1/certificates/1/recourse-claims"),
    ("GET", "/v1/certificates/1/recourse-claims"),
    ("POST", "/v1/certificates/1/recourse-claims/pay"),
]


@pytest.mark.parametrize(("method", "path"), FINANCING_ENDPOINTS)
def test_every_financing_endpoint_needs_a_valid_key(gateway, method, path):  # type: ignore[no-untyped-def]
    for key in (None, "scf_not-a-real-key"):
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        response = httpx.request(method, f"{gateway.base_url}{path}", json={}, headers=headers)
        assert response.status_code == 401, (method, path, response.text)
        assert response.json()["code"] == "unauthorized"
