"""Schemathesis over the whole published OpenAPI, against a real gateway and chain of their own.

It acts as the operator and as one member of each role that has operations of its own, each
for a bounded time, and checks every response: no 5xx, a status and a content type that the
OpenAPI documents for the operation, a body that matches the schema documented for them, and
405 with an Allow header for a method no operation takes. Each role runs twice: the examples,
coverage and fuzzing phases, then the stateful phase alone, which follows the document's links
from one answer to the next request (an issued certificate's id to its accept, split and
transfer), so that it reaches ids that exist.
The gateway is its own (the fuzzer freezes members, rotates keys and moves money at random, which would upset the other
tests), with rate limits raised so that the fuzzer is never throttled. The ledger is seeded
with certificates, a financing request and an offer, so that ids the fuzzer reads lead on
to operations that do something.

Its time comes from tests.gauntlet.strength; SCF_FUZZ_SEED sets another seed.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from scf_chain.chain.keys import anvil_account
from scf_chain.chain.local import LocalChain, free_port
from tests import gauntlet
from tests.api.conftest import PROJECT_ROOT, GatewayProcess, maturity_in, new_document_hash, new_invoice_number

pytestmark = pytest.mark.gauntlet

# Seconds per role: the examples, coverage and fuzzing phases, then the stateful phase. Quick, the four roles
# take about two and a quarter minutes in all, with schemathesis's start-up; at full strength about five each.
FUZZ_SECONDS = gauntlet.strength(14, 150)
STATEFUL_SECONDS = gauntlet.strength(12, 120)
SEED = os.environ.get("SCF_FUZZ_SEED", "20261202")
CHECKS = ",".join(
    (
        "not_a_server_error",
        "response_schema_conformance",
        "status_code_conformance",
        "content_type_conformance",
        "unsupported_method",  # 405 for a method the path does not take
        "allow_header_conformance",  # and its Allow names the methods it does
    )
)
# The operator last: it freezes members and rotates their keys at random, which would leave the others
# nothing to try but 401s.
ROLES = ("core_enterprise", "supplier", "financier", "operator")


@dataclass
class FuzzedLedger:
    gateway: GatewayProcess
    keys: dict[str, str]
    addresses: dict[str, str]


def _ok(response: httpx.Response) -> dict:
    assert response.status_code in (200, 201), response.text
    return response.json()


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzedLedger]:
    data_dir = tmp_path_factory.mktemp("fuzz-gateway")
    chain = LocalChain(data_dir / "chain", port=free_port())
    record = chain.start()
    env = {
        **os.environ,
        "SCF_DATA_DIR": str(data_dir),
        "SCF_RPC_URL": record.url,
        "SCF_DEV_MODE": "true",
        "SCF_RATE_LIMIT_PER_MINUTE": "1000000",
        "SCF_RATE_LIMIT_BURST": "100000",
    }
    gateway = GatewayProcess(f"http://127.0.0.1:{free_port()}", data_dir, chain, env)
    try:
        gateway.start()
        store = gateway.open_store()
        try:
            keys = {"operator": store.create_api_key(anvil_account(0).address)}
        finally:
            store.close()
        addresses: dict[str, str] = {}
        _seed(gateway.base_url, keys, addresses)
        yield FuzzedLedger(gateway, keys, addresses)
    finally:
        gateway.stop()
        chain.stop()


def _seed(base_url: str, keys: dict[str, str], addresses: dict[str, str]) -> None:
    def client(role: str) -> httpx.Client:
        return httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {keys[role]}"}, timeout=60)

    operator = client("operator")
    for role in ROLES[:-1]:
        member = _ok(operator.post("/v1/members", json={"name": f"Fuzzed {role.replace('_', ' ')}", "role": role}))
        keys[role], addresses[role] = member["api_key"], member["address"]
    _ok(operator.put(f"/v1/credit-lines/{addresses['core_enterprise']}", json={"limit": "5000000.00"}))
    _ok(operator.post("/v1/deposits", json={"member": addresses["financier"], "amount": "1000000.00"}))
    core, supplier, financier = client("core_enterprise"), client("supplier"), client("financier")
    held = []
    for _ in range(3):
        issue = {
            "to": addresses["supplier"],
            "amount": "100000.00",
            "maturity_date": maturity_in(90),
            "document_hash": new_document_hash(),
            "invoice_number": new_invoice_number(),
        }
        certificate_id = _ok(core.post("/v1/certificates", json=issue))["certificates"][0]["id"]
        _ok(supplier.post(f"/v1/certificates/{certificate_id}/accept"))
        held.append(certificate_id)
    _ok(supplier.post(f"/v1/certificates/{held[0]}/financing-requests", json={}))
    expires_at = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    offer = {"certificate_id": held[0], "annual_rate": "0.0385", "day_count": 365, "expires_at": expires_at}
    response = financier.post("/v1/offers", json=offer)
    # The seed helps the fuzzer reach further; it is not what this test checks.
    assert response.status_code < 500, response.text


# The edges a random search reaches only by luck within its time: integers past 64 bits (SQLite's), amounts
# past Decimal's 28 digits, and numbers in forms the documented patterns do not allow.
EDGE_INTEGERS = (2**63, 2**64, 10**30, -(2**63) - 1)
EDGE_TEXTS = ("9" * 25, "7" + "0" * 28, "9" * 40 + ".99", "1e6", "NaN")


def _schema(document: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _options(schema: dict) -> list[dict]:
    return schema.get("anyOf", [schema])


def _path_value(name: str, schema: dict, address: str) -> str:
    if any(option.get("type") == "integer" for option in _options(schema)):
        return "1"
    if "hash" in name:
        return "0x" + "ab" * 32
    return address


def _edge_requests(document: dict, address: str) -> Iterator[tuple[str, str, dict, object]]:
    """(method, path, query, body) for every operation: each parameter and each top-level body field at
    each edge in turn, the rest left as the OpenAPI's example has them."""
    for template, item in document["paths"].items():
        for method, operation in item.items():
            parameters = operation.get("parameters", [])
            path = template
            for parameter in parameters:
                if parameter["in"] == "path":
                    value = _path_value(parameter["name"], parameter["schema"], address)
                    path = path.replace("{" + parameter["name"] + "}", value)
            content = operation.get("requestBody", {}).get("content", {})
            body_schema = (
                _schema(document, content["application/json"]["schema"]) if "application/json" in content else None
            )
            example = (body_schema or {}).get("examples", [None])[0]
            for parameter in parameters:
                edges = (*EDGE_INTEGERS, *EDGE_TEXTS) if parameter["in"] in ("query", "path") else ()
                for edge in edges:
                    if parameter["in"] == "path":
                        edged = template.replace("{" + parameter["name"] + "}", str(edge))
                        for other in parameters:
                            if other["in"] == "path" and other is not parameter:
                                value = _path_value(other["name"], other["schema"], address)
                                edged = edged.replace("{" + other["name"] + "}", value)
                        yield method, edged, {}, example
                    else:
                        yield method, path, {parameter["name"]: str(edge)}, example
            if isinstance(example, dict):
                for name, field in (body_schema or {}).get("properties", {}).items():
                    kinds = {option.get("type") for option in _options(field)}
                    edges = EDGE_INTEGERS if "integer" in kinds else EDGE_TEXTS if "string" in kinds else ()
                    for edge in edges:
                        yield method, path, {}, {**example, name: edge}


