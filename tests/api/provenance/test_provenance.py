"""Provenance of a certificate: who sees which part, the totals, the formats, and verification against the chain."""

from __future__ import annotations

import csv
import io
import itertools
import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from decimal import Decimal

import pytest
import sqlalchemy as sa

from api.gateway import Caller
from api.schemas import ProvenanceOut
from api.services.provenance import STATUS_COLOURS, load, to_json
from scf_chain.index.store import LedgerIndex
from tests import databases
from tests.api.conftest import Api, ApiMember, maturity_in, new_document_hash, new_invoice_number


@dataclass
class Story:
    """core issues 1,000,000 to t1; t1 pays t2 600,000; t2 splits that among t3, t4 and itself.

    root ── remainder (t1, 400,000)
         └─ part (t2, 600,000) ── t3_part (t3, 200,000)
                               ├─ t4_part (t4, 150,000)
                               └─ kept (t2, 250,000)
    """

    core: ApiMember
    t1: ApiMember
    t2: ApiMember
    t3: ApiMember
    t4: ApiMember
    root: int
    remainder: int
    part: int
    t3_part: int
    t4_part: int
    kept: int
    document_hash: str


_stories = itertools.count(1)


@pytest.fixture
def story(onboard, operator_api) -> Story:
    # Member names are unique on the ledger, and every test tells this story on the same chain.
    run = next(_stories)
    core = onboard("core_enterprise", f"Provenance Motors <Group> & Co. {run}")
    t1, t2, t3 = (onboard("supplier", f"Tier {n} Works {run}") for n in range(1, 4))
    t4 = onboard("supplier", f'Tier 4 <Works> & "Sons" {run}')
    assert operator_api.put(f"/v1/credit-lines/{core.address}", {"limit": "5000000.00"}).status_code == 200
    document_hash = new_document_hash()
    issued = core.api.post(
        "/v1/certificates",
        {
            "to": t1.address,
            "amount": "1000000.00",
            "maturity_date": maturity_in(120),
            "document_hash": document_hash,
            "invoice_number": "INV-PROV-1",
        },
    )
    assert issued.status_code == 201, issued.text
    root = issued.json()["certificates"][0]["id"]
    assert t1.api.post(f"/v1/certificates/{root}/accept").status_code == 200
    moved = t1.api.post(f"/v1/certificates/{root}/transfer", {"to": t2.address, "amount": "600000.00"})
    assert moved.status_code == 201, moved.text
    remainder, part = (c["id"] for c in moved.json()["certificates"])
    split = t2.api.post(
        f"/v1/certificates/{part}/split",
        {
            "parts": [
                {"to": t3.address, "amount": "200000.00"},
                {"to": t4.address, "amount": "150000.00"},
                {"to": t2.address, "amount": "250000.00"},
            ]
        },
    )
    assert split.status_code == 201, split.text
    t3_part, t4_part, kept = (c["id"] for c in split.json()["certificates"])
    return Story(core, t1, t2, t3, t4, root, remainder, part, t3_part, t4_part, kept, document_hash)


def ids(node: dict) -> list[int]:
    """Every id of a nested tree, depth first."""
    return [node["id"], *(i for child in node["children"] for i in ids(child))]


def find(node: dict, wanted: int) -> dict:
    if node["id"] == wanted:
        return node
    for child in node["children"]:
        try:
            return find(child, wanted)
        except KeyError:
            pass
    raise KeyError(wanted)


