"""A Python client generated from the served ``/openapi.json`` drives the gateway, errors included.

openapi-python-client (a dev dependency) writes the client into a temporary folder; the
test imports it from there and uses it as an integrator would, against the real gateway.
The client is made with ``raise_on_unexpected_status``, so a status the schema does not
document for an operation fails the test, and every body is parsed into its typed model.
"""

from __future__ import annotations

import importlib
import itertools
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from scf_chain.domain.money import today_utc
from tests.api.conftest import GatewayProcess, new_document_hash

PACKAGE = "scf_gateway_client"
GENERATOR = Path(sys.executable).with_name("openapi-python-client")

_names = itertools.count()


@pytest.fixture(scope="module")
def generated(gateway: GatewayProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    folder = tmp_path_factory.mktemp("generated-client")
    spec = folder / "openapi.json"
    spec.write_text(httpx.get(f"{gateway.base_url}/openapi.json").text)
    config = folder / "config.yaml"
    config.write_text(f"package_name_override: {PACKAGE}\npost_hooks: []\n")
    result = subprocess.run(
        [
            GENERATOR,
            "generate",
            "--path",
            spec,
            "--config",
            config,
            "--output-path",
            folder / PACKAGE,
            "--meta",
            "none",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # The generator warns about, and leaves out, whatever part of a schema it cannot use.
    assert "warning" not in output.lower(), output
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def _module(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.{name}")


def _settled(poll: Callable[[], Any], models: Any) -> Any:
    """The operation once confirmed or failed, polled a bounded number of times."""
    for _ in range(600):
        operation = poll()
        if operation.status in (models.OperationStatus.CONFIRMED, models.OperationStatus.FAILED):
            return operation
        time.sleep(0.05)
    raise AssertionError(f"the operation is still {operation.status}")


def test_the_generated_client_has_a_function_per_operation_and_one_problem_model(generated: ModuleType) -> None:
    models = Path(generated.__file__).parent / "models"
    # Before, 264 of 323 models were copies of the problem schema, one for each error response of each operation.
    copies = [path.name for path in models.glob("*.py") if re.search(r"(response|error)_\d{3}$", path.stem)]
    assert copies == []
    assert {"problem.py", "problem_field_error.py"} <= {path.name for path in models.glob("*.py")}
    assert len(list(models.glob("*.py"))) < 100
    for name in ("certificates.issue_certificate", "certificates.transfer_certificate", "financing.accept_offer"):
        assert callable(_module(f"api.{name}").sync_detailed), name


def test_a_generated_client_issues_accepts_and_transfers_and_reads_its_errors(
    generated: ModuleType, gateway: GatewayProcess, operator_key: str
) -> None:
    models = _module("models")
    members = {name: _module(f"api.members.{name}") for name in ("create_member", "get_me")}
    set_credit_limit = _module("api.credit_lines.set_credit_limit")
    certificates = {
        name: _module(f"api.certificates.{name}")
        for name in ("issue_certificate", "accept_certificate", "transfer_certificate", "get_certificate")
    }
    get_operation = _module("api.operations.get_operation")
    cancel_financing_request = _module("api.financing.cancel_financing_request")

    def client(token: str) -> Any:
        return generated.AuthenticatedClient(base_url=gateway.base_url, token=token, raise_on_unexpected_status=True)

    operator = client(operator_key)
    assert members["get_me"].sync(client=operator).role is models.Role.OPERATOR

    def onboard(role: Any) -> Any:
        body = models.MemberCreate(name=f"Generated {role.value} {next(_names)} {time.time_ns()}", role=role)
        created = members["create_member"].sync(client=operator, body=body)
        assert isinstance(created, models.MemberCreated), created
        assert created.status is models.MemberStatus.ACTIVE
        return created

    core, tier1, tier2 = (
        onboard(models.Role.CORE_ENTERPRISE),
        onboard(models.Role.SUPPLIER),
        onboard(models.Role.SUPPLIER),
    )
    line = set_credit_limit.sync(
        client=operator, obligor=core.address, body=models.CreditLimitUpdate(limit="5000000.00")
    )
    assert isinstance(line, models.CreditLineOut)
    assert line.available == "5000000.00"

    # Issue, with an Idempotency-Key: a repeat is answered with the first result.
    issue = models.CertificateIssue(
        to=tier1.address,
        amount="100000.00",
        maturity_date=today_utc() + timedelta(days=90),
        document_hash=new_document_hash(),
        invoice_number=f"GEN-{time.time_ns()}",
    )
    key = f"generated-issue-{time.time_ns()}"
    issued = certificates["issue_certificate"].sync_detailed(
        client=client(core.api_key), body=issue, idempotency_key=key
    )
    assert issued.status_code == 201
    assert isinstance(issued.parsed, models.WriteResult)
    certificate = issued.parsed.certificates[0]
    assert certificate.status is models.CertificateStatus.PENDING
    again = certificates["issue_certificate"].sync_detailed(
        client=client(core.api_key), body=issue, idempotency_key=key
    )
    assert again.headers["idempotent-replayed"] == "true"
    assert again.parsed.certificates[0].id == certificate.id

    accepted = certificates["accept_certificate"].sync(client=client(tier1.api_key), certificate_id=certificate.id)
    assert isinstance(accepted, models.WriteResult)
    assert accepted.certificates[0].status is models.CertificateStatus.ACTIVE

    # A part transfer, asked for asynchronously: an operation whose typed result is the write's.
    started = certificates["transfer_certificate"].sync_detailed(
        client=client(tier1.api_key),
        certificate_id=certificate.id,
        body=models.CertificateTransfer(to=tier2.address, amount="40000.00"),
        prefer="respond-async",
    )
    assert started.status_code == 202
    assert isinstance(started.parsed, models.OperationOut)
    assert started.parsed.status is models.OperationStatus.SUBMITTED
    submitted = started.parsed.id
    operation = _settled(lambda: get_operation.sync(client=client(tier1.api_key), operation_id=submitted), models)
    assert operation.status is models.OperationStatus.CONFIRMED, operation.problem
    assert isinstance(operation.result, models.WriteResult)
    amounts = sorted((part.holder, part.amount) for part in operation.result.certificates)
    assert amounts == sorted([(tier2.address, "40000.00"), (tier1.address, "60000.00")])
    moved = next(part for part in operation.result.certificates if part.holder == tier2.address)

    # Refusals come back as Problem models with their codes.
    too_much = certificates["transfer_certificate"].sync_detailed(
        client=client(tier2.api_key),
        certificate_id=moved.id,
        body=models.CertificateTransfer(to=tier1.address, amount="50000.00"),
    )
    assert too_much.status_code == 422
    assert isinstance(too_much.parsed, models.Problem)
    assert too_much.parsed.code == "part_not_less_than_face"

    # Refused on the ledger after the 202: the operation fails with a typed problem.
    refused_later = certificates["transfer_certificate"].sync(
        client=client(tier2.api_key),
        certificate_id=moved.id,
        body=models.CertificateTransfer(to=tier1.address, amount="50000.00"),
        prefer="respond-async",
    )
    assert isinstance(refused_later, models.OperationOut)
    failed = _settled(lambda: get_operation.sync(client=client(tier2.api_key), operation_id=refused_later.id), models)
    assert failed.status is models.OperationStatus.FAILED
    assert isinstance(failed.problem, models.Problem)
    assert failed.problem.code == "part_not_less_than_face"

    owed = certificates["get_certificate"].sync(client=client(core.api_key), certificate_id=moved.id)
    assert isinstance(owed, models.CertificateOut)  # the obligor sees every part of what it owes
    assert owed.status is models.CertificateStatus.ACTIVE
    stranger = onboard(models.Role.SUPPLIER)
    hidden = certificates["get_certificate"].sync_detailed(client=client(stranger.api_key), certificate_id=moved.id)
    assert hidden.status_code == 404
    assert isinstance(hidden.parsed, models.Problem)
    assert hidden.parsed.code == "not_found"

    invalid = cancel_financing_request.sync_detailed(client=client(tier1.api_key), request_id=0)
    assert invalid.status_code == 422
    assert isinstance(invalid.parsed, models.Problem)
    assert invalid.parsed.code == "validation_error"
    assert invalid.parsed.errors[0].field == "request_id"

    anonymous = generated.Client(base_url=gateway.base_url, raise_on_unexpected_status=True)
    refused = members["get_me"].sync_detailed(client=anonymous)
    assert refused.status_code == 401
    assert isinstance(refused.parsed, models.Problem)
    assert refused.parsed.code == "unauthorized"