def test_no_edge_value_of_any_parameter_or_field_gives_a_5xx(fuzzed):
    """Before: offset=2**64 and from=2**63 were 500s (OverflowError in SQLite), a 29-digit limit or allowance
    a 500 with a reset connection (decimal.InvalidOperation)."""
    base_url = fuzzed.gateway.base_url
    document = httpx.get(f"{base_url}/openapi.json").json()
    requests = list(_edge_requests(document, fuzzed.addresses["core_enterprise"]))
    assert len(requests) > 300
    server_errors = []
    # Each role, so that every operation's own checks are passed by someone and its input is read.
    for role in ROLES:
        with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {fuzzed.keys[role]}"}, timeout=60) as c:
            for method, path, query, body in requests:
                try:
                    status = c.request(method.upper(), path, params=query, json=body).status_code
                except httpx.TransportError as exc:  # a 500 that reset the connection
                    status = f"{type(exc).__name__}"
                if not isinstance(status, int) or status >= 500:
                    server_errors.append(f"{role}: {method.upper()} {path} {query} {body} -> {status}")
    assert server_errors == [], "\n".join(server_errors)


@dataclass
class FuzzRun:
    """What one schemathesis run did, from its JSON report, its NDJSON events and its summary."""

    report: dict
    statuses: Counter[int] = field(default_factory=Counter)
    requests: int = 0
    linked_requests: int = 0  # requests whose parameters a link took from an earlier answer
    links_reached: set[str] = field(default_factory=set)  # links whose target answered past its guards
    links_followed: set[str] = field(default_factory=set)  # links whose target answered 2xx
    links_covered: int = 0  # as schemathesis counts them, whatever the target answered
    server_errors: list[str] = field(default_factory=list)


