"""A method no operation takes is 405 with Allow; the document links each answer to the operations its ids lead to."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.conftest import Api, GatewayProcess


@pytest.fixture(scope="module")
def document(gateway: GatewayProcess) -> dict[str, Any]:
    schema: dict[str, Any] = httpx.get(f"{gateway.base_url}/openapi.json").json()
    return schema


def _operation(document: dict[str, Any], operation_id: str) -> tuple[str, dict[str, Any]]:
    for path, methods in document["paths"].items():
        for operation in methods.values():
            if operation["operationId"] == operation_id:
                return path, operation
    raise AssertionError(f"no operation {operation_id}")


def _resolve(body: Any, expression: str) -> Any:
    assert expression.startswith("$response.body#/"), expression
    for part in expression.removeprefix("$response.body#/").split("/"):
        body = body[int(part)] if isinstance(body, list) else body[part]
    return body


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PATCH", "/v1/certificates", "GET, HEAD, POST"),
        ("DELETE", "/v1/members", "GET, HEAD, POST"),
        ("PUT", "/v1/certificates/1", "GET, HEAD"),
        ("GET", "/v1/certificates/1/accept", "POST"),
        ("PATCH", "/v1/members/0x0000000000000000000000000000000000000001/api-keys", "DELETE, POST"),
        ("POST", "/healthz", "GET, HEAD"),
        # A concrete path before the template it also fits (the fuzzer's find: Allow named GET here, from
        # GET /v1/documents/{document_hash}).
        ("OPTIONS", "/v1/documents/verify", "POST"),
        ("GET", "/v1/documents/verify", "POST"),  # was 422, read as a download of the document "verify"
    ],
)
def test_a_method_no_operation_takes_is_405_naming_every_method_the_path_takes(
    gateway: GatewayProcess, operator_api: Api, method: str, path: str, allowed: str
) -> None:
    """Before: 405 without Allow; Starlette's own would have named only the first route of the path (GET of
    GET and POST /v1/members)."""
    for client in (operator_api.client, httpx.Client(base_url=gateway.base_url)):  # with a key and without
        response = client.request(method, path)
        assert response.status_code == 405, response.text
        assert response.headers["Allow"] == allowed
        assert response.headers["Content-Type"] == "application/problem+json"
        assert response.json()["code"] == "method_not_allowed"
        assert allowed in response.json()["detail"]


def test_writes_and_reads_link_to_the_operations_their_ids_lead_to(document: dict[str, Any]) -> None:
    _, issue = _operation(document, "issue_certificate")
    links = issue["responses"]["201"]["links"]
    for target in ("get_certificate", "accept_certificate", "split_certificate", "transfer_certificate"):
        assert links[target]["parameters"] == {"certificate_id": "$response.body#/certificates/0/id"}
    assert links["create_financing_request"]["operationId"] == "create_financing_request"
    _, listed = _operation(document, "list_certificates")
    assert listed["responses"]["200"]["links"]["get_provenance"]["parameters"] == {
        "certificate_id": "$response.body#/items/0/id"
    }
    _, offer = _operation(document, "create_offer")
    assert offer["responses"]["201"]["links"]["accept_offer"]["parameters"] == {"offer_id": "$response.body#/id"}
    _, request = _operation(document, "create_financing_request")
    assert request["responses"]["201"]["links"]["cancel_financing_request"]["parameters"] == {
        "request_id": "$response.body#/id"
    }
    _, member = _operation(document, "create_member")
    for target in ("get_member", "freeze_member", "rotate_api_key"):
        assert member["responses"]["201"]["links"][target]["parameters"] == {"address": "$response.body#/address"}
    # An operation answered 202 leads to the operation to poll, and to nothing its result may hold later.
    _, accept = _operation(document, "accept_certificate")
    assert accept["responses"]["202"]["links"] == {
        "get_operation": {"operationId": "get_operation", "parameters": {"operation_id": "$response.body#/id"}}
    }


def test_every_link_names_an_operation_and_fills_all_its_path_parameters(document: dict[str, Any]) -> None:
    count = 0
    for methods in document["paths"].values():
        for operation in methods.values():
            for status, response in operation["responses"].items():
                for name, link in response.get("links", {}).items():
                    _, target = _operation(document, link["operationId"])
                    path_parameters = {p["name"] for p in target.get("parameters", []) if p["in"] == "path"}
                    assert set(link["parameters"]) == path_parameters, (operation["operationId"], status, name)
                    assert status.startswith("2")
                    count += 1
    assert count > 300


def test_a_link_followed_from_a_real_answer_reaches_the_object(document, issued) -> None:
    _, supplier, certificate = issued()
    listed = supplier.api.get("/v1/certificates", params={"holder": supplier.address})
    assert listed.status_code == 200
    _, list_operation = _operation(document, "list_certificates")
    for target in ("get_certificate", "get_provenance", "verify_provenance"):
        link = list_operation["responses"]["200"]["links"][target]
        certificate_id = _resolve(listed.json(), link["parameters"]["certificate_id"])
        assert certificate_id == certificate["id"]
        path, _ = _operation(document, target)
        followed = supplier.api.get(path.replace("{certificate_id}", str(certificate_id)))
        assert followed.status_code == 200, followed.text
