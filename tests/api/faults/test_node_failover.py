"""A gateway given several nodes, the first of which never answers: it starts, writes through the
second, and says in ``/readyz`` which node it uses."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from scf_chain.chain.keys import anvil_account
from scf_chain.chain.local import LocalChain, free_port
from tests.api.financing_harness import Harness, gateway_on


def _gateway(data_dir: Path, chain: LocalChain, rpc_url: str, **settings: str) -> Iterator[Harness]:
    try:
        with gateway_on(data_dir, chain, rpc_url, **settings) as (process, operator_key):
            yield Harness(process, chain.url, operator_key)
    finally:
        chain.stop()


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    chain = LocalChain(tmp_path / "chain", port=free_port())
    record = chain.start()
    dead = free_port()
    # Development mode accepts its embedded chain's port and this data folder's chain: both are named.
    yield from _gateway(tmp_path, chain, f"http://127.0.0.1:{dead},{record.url}", CHAIN_PORT=str(dead))


@pytest.fixture
def interval_mined(tmp_path: Path) -> Iterator[Harness]:
    """A chain that makes a block every second, as a consortium network does, named twice (two nodes to watch)."""
    chain = LocalChain(tmp_path / "chain", port=free_port())
    record = chain.start()
    _rpc(record.url, "evm_setAutomine", [False])
    _rpc(record.url, "evm_setIntervalMining", [1])
    urls = f"{record.url},http://localhost:{record.port}"
    yield from _gateway(tmp_path, chain, urls, STALL_AFTER_S="2", RECEIPT_TIMEOUT_S="20")


def _rpc(url: str, method: str, params: list[Any]) -> Any:
    answer = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).json()
    assert "error" not in answer, answer
    return answer["result"]


def test_a_gateway_whose_first_node_is_down_serves_writes_through_the_next(harness: Harness):
    base = harness.gateway.base_url
    deadline = time.monotonic() + 5
    while True:  # the heads shown are the health watch's, asked for every half second
        ready = httpx.get(f"{base}/readyz")
        assert ready.status_code == 200, ready.text
        body = ready.json()
        if body["nodes"][1]["head"] == harness.w3.eth.block_number or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    chain_url = harness.gateway.env["SCF_RPC_URL"].split(",")[1]
    assert body["node"] == chain_url
    dead, alive = body["nodes"]
    assert not dead["answering"] and not dead["in_use"]
    assert alive["answering"] and alive["in_use"] and alive["head"] == harness.w3.eth.block_number
    member = harness.onboard("supplier")  # a write: signed, sent and mined through the second node
    assert harness.w3.eth.get_transaction_count(anvil_account(0).address) > 0
    assert member.api.get("/v1/me").status_code == 200


def test_a_write_on_a_halted_network_is_answered_503_at_once_and_writes_resume_with_the_blocks(
    interval_mined: Harness,
):
    h = interval_mined
    base = h.gateway.base_url
    h.onboard("supplier")  # blocks come: writes go through
    _rpc(h.gateway.env["SCF_RPC_URL"].split(",")[0], "evm_setIntervalMining", [0])  # no block from now on
    time.sleep(3)  # past SCF_STALL_AFTER_S
    started = time.monotonic()
    refused = h.operator.post("/v1/members", {"name": "Halted Supplier", "role": "supplier"})
    assert refused.status_code == 503, refused.text
    assert time.monotonic() - started < 2  # not the receipt timeout (20 s): nothing was signed
    assert refused.headers["content-type"].startswith("application/problem+json") and refused.headers["retry-after"]
    ready = httpx.get(f"{base}/readyz")
    assert ready.status_code == 503 and "no block" in ready.json()["detail"]
    before = h.w3.eth.get_transaction_count(anvil_account(0).address, "pending")
    _rpc(h.gateway.env["SCF_RPC_URL"].split(",")[0], "evm_setIntervalMining", [1])
    deadline = time.monotonic() + 5
    while httpx.get(f"{base}/readyz").status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert h.onboard("supplier", "Resumed Supplier").name == "Resumed Supplier"  # no restart needed
    assert h.w3.eth.get_transaction_count(anvil_account(0).address) > before