def _fuzz(
    base_url: str, key: str, phases: str, seconds: int, reports: Path
) -> tuple[subprocess.CompletedProcess[str], FuzzRun]:
    report, events = reports.with_suffix(".json"), reports.with_suffix(".ndjson")
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{base_url}/openapi.json",
        "--header",
        f"Authorization: Bearer {key}",
        "--checks",
        CHECKS,
        "--phases",
        phases,
        "--max-time",
        str(seconds),
        "--max-examples",
        "25",
        "--workers",
        "1",
        "--seed",
        SEED,
        "--request-timeout",
        "60",
        "--generation-database",
        "none",  # nothing written into the project; each run on its own seed
        "--report",
        "json,ndjson",
        "--report-json-path",
        str(report),
        "--report-ndjson-path",
        str(events),
    ]
    result = subprocess.run(
        command,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=seconds + 240,
        env={**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_HOOKS": "tests.api.docs.fuzz_hooks"},
    )
    run = FuzzRun(json.loads(report.read_text()) if report.exists() else {})
    covered = re.findall(r"API Links:\s+(\d+) covered", result.stdout)
    run.links_covered = max((int(count) for count in covered), default=0)
    if events.exists():
        _read_events(events, run)
    return result, run


def _read_events(events: Path, run: FuzzRun) -> None:
    # A scenario is reported as it goes and again when it ends: each case once, by its id.
    cases: dict[str, tuple[dict, dict | None]] = {}
    with events.open() as lines:
        for line in lines:
            if '"ScenarioFinished"' not in line:
                continue
            recorder = json.loads(line)["ScenarioFinished"]["recorder"]
            for case_id, case in recorder.get("cases", {}).items():
                cases[case_id] = (case, recorder.get("interactions", {}).get(case_id))
    for case, interaction in cases.values():
        response = (interaction or {}).get("response")
        if response is None:
            continue
        status = response["status_code"]
        run.requests += 1
        run.statuses[status] += 1
        if status >= 500:
            content = base64.b64decode(response.get("content", {}).get("$base64", "")).decode(errors="replace")
            run.server_errors.append(
                f"{interaction['request']['method']} {interaction['request']['uri']} -> {status}: {content[:300]}"
            )
        transition = case.get("transition")
        if case.get("is_transition_applied") and transition:
            run.linked_requests += 1
            if status not in (401, 403, 404):  # neither refused for the caller nor missing
                run.links_reached.add(transition["id"])
            if status < 300:
                run.links_followed.add(transition["id"])


def _failures_section(output: str) -> str:
    start = output.find("FAILURES")
    end = output.find("WARNINGS", start)
    return output[start:end] if start >= 0 else output[-8000:]


@pytest.mark.timeout((FUZZ_SECONDS + STATEFUL_SECONDS + 60) * len(ROLES) + 600)
def test_no_input_gives_a_5xx_and_every_response_matches_its_schema(fuzzed, tmp_path):
    found: dict[str, str] = {}
    runs: dict[tuple[str, str], FuzzRun] = {}
    for role in ROLES:
        for phases, seconds in (("examples,coverage,fuzzing", FUZZ_SECONDS), ("stateful", STATEFUL_SECONDS)):
            name = "stateful" if phases == "stateful" else "fuzzing"
            result, run = _fuzz(
                fuzzed.gateway.base_url, fuzzed.keys[role], phases, seconds, tmp_path / f"{role}-{name}"
            )
            report = run.report
            assert report, f"schemathesis gave no report as {role}:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
            if name == "fuzzing":
                assert report["operations"]["tested"] == report["operations"]["selected"] > 40
            else:
                assert report["phases"]["stateful"]["status"] == "success", report["phases"]
            if report["failures"] or report["errors"] or result.returncode != 0 or run.server_errors:
                found[f"{role} ({name})"] = _failures_section(result.stdout)[:12000] + "\n".join(run.server_errors)
            runs[role, name] = run
    statuses = sum((run.statuses for run in runs.values()), Counter())
    stateful = [run for (_, name), run in runs.items() if name == "stateful"]
    reached = set().union(*(run.links_reached for run in stateful))
    followed = set().union(*(run.links_followed for run in stateful))
    failures = [failure for run in runs.values() for failure in run.report.get("failures", [])]
    gauntlet.record(
        "api-fuzzing",
        {
            "roles": len(ROLES),
            "seconds per role": FUZZ_SECONDS + STATEFUL_SECONDS,
            "operations tested": max(run.report["operations"]["tested"] for run in runs.values()),
            "cases generated": sum(run.report["test_cases"]["generated"] for run in runs.values()),
            "requests": sum(run.requests for run in runs.values()),
            "stateful links covered (sum over roles)": sum(
                run.links_covered for (_, name), run in runs.items() if name == "stateful"
            ),
            "stateful links answered past the guards": len(reached),
            "stateful links followed to a 2xx": len(followed),
            "linked requests": sum(run.linked_requests for run in runs.values()),
            "responses by status": dict(sorted(statuses.items())),
            "5xx": sum(count for status, count in statuses.items() if status >= 500),
            "schema failures": sum(1 for failure in failures if "schema" in json.dumps(failure).lower()),
            "failures": len(failures),
        },
    )
    assert not found, "\n\n".join(f"as {role}:\n{text}" for role, text in found.items())
    # The links lead to ids that exist: reads and writes answer 2xx for ids taken from earlier answers, and a
    # certificate's own writes get past their guards (whether they then answer 2xx depends on the body the
    # fuzzer made up, and in a quick run on luck).
    assert any("-> POST /v1/certificates/{certificate_id}/" in link for link in reached), sorted(reached)
    assert len(followed) >= 5, sorted(followed)


def _example_requests(document: dict, address: str) -> Iterator[tuple[str, str, dict, object]]:
    """(method, path, operation, body) for every operation, its path naming ``address`` or id 1, its body the
    OpenAPI's example."""
    for template, item in document["paths"].items():
        for method, operation in item.items():
            path = template
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path":
                    value = _path_value(parameter["name"], parameter["schema"], address)
                    path = path.replace("{" + parameter["name"] + "}", value)
            content = operation.get("requestBody", {}).get("content", {})
            body = None
            if "application/json" in content:
                body = _schema(document, content["application/json"]["schema"]).get("examples", [None])[0]
            yield method.upper(), path, operation, body


@pytest.mark.timeout(600)
def test_with_the_chain_down_every_operation_answers_only_documented_statuses(fuzzed):
    """Each operation as each role, while the chain does not answer: 503 where the chain was needed, and only
    statuses the operation documents. Last in the module, as it stops the chain (started again after)."""
    base_url = fuzzed.gateway.base_url
    document = httpx.get(f"{base_url}/openapi.json").json()
    requests = list(_example_requests(document, fuzzed.addresses["core_enterprise"]))
    undocumented = []
    answered: Counter[int] = Counter()
    fuzzed.gateway.chain.stop()
    try:
        for role in ROLES:
            headers = {"Authorization": f"Bearer {fuzzed.keys[role]}"}
            with httpx.Client(base_url=base_url, headers=headers, timeout=60) as client:
                for method, path, operation, body in requests:
                    response = client.request(method, path, json=body)
                    answered[response.status_code] += 1
                    if str(response.status_code) not in operation["responses"]:
                        undocumented.append(f"{role}: {method} {path} -> {response.status_code} {response.text[:200]}")
    finally:
        fuzzed.gateway.chain.start()
    assert answered[503] > 20, answered
    assert undocumented == [], "\n".join(undocumented)
