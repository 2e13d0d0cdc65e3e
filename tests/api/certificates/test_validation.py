"""Malformed input is a 422 problem naming the field, and changes nothing."""

import json

import httpx
import pytest

from tests.api.conftest import maturity_in, new_document_hash, new_invoice_number


def _issue_body(receiver, **overrides):
    body = {
        "to": receiver,
        "amount": "100.00",
        "maturity_date": maturity_in(),
        "document_hash": new_document_hash(),
        "invoice_number": new_invoice_number(),
    }
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
        # Exactly the documented form ^\d+(\.\d{1,2})?$: no exponent, sign, spaces, NaN or Infinity.
        ({"amount": "1e6"}, "amount"),
        ({"amount": "1E2"}, "amount"),
        ({"amount": " 5"}, "amount"),
        ({"amount": "5 "}, "amount"),
        ({"amount": "5."}, "amount"),
        ({"amount": ".5"}, "amount"),
        ({"amount": "+5"}, "amount"),
        ({"amount": "NaN"}, "amount"),
        ({"amount": "Infinity"}, "amount"),
        ({"amount": "1.000"}, "amount"),
        ({"amount": "\u0661\u0662"}, "amount"),  # Arabic-Indic digits, which Decimal would read as 12
        ({"to": "0x1234"}, "to"),
        ({"to": "not-an-address"}, "to"),
        ({"maturity_date": "2001-01-01"}, "maturity_date"),
        ({"maturity_date": maturity_in(366)}, "maturity_date"),
        ({"maturity_date": "31/12/2026"}, "maturity_date"),
        ({"document_hash": "0x1234"}, "document_hash"),
        ({"invoice_number": ...}, "invoice_number"),
        ({"invoice_number": ""}, "invoice_number"),
        ({"invoice_number": "   "}, "invoice_number"),
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
    assert broken.status_code == 422 and broken.json()["code"] == "invalid_json"
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


# Amounts: exactly the documented form, exact at any size, 422 beyond the ledger's range


@pytest.mark.parametrize("text", ["1e6", "1E2", " 5", "5.", "+5", "NaN", "Infinity", "-0.00", "1.000"])
def test_limit_and_allowance_accept_only_the_documented_form(onboard, operator_api, text):
    core, financier = onboard("core_enterprise"), onboard("financier")
    limit = operator_api.put(f"/v1/credit-lines/{core.address}", {"limit": text})
    assert limit.status_code == 422, limit.text
    assert limit.json()["field"] == "limit"
    allowance = financier.api.put("/v1/allowance", {"amount": text})
    assert allowance.status_code == 422, allowance.text
    assert allowance.json()["field"] == "amount"


@pytest.mark.parametrize(
    "text", ["70000000000000000000000000000", "92446390486373101659157307038", "9" * 80, "9" * 5000]
)
def test_huge_limit_and_allowance_are_422_not_500(onboard, operator_api, text):
    # Before: Decimal arithmetic past 28 digits raised InvalidOperation, a 500 and a reset connection.
    core, financier = onboard("core_enterprise"), onboard("financier")
    limit = operator_api.put(f"/v1/credit-lines/{core.address}", {"limit": text})
    assert limit.status_code == 422, limit.text
    assert limit.json()["code"] == "validation_error" and limit.json()["field"] == "limit"
    allowance = financier.api.put("/v1/allowance", {"amount": text})
    assert allowance.status_code == 422, allowance.text
    assert allowance.json()["code"] == "validation_error" and allowance.json()["field"] == "amount"
    assert operator_api.get(f"/v1/credit-lines/{core.address}").json()["limit"] == "0.00"


def test_the_largest_credit_limit_and_allowance_are_the_ledgers_largest_amount(onboard, operator_api):
    largest = "184467440737095516.15"  # 2**64 - 1 fen, as for face values
    core, financier = onboard("core_enterprise"), onboard("financier")
    response = operator_api.put(f"/v1/credit-lines/{core.address}", {"limit": largest})
    assert response.status_code == 200, response.text
    assert operator_api.get(f"/v1/credit-lines/{core.address}").json()["limit"] == largest
    assert financier.api.put("/v1/allowance", {"amount": largest}).status_code == 200
    assert financier.api.get("/v1/balances").json()["allowance"] == largest
    one_more = operator_api.put(f"/v1/credit-lines/{core.address}", {"limit": "184467440737095516.16"})
    assert one_more.status_code == 422 and one_more.json()["field"] == "limit"
    assert largest in one_more.json()["detail"]


