"""Several nodes behind one provider, against real Anvil processes: failover, the health watch, one
transaction however often its signed bytes are sent, and a network that stops making blocks.

Two fresh Anvil chains are not one network, but they start from the same state (the same funded
accounts, the same chain id), so a transaction signed once is valid on both: what one node would
have passed to the other is sent to it directly.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3
from web3.exceptions import TransactionNotFound, Web3RPCError

from scf_chain.chain.keys import anvil_account
from scf_chain.chain.local import LocalChain, free_port
from scf_chain.chain.nodes import FailoverProvider
from scf_chain.domain.errors import ChainUnavailable
from scf_chain.runtime import connect
from scf_chain.settings import Settings

FAST = {"probe_interval_s": 0.2, "probe_timeout_s": 0.5}


@pytest.fixture
def chains(tmp_path: Path) -> Iterator[list[LocalChain]]:
    started = [LocalChain(tmp_path / f"node-{n}", port=free_port()) for n in range(2)]
    try:
        for chain in started:
            chain.start()
        yield started
    finally:
        for chain in started:
            if chain.record_path.exists():  # a hung one is stopped cleanly too
                with contextlib.suppress(ProcessLookupError):
                    os.kill(json.loads(chain.record_path.read_text())["pid"], signal.SIGCONT)
            chain.stop()


@pytest.fixture
def providers() -> Iterator[list[FailoverProvider]]:
    made: list[FailoverProvider] = []
    yield made
    for provider in made:
        provider.close()


def _rpc(chain: LocalChain, method: str, params: list[Any] | None = None) -> Any:
    answer = Web3(Web3.HTTPProvider(chain.url)).provider.make_request(method, params or [])  # type: ignore[arg-type]
    assert "error" not in answer, answer
    return answer["result"]


def _until(condition: Callable[[], bool], within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def _transfer(nonce: int, value: int = 1) -> tuple[bytes, str]:
    signed = anvil_account(1).sign_transaction(
        {"to": anvil_account(2).address, "value": value, "gas": 21_000, "gasPrice": 0, "nonce": nonce, "chainId": 31337}
    )
    return bytes(signed.raw_transaction), "0x" + signed.hash.hex()


def test_reads_carry_on_at_the_next_node_when_the_one_in_use_stops(
    chains: list[LocalChain], providers: list[FailoverProvider], caplog: pytest.LogCaptureFixture
):
    first, second = chains
    port = first.url.rsplit(":", 1)[1]
    provider = FailoverProvider([f"http://operator:s3cret@127.0.0.1:{port}", second.url], **FAST)
    providers.append(provider)
    w3 = Web3(provider)
    _rpc(second, "evm_mine")  # the nodes tell apart by their heads
    assert w3.eth.block_number == 0 and provider.current_url.endswith(port)
    first.stop()
    with caplog.at_level(logging.WARNING, logger="scf_chain.chain.nodes"):
        assert w3.eth.block_number == 1  # the same call, answered by the second node
        assert w3.eth.get_balance(anvil_account(0).address) > 0
    assert provider.current_url == second.url and provider.failovers == 1
    failovers = [r.getMessage() for r in caplog.records if "stopped" in r.getMessage()]
    assert len(failovers) == 1, failovers
    assert second.url in failovers[0] and f"127.0.0.1:{port}" in failovers[0] and "s3cret" not in failovers[0]
    statuses = provider.nodes_status()
    assert [s.current for s in statuses] == [False, True] and not statuses[0].answering
    assert all("s3cret" not in s.url for s in statuses)


def test_a_state_changing_call_is_not_sent_to_another_node(chains: list[LocalChain], providers: list[FailoverProvider]):
    first, second = chains
    provider = FailoverProvider([first.url, second.url], watch=False)
    providers.append(provider)
    first.stop()
    with pytest.raises(ChainUnavailable):
        provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    assert int(_rpc(second, "eth_blockNumber"), 16) == 0  # not mined on the second node instead
    assert provider.current_url == second.url  # but the next call goes there


def test_the_watch_moves_off_a_node_that_hangs_and_one_left_behind(
    chains: list[LocalChain], providers: list[FailoverProvider]
):
    first, second = chains
    provider = FailoverProvider([first.url, second.url], lag_after_s=1.0, **FAST)
    providers.append(provider)
    assert _until(lambda: all(s.head == 0 for s in provider.nodes_status()), 3)
    record = first.record()
    assert record is not None
    os.kill(record.pid, signal.SIGSTOP)
    try:
        # No call is made: the watch alone finds it does not answer.
        assert _until(lambda: provider.current_url == second.url, 3)
        assert not provider.nodes_status()[0].answering
    finally:
        os.kill(record.pid, signal.SIGCONT)
    assert _until(lambda: provider.nodes_status()[0].answering, 3)
    assert provider.current_url == second.url  # it stays: no flapping back

    # Now the node in use answers but falls behind: blocks come on the other one.
    deadline = time.monotonic() + 3
    while provider.current_url == second.url and time.monotonic() < deadline:
        _rpc(first, "evm_mine")
        time.sleep(0.2)
    assert provider.current_url == first.url
    behind = provider.nodes_status()[1]
    assert behind.lagging and behind.head == 0


def test_signed_bytes_sent_again_are_one_transaction(chains: list[LocalChain], providers: list[FailoverProvider]):
    first, second = chains
    provider = FailoverProvider([first.url, second.url], watch=False)
    providers.append(provider)
    w3 = Web3(provider)
    raw, tx_hash = _transfer(nonce=0)
    assert "0x" + w3.eth.send_raw_transaction(raw).hex() == tx_hash
    assert "0x" + w3.eth.send_raw_transaction(raw).hex() == tx_hash  # mined: "nonce too low", but it is this one
    # The first node had passed it on before it stopped; the call goes on to the second, which has it.
    _rpc(second, "eth_sendRawTransaction", ["0x" + raw.hex()])
    first.stop()
    assert "0x" + w3.eth.send_raw_transaction(raw).hex() == tx_hash
    assert provider.current_url == second.url
    assert w3.eth.get_transaction_count(anvil_account(1).address) == 1  # one transaction, not two
    # Another transaction at a used nonce is refused, as before: that is a stale nonce, not a delivery.
    other, _ = _transfer(nonce=0, value=2)
    with pytest.raises(Web3RPCError, match=r"(?i)nonce too low"):
        w3.eth.send_raw_transaction(other)


def test_a_network_without_blocks_is_halted_until_one_comes(
    chains: list[LocalChain], providers: list[FailoverProvider]
):
    first, second = chains
    for chain in chains:
        _rpc(chain, "evm_setAutomine", [False])
    provider = FailoverProvider([first.url, second.url], halt_after_s=1.0, **FAST)
    providers.append(provider)
    w3 = Web3(provider)
    assert provider.halted_for() is None
    raw, tx_hash = _transfer(nonce=0)
    w3.eth.send_raw_transaction(raw)  # held, never mined while no block comes
    with pytest.raises(TransactionNotFound):
        w3.eth.get_transaction_receipt(tx_hash)  # "not yet", while the network is not judged halted
    assert _until(lambda: provider.halted_for() is not None, 3)
    with pytest.raises(ChainUnavailable, match="no block"):
        w3.eth.get_transaction_receipt(tx_hash)  # not "not yet": nothing is mined while halted
    _rpc(first, "evm_mine")
    assert _until(lambda: provider.halted_for() is None, 3)
    assert w3.eth.get_transaction_receipt(tx_hash)["status"] == 1


def test_connect_uses_every_node_and_any_answering_is_enough(chains: list[LocalChain], tmp_path: Path):
    _, second = chains
    dead = f"http://127.0.0.1:{free_port()}"
    settings = Settings(
        data_dir=tmp_path / "data",
        dev_mode=False,
        keystore_passphrase="a long and real one",
        rpc_url=f" {dead} , {second.url},",
    )
    assert settings.rpc_urls == [dead, second.url]
    w3 = connect(settings)
    provider = w3.provider
    assert isinstance(provider, FailoverProvider)
    try:
        assert w3.eth.block_number == 0 and provider.current_url == second.url
        assert provider.halt_after_s is None  # Anvil's automine makes no block while idle: no halt to see
        assert settings.confirmations == 0  # not a Clique chain
    finally:
        provider.close()
    second.stop()
    with pytest.raises(ChainUnavailable, match="does not answer"):
        connect(settings)
