"""The published schema documents every operation for people and code generators, and rate limits answer 429."""

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from api.ratelimit import RateLimiter
from scf_chain.domain.types import CertificateStatusCode
from tests.api.conftest import Api, ApiMember, GatewayProcess

PROBLEM_REF = "#/components/schemas/Problem"


@pytest.fixture(scope="module")
def schema(gateway: GatewayProcess) -> dict[str, Any]:
    document: dict[str, Any] = httpx.get(f"{gateway.base_url}/openapi.json").json()
    return document


def _beside(gateway: GatewayProcess, data_dir: Path) -> dict[str, str]:
    """The environment of a second gateway, with its own data folder, on the first one's chain."""
    chain_port = str(urlsplit(gateway.env["SCF_RPC_URL"]).port)
    return {**gateway.env, "SCF_DATA_DIR": str(data_dir), "SCF_CHAIN_PORT": chain_port}


def _operations(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", operation)
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    ]


def test_every_operation_has_a_summary_errors_and_example_bodies(gateway):
    schema = httpx.get(f"{gateway.base_url}/openapi.json").json()
    assert httpx.get(f"{gateway.base_url}/docs").status_code == 200
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            where = f"{method.upper()} {path}"
            assert operation.get("summary"), where
            if path.startswith("/v1/"):
                assert "401" in operation["responses"], where
                problem = operation["responses"]["401"]["content"]["application/problem+json"]
                assert problem["schema"] == {"$ref": PROBLEM_REF}, where
                assert "code" in schema["components"]["schemas"]["Problem"]["properties"], where
            if method in ("post", "put") and "requestBody" in operation:
                # JSON bodies and multipart forms (file uploads) alike are models with examples.
                for media_type, content in operation["requestBody"]["content"].items():
                    assert media_type in ("application/json", "multipart/form-data"), where
                    ref = content["schema"]["$ref"]
                    model = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
                    assert model.get("examples"), f"{where} has no example body"


def test_bearer_scheme_is_published_so_the_docs_page_can_authorize(gateway):
    schema = httpx.get(f"{gateway.base_url}/openapi.json").json()
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