# Query parameters and path ids: bounded in the schema, 422 beyond


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/v1/audit/events", {"from": "9223372036854775808"}, "from"),
        ("/v1/audit/events", {"to": "99999999999999999999999"}, "to"),
        ("/v1/certificates", {"offset": "99999999999999999999"}, "offset"),
        ("/v1/certificates", {"offset": str(2**63)}, "offset"),
        ("/v1/financing-requests", {"certificate_id": str(2**64)}, "certificate_id"),
    ],
)
def test_integers_beyond_64_bits_in_queries_are_422(operator_api, path, params, field):
    # Before: OverflowError at the SQLite layer, a 500 and a stack trace in the log.
    response = operator_api.get(path, params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["field"] == field


def test_the_largest_block_number_is_a_valid_bound(operator_api):
    response = operator_api.get("/v1/audit/events", params={"from": str(2**63 - 1)})
    assert response.status_code == 200, response.text
    assert response.text == ""


def test_every_numeric_parameter_has_bounds_in_the_schema(gateway):
    document = httpx.get(f"{gateway.base_url}/openapi.json").json()
    unbounded = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                schema = parameter["schema"]
                for option in schema.get("anyOf", [schema]):
                    if option.get("type") == "integer" and not {"minimum", "maximum"} <= option.keys():
                        unbounded.append(f"{method.upper()} {path} {parameter['name']}")
    # And every integer field of a request body, at any depth: bounded, or one of a few values.
    schemas = document["components"]["schemas"]
    for name, schema in schemas.items():
        for field, definition in schema.get("properties", {}).items():
            for option in definition.get("anyOf", [definition]):
                bounded = {"minimum", "maximum"} <= option.keys() or "enum" in option or "const" in option
                if option.get("type") == "integer" and name in _request_schemas(document) and not bounded:
                    unbounded.append(f"{name}.{field}")
    assert unbounded == []


def _request_schemas(document):
    """The names of the schemas that requests carry, and of those they contain."""
    schemas, names = document["components"]["schemas"], set()
    pending = [
        c["schema"]
        for item in document["paths"].values()
        for op in item.values()
        for c in op.get("requestBody", {}).get("content", {}).values()
    ]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            if "$ref" in node:
                name = node["$ref"].rsplit("/", 1)[1]
                if name not in names:
                    names.add(name)
                    pending.append(schemas[name])
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return names


# Bodies: JSON whatever the content type; malformed JSON located by line and column


@pytest.mark.parametrize("content_type", [None, "application/x-www-form-urlencoded", "text/plain"])
def test_a_json_body_is_read_as_json_whatever_its_content_type(issued, onboard, content_type):
    # Before: 422 "Input should be a valid dictionary", as for the README's own curl example (curl -d).
    _, supplier, certificate = issued()
    receiver = onboard("supplier")
    headers = {"content-type": content_type} if content_type else {}
    body = json.dumps({"to": receiver.address, "amount": "250.00"}).encode()
    if content_type is None:
        # httpx sends no content type for raw bytes without one.
        assert "content-type" not in supplier.api.client.build_request("POST", "/", content=body).headers
    response = supplier.api.client.post(f"/v1/certificates/{certificate['id']}/transfer", content=body, headers=headers)
    assert response.status_code == 201, response.text  # a part moved: a new certificate
    assert [(c["holder"], c["amount"]) for c in response.json()["certificates"]][-1] == (receiver.address, "250.00")


def test_an_upload_keeps_its_form(onboard):
    core = onboard("core_enterprise")
    response = core.api.client.post("/v1/documents", files={"file": ("invoice.pdf", b"%PDF-1.7 invoice")})
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("content", "line", "column"),
    [
        (b"{not json", 1, 2),
        (b'{\n  "name": "Acme",\n  "role": \n}', 4, 1),
        (b'{"name": "Acme", "role": "supplier",}', 1, 37),
        (b'{"name": "Acme\xff"}', 1, 15),  # not UTF-8: was a 400 "There was an error parsing the body"
        (b"", None, None),
    ],
)
def test_malformed_json_is_a_problem_naming_line_and_column(operator_api, content, line, column):
    response = operator_api.client.post("/v1/members", content=content, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    if line is None:  # an empty body is a missing one, not malformed JSON
        assert problem["code"] == "validation_error"
        return
    assert problem["code"] == "invalid_json"
    assert f"line {line}, column {column}" in problem["detail"]
    assert (problem["line"], problem["column"]) == (line, column)
    assert "field" not in problem


def test_a_number_of_thousands_of_digits_is_malformed_json(operator_api):
    # Before: 400 "There was an error parsing the body" (Python's limit on the digits of an int), undocumented.
    content = b'{"name": "Acme", "role": ' + b"9" * 5000 + b"}"
    response = operator_api.client.post("/v1/members", content=content, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_json"
    assert "field" not in response.json()


# Freezes that change nothing send nothing


def _events_named(operator_api, name, **args):
    # Every page of the export: the suite's shared gateway holds more events than one page.
    events, params = [], {"limit": 1000}
    while True:
        response = operator_api.get("/v1/audit/events", params=params)
        events += [json.loads(line) for line in response.text.splitlines()]
        if "X-Next-Cursor" not in response.headers:
            break
        params = {"limit": 1000, "after": response.headers["X-Next-Cursor"]}
    return [e for e in events if e["name"] == name and all(e["args"].get(k) == v for k, v in args.items())]


def test_freezing_a_frozen_member_is_409_and_sends_nothing(onboard, operator_api):
    supplier = onboard("supplier")
    unfreeze = operator_api.post(f"/v1/members/{supplier.address}/unfreeze")
    assert unfreeze.status_code == 409, unfreeze.text
    assert unfreeze.json()["code"] == "member_not_frozen"
    assert operator_api.post(f"/v1/members/{supplier.address}/freeze").status_code == 200
    again = operator_api.post(f"/v1/members/{supplier.address}/freeze")
    assert again.status_code == 409, again.text
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["code"] == "member_already_frozen"
    assert supplier.name in again.json()["detail"]
    assert len(_events_named(operator_api, "MemberFrozen", account=supplier.address)) == 1
    assert _events_named(operator_api, "MemberUnfrozen", account=supplier.address) == []
    assert operator_api.post(f"/v1/members/{supplier.address}/unfreeze").status_code == 200
    assert operator_api.post(f"/v1/members/{supplier.address}/unfreeze").json()["code"] == "member_not_frozen"
    assert len(_events_named(operator_api, "MemberUnfrozen", account=supplier.address)) == 1


def test_freezing_a_frozen_certificate_is_409_and_sends_nothing(issued, operator_api):
    _, _, certificate = issued()
    path = f"/v1/certificates/{certificate['id']}"
    unfreeze = operator_api.post(f"{path}/unfreeze")
    assert unfreeze.status_code == 409, unfreeze.text
    assert unfreeze.json()["code"] == "certificate_not_frozen"
    assert operator_api.post(f"{path}/freeze").status_code == 200
    again = operator_api.post(f"{path}/freeze")
    assert again.status_code == 409, again.text
    assert again.json()["code"] == "certificate_already_frozen"
    assert len(_events_named(operator_api, "CertificateFrozen", id=certificate["id"])) == 1
    assert _events_named(operator_api, "CertificateUnfrozen", id=certificate["id"]) == []
    assert operator_api.post(f"{path}/unfreeze").status_code == 200
    assert operator_api.post(f"{path}/unfreeze").json()["code"] == "certificate_not_frozen"
    assert len(_events_named(operator_api, "CertificateUnfrozen", id=certificate["id"])) == 1


def test_an_unreadable_upload_form_is_422(onboard):
    # Before: 400 "Missing boundary in multipart.", a status the OpenAPI does not document.
    core = onboard("core_enterprise")
    headers = {"content-type": "multipart/form-data"}  # no boundary
    response = core.api.client.post("/v1/documents", content=b"garbage", headers=headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "invalid_form"
    assert "boundary" in response.json()["detail"]
