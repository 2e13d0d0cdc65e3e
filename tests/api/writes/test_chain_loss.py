"""kill -9 of everything within a second of a batch of confirmed writes, then `scf run` again.

`scf run --no-seed` (what `NO_SEED=1 make run` runs) serves a gateway on its embedded chain. A
batch of certificates is issued and accepted through it, each answered with success; at once the
chain and the gateway are killed with SIGKILL. The chain saves its state every second, so it comes
back without its last blocks (the test checks that it did lose some). `scf run` is started again.

Then every write answered with success is on the ledger again, with the id it was answered; a
replay of each request with its Idempotency-Key answers as before; and the next certificate gets
a new id, not one of the lost ones.

Before: the lost writes stayed lost, their keys still replayed 201, and the next certificate reused
a lost one's id.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.store import GatewayStore
from scf_chain.chain.keys import anvil_account
from scf_chain.chain.local import LocalChain, free_port
from scf_chain.domain.types import CertificateStatusCode
from scf_chain.runtime import open_runtime
from scf_chain.settings import Settings
from tests import databases, gauntlet
from tests.api.conftest import PROJECT_ROOT, Api, maturity_in, new_document_hash, new_invoice_number
from tests.api.financing_harness import own_gateway

pytestmark = pytest.mark.gauntlet

BATCH = gauntlet.strength(6, 30)
ATTEMPTS = 3  # a batch whose last block was saved just before the kill loses nothing: then another batch
SCF_RUN = [sys.executable, "-m", "scf_chain.cli.main", "run", "--no-seed"]  # `scf run`, from this checkout
IN_PROGRESS_CODES = ("idempotency_request_in_progress", "idempotency_request_unconfirmed")


@dataclass
class Run:
    """One `scf run` in a data folder."""

    data_dir: Path
    env: dict[str, str]
    base_url: str
    process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 90.0) -> None:
        log = (self.data_dir / "run.log").open("ab")
        self.process = subprocess.Popen(SCF_RUN, cwd=PROJECT_ROOT, env=self.env, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"scf run exited; see {self.data_dir / 'run.log'}")
            try:
                if httpx.get(f"{self.base_url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError("scf run did not become ready")

    @property
    def chain(self) -> LocalChain:
        return LocalChain(self.data_dir / "chain", port=int(self.env["SCF_CHAIN_PORT"]))

    def kill_everything(self) -> None:
        """SIGKILL to the chain and to `scf run`: nothing is saved on the way out."""
        record = json.loads(self.chain.record_path.read_text())
        os.kill(record["pid"], signal.SIGKILL)
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=20)
        self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)  # stops the chain it started, which saves its state
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
            self.process = None
        self.chain.stop()


@pytest.fixture
def run(tmp_path: Path, database_url: str | None) -> Iterator[Run]:
    port = free_port()
    env = {
        **os.environ,
        "SCF_DATA_DIR": str(tmp_path),
        "SCF_DEV_MODE": "true",
        "SCF_CHAIN_PORT": str(free_port()),
        "SCF_API_PORT": str(port),
        "SCF_RATE_LIMIT_PER_MINUTE": "100000",
        "SCF_RATE_LIMIT_BURST": "10000",
        "SCF_OVERDUE_INTERVAL_S": "0",
        **databases.database_env(database_url),
    }
    env.pop("SCF_RPC_URL", None)
    run = Run(tmp_path, env, f"http://127.0.0.1:{port}")
    try:
        run.start()
        yield run
    finally:
        run.stop()


@dataclass
class Write:
    api: Api
    path: str
    body: dict[str, Any] | None
    response: httpx.Response
    key: str


def _write(api: Api, path: str, body: dict[str, Any] | None = None) -> Write:
    key = str(uuid.uuid4())
    response = api.post(path, body, headers={"Idempotency-Key": key})
    assert response.is_success, response.text
    return Write(api, path, body, response, key)


def _replayed(write: Write, deadline_s: float = 60.0) -> httpx.Response:
    deadline = time.monotonic() + deadline_s
    while True:
        response = write.api.post(write.path, write.body, headers={"Idempotency-Key": write.key})
        if response.status_code != 409 or response.json().get("code") not in IN_PROGRESS_CODES:
            return response
        assert time.monotonic() < deadline, f"{write.path} is still in progress"
        time.sleep(0.2)


def _head(url: str) -> int:
    answer = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []}).json()
    return int(answer["result"], 16)


def test_writes_answered_before_the_chain_lost_its_last_blocks_are_on_the_ledger_again(run: Run) -> None:
    store = GatewayStore(databases.gateway_database(run.data_dir, run.env.get("SCF_DATABASE_URL")))
    try:
        operator = Api(run.base_url, store.create_api_key(anvil_account(0).address))
    finally:
        store.close()
    members = {}
    for role in ("core_enterprise", "supplier"):
        members[role] = _write(operator, "/v1/members", {"name": f"Chain loss {role}", "role": role}).response.json()
    core = Api(run.base_url, members["core_enterprise"]["api_key"])
    supplier = Api(run.base_url, members["supplier"]["api_key"])
    credit_line = operator.put(f"/v1/credit-lines/{members['core_enterprise']['address']}", {"limit": "10000000.00"})
    assert credit_line.status_code == 200, credit_line.text
    time.sleep(2)  # the members and the credit line are saved: what is lost below is the batch's

    writes: list[Write] = []
    answered: dict[int, str] = {}  # certificate id: its document hash
    lost_blocks = 0
    for _ in range(ATTEMPTS):
        for _ in range(BATCH):
            document_hash = new_document_hash()
            issue = {
                "to": members["supplier"]["address"],
                "amount": "2500.00",
                "maturity_date": maturity_in(),
                "document_hash": document_hash,
                "invoice_number": new_invoice_number(),
            }
            issued = _write(core, "/v1/certificates", issue)
            certificate_id = issued.response.json()["certificates"][0]["id"]
            answered[certificate_id] = document_hash
            writes += [issued, _write(supplier, f"/v1/certificates/{certificate_id}/accept")]
        head_before = _head(run.chain.url)
        run.kill_everything()
        # The chain alone first, to see what it lost; `scf run` then uses it as it finds it.
        chain = run.chain.start()
        lost_blocks = head_before - _head(chain.url)
        run.start()
        if lost_blocks > 0:
            break
    assert lost_blocks > 0, "the chain lost no block in any attempt: the fault was not reproduced"

    runtime = open_runtime(Settings(data_dir=run.data_dir, rpc_url=run.chain.url))
    for write in writes:
        replay = _replayed(write)
        assert replay.status_code == write.response.status_code, replay.text
        if write.path == "/v1/certificates":
            assert replay.json()["certificates"][0]["id"] == write.response.json()["certificates"][0]["id"]
    missing = []
    for certificate_id, document_hash in answered.items():
        if runtime.ledger.issuance_of(document_hash) != certificate_id:
            missing.append(certificate_id)
            continue
        certificate = runtime.ledger.certificate(certificate_id)
        assert (
            certificate.status == CertificateStatusCode.ACTIVE
            and certificate.holder == (members["supplier"]["address"])
        )
    assert missing == [], "certificates answered with success are missing after recovery"

    issue = {
        "to": members["supplier"]["address"],
        "amount": "10.00",
        "maturity_date": maturity_in(),
        "document_hash": new_document_hash(),
        "invoice_number": new_invoice_number(),
    }
    next_id = _write(core, "/v1/certificates", issue).response.json()["certificates"][0]["id"]
    assert next_id == max(answered) + 1
    gauntlet.record(
        "fault-chain-loss",
        {
            "writes answered": len(writes),
            "blocks lost": lost_blocks,
            "missing after recovery": len(missing),
            "ids changed": 0,
        },
    )


def test_a_running_gateway_sends_again_what_a_chain_rolled_back(tmp_path: Path) -> None:
    """The chain goes back under a serving gateway (a reverted snapshot stands in for a reorganisation):
    the gateway notices within seconds and sends the lost transactions again, with the same ids."""
    with own_gateway(tmp_path) as harness:
        core, supplier = harness.core(), harness.onboard("supplier")
        snapshot = harness.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
        issued = {}
        for _ in range(3):
            body = {
                "to": supplier.address,
                "amount": "700.00",
                "maturity_date": maturity_in(),
                "document_hash": new_document_hash(),
                "invoice_number": new_invoice_number(),
            }
            response = core.api.post("/v1/certificates", body)
            assert response.status_code == 201, response.text
            certificate_id = response.json()["certificates"][0]["id"]
            assert supplier.api.post(f"/v1/certificates/{certificate_id}/accept").status_code == 200
            issued[certificate_id] = body["document_hash"]
        head = harness.w3.eth.block_number
        reverted = harness.w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]
        assert reverted["result"] is True and harness.w3.eth.block_number < head

        deadline = time.monotonic() + 30
        while harness.w3.eth.block_number < head and time.monotonic() < deadline:
            time.sleep(0.2)
        runtime = open_runtime(Settings(data_dir=tmp_path, rpc_url=harness.gateway.env["SCF_RPC_URL"]))
        for certificate_id, document_hash in issued.items():
            assert runtime.ledger.issuance_of(document_hash) == certificate_id
            assert runtime.ledger.certificate(certificate_id).status == CertificateStatusCode.ACTIVE
            read = supplier.api.get(f"/v1/certificates/{certificate_id}")
            assert read.status_code == 200 and read.json()["status"] == "active", read.text
