"""Documents: upload, issue against an upload, check a file against the anchor, download, size limits."""

from __future__ import annotations

import hashlib
import os

from api.settings import GatewaySettings
from scf_chain.settings import Settings
from tests.api.conftest import ApiMember, maturity_in, new_document_hash, new_invoice_number

PDF = b"%PDF-1.7\n% invoice INV-DOC-1, 250000.00 CNY, due in 90 days\n" + os.urandom(64)


def upload(member: ApiMember, content: bytes, filename: str = "INV-DOC-1.pdf", content_type: str = "application/pdf"):
    return member.api.client.post("/v1/documents", files={"file": (filename, content, content_type)})


def sha256(content: bytes) -> str:
    return "0x" + hashlib.sha256(content).hexdigest()


def issue(core: ApiMember, supplier: ApiMember, **anchor: str):
    body = {
        "to": supplier.address,
        "amount": "250000.00",
        "maturity_date": maturity_in(90),
        "invoice_number": new_invoice_number(),
        **anchor,
    }
    return core.api.post("/v1/certificates", body)


def test_upload_stores_the_file_by_its_sha256_and_records_the_uploader(onboard, gateway):
    core = onboard("core_enterprise")
    content = PDF + b"upload"
    response = upload(core, content)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["document_hash"] == sha256(content)
    assert (body["size"], body["content_type"], body["filename"]) == (len(content), "application/pdf", "INV-DOC-1.pdf")
    assert response.headers["location"] == f"/v1/documents/{body['document_hash']}"
    stored = Settings(data_dir=gateway.data_dir).data_dir / "documents" / body["document_hash"]
    assert stored.read_bytes() == content

    again = upload(core, content, filename="../../etc/copy of INV-DOC-1.pdf", content_type="text/html; charset=x")
    assert again.status_code == 201
    assert again.json()["document_hash"] == body["document_hash"]
    assert again.json()["filename"] == "copy of INV-DOC-1.pdf"  # no directories
    assert again.json()["content_type"] == "text/html"


def test_empty_and_missing_files_are_refused(onboard):
    core = onboard("core_enterprise")
    empty = upload(core, b"")
    assert empty.status_code == 422 and empty.json()["code"] == "empty_document"
    missing = core.api.client.post("/v1/documents", data={"note": "no file"})
    assert missing.status_code == 422 and missing.json()["code"] == "validation_error"


def test_issue_against_an_uploaded_document_anchors_its_hash(onboard, operator_api):
    core, supplier = onboard("core_enterprise"), onboard("supplier")
    assert operator_api.put(f"/v1/credit-lines/{core.address}", {"limit": "1000000.00"}).status_code == 200
    content = PDF + b"issue"
    document_id = upload(core, content).json()["document_hash"]

    issued = issue(core, supplier, document_id=document_id)
    assert issued.status_code == 201, issued.text
    certificate = issued.json()["certificates"][0]
    assert certificate["document_hash"] == sha256(content)
    provenance = core.api.get(f"/v1/certificates/{certificate['id']}/provenance").json()
    assert provenance["issuance"]["document_hash"] == sha256(content)

    # The same document cannot back a second issuance.
    again = issue(core, supplier, document_id=document_id)
    assert again.status_code == 409 and again.json()["code"] == "document_already_used"


def test_issue_needs_exactly_one_anchor_and_only_the_callers_own_uploads(onboard, operator_api):
    core, other_core, supplier = onboard("core_enterprise"), onboard("core_enterprise"), onboard("supplier")
    assert operator_api.put(f"/v1/credit-lines/{core.address}", {"limit": "1000000.00"}).status_code == 200
    theirs = upload(other_core, PDF + b"not yours").json()["document_hash"]

    both = issue(core, supplier, document_hash=new_document_hash(), document_id=theirs)
    neither = issue(core, supplier)
    for response in (both, neither):
        assert response.status_code == 422 and response.json()["code"] == "validation_error"
        assert "exactly one of document_hash and document_id" in response.json()["detail"]

    for document_id in (theirs, "0x" + "42" * 32):
        refused = issue(core, supplier, document_id=document_id)
        assert refused.status_code == 422
        assert (refused.json()["code"], refused.json()["field"]) == ("unknown_document", "document_id")
    malformed = issue(core, supplier, document_id="INV-1")
    assert malformed.status_code == 422 and malformed.json()["field"] == "document_id"