def test_token_bucket_refuses_beyond_the_burst_and_says_when_to_retry():
    limiter = RateLimiter(per_minute=60, burst=3)
    assert [limiter.acquire("key") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.acquire("key")
    assert 0 < wait <= 1.0
    assert limiter.acquire("other key") == 0.0


def test_a_key_over_its_rate_limit_gets_429_with_retry_after(gateway, tmp_path):
    from scf_chain.chain.keys import anvil_account
    from scf_chain.chain.local import free_port
    from tests.api.conftest import Api, GatewayProcess

    env = {**_beside(gateway, tmp_path), "SCF_RATE_LIMIT_PER_MINUTE": "6", "SCF_RATE_LIMIT_BURST": "3"}
    limited = GatewayProcess(f"http://127.0.0.1:{free_port()}", tmp_path, gateway.chain, env)
    limited.start()
    try:
        store = limited.open_store()
        api = Api(limited.base_url, store.create_api_key(anvil_account(0).address))
        store.close()
        statuses = [api.get("/v1/me").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        refused = api.get("/v1/me")
        assert refused.json()["code"] == "rate_limited"
        assert int(refused.headers["retry-after"]) >= 1
    finally:
        limited.stop()


def test_every_error_response_is_the_one_problem_schema(schema: dict[str, Any]) -> None:
    # Before, each error response carried its own inline copy, and five operations FastAPI's HTTPValidationError.
    assert "HTTPValidationError" not in str(schema)
    for where, operation in _operations(schema):
        for status, response in operation["responses"].items():
            if where == "GET /readyz":
                continue  # not ready is a health report, not a problem
            if int(status) >= 400:
                assert response["content"] == {"application/problem+json": {"schema": {"$ref": PROBLEM_REF}}}, (
                    f"{where} {status}"
                )
    problem = schema["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "code", "detail"}
    assert problem["additionalProperties"] is True  # problems may carry more, such as ledger_error


def test_every_operation_documents_what_its_guards_can_answer(schema: dict[str, Any]) -> None:
    for where, operation in _operations(schema):
        statuses = set(operation["responses"])
        parameters = operation.get("parameters", [])
        if operation.get("security"):
            assert {"401", "429"} <= statuses, where
        if any(parameter["in"] == "path" for parameter in parameters):
            assert {"404", "422"} <= statuses, where
        if where.startswith(("POST ", "PUT ")):
            assert {"409", "413", "422"} <= statuses, where
    for where in ("GET /v1/members/{address}", "GET /v1/credit-lines/{obligor}", "GET /v1/operations/{operation_id}"):
        method, path = where.split()
        assert "422" in schema["paths"][path][method.lower()]["responses"], where
    revoke = schema["paths"]["/v1/members/{address}/api-keys"]["delete"]["responses"]
    assert {"401", "403", "404", "422", "429"} <= set(revoke)  # operator only


def test_operation_ids_are_the_route_functions_short_names(schema: dict[str, Any]) -> None:
    ids = [operation["operationId"] for _, operation in _operations(schema)]
    assert len(ids) == len(set(ids))
    for operation_id in ids:
        assert re.fullmatch(r"[a-z]+(_[a-z]+)*", operation_id), operation_id
        assert "_v1_" not in operation_id and not operation_id.endswith(("_get", "_post", "_put")), operation_id
    by_route = {where: operation["operationId"] for where, operation in _operations(schema)}
    assert by_route["POST /v1/certificates/{certificate_id}/transfer"] == "transfer_certificate"
    assert by_route["POST /v1/certificates"] == "issue_certificate"
    assert by_route["POST /v1/offers/{offer_id}/accept"] == "accept_offer"
    assert by_route["GET /v1/me"] == "get_me"


def test_writes_declare_idempotency_key_and_prefer(schema: dict[str, Any]) -> None:
    for where, operation in _operations(schema):
        headers = {parameter["name"]: parameter for parameter in operation.get("parameters", [])}
        headers = {name: p for name, p in headers.items() if p["in"] == "header"}
        if where.startswith(("POST ", "PUT ")):
            assert headers["Idempotency-Key"]["schema"]["maxLength"] == 255, where
        else:
            assert "Idempotency-Key" not in headers, where
        # Prefer: respond-async is honoured by exactly the operations that can answer 202.
        assert ("Prefer" in headers) == ("202" in operation["responses"]), where
    transfer = schema["paths"]["/v1/certificates/{certificate_id}/transfer"]["post"]
    assert {p["name"] for p in transfer["parameters"]} >= {"certificate_id", "Idempotency-Key", "Prefer"}


def _examples(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("examples", "example"):
                found += [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, dict)]
            found += _examples(value)
    elif isinstance(node, list):
        for item in node:
            found += _examples(item)
    return found


def test_dated_examples_are_valid_on_the_day_they_are_read(schema: dict[str, Any], operator_api: Api) -> None:
    # Before, the offer example expired on 2026-07-01 and the issue example matured on a fixed date.
    today = date.fromisoformat(operator_api.get("/v1/me").json()["ledger_date"])
    examples = _examples(schema)
    maturities = [date.fromisoformat(example["maturity_date"]) for example in examples if "maturity_date" in example]
    expiries = [datetime.fromisoformat(example["expires_at"]) for example in examples if "expires_at" in example]
    assert maturities and expiries
    assert all(today < maturity <= date(today.year + 1, today.month, min(today.day, 28)) for maturity in maturities)
    assert all(expiry > datetime.now(UTC) for expiry in expiries)


def test_statuses_and_roles_are_enums_and_operations_are_typed(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]

    def enum_of(model: str, field: str) -> list[str]:
        ref = components[model]["properties"][field]["$ref"]
        return list(components[ref.rsplit("/", 1)[1]]["enum"])

    labels = [status.label for status in CertificateStatusCode if status is not CertificateStatusCode.NONE]
    assert enum_of("CertificateOut", "status") == labels
    assert enum_of("ProvenanceNode", "status") == labels
    assert enum_of("ObligationItem", "status") == labels
    assert set(enum_of("MemberOut", "role")) == {"operator", "core_enterprise", "supplier", "financier", "auditor"}
    assert set(enum_of("MeOut", "role")) >= {"operator"}
    assert enum_of("MemberOut", "status") == ["active", "frozen"]
    assert enum_of("OperationOut", "status") == ["submitted", "mined", "confirmed", "failed", "unconfirmed"]

    operation = components["OperationOut"]["properties"]
    assert {"$ref": PROBLEM_REF} in operation["problem"]["anyOf"]
    results = {option.get("$ref") for option in operation["result"]["anyOf"]}
    # Every write that can answer 202 has its synchronous answer among an operation's results.
    for where, described in _operations(schema):
        if "202" in described["responses"]:
            success = next(described["responses"][s] for s in ("200", "201") if s in described["responses"])
            assert success["content"]["application/json"]["schema"]["$ref"] in results, where


def test_an_interrupted_operation_reads_as_a_typed_problem(gateway: GatewayProcess, tmp_path: Path) -> None:
    from scf_chain.chain.keys import anvil_account
    from scf_chain.chain.local import free_port

    operator = anvil_account(0).address
    env = _beside(gateway, tmp_path)
    second = GatewayProcess(f"http://127.0.0.1:{free_port()}", tmp_path, gateway.chain, env)
    second.start()
    try:
        store = second.open_store()
        key = store.create_api_key(operator)
        unfinished = store.create_operation(operator, "transfer")
        store.close()
        second.restart()
        response = Api(second.base_url, key).get(f"/v1/operations/{unfinished.id}")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "failed"
        problem = body["problem"]
        assert (problem["status"], problem["code"]) == (503, "interrupted")
        assert problem["type"] and problem["title"] and problem["detail"].endswith(".")
    finally:
        second.stop()


def test_reads_with_the_chain_down_answer_only_documented_statuses(
    gateway: GatewayProcess, schema: dict[str, Any], issued: Callable[..., tuple[ApiMember, ApiMember, dict]]
) -> None:
    # Before, the reads that ask the chain (credit line, balance, obligations, offers, recourse) answered an
    # undocumented 503.
    core, supplier, certificate = issued()
    one = certificate["id"]
    reads = [
        (core.api, "/v1/credit-lines/{obligor}", f"/v1/credit-lines/{core.address}"),
        (supplier.api, "/v1/balances", "/v1/balances"),
        (core.api, "/v1/obligations", "/v1/obligations"),
        (supplier.api, "/v1/certificates/{certificate_id}/offers", f"/v1/certificates/{one}/offers"),
        (supplier.api, "/v1/certificates/{certificate_id}/recourse-claims", f"/v1/certificates/{one}/recourse-claims"),
        (supplier.api, "/v1/certificates/{certificate_id}", f"/v1/certificates/{one}"),
        (supplier.api, "/v1/certificates/{certificate_id}/provenance", f"/v1/certificates/{one}/provenance"),
        (supplier.api, "/v1/certificates/{certificate_id}/verify", f"/v1/certificates/{one}/verify"),
        (core.api, "/v1/settlements/{root_id}", f"/v1/settlements/{certificate['root_id']}"),
        (supplier.api, "/v1/me", "/v1/me"),
    ]
    answered: dict[str, int] = {}
    gateway.chain.stop()
    try:
        for api, template, url in reads:
            response = api.get(url)
            answered[template] = response.status_code
            if response.status_code == 503:
                assert response.json()["code"] == "chain_unavailable"
                assert int(response.headers["retry-after"]) > 0
    finally:
        gateway.chain.start()
    assert core.api.get("/readyz").status_code == 200
    assert answered["/v1/credit-lines/{obligor}"] == 503
    for template, status in answered.items():
        assert str(status) in schema["paths"][template]["get"]["responses"], (template, status)
