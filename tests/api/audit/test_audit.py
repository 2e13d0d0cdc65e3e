"""The audit export: every ledger event in a range, as JSON lines or CSV, paginated, for auditors only."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from tests.api.conftest import ApiMember


def lines(response) -> list[dict]:
    return [json.loads(line) for line in response.text.splitlines()]


@pytest.fixture
def trail(issued, onboard) -> tuple[ApiMember, dict, int]:
    """An auditor, an issued and accepted certificate, and the first block of that story."""
    auditor = onboard("auditor")
    before = auditor.api.get("/v1/audit/events", params={"from": "2999-01-01", "limit": "1"})
    assert before.status_code == 200 and before.text == ""
    _, _, certificate = issued()
    return auditor, certificate, int(before.headers["x-indexed-block"]) + 1


def test_auditor_exports_events_as_json_lines_in_chain_order(trail):
    auditor, certificate, started = trail
    response = auditor.api.get("/v1/audit/events", params={"from": str(started)})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    indexed_block = int(response.headers["x-indexed-block"])
    events = lines(response)
    keys = [(e["block_number"], e["log_index"]) for e in events]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    assert all(started <= block <= indexed_block for block, _ in keys)
    assert {"MemberRegistered", "CertificateIssued", "Transfer", "CertificateAccepted"} <= {e["name"] for e in events}
    (issuance,) = [e for e in events if e["name"] == "CertificateIssued" and int(e["args"]["id"]) == certificate["id"]]
    assert issuance["tx_hash"] == certificate["tx_hash"]
    assert set(issuance) == {
        "block_number",
        "log_index",
        "block_hash",
        "tx_hash",
        "contract",
        "timestamp",
        "date",
        "name",
        "details",
        "args",
        "cursor",
    }
    assert issuance["contract"] == "ledger"
    assert issuance["cursor"] == f"{issuance['block_number']}.{issuance['log_index']}"
    assert datetime.fromisoformat(issuance["timestamp"]).tzinfo is not None
    assert "x-next-cursor" not in response.headers and "link" not in response.headers


def test_csv_export_has_the_same_events(trail):
    auditor, _, started = trail
    as_json = lines(auditor.api.get("/v1/audit/events", params={"from": str(started)}))
    response = auditor.api.get("/v1/audit/events", params={"from": str(started), "format": "csv"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == len(as_json)
    assert list(rows[0]) == [
        "block_number",
        "log_index",
        "timestamp",
        "date",
        "tx_hash",
        "block_hash",
        "contract",
        "name",
        "details",
        "args",
        "cursor",
    ]
    for row, event in zip(rows, as_json, strict=True):
        assert (int(row["block_number"]), int(row["log_index"]), row["contract"], row["name"]) == (
            event["block_number"],
            event["log_index"],
            event["contract"],
            event["name"],
        )
        assert json.loads(row["args"]) == event["args"]
        assert json.loads(row["details"]) == event["details"] and row["date"] == event["date"]


def test_pages_follow_the_link_header_to_the_end(trail):
    auditor, _, started = trail
    everything = lines(auditor.api.get("/v1/audit/events", params={"from": str(started)}))
    assert len(everything) >= 5
    pages, url, params = [], "/v1/audit/events", {"from": str(started), "limit": "2"}
    while True:
        response = auditor.api.get(url, params=params)
        assert response.status_code == 200
        page = lines(response)
        pages.append(page)
        if "link" not in response.headers:
            assert "x-next-cursor" not in response.headers
            break
        assert len(page) == 2
        assert response.headers["x-next-cursor"] == page[-1]["cursor"]
        link = response.headers["link"]
        assert link.endswith('>; rel="next"')
        url, params = link[1 : link.index(">")], None
    flattened = [event for page in pages for event in page]
    assert flattened == everything[: len(flattened)]
    assert len(flattened) == len(everything)

    after = auditor.api.get(
        "/v1/audit/events", params={"from": str(started), "after": everything[2]["cursor"], "limit": "1"}
    )
    assert lines(after) == [everything[3]]


def test_ranges_by_block_and_by_time(trail):
    auditor, _, started = trail
    everything = lines(auditor.api.get("/v1/audit/events", params={"from": str(started)}))
    issued_block = next(e["block_number"] for e in everything if e["name"] == "CertificateIssued")
    one_block = lines(auditor.api.get("/v1/audit/events", params={"from": issued_block, "to": issued_block}))
    assert one_block and {e["block_number"] for e in one_block} == {issued_block}

    day = everything[0]["timestamp"][:10]  # the chain's day: a development chain's clock may run ahead
    by_day = lines(auditor.api.get("/v1/audit/events", params={"from": day, "to": day}))
    first = everything[0]["timestamp"]
    by_time = lines(auditor.api.get("/v1/audit/events", params={"from": first}))
    assert {e["cursor"] for e in everything} <= {e["cursor"] for e in by_time}
    assert all(e["timestamp"] >= first for e in by_time)
    assert everything[0] in by_day and all(e["timestamp"].startswith(day) for e in by_day)
    late = lines(auditor.api.get("/v1/audit/events", params={"from": "2999-01-01T00:00:00Z"}))
    assert late == []


def test_operator_may_export_and_other_roles_get_403(trail, onboard, operator_api, issued):
    _, _, started = trail
    assert operator_api.get("/v1/audit/events", params={"from": str(started), "limit": "1"}).status_code == 200
    core, supplier, _ = issued()
    for member in (core, supplier, onboard("financier")):
        response = member.api.get("/v1/audit/events")
        assert response.status_code == 403 and response.json()["code"] == "forbidden_role"


@pytest.mark.parametrize(
    "params",
    [{"from": "yesterday"}, {"to": "12.5"}, {"after": "12"}, {"limit": "0"}, {"format": "xml"}],
)
def test_bad_ranges_are_validation_problems(trail, params):
    auditor, _, _ = trail
    response = auditor.api.get("/v1/audit/events", params=params)
    assert response.status_code == 422 and response.json()["code"] == "validation_error"


def test_details_give_amounts_dates_and_roles_as_the_api_does_beside_the_raw_values(trail):
    auditor, certificate, started = trail
    events = lines(auditor.api.get("/v1/audit/events", params={"from": str(started)}))
    (issuance,) = [e for e in events if e["name"] == "CertificateIssued" and e["args"]["id"] == certificate["id"]]
    details = issuance["details"]
    assert details["face_value"] == certificate["amount"] == "1000000.00"
    assert details["face_value_minor"] == issuance["args"]["faceValue"] == 100_000_000
    assert details["maturity_date"] == certificate["maturity_date"]
    assert details["maturity_day"] == issuance["args"]["maturityDay"]
    assert date.fromisoformat(details["maturity_date"]) == date(1970, 1, 1) + timedelta(days=details["maturity_day"])
    assert (details["id"], details["obligor"], details["holder"]) == (
        certificate["id"],
        issuance["args"]["obligor"],
        issuance["args"]["holder"],
    )
    assert issuance["date"] == issuance["timestamp"][:10]
    roles = {e["details"]["role"]: e["details"]["role_code"] for e in events if e["name"] == "MemberRegistered"}
    assert roles == {"core_enterprise": 1, "supplier": 2}
    (limit,) = [e["details"] for e in events if e["name"] == "CreditLimitSet"]
    assert (limit["limit"], limit["limit_minor"]) == ("5000000.00", 500_000_000)
    # The contracts' own access roles, granted at deployment, are words too, beside their bytes32 ids.
    deployment = lines(auditor.api.get("/v1/audit/events", params={"from": "0", "to": str(started - 1)}))
    granted = {(e["contract"], e["details"]["role"]) for e in deployment if e["name"] == "RoleGranted"}
    assert {("ledger", "operator"), ("ledger", "settlement")} <= granted
    assert all(e["details"]["role_id"] == e["args"]["role"] for e in deployment if e["name"] == "RoleGranted")


def test_deposits_and_withdrawals_are_in_the_export_as_token_movements(trail, onboard, operator_api):
    auditor, _, started = trail
    bank = onboard("financier")
    assert operator_api.post("/v1/deposits", {"member": bank.address, "amount": "1250.50"}).status_code == 201
    assert operator_api.post("/v1/withdrawals", {"member": bank.address, "amount": "0.50"}).status_code == 201
    events = lines(auditor.api.get("/v1/audit/events", params={"from": str(started)}))
    moves = [e for e in events if e["contract"] == "token"]
    assert [e["name"] for e in moves] == ["Transfer", "Transfer"]
    zero = "0x" + "00" * 20
    assert [
        {key: e["details"][key] for key in ("movement", "from", "to", "amount", "amount_minor")} for e in moves
    ] == [
        {"movement": "deposit", "from": zero, "to": bank.address, "amount": "1250.50", "amount_minor": 125_050},
        {"movement": "withdrawal", "from": bank.address, "to": zero, "amount": "0.50", "amount_minor": 50},
    ]
    assert [e["args"]["value"] for e in moves] == [125_050, 50]
    balance = sum(Decimal(e["details"]["amount"]) * (1 if e["details"]["movement"] == "deposit" else -1) for e in moves)
    assert balance == Decimal(bank.api.get("/v1/balances").json()["balance"]) == Decimal("1250.00")


def test_a_financing_payment_is_in_the_export_and_cash_reconciles(trail, gateway, operator_key):
    from tests.api.financing_harness import Harness

    auditor, _, started = trail
    h = Harness(gateway, gateway.chain.record().url, operator_key)
    core, supplier, bank = h.core(), h.onboard("supplier"), h.onboard("financier")
    certificate_id = h.issue(core, supplier, "100000.00", days=90)["id"]
    accepted = h.finance(supplier, bank, certificate_id)
    events = lines(auditor.api.get("/v1/audit/events", params={"from": str(started)}))
    (sale,) = [e for e in events if e["name"] == "OfferAccepted" and e["args"]["id"] == certificate_id]
    assert (sale["details"]["price"], sale["details"]["face_value"]) == (accepted["price"], "100000.00")
    assert Decimal(sale["details"]["interest"]) == Decimal("100000.00") - Decimal(accepted["price"])
    (payment,) = [e for e in events if e["contract"] == "token" and e["tx_hash"] == sale["tx_hash"]]
    assert payment["details"]["movement"] == "transfer"
    assert (payment["details"]["from"], payment["details"]["to"]) == (bank.address, supplier.address)
    assert payment["details"]["amount"] == accepted["price"]
    # Every member's cash is the sum of its movements in the trail.
    for member in (bank, supplier):
        moved = Decimal("0.00")
        for e in events:
            if e["contract"] == "token":
                moved += Decimal(e["details"]["amount"]) * (
                    (e["details"]["to"] == member.address) - (e["details"]["from"] == member.address)
                )
        assert moved == h.balance(member)
