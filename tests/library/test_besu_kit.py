"""The Besu kit (deploy/besu): the genesis its script writes, the shipped example, the node configuration."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import rlp
from eth_account import Account
from eth_utils import to_checksum_address

from scf_chain.chain.local import BLOCK_GAS_LIMIT
from scf_chain.settings import Settings

KIT = Path(__file__).resolve().parents[2] / "deploy" / "besu"
SCRIPT = KIT / "make_genesis.py"
MIN_GAS_LIMIT = 30_000_000


def make_genesis(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, timeout=60, check=False
    )


def decode_extra_data(extra_data: str) -> tuple[bytes, list[str], Any, int, list[Any]]:
    """Besu's QBFT genesis layout: RLP([vanity, validators, vote, round, seals])."""
    assert extra_data.startswith("0x")
    vanity, validators, vote, round_number, seals = rlp.decode(bytes.fromhex(extra_data[2:]))
    return (
        vanity,
        [to_checksum_address(v) for v in validators],
        vote,
        int.from_bytes(round_number, "big"),
        seals,
    )


def documented_chain_id() -> int:
    """The SCF_CHAIN_ID the runbook tells the gateway, the same everywhere it is named."""
    ids = set(re.findall(r"SCF_CHAIN_ID=(\d+)", (KIT / "RUNBOOK.md").read_text()))
    assert len(ids) == 1, ids
    return int(ids.pop())


def example_validators() -> list[str]:
    lines = (KIT / "validators.example.txt").read_text().splitlines()
    return [line.split()[0] for line in lines if line.strip() and not line.startswith("#")]


def ascending(addresses: list[str]) -> list[str]:
    return sorted((to_checksum_address(a) for a in addresses), key=lambda a: bytes.fromhex(a[2:]))


def assert_free_gas_qbft(genesis: dict[str, Any], validators: list[str]) -> None:
    config = genesis["config"]
    assert config["chainId"] == documented_chain_id()
    assert config["zeroBaseFee"] is True
    assert config["londonBlock"] == 0 and config["cancunTime"] == 0
    assert int(genesis["baseFeePerGas"], 16) == 0
    gas_limit = int(genesis["gasLimit"], 16)
    assert gas_limit >= MIN_GAS_LIMIT
    assert gas_limit == BLOCK_GAS_LIMIT  # what fits a block on the development chain fits one here
    assert config["qbft"]["blockperiodseconds"] in (1, 2)
    assert config["qbft"]["epochlength"] > 0 and config["qbft"]["requesttimeoutseconds"] > 0
    assert genesis["alloc"] == {}

    vanity, decoded, vote, round_number, seals = decode_extra_data(genesis["extraData"])
    assert vanity == bytes(32)
    assert decoded == ascending(validators)
    assert vote == [] and round_number == 0 and seals == []


def test_genesis_from_fresh_validators(tmp_path: Path) -> None:
    validators = [Account.create().address for _ in range(4)]
    # As an organization hands it over: the file `besu public-key export-address --to=...` writes.
    address_file = tmp_path / "bank.nodeAddress"
    address_file.write_text(validators[2].lower() + "\n")
    out = tmp_path / "genesis.json"
    to_encode = tmp_path / "toEncode.json"

    result = make_genesis(
        "--out", out, "--to-encode", to_encode, validators[0], validators[1], address_file, validators[3]
    )

    assert result.returncode == 0, result.stderr
    genesis = json.loads(out.read_text())
    assert_free_gas_qbft(genesis, validators)
    assert json.loads(to_encode.read_text()) == ascending(validators)


def test_extra_data_matches_besu_documentation() -> None:
    """The extraData Besu's QBFT page prints for its toEncode.json example, validators in the order given."""
    sys.path.insert(0, str(KIT))
    try:
        from make_genesis import qbft_extra_data
    finally:
        sys.path.remove(str(KIT))
    documented = [
        "0x4592c8e45706cc08b8f44b11e43cba0cfc5892cb",
        "0x06e23768a0f59cf365e18c2e0c89e151bcdedc70",
        "0xc5327f96ee02d7bcbc1bf1236b8c15148971e1de",
        "0xab5e7f4061c605820d3744227eed91ff8e2c8908",
    ]
    assert qbft_extra_data(documented) == (
        "0xf87aa00000000000000000000000000000000000000000000000000000000000000000f854944592c8e45706cc08b8f44b11e4"
        "3cba0cfc5892cb9406e23768a0f59cf365e18c2e0c89e151bcdedc7094c5327f96ee02d7bcbc1bf1236b8c15148971e1de94ab"
        "5e7f4061c605820d3744227eed91ff8e2c8908c080c0"
    )
    # Contract validator selection: no validators in the header at all.
    assert qbft_extra_data([]) == "0xe5a00000000000000000000000000000000000000000000000000000000000000000c0c080c0"


def test_shipped_example_is_the_scripts_output_for_the_example_validators(tmp_path: Path) -> None:
    validators = example_validators()
    assert len(validators) == 4
    shipped = json.loads((KIT / "genesis.example.json").read_text())
    assert_free_gas_qbft(shipped, validators)

    out = tmp_path / "genesis.json"
    result = make_genesis("--out", out, KIT / "validators.example.txt")
    assert result.returncode == 0, result.stderr
    assert json.loads(out.read_text()) == shipped


@pytest.mark.parametrize(
    ("validators", "complaint"),
    [
        (["0x" + "11" * 20, "0x" + "22" * 20, "0x" + "33" * 20], "at least 4"),
        (["0x" + "11" * 20, "0x" + "22" * 20, "0x" + "33" * 20, "0x" + "11" * 20], "named twice"),
        (["0x" + "11" * 20, "0x" + "22" * 20, "0x" + "33" * 20, "0x1234"], "neither an address nor a file"),
    ],
)
def test_refuses_validators_that_make_no_network(tmp_path: Path, validators: list[str], complaint: str) -> None:
    out = tmp_path / "genesis.json"
    result = make_genesis("--out", out, *validators)
    assert result.returncode == 2
    assert complaint in result.stderr
    assert not out.exists()


def test_node_configuration() -> None:
    config = tomllib.loads((KIT / "config.toml").read_text())
    assert config["min-gas-price"] == 0
    assert config["rpc-http-enabled"] is True
    assert {"ETH", "NET", "WEB3", "QBFT", "TXPOOL"} <= set(config["rpc-http-api"])
    assert config["revert-reason-enabled"] is True
    assert not any(key.startswith("permissions-") for key in config)
    # Besu refuses a sender's transaction once its nonce is this far ahead of the sender's confirmed one.
    assert config["tx-pool"] == "sequenced"
    nonces_ahead = math.ceil(config["tx-pool-limit-by-account-percentage"] * config["tx-pool-max-size"])
    max_pending_per_sender = Settings.model_fields["max_pending_per_sender"].default
    assert max_pending_per_sender == 64
    # In flight: nonces n .. n + 63 above the confirmed nonce n.
    assert nonces_ahead > max_pending_per_sender - 1
