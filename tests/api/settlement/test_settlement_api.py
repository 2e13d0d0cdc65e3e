"""Settlement at maturity, presentment, overdue and recourse over HTTP, on a chain whose clock the tests move.

Everything runs on a chain and gateway of their own (tests/api/financing_harness.py);
maturities are dated from the chain's latest block, and each test travels forward
from wherever the previous one left the chain.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest

from scf_chain.chain.compiler import compile_contracts
from scf_chain.chain.deploy import LEDGER_CONTRACT, Deployment
from scf_chain.chain.keys import anvil_account
from scf_chain.domain.types import CertificateStatusCode
from scf_chain.settings import Settings
from tests.api.conftest import ApiMember, new_document_hash, new_invoice_number
from tests.api.financing_harness import DAY, Harness, own_gateway


@pytest.fixture(scope="module")
def h(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    with own_gateway(tmp_path_factory.mktemp("settlement-gateway")) as harness:
        yield harness


def _maturity_day(certificate: dict) -> int:  # type: ignore[type-arg]
    return (date.fromisoformat(certificate["maturity_date"]) - date(1970, 1, 1)).days


def _supply_chain(h: Harness) -> tuple[ApiMember, list[ApiMember], ApiMember, dict, dict[str, Decimal]]:  # type: ignore[type-arg]
    """1,000,000.00 issued to t1 maturing in 30 days, passed down to t2 and t3; the bank buys t3's part.

    Returns the core, the suppliers, the bank, the root and what each holder is owed at maturity.
    """
    core = h.core()
    t1, t2, t3 = (h.onboard("supplier") for _ in range(3))
    bank = h.onboard("financier")
    root = h.issue(core, t1, "1000000.00", days=30)
    first = t1.api.post(f"/v1/certificates/{root['id']}/transfer", {"to": t2.address, "amount": "300000.00"})
    assert first.status_code == 201, first.text
    _, t2_part = first.json()["certificates"]
    second = t2.api.post(f"/v1/certificates/{t2_part['id']}/transfer", {"to": t3.address, "amount": "100000.00"})
    assert second.status_code == 201, second.text
    _, t3_part = second.json()["certificates"]
    h.finance(t3, bank, t3_part["id"])
    owed = {t1.address: Decimal("700000.00"), t2.address: Decimal("200000.00"), bank.address: Decimal("100000.00")}
    return core, [t1, t2, t3], bank, root, owed


def test_settlement_waits_for_maturity_then_pays_every_holder_its_face_value_once(h: Harness):
    core, (t1, t2, t3), bank, root, owed = _supply_chain(h)
    members = {m.address: m for m in (t1, t2, t3, bank, core)}

    obligations = core.api.get("/v1/obligations")
    assert obligations.status_code == 200, obligations.text
    body = obligations.json()
    assert (body["total"], body["certificate_count"]) == ("1000000.00", 3)
    (date_group,) = body["by_maturity"]
    assert (date_group["maturity_date"], date_group["total"], date_group["due"]) == (
        root["maturity_date"],
        "1000000.00",
        False,
    )
    assert date_group["root_ids"] == [root["id"]]
    assert {g["holder"]: Decimal(g["total"]) for g in body["by_holder"]} == owed
    assert {c["status"] for c in date_group["certificates"]} == {"active", "financed"}

    # Before maturity: refused with the ledger's code, and nothing is approved or paid.
    h.deposit(core, "1000000.00")
    early = core.api.post("/v1/settlements", {"root_id": root["id"]})
    assert early.status_code == 409 and early.json()["code"] == "not_yet_matured"
    assert h.allowance(core) == 0 and h.balance(core) == Decimal("1000000.00")
    assert core.api.get(f"/v1/settlements/{root['id']}").json()["status"] == "not_due"

    h.travel_to(_maturity_day(root))
    assert core.api.get("/v1/obligations").json()["by_maturity"][0]["due"] is True
    before = {address: h.balance(member) for address, member in members.items()}
    settled = core.api.post("/v1/settlements", {"root_id": root["id"]})
    assert settled.status_code == 200, settled.text
    result = settled.json()
    assert (result["paid_total"], result["settled_total"], result["face_value"]) == ("1000000.00",) * 3
    assert (result["certificates_settled"], result["certificates_outstanding"], result["status"]) == (3, 0, "settled")
    assert result["outstanding"] == "0.00" and len(result["batches"]) == 1 and result["approval_tx_hash"]
    paid: dict[str, Decimal] = defaultdict(Decimal)
    for payment in result["payments"]:
        paid[payment["holder"]] += Decimal(payment["amount"])
        assert payment["late"] is False
    assert paid == owed
    for address, amount in owed.items():
        assert h.balance(members[address]) - before[address] == amount
    assert h.balance(core) == 0 and h.allowance(core) == 0
    assert h.balance(t3) == before[t3.address]  # t3 sold its part: the bank is paid instead

    # The index shows every certificate settled; the credit line is free again; nothing is owed.
    page = core.api.get("/v1/certificates", params={"status": "settled"}).json()
    assert sorted(c["id"] for c in page["items"]) == sorted(p["certificate_id"] for p in result["payments"])
    assert core.api.get(f"/v1/credit-lines/{core.address}").json()["outstanding"] == "0.00"
    assert core.api.get("/v1/obligations").json()["total"] == "0.00"
    status = t1.api.get(f"/v1/settlements/{root['id']}").json()
    assert (status["status"], status["settled_total"], status["certificates_settled"]) == ("settled", "1000000.00", 3)

    # A second settlement pays nothing.
    h.deposit(core, "5.00")
    again = core.api.post("/v1/settlements", {"root_id": root["id"]})
    assert again.status_code == 200, again.text
    assert (again.json()["paid_total"], again.json()["certificates_settled"], again.json()["batches"]) == (
        "0.00",
        0,
        [],
    )
    assert again.json()["status"] == "settled" and h.balance(core) == Decimal("5.00")


def test_two_hundred_and_one_certificates_settle_in_bounded_batches_with_progress(h: Harness):
    core, t1 = h.core(), h.onboard("supplier")
    t2 = h.onboard("supplier")
    root = h.issue(core, t1, "20100.00", days=10)
    # 201 leaves: 100 parts of 201.00, one split in 100 of 2.01, another in 3 -> 98 + 100 + 3.
    parts = [{"to": (t1 if i % 2 else t2).address, "amount": "201.00"} for i in range(100)]
    first = t1.api.post(f"/v1/certificates/{root['id']}/split", {"parts": parts}).json()["certificates"]
    mine = [c for c in first if c["holder"] == t1.address]
    hundred = [{"to": t2.address, "amount": "2.01"} for _ in range(100)]
    assert t1.api.post(f"/v1/certificates/{mine[0]['id']}/split", {"parts": hundred}).status_code == 201
    three = [{"to": t1.address, "amount": "100.00"}, {"to": t2.address, "amount": "100.00"}]
    three.append({"to": t1.address, "amount": "1.00"})
    assert t1.api.post(f"/v1/certificates/{mine[1]['id']}/split", {"parts": three}).status_code == 201
    obligations = core.api.get("/v1/obligations").json()
    assert (obligations["total"], obligations["certificate_count"]) == ("20100.00", 201)
    h.deposit(core, "20100.00")
    h.travel_to(_maturity_day(root))

    before = {t1.address: h.balance(t1), t2.address: h.balance(t2)}
    response = core.api.post("/v1/settlements", {"root_id": root["id"]}, headers={"Prefer": "respond-async"})
    assert response.status_code == 202, response.text
    deadline = time.monotonic() + 120
    while True:
        operation = core.api.get(response.headers["location"]).json()
        if operation["status"] in ("confirmed", "failed"):
            break
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert operation["status"] == "confirmed", operation
    result = operation["result"]
    assert [b["certificates_settled"] for b in result["batches"]] == [200, 1]
    assert sum(Decimal(b["paid"]) for b in result["batches"]) == Decimal("20100.00")
    assert (result["paid_total"], result["certificates_settled"], result["status"]) == ("20100.00", 201, "settled")
    received = {t1.address: h.balance(t1) - before[t1.address], t2.address: h.balance(t2) - before[t2.address]}
    expected: dict[str, Decimal] = defaultdict(Decimal)
    for payment in result["payments"]:
        expected[payment["holder"]] += Decimal(payment["amount"])
    assert received == expected and sum(received.values()) == Decimal("20100.00")


def test_frozen_certificates_and_frozen_holders_wait_while_the_rest_are_paid(h: Harness):
    core, (t1, t2, _), bank, root, owed = _supply_chain(h)
    leaves = {c["holder"]: c["id"] for c in core.api.get("/v1/obligations").json()["by_maturity"][0]["certificates"]}
    h.deposit(core, "1000000.00")
    h.travel_to(_maturity_day(root))
    assert h.operator.post(f"/v1/certificates/{leaves[t2.address]}/freeze").status_code == 200
    assert h.operator.post(f"/v1/members/{bank.address}/freeze").status_code == 200

    first = core.api.post("/v1/settlements", {"root_id": root["id"]})
    assert first.status_code == 200, first.text
    result = first.json()
    assert result["skipped_frozen"] == sorted([leaves[t2.address], leaves[bank.address]])
    assert [(p["holder"], p["amount"]) for p in result["payments"]] == [(t1.address, "700000.00")]
    assert (result["status"], result["certificates_outstanding"], result["outstanding"]) == (
        "partially_settled",
        2,
        "300000.00",
    )
    assert h.allowance(core) == 0  # approved for exactly what was paid

    assert h.operator.post(f"/v1/certificates/{leaves[t2.address]}/unfreeze").status_code == 200
    assert h.operator.post(f"/v1/members/{bank.address}/unfreeze").status_code == 200
    before = {member.address: h.balance(member) for member in (t2, bank)}
    second = core.api.post("/v1/settlements", {"root_id": root["id"]}).json()
    assert (second["skipped_frozen"], second["status"], second["paid_total"]) == ([], "settled", "300000.00")
    assert {m.address: h.balance(m) - before[m.address] for m in (t2, bank)} == {
        t2.address: owed[t2.address],
        bank.address: owed[bank.address],
    }


def test_a_holder_presents_a_matured_certificate_against_the_obligors_allowance(h: Harness):
    core, t1, t2 = h.core(), h.onboard("supplier"), h.onboard("supplier")
    root = h.issue(core, t1, "1000.00", days=5)
    remainder, part = t1.api.post(
        f"/v1/certificates/{root['id']}/transfer", {"to": t2.address, "amount": "400.00"}
    ).json()["certificates"]
    h.deposit(core, "1000.00")
    early = t2.api.post(f"/v1/certificates/{part['id']}/present")
    assert early.status_code == 409 and early.json()["code"] == "not_yet_matured"
    h.travel_to(_maturity_day(root))
    unapproved = t2.api.post(f"/v1/certificates/{part['id']}/present")
    assert unapproved.status_code == 409 and unapproved.json()["code"] == "erc20_insufficient_allowance"

    approved = core.api.put("/v1/allowance", {"amount": "400.00"})
    assert approved.status_code == 200 and approved.json()["allowance"] == "400.00"
    presented = t2.api.post(f"/v1/certificates/{part['id']}/present")
    assert presented.status_code == 200, presented.text
    body = presented.json()
    assert (body["amount"], body["holder"], body["late"], body["root_id"]) == ("400.00", t2.address, False, root["id"])
    assert body["certificates"][0]["status"] == "settled"
    assert h.balance(t2) == Decimal("400.00") and h.allowance(core) == 0
    # Presenting again, or someone else's certificate, is refused.
    assert t2.api.post(f"/v1/certificates/{part['id']}/present").status_code == 409
    assert t2.api.post(f"/v1/certificates/{remainder['id']}/present").status_code == 404
    assert core.api.post(f"/v1/certificates/{remainder['id']}/present").json()["code"] == "not_certificate_holder"
    # The obligor settles the rest; the presented part is skipped.
    settled = core.api.post("/v1/settlements", {"root_id": root["id"]}).json()
    assert (settled["paid_total"], settled["settled_total"], settled["status"]) == ("600.00", "1000.00", "settled")


def test_overdue_and_recourse_end_to_end(h: Harness):
    core, t1, stranger = h.core(), h.onboard("supplier"), h.onboard("supplier")
    bank = h.onboard("financier")
    root = h.issue(core, t1, "10000.00", days=10)
    sale = h.finance(t1, bank, root["id"], recourse=True)
    price = Decimal(sale["price"])
    assert sale["offer"]["recourse"] is True and h.balance(t1) == price

    # Overdue: not before maturity + the grace period (3 days); then anyone who can see the issuance marks it.
    maturity = _maturity_day(root)
    h.travel_to(maturity + 3)
    early = t1.api.post(f"/v1/certificates/{root['id']}/mark-overdue")
    assert early.status_code == 409 and early.json()["code"] == "grace_period_not_over"
    assert bank.api.post(f"/v1/certificates/{root['id']}/recourse-claims").json()["code"] == "certificate_wrong_status"
    h.travel_to(maturity + 4)
    assert stranger.api.post(f"/v1/certificates/{root['id']}/mark-overdue").status_code == 404
    marked = t1.api.post(f"/v1/certificates/{root['id']}/mark-overdue")
    assert marked.status_code == 200, marked.text
    assert (marked.json()["certificates_marked"], marked.json()["certificate_ids"]) == (1, [root["id"]])
    assert h.certificate(bank, root["id"])["status"] == "overdue"
    assert core.api.get(f"/v1/settlements/{root['id']}").json()["certificates_overdue"] == 1
    again = t1.api.post(f"/v1/certificates/{root['id']}/mark-overdue")
    assert again.status_code == 200 and again.json()["certificates_marked"] == 0

    # Recourse: only the financier holding it claims; only the seller pays.
    assert t1.api.post(f"/v1/certificates/{root['id']}/recourse-claims").json()["code"] == "forbidden_role"
    assert t1.api.get(f"/v1/certificates/{root['id']}/recourse-claims").json() == []
    claim = bank.api.post(f"/v1/certificates/{root['id']}/recourse-claims")
    assert claim.status_code == 201, claim.text
    assert (claim.json()["status"], claim.json()["seller"], claim.json()["amount"]) == (
        "recorded",
        t1.address,
        "10000.00",
    )
    assert (
        bank.api.post(f"/v1/certificates/{root['id']}/recourse-claims").json()["code"] == "recourse_claim_wrong_status"
    )
    (seen,) = t1.api.get(f"/v1/certificates/{root['id']}/recourse-claims").json()
    assert (seen["status"], seen["financier"]) == ("recorded", bank.address)

    assert bank.api.post(f"/v1/certificates/{root['id']}/recourse-claims/pay").json()["code"] == "not_recourse_seller"
    assert stranger.api.post(f"/v1/certificates/{root['id']}/recourse-claims/pay").status_code == 404
    short = t1.api.post(f"/v1/certificates/{root['id']}/recourse-claims/pay")
    assert short.status_code == 409 and short.json()["code"] == "erc20_insufficient_balance"
    assert h.allowance(t1) == 0  # nothing approved for a payment that cannot be made
    h.deposit(t1, Decimal("10000.00") - price)
    bank_before = h.balance(bank)
    paid = t1.api.post(f"/v1/certificates/{root['id']}/recourse-claims/pay")
    assert paid.status_code == 200, paid.text
    assert (paid.json()["status"], paid.json()["financier"]) == ("paid", bank.address)
    assert h.balance(bank) - bank_before == Decimal("10000.00") and h.balance(t1) == 0
    back = h.certificate(t1, root["id"])
    assert (back["holder"], back["status"]) == (t1.address, "overdue")
    assert t1.api.get(f"/v1/certificates/{root['id']}/recourse-claims").json()[0]["status"] == "paid"

    # The obligor pays late: the seller, standing in the bank's place, receives the face value.
    h.deposit(core, "10000.00")
    late = core.api.post("/v1/settlements", {"root_id": root["id"]})
    assert late.status_code == 200, late.text
    (payment,) = late.json()["payments"]
    assert (payment["holder"], payment["amount"], payment["late"]) == (t1.address, "10000.00", True)
    assert h.balance(t1) == Decimal("10000.00")


def test_roles_and_objects_on_every_settlement_endpoint(h: Harness):
    core, other_core, t1, stranger = h.core(), h.core(), h.onboard("supplier"), h.onboard("supplier")
    bank = h.onboard("financier")
    root = h.issue(core, t1, "1000.00", days=30)
    part = t1.api.post(f"/v1/certificates/{root['id']}/transfer", {"to": stranger.address, "amount": "1.00"})
    remainder_id = part.json()["certificates"][0]["id"]

    # Only a core enterprise settles, and only its own issuances (others: the same 404 as a missing one).
    assert t1.api.post("/v1/settlements", {"root_id": root["id"]}).json()["code"] == "forbidden_role"
    assert bank.api.post("/v1/settlements", {"root_id": root["id"]}).status_code == 403
    theirs = other_core.api.post("/v1/settlements", {"root_id": root["id"]})
    missing = other_core.api.post("/v1/settlements", {"root_id": 999999})
    assert theirs.status_code == missing.status_code == 404 and theirs.json() == missing.json()
    not_root = core.api.post("/v1/settlements", {"root_id": remainder_id})
    assert not_root.status_code == 422 and not_root.json()["code"] == "not_an_issuance_root"
    assert core.api.post("/v1/settlements", {"root_id": "one"}).status_code == 422
    assert core.api.post("/v1/settlements", {"root_id": root["id"], "amount": "1.00"}).status_code == 422

    # Obligations: core enterprises see their own; the operator and auditors name one; others are refused.
    assert t1.api.get("/v1/obligations").json()["code"] == "forbidden_role"
    assert bank.api.get("/v1/obligations").status_code == 403
    assert other_core.api.get("/v1/obligations").json()["total"] == "0.00"
    assert other_core.api.get("/v1/obligations", params={"obligor": core.address}).status_code == 404
    assert h.operator.get("/v1/obligations", params={"obligor": core.address}).json()["total"] == "1000.00"
    assert h.operator.get("/v1/obligations").status_code == 422

    # Settlement status, presentment, overdue marking and recourse: the same 404 for others' certificates.
    outsider = h.onboard("supplier")
    for method, path in [
        ("GET", "/v1/settlements/{id}"),
        ("POST", "/v1/certificates/{id}/present"),
        ("POST", "/v1/certificates/{id}/mark-overdue"),
        ("GET", "/v1/certificates/{id}/recourse-claims"),
        ("POST", "/v1/certificates/{id}/recourse-claims/pay"),
        ("GET", "/v1/certificates/{id}/offers"),
    ]:
        theirs = outsider.api.client.request(method, path.format(id=root["id"]))
        missing = outsider.api.client.request(method, path.format(id=999999))
        assert theirs.status_code == missing.status_code == 404, (method, path)
        assert theirs.json() == missing.json()
    foreign = bank.api.post(f"/v1/certificates/{root['id']}/recourse-claims")
    assert foreign.status_code == 404
    no_recourse = t1.api.post(f"/v1/certificates/{remainder_id}/recourse-claims/pay")
    assert no_recourse.status_code == 409 and no_recourse.json()["code"] == "not_financed_with_recourse"


def test_the_ledger_date_not_the_wall_clock_bounds_new_maturities(h: Harness):
    # By now the tests have moved this chain's clock weeks ahead of the wall clock.
    assert h.today() > int(time.time()) // DAY
    core, t1 = h.core(), h.onboard("supplier")
    certificate = h.issue(core, t1, "10.00", days=360)
    assert certificate["status"] == "active"
    body = {
        "to": t1.address,
        "amount": "10.00",
        "document_hash": new_document_hash(),
        "invoice_number": new_invoice_number(),
    }
    past = core.api.post("/v1/certificates", {**body, "maturity_date": h.date_in(-1).isoformat()})
    assert past.status_code == 422 and past.json()["field"] == "maturity_date"
    assert f"today is {h.date_in(0).isoformat()}" in past.json()["detail"]


def test_the_gateway_marks_issuances_past_maturity_and_grace_overdue_on_its_own(
    tmp_path_factory: pytest.TempPathFactory,
):
    with own_gateway(tmp_path_factory.mktemp("overdue-gateway"), OVERDUE_INTERVAL_S="0.5") as h:
        core, t1, t2 = h.core(), h.onboard("supplier"), h.onboard("supplier")
        root = h.issue(core, t1, "1000.00", days=10)
        moved = t1.api.post(f"/v1/certificates/{root['id']}/transfer", {"to": t2.address, "amount": "400.00"})
        assert moved.status_code == 201, moved.text
        leaf_ids = sorted(c["id"] for c in moved.json()["certificates"])
        later = h.issue(core, t1, "50.00", days=30)

        # Nobody calls mark-overdue: the day after maturity and the 3 days' grace, the gateway marks the issuance.
        h.travel_to(_maturity_day(root) + 4)
        deadline = time.monotonic() + 60
        while {h.certificate(core, i)["status"] for i in leaf_ids} != {"overdue"}:
            assert time.monotonic() < deadline, [h.certificate(core, i)["status"] for i in leaf_ids]
            time.sleep(0.2)
        assert h.certificate(core, later["id"])["status"] == "active"  # not yet past its maturity

        # On the ledger as before: the contract's status and one CertificateOverdue event each, sent by the operator.
        settings = Settings(data_dir=h.gateway.data_dir)
        deployment = Deployment.load(settings.manifest_path)
        assert deployment is not None
        ledger = h.w3.eth.contract(
            address=deployment.ledger, abi=compile_contracts(settings.build_dir)[LEDGER_CONTRACT].abi
        )
        logs = ledger.events.CertificateOverdue().get_logs(from_block=0)
        assert sorted(int(log["args"]["id"]) for log in logs) == leaf_ids
        assert {int(log["args"]["rootId"]) for log in logs} == {root["id"]}
        senders = {h.w3.eth.get_transaction(log["transactionHash"])["from"] for log in logs}
        assert senders == {anvil_account(0).address}
        status_field = 10  # of CertificateLedger.certificate's view
        assert {ledger.functions.certificate(i).call()[status_field] for i in leaf_ids} == {
            CertificateStatusCode.OVERDUE
        }