def provenance(member: ApiMember, certificate_id: int, **params: str) -> dict:
    response = member.api.get(f"/v1/certificates/{certificate_id}/provenance", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    ProvenanceOut.model_validate(body)  # exactly the published shape, no field missing or extra
    return body


def test_obligor_sees_the_whole_tree_with_names_issuance_and_conserved_totals(story: Story):
    body = provenance(story.core, story.root)
    assert body["certificate_id"] == story.root and body["indexed_block"] > 0 and body["partial"] is False
    issuance = body["issuance"]
    assert issuance["root_id"] == story.root
    assert issuance["obligor"] == {"address": story.core.address, "name": story.core.name}
    assert issuance["document_hash"] == story.document_hash
    assert issuance["invoice_number"] == "INV-PROV-1"
    assert (issuance["amount"], issuance["currency"], issuance["maturity_date"]) == (
        "1000000.00",
        "CNY",
        maturity_in(120),
    )
    assert issuance["tx_hash"].startswith("0x") and issuance["block_number"] > 0
    assert issuance["issued_at"].endswith("Z")

    assert [node["id"] for node in body["path"]] == [story.root]
    assert all("children" not in node for node in body["path"])
    tree = body["tree"]
    assert ids(tree) == [story.root, story.remainder, story.part, story.t3_part, story.t4_part, story.kept]
    assert tree["status"] == "split" and tree["holder"] is None
    assert tree["last_holder"] == {"address": story.t1.address, "name": story.t1.name}
    assert [child["id"] for child in tree["children"]] == [story.remainder, story.part]
    part = find(tree, story.part)
    assert (part["parent_id"], part["amount"], part["status"], part["hops"]) == (story.root, "600000.00", "split", 1)
    t3_part = find(tree, story.t3_part)
    assert t3_part["holder"] == {"address": story.t3.address, "name": story.t3.name}
    assert (t3_part["amount"], t3_part["status"], t3_part["hops"], t3_part["frozen"]) == (
        "200000.00",
        "active",
        2,
        False,
    )
    assert t3_part["children"] == [] and "hidden_children" not in t3_part
    assert t3_part["tx_hash"] == find(tree, story.kept)["tx_hash"]  # one split, one transaction
    assert t3_part["block_number"] >= part["block_number"]

    assert body["totals"] == {
        "face_value": "1000000.00",
        "active": "1000000.00",
        "financed": "0.00",
        "settled": "0.00",
        "overdue": "0.00",
        "pending": "0.00",
        "leaves_sum": "1000000.00",
        "conserved": True,
        "node_count": 6,
        "cancelled": "0.00",
        "hidden": "0.00",
    }


def test_every_read_shows_the_tree_as_the_index_has_it_now(story: Story):
    # The gateway keeps a built tree for the next read; a change anywhere in the issuance must show at once.
    first = provenance(story.core, story.root)
    again = provenance(story.core, story.root)
    assert {**again, "indexed_block": 0} == {**first, "indexed_block": 0}
    assert again["indexed_block"] >= first["indexed_block"]

    moved = story.t3.api.post(f"/v1/certificates/{story.t3_part}/transfer", {"to": story.t4.address})
    assert moved.status_code == 200, moved.text
    after = provenance(story.core, story.root)
    assert after["indexed_block"] > first["indexed_block"]
    t3_part = find(after["tree"], story.t3_part)
    assert t3_part["holder"] == {"address": story.t4.address, "name": story.t4.name} and t3_part["hops"] == 3
    assert provenance(story.core, story.part)["tree"]["children"][0]["holder"]["address"] == story.t4.address

    # A partial view is cut from the kept whole tree, and follows the change too: t3 now held it once.
    t4_view = provenance(story.t4, story.root)
    assert t4_view["partial"] is True
    assert ids(t4_view["tree"]) == [story.root, story.part, story.t3_part, story.t4_part]
    assert t4_view["totals"]["leaves_sum"] == "350000.00" and t4_view["totals"]["hidden"] == "650000.00"
    csv_rows = list(
        csv.DictReader(
            io.StringIO(story.core.api.get(f"/v1/certificates/{story.root}/provenance", params={"format": "csv"}).text)
        )
    )
    assert {row["id"]: row["holder_address"] for row in csv_rows}[str(story.t3_part)] == story.t4.address


def test_a_kept_tree_brought_up_to_date_equals_one_read_afresh(story: Story, gateway, operator_api, onboard):
    def transfer_back() -> None:
        moved = story.t4.api.post(f"/v1/certificates/{story.t4_part}/transfer", {"to": story.t3.address})
        assert moved.status_code == 200, moved.text

    def split_kept() -> None:
        parts = [{"to": story.t2.address, "amount": "50000.00"}, {"to": story.t4.address, "amount": "200000.00"}]
        split = story.t2.api.post(f"/v1/certificates/{story.kept}/split", {"parts": parts})
        assert split.status_code == 201, split.text

    def freeze() -> None:
        assert operator_api.post(f"/v1/certificates/{story.t3_part}/freeze").status_code == 200

    def register() -> None:  # the member names move on, the tree does not
        onboard("auditor", "Registered Meanwhile LLP")

    # Each read below finds the tree kept from the read before it and reads only what changed since.
    for certificate_id in (story.root, story.part):
        provenance(story.core, certificate_id)
    reader = LedgerIndex(gateway.index_database)
    obligor = Caller(address=story.core.address, name=story.core.name, role="core_enterprise", frozen=False)
    for change in (transfer_back, split_kept, freeze, register):
        change()
        for certificate_id in (story.root, story.part):
            served = provenance(story.core, certificate_id)
            with reader.snapshot() as snapshot:  # the same index file, read from scratch in this process
                afresh = json.loads(to_json(load(snapshot, obligor, certificate_id), None))
            for key in ("path", "tree", "totals", "partial"):
                assert served[key] == afresh[key], (change.__name__, certificate_id, key)
    tree = provenance(story.core, story.root)["tree"]
    assert len(ids(tree)) == 8 and find(tree, story.t3_part)["frozen"] is True
    assert find(tree, story.t4_part)["holder"]["address"] == story.t3.address


def test_a_certificate_below_the_root_shows_its_path_and_its_own_tree(story: Story):
    body = provenance(story.core, story.part)
    assert [node["id"] for node in body["path"]] == [story.root, story.part]
    assert all("children" not in node for node in body["path"])
    assert ids(body["tree"]) == [story.part, story.t3_part, story.t4_part, story.kept]
    assert body["issuance"]["root_id"] == story.root
    assert body["totals"]["face_value"] == "600000.00"
    assert body["totals"]["leaves_sum"] == "600000.00" and body["totals"]["conserved"] is True
    assert body["totals"]["node_count"] == 4


def test_a_holder_sees_the_path_to_what_it_holds_and_nothing_of_its_competitors(story: Story):
    # t3 holds one part: its own certificate in full, with the path above it.
    own = provenance(story.t3, story.t3_part)
    assert [node["id"] for node in own["path"]] == [story.root, story.part, story.t3_part]
    assert ids(own["tree"]) == [story.t3_part] and own["partial"] is False

    # From the root down, only the branch that leads to its certificate.
    root = provenance(story.t3, story.root)
    assert root["partial"] is True
    assert ids(root["tree"]) == [story.root, story.part, story.t3_part]
    assert root["tree"]["hidden_children"] == 1  # t1's remainder
    assert find(root["tree"], story.part)["hidden_children"] == 2  # t4's part and what t2 kept
    assert root["totals"]["leaves_sum"] == "200000.00"
    assert root["totals"]["hidden"] == "800000.00"
    assert root["totals"]["node_count"] == 3
    assert root["totals"]["conserved"] is True  # checked over the whole tree
    names = {node["last_holder"]["name"] for node in [*root["path"], root["tree"], *root["tree"]["children"]]}
    assert story.t4.name not in names

    # A sibling's certificate, and t1's remainder, do not exist for t3.
    for other in (story.t4_part, story.kept, story.remainder):
        response = story.t3.api.get(f"/v1/certificates/{other}/provenance")
        assert response.status_code == 404 and response.json()["code"] == "not_found"

    # t2 held the part: everything split from it is its business, t1's remainder is not.
    t2_view = provenance(story.t2, story.root)
    assert ids(t2_view["tree"]) == [story.root, story.part, story.t3_part, story.t4_part, story.kept]
    assert t2_view["tree"]["hidden_children"] == 1 and t2_view["totals"]["hidden"] == "400000.00"

    # t1 held the root, so it sees the whole tree.
    t1_view = provenance(story.t1, story.root)
    assert t1_view["partial"] is False and t1_view["totals"]["node_count"] == 6


def test_strangers_get_the_same_404_as_for_a_missing_certificate(story: Story, onboard):
    stranger = onboard("supplier")
    other_core = onboard("core_enterprise")
    missing = stranger.api.get("/v1/certificates/999999999/provenance")
    assert missing.status_code == 404
    for member in (stranger, other_core):
        for path in (f"/v1/certificates/{story.root}/provenance", f"/v1/certificates/{story.part}/verify"):
            response = member.api.get(path)
            assert response.status_code == 404
            assert response.json() == missing.json()
    for format in ("csv", "svg"):
        assert (
            stranger.api.get(f"/v1/certificates/{story.root}/provenance", params={"format": format}).status_code == 404
        )


def test_auditors_and_the_operator_see_everything(story: Story, onboard, operator_api):
    auditor = onboard("auditor")
    body = provenance(auditor, story.root)
    assert body["partial"] is False and body["totals"]["node_count"] == 6
    response = operator_api.get(f"/v1/certificates/{story.t4_part}/provenance")
    assert response.status_code == 200
    assert [node["id"] for node in response.json()["path"]] == [story.root, story.part, story.t4_part]


def test_a_financier_sees_what_it_was_asked_to_finance_and_nothing_else(story: Story, onboard):
    asked, other = onboard("financier", "Asked Bank"), onboard("financier", "Other Bank")
    request = story.t3.api.post(f"/v1/certificates/{story.t3_part}/financing-requests", {"financiers": [asked.address]})
    assert request.status_code == 201, request.text
    body = provenance(asked, story.t3_part)
    assert [node["id"] for node in body["path"]] == [story.root, story.part, story.t3_part]
    assert ids(provenance(asked, story.root)["tree"]) == [story.root, story.part, story.t3_part]
    assert asked.api.get(f"/v1/certificates/{story.t4_part}/provenance").status_code == 404
    assert other.api.get(f"/v1/certificates/{story.t3_part}/provenance").status_code == 404


def test_conservation_counts_pending_and_cancelled_issuances(onboard, operator_api):
    core, supplier = onboard("core_enterprise"), onboard("supplier")
    assert operator_api.put(f"/v1/credit-lines/{core.address}", {"limit": "100000.00"}).status_code == 200
    body = {"to": supplier.address, "amount": "1234.56", "maturity_date": maturity_in(30)}
    pending = core.api.post(
        "/v1/certificates",
        {**body, "document_hash": new_document_hash(), "invoice_number": new_invoice_number()},
    ).json()
    cancelled = core.api.post(
        "/v1/certificates",
        {**body, "document_hash": new_document_hash(), "invoice_number": new_invoice_number()},
    ).json()
    pending_id, cancelled_id = pending["certificates"][0]["id"], cancelled["certificates"][0]["id"]
    assert supplier.api.post(f"/v1/certificates/{cancelled_id}/reject").status_code == 200

    totals = provenance(core, pending_id)["totals"]
    assert (totals["pending"], totals["active"], totals["leaves_sum"], totals["conserved"]) == (
        "1234.56",
        "0.00",
        "1234.56",
        True,
    )
    totals = provenance(supplier, cancelled_id)["totals"]
    assert (totals["cancelled"], totals["leaves_sum"], totals["conserved"]) == ("1234.56", "0.00", True)


def test_csv_has_one_row_per_certificate_with_depth_and_names(story: Story):
    response = story.core.api.get(f"/v1/certificates/{story.part}/provenance", params={"format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert int(response.headers["x-indexed-block"]) > 0
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert list(rows[0])[:11] == [
        "id",
        "parent_id",
        "depth",
        "holder_name",
        "holder_address",
        "amount",
        "status",
        "hops",
        "tx_hash",
        "block_number",
        "created_at",
    ]
    assert [int(row["id"]) for row in rows] == [story.root, story.part, story.t3_part, story.t4_part, story.kept]
    assert [int(row["depth"]) for row in rows] == [0, 1, 2, 2, 2]
    assert rows[0]["parent_id"] == "" and rows[0]["holder_name"] == "" and rows[0]["holder_address"] == ""
    assert rows[0]["last_holder_name"] == story.t1.name
    t4_row = rows[3]
    assert (t4_row["holder_name"], t4_row["holder_address"], t4_row["amount"], t4_row["status"]) == (
        story.t4.name,
        story.t4.address,
        "150000.00",
        "active",
    )
    assert sum(Decimal(row["amount"]) for row in rows[2:]) == Decimal("600000.00")
    json_tree = provenance(story.core, story.part)["tree"]
    assert t4_row["tx_hash"] == find(json_tree, story.t4_part)["tx_hash"]
    assert t4_row["created_at"] == find(json_tree, story.t4_part)["created_at"]


def test_csv_neutralises_names_a_spreadsheet_would_run(onboard, operator_api):
    core = onboard("core_enterprise")
    supplier = onboard("supplier", '=HYPERLINK("http://evil.example")')
    assert operator_api.put(f"/v1/credit-lines/{core.address}", {"limit": "100000.00"}).status_code == 200
    issued = core.api.post(
        "/v1/certificates",
        {
            "to": supplier.address,
            "amount": "10.00",
            "maturity_date": maturity_in(),
            "document_hash": new_document_hash(),
            "invoice_number": new_invoice_number(),
        },
    ).json()
    response = core.api.get(f"/v1/certificates/{issued['certificates'][0]['id']}/provenance", params={"format": "csv"})
    (row,) = list(csv.DictReader(io.StringIO(response.text)))
    assert row["holder_name"] == '\'=HYPERLINK("http://evil.example")'


def test_svg_draws_every_certificate_escaped_and_coloured_by_status(story: Story):
    response = story.core.api.get(f"/v1/certificates/{story.part}/provenance", params={"format": "svg"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    assert int(response.headers["x-indexed-block"]) > 0
    svg = ET.fromstring(response.text)  # noqa: S314 - our own output; well-formed, despite '<Works> & "Sons"' in a name
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    texts = " ".join(t.text or "" for t in svg.iter("{http://www.w3.org/2000/svg}text"))
    for certificate_id in (story.root, story.part, story.t3_part, story.t4_part, story.kept):
        assert f"#{certificate_id} ·" in texts
    assert story.t4.name in texts and "150,000.00 CNY" in texts
    boxes = [r for r in svg.iter("{http://www.w3.org/2000/svg}rect") if r.get("width") == "210"]
    assert len(boxes) == 5
    assert {r.get("fill") for r in boxes} == {STATUS_COLOURS["active"][0], STATUS_COLOURS["split"][0]}
    assert len(list(svg.iter("{http://www.w3.org/2000/svg}path"))) == 4  # root-part, then part to its three parts
    assert "Tier 4 &lt;Works&gt; &amp; &quot;Sons&quot;" in response.text


def test_unknown_format_is_a_validation_problem(story: Story):
    response = story.core.api.get(f"/v1/certificates/{story.root}/provenance", params={"format": "pdf"})
    assert response.status_code == 422 and response.json()["code"] == "validation_error"


def test_verify_agrees_node_by_node_with_the_chain(story: Story, onboard):
    response = story.core.api.get(f"/v1/certificates/{story.root}/verify")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["certificate_id"] == story.root and body["verified"] is True
    assert body["block_number"] == body["indexed_block"] > 0
    assert [node["id"] for node in body["nodes"]] == sorted(
        [story.root, story.remainder, story.part, story.t3_part, story.t4_part, story.kept]
    )
    assert all(node["matches"] and node["mismatches"] == [] for node in body["nodes"])
    assert {"holder", "amount", "parent_id", "status"} <= set(body["fields"])

    # A holder verifies what it may see: the path to its part.
    mine = story.t3.api.get(f"/v1/certificates/{story.root}/verify").json()
    assert [node["id"] for node in mine["nodes"]] == [story.root, story.part, story.t3_part]


_READ_PART = sa.text("SELECT holder, face_value FROM certificates WHERE id = :id")
_WRITE_PART = sa.text("UPDATE certificates SET holder = :holder, face_value = :face WHERE id = :id")


def test_verify_catches_an_index_that_was_tampered_with(story: Story, gateway):
    db = databases.engine(gateway.index_database)
    try:
        with db.connect() as connection:
            (real_holder, real_face) = connection.execute(_READ_PART, {"id": story.t4_part}).one()
        with db.begin() as connection:
            connection.execute(_WRITE_PART, {"holder": story.t3.address, "face": 16000000, "id": story.t4_part})
        body = story.core.api.get(f"/v1/certificates/{story.part}/verify").json()
        assert body["verified"] is False
        bad = [node for node in body["nodes"] if not node["matches"]]
        assert [node["id"] for node in bad] == [story.t4_part]
        assert {m["field"]: (m["index"], m["chain"]) for m in bad[0]["mismatches"]} == {
            "holder": (story.t3.address, story.t4.address),
            "amount": ("160000.00", "150000.00"),
        }
        # The provenance shows what the index says, and its conservation check no longer holds.
        assert provenance(story.core, story.part)["totals"]["conserved"] is False
    finally:
        with db.begin() as connection:
            connection.execute(_WRITE_PART, {"holder": real_holder, "face": real_face, "id": story.t4_part})
        db.dispose()
    assert story.core.api.get(f"/v1/certificates/{story.part}/verify").json()["verified"] is True


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/certificates/1/provenance"),
        ("GET", "/v1/certificates/1/verify"),
        ("POST", "/v1/documents"),
        ("POST", "/v1/documents/verify"),
        ("GET", "/v1/documents/0x" + "ab" * 32),
        ("GET", "/v1/audit/events"),
    ],
)
def test_audit_endpoints_need_an_api_key(gateway, method, path):
    response = Api(gateway.base_url, None).client.request(method, path)
    assert response.status_code == 401 and response.json()["code"] == "unauthorized"
