"""The indexer's fast log decoder gives exactly what eth_abi gives."""

from __future__ import annotations

import random
import re
from typing import Any

import pytest
from eth_abi import encode
from eth_abi.exceptions import DecodingError
from eth_utils import event_abi_to_log_topic, keccak, to_checksum_address

from scf_chain.index.indexer import EventDecoder

SAMPLE_EVENTS: list[dict[str, Any]] = [
    {
        "type": "event",
        "name": "Everything",
        "anonymous": False,
        "inputs": [
            {"name": "who", "type": "address", "indexed": True},
            {"name": "small", "type": "int8", "indexed": True},
            {"name": "label", "type": "string", "indexed": True},  # only its hash is logged
            {"name": "flag", "type": "bool", "indexed": False},
            {"name": "tag", "type": "bytes4", "indexed": False},
            {"name": "note", "type": "string", "indexed": False},
            {"name": "blob", "type": "bytes", "indexed": False},
            {"name": "people", "type": "address[]", "indexed": False},
            {"name": "delta", "type": "int256", "indexed": False},
            {"name": "amounts", "type": "uint64[]", "indexed": False},
        ],
    },
    {
        "type": "event",
        "name": "WithTuple",
        "anonymous": False,
        "inputs": [
            {"name": "id", "type": "uint256", "indexed": True},
            {
                "name": "part",
                "type": "tuple",
                "indexed": False,
                "components": [{"name": "to", "type": "address"}, {"name": "amount", "type": "uint256"}],
            },
            {"name": "counts", "type": "uint16[2]", "indexed": False},
        ],
    },
]


def _value(type_: str, rng: random.Random, components: list[dict[str, Any]] | None = None) -> Any:
    if type_.endswith("]"):
        inner, size = type_[: type_.rindex("[")], type_[type_.rindex("[") + 1 : -1]
        return [_value(inner, rng, components) for _ in range(int(size) if size else rng.randint(0, 5))]
    if type_ == "tuple":
        return tuple(_value(c["type"], rng, c.get("components")) for c in components or [])
    if type_ == "address":
        return to_checksum_address(rng.randbytes(20))
    if type_ == "bool":
        return rng.random() < 0.5
    if type_ == "string":
        return rng.choice(["", "Tier 1 Parts", "供应商 Ω", "x" * 70])
    if type_ == "bytes":
        return rng.randbytes(rng.randint(0, 70))
    if match := re.fullmatch(r"bytes(\d+)", type_):
        return rng.randbytes(int(match.group(1)))
    if match := re.fullmatch(r"uint(\d*)", type_):
        return rng.choice([0, 1, 2 ** int(match.group(1) or 256) - 1, rng.randrange(2 ** int(match.group(1) or 256))])
    if match := re.fullmatch(r"int(\d*)", type_):
        bits = int(match.group(1) or 256)
        return rng.choice([0, -1, -(2 ** (bits - 1)), 2 ** (bits - 1) - 1])
    raise AssertionError(f"no sample for {type_}")


def _canonical(item: dict[str, Any]) -> str:
    if item["type"].startswith("tuple"):
        return "(" + ",".join(_canonical(c) for c in item["components"]) + ")" + item["type"][5:]
    return item["type"]


def _log(event: dict[str, Any], rng: random.Random) -> tuple[list[str], str]:
    topics = ["0x" + event_abi_to_log_topic(event).hex()]  # type: ignore[arg-type]
    types, values = [], []
    for item in event["inputs"]:
        value = _value(item["type"], rng, item.get("components"))
        if item["indexed"]:
            if item["type"] in ("string", "bytes"):
                topics.append("0x" + keccak(value.encode() if isinstance(value, str) else value).hex())
            else:
                topics.append("0x" + encode([item["type"]], [value]).hex())
        else:
            types.append(_canonical(item))
            values.append(value)
    return topics, "0x" + encode(types, values).hex()


def _assert_same(events: list[dict[str, Any]], rounds: int) -> None:
    fast, reference = EventDecoder(events), EventDecoder(events, fast=False)
    rng = random.Random(7)
    for event in events:
        for _ in range(rounds):
            topics, data = _log(event, rng)
            decoded = fast.decode(topics, data)
            assert decoded is not None and decoded[0] == event["name"]
            assert decoded == reference.decode(topics, data)
            # Byte strings from web3's formatters decode the same as hex strings from raw JSON-RPC.
            assert fast.decode([bytes.fromhex(t[2:]) for t in topics], bytes.fromhex(data[2:])) == decoded


def test_fast_decoding_matches_eth_abi_on_sample_types():
    _assert_same(SAMPLE_EVENTS, rounds=50)
    decoder = EventDecoder(SAMPLE_EVENTS)
    topics, data = _log(SAMPLE_EVENTS[0], random.Random(1))
    _, args = decoder.decode(topics, data)
    assert args["label"] == topics[3] and args["who"] == to_checksum_address(args["who"])
    assert decoder.decode(["0x" + "00" * 32], "0x") is None
    assert decoder.decode([], "0x") is None


def test_fast_decoding_matches_eth_abi_on_the_ledger_events(runtime):
    events = [item for item in runtime.ledger.contract.abi if item["type"] == "event"]
    assert {"CertificateIssued", "CertificateSplit", "MemberRegistered", "Transfer"} <= {e["name"] for e in events}
    _assert_same(events, rounds=20)


def test_truncated_data_is_left_to_eth_abi():
    decoder = EventDecoder(SAMPLE_EVENTS)
    topics, data = _log(SAMPLE_EVENTS[0], random.Random(3))
    with pytest.raises(DecodingError):
        decoder.decode(topics, data[: len(data) - 64])
