"""Every write has an operation with its transactions, and a restart settles operations from receipts.

The gateway is killed (SIGKILL) between broadcasting transactions and reading their receipts: the chain
is told not to mine, so both writes are in flight, one waited for and one answered 202. After a restart
their operations are still unfinished while the transactions are pending; once a block is mined, the
gateway settles them from the receipts, with the result the write would have answered.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.store import GatewayStore
from tests.api.conftest import Api, GatewayProcess, maturity_in, new_document_hash, new_invoice_number
from tests.api.financing_harness import Harness, own_gateway


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    """A gateway on a chain of its own: this test stops the chain's mining, which others must not see."""
    with own_gateway(tmp_path) as harness:
        yield harness


def _rpc(url: str, method: str, *params: Any) -> Any:
    answer = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).json()
    assert "error" not in answer, answer
    return answer["result"]


def _store(gateway: GatewayProcess) -> GatewayStore:
    return gateway.open_store()


def _issue_body(to: str) -> dict[str, str]:
    return {
        "to": to,
        "amount": "1000.00",
        "maturity_date": maturity_in(),
        "document_hash": new_document_hash(),
        "invoice_number": new_invoice_number(),
    }


def _until(predicate: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_a_restart_settles_operations_from_receipts(harness: Harness) -> None:
    own_gateway = harness.gateway
    chain_url = own_gateway.env["SCF_RPC_URL"]
    operator = harness.operator
    members = {}
    for role in ("core_enterprise", "supplier"):
        created = operator.post("/v1/members", {"name": f"Restart {role}", "role": role})
        assert created.status_code == 201, created.text
        members[role] = created.json()
        # Even a synchronous write names its operation, which lists its transaction.
        operation = operator.get(created.headers["operation-location"]).json()
        assert operation["status"] == "confirmed" and len(operation["tx_hashes"]) == 1, operation
    core = Api(own_gateway.base_url, members["core_enterprise"]["api_key"])
    supplier = members["supplier"]["address"]
    credit_line = f"/v1/credit-lines/{members['core_enterprise']['address']}"
    assert operator.put(credit_line, {"limit": "100000.00"}).status_code == 200

    _rpc(chain_url, "evm_setAutomine", False)
    waited: dict[str, Any] = {}

    def issue_and_wait() -> None:
        try:
            waited["response"] = core.post("/v1/certificates", _issue_body(supplier))
        except httpx.HTTPError as exc:  # the gateway is killed while this waits for its receipt
            waited["error"] = exc

    waiting = threading.Thread(target=issue_and_wait)
    waiting.start()
    accepted = core.post("/v1/certificates", _issue_body(supplier), headers={"Prefer": "respond-async"})
    assert accepted.status_code == 202, accepted.text
    in_background = accepted.json()["id"]
    _until(lambda: len(_rpc(chain_url, "eth_getBlockByNumber", "pending", False)["transactions"]) == 2)

    own_gateway.process.kill()  # type: ignore[union-attr]
    own_gateway.process.wait(timeout=20)  # type: ignore[union-attr]
    own_gateway.process = None
    waiting.join(timeout=60)
    assert "error" in waited, waited

    store = _store(own_gateway)
    unfinished = {operation.id: operation for operation in store.unfinished_operations()}
    store.close()
    assert in_background in unfinished and len(unfinished) == 2, unfinished
    for operation in unfinished.values():
        assert operation.kind == "issue" and len(operation.tx_hashes) == 1

    # Back up while the chain still holds the transactions unmined: nothing is decided, nothing marked failed.
    own_gateway.start()
    for operation_id in unfinished:
        read = core.get(f"/v1/operations/{operation_id}").json()
        assert read["status"] == "submitted", read

    _rpc(chain_url, "evm_mine")
    _rpc(chain_url, "evm_setAutomine", True)
    for operation_id, operation in unfinished.items():
        settled = _until(lambda i=operation_id: _settled(core, i))
        assert settled["status"] == "confirmed", settled
        result = settled["result"]
        assert result["tx_hash"] == operation.tx_hashes[0] == settled["tx_hashes"][0]
        receipt = _rpc(chain_url, "eth_getTransactionReceipt", result["tx_hash"])
        assert int(receipt["status"], 16) == 1 and result["block_number"] == int(receipt["blockNumber"], 16)
        (certificate,) = result["certificates"]
        assert certificate["holder"] == supplier and certificate["status"] == "pending"
        assert certificate["tx_hash"] == result["tx_hash"]
        # The certificate is on the ledger once, and readable as the write would have answered.
        assert core.get(f"/v1/certificates/{certificate['id']}").json()["tx_hash"] == result["tx_hash"]


def _settled(api: Api, operation_id: str) -> dict[str, Any] | None:
    body = api.get(f"/v1/operations/{operation_id}").json()
    return body if body["status"] in ("confirmed", "failed") else None