def _anchored(onboard, operator_api, content: bytes) -> tuple[ApiMember, ApiMember, int, str]:
    core, supplier = onboard("core_enterprise"), onboard("supplier")
    assert operator_api.put(f"/v1/credit-lines/{core.address}", {"limit": "1000000.00"}).status_code == 200
    document_id = upload(core, content).json()["document_hash"]
    root = issue(core, supplier, document_id=document_id).json()["certificates"][0]["id"]
    assert supplier.api.post(f"/v1/certificates/{root}/accept").status_code == 200
    return core, supplier, root, document_id


def test_verify_says_whether_a_file_is_the_anchored_document(onboard, operator_api):
    content = PDF + b"verify"
    _, supplier, root, document_id = _anchored(onboard, operator_api, content)
    next_tier = onboard("supplier")
    moved = supplier.api.post(f"/v1/certificates/{root}/transfer", {"to": next_tier.address, "amount": "1000.00"})
    part = moved.json()["certificates"][1]["id"]

    # The next tier checks the invoice behind the part it was paid with.
    same = next_tier.api.client.post(
        "/v1/documents/verify", files={"file": ("invoice.pdf", content)}, data={"certificate_id": str(part)}
    )
    assert same.status_code == 200, same.text
    assert same.json()["matches"] is True
    assert same.json()["document_hash"] == same.json()["anchored_hash"] == document_id
    assert (same.json()["root_id"], same.json()["certificate_id"]) == (root, part)
    assert same.json()["indexed_block"] > 0

    forged = next_tier.api.client.post(
        "/v1/documents/verify", files={"file": ("invoice.pdf", content + b" ")}, data={"certificate_id": str(part)}
    )
    assert forged.status_code == 200
    assert forged.json()["matches"] is False
    assert forged.json()["anchored_hash"] == document_id and forged.json()["document_hash"] == sha256(content + b" ")

    stranger = onboard("supplier")
    hidden = stranger.api.client.post(
        "/v1/documents/verify", files={"file": ("invoice.pdf", content)}, data={"certificate_id": str(part)}
    )
    assert hidden.status_code == 404 and hidden.json()["code"] == "not_found"


def test_download_is_for_the_uploader_and_those_who_see_the_tree(onboard, operator_api):
    content = PDF + b"download"
    core, supplier, _, document_id = _anchored(onboard, operator_api, content)
    auditor, stranger = onboard("auditor"), onboard("supplier")

    for member in (core, supplier, auditor):
        response = member.api.get(f"/v1/documents/{document_id}")
        assert response.status_code == 200, (member.role, response.text)
        assert response.content == content
        assert response.headers["content-type"] == "application/pdf"
        assert 'filename="INV-DOC-1.pdf"' in response.headers["content-disposition"]
        assert response.headers["x-content-type-options"] == "nosniff"
    assert operator_api.get(f"/v1/documents/{document_id.removeprefix('0x').upper()}").content == content

    missing = stranger.api.get("/v1/documents/0x" + "42" * 32)
    assert stranger.api.get(f"/v1/documents/{document_id}").json() == missing.json()
    assert missing.status_code == 404
    assert stranger.api.get("/v1/documents/not-a-hash").status_code == 422

    # Not yet anchored: only its uploader may fetch it.
    draft = upload(core, b"draft contract", "draft.html", "text/html").json()["document_hash"]
    assert supplier.api.get(f"/v1/documents/{draft}").status_code == 404
    served = core.api.get(f"/v1/documents/{draft}")
    assert served.status_code == 200 and served.headers["content-type"] == "application/octet-stream"


def test_uploads_beyond_the_document_limit_are_413_while_json_bodies_keep_theirs(onboard, gateway):
    core = onboard("core_enterprise")
    limit = GatewaySettings(data_dir=gateway.data_dir).max_document_bytes
    assert limit == 10 * 1024 * 1024
    just_over = upload(core, b"x" * (limit + 1))
    assert just_over.status_code == 413 and just_over.json()["code"] == "document_too_large"
    far_over = upload(core, b"x" * (limit + 128 * 1024))
    assert far_over.status_code == 413 and far_over.json()["code"] == "body_too_large"
    at_limit = upload(core, b"y" * limit)
    assert at_limit.status_code == 201 and at_limit.json()["size"] == limit
    # The raised limit is for uploads only.
    big_json = core.api.post("/v1/certificates", {"invoice_number": "x" * (128 * 1024)})
    assert big_json.status_code == 413 and big_json.json()["code"] == "body_too_large"
