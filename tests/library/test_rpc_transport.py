"""The JSON-RPC transport against the real local chain: answers, batches, constants, and a chain that is gone."""

from __future__ import annotations

import pytest
import urllib3

from scf_chain.chain.local import LocalChain, free_port
from scf_chain.chain.rpc import PooledHTTPProvider, _pool_for
from scf_chain.domain.errors import ChainUnavailable
from scf_chain.runtime import Runtime


def test_calls_and_batches_come_back_as_web3_expects(chain: LocalChain, runtime: Runtime):
    record = chain.record()
    assert record is not None
    provider = PooledHTTPProvider(record.url)
    head = int(provider.make_request("eth_blockNumber", [])["result"], 16)
    assert head == runtime.w3.eth.block_number
    answers = provider.make_batch_request(
        [("eth_getBlockByNumber", [hex(n), False]) for n in (head, 0, head + 1_000_000)] + [("eth_chainId", [])]
    )
    assert isinstance(answers, list) and [a["id"] for a in answers] == sorted(a["id"] for a in answers)
    latest, genesis, missing, chain_id = (a.get("result") for a in answers)
    assert int(latest["number"], 16) == head and int(genesis["number"], 16) == 0 and missing is None
    assert int(chain_id, 16) == runtime.w3.eth.chain_id
    error = provider.make_request("eth_noSuchMethod", [])
    assert "error" in error  # the node's own error is an answer, not an outage


def test_the_chain_id_is_asked_once(chain: LocalChain):
    record = chain.record()
    assert record is not None
    provider = PooledHTTPProvider(record.url)
    first = provider.make_request("eth_chainId", [])
    provider.endpoint_uri = f"http://127.0.0.1:{free_port()}"  # nothing answers there now
    assert provider.make_request("eth_chainId", []) == first
    with pytest.raises(ChainUnavailable):
        provider.make_request("eth_blockNumber", [])


def test_a_chain_that_does_not_answer_is_unavailable_and_its_credentials_are_not_shown():
    provider = PooledHTTPProvider(f"http://operator:s3cret@127.0.0.1:{free_port()}/rpc", timeout=2)
    with pytest.raises(ChainUnavailable) as error:
        provider.make_request("eth_blockNumber", [])
    assert "s3cret" not in str(error.value) and "127.0.0.1" in str(error.value)


def test_the_environment_proxy_is_used_unless_the_host_is_exempt(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "besu-1.consortium")
    assert isinstance(_pool_for("http://besu-2.consortium:8545", 4), urllib3.ProxyManager)
    assert not isinstance(_pool_for("http://besu-1.consortium:8545", 4), urllib3.ProxyManager)
