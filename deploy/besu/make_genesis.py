"""Writes the QBFT genesis file of an scf-chain consortium network from its validators' addresses.

Each organization (the consortium operator, a core enterprise, a bank, an auditor) makes its own
Besu node key on its own machine and hands over only the node's address, for example the file
``besu --data-path=data public-key export-address --to=data/nodeAddress`` writes. No private key
ever reaches this script or the repository.

    python deploy/besu/make_genesis.py --out genesis.json op/nodeAddress ce/nodeAddress bank/nodeAddress aud/nodeAddress

Each VALIDATOR is an address or a file of them: one address per line (first word of the line), ``#`` comments.
``--to-encode FILE`` also writes the sorted list as JSON, for ``besu rlp encode --type=QBFT_EXTRA_DATA``
to cross-check the extraData written here.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import rlp
from eth_utils import is_address, to_bytes, to_checksum_address

# The chain id scf-chain's runbook tells the gateway (SCF_CHAIN_ID); Anvil's 31337 stays the development chain's.
CHAIN_ID = 2026
# The same block gas limit as the embedded development chain (scf_chain.chain.local.BLOCK_GAS_LIMIT), so that
# every transaction that fits a block there fits one here: settlement batches are the largest.
BLOCK_GAS_LIMIT = 100_000_000
# Besu's QBFT defaults from its documentation: votes reset every 30,000 blocks.
EPOCH_LENGTH = 30_000
BLOCK_PERIOD_SECONDS = 1
# Round timeout: Besu's docs start at twice the block period and tune from there; validators at four
# organizations, on four networks, get more room than that.
REQUEST_TIMEOUT_SECONDS = 4
# QBFT tolerates f faulty validators with 3f + 1 of them: four is the least that tolerates one.
MIN_VALIDATORS = 4

VANITY = bytes(32)
# The "mixHash" Besu's BFT protocols require in the genesis block ("byzantine fault tolerance" in ASCII).
BFT_MIX_HASH = "0x63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365"


class GenesisError(ValueError):
    """Validators that cannot make a genesis file."""


def qbft_extra_data(validators: Sequence[str]) -> str:
    """The genesis extraData of QBFT with block header validator selection, validators in the order given.

    Besu's layout: RLP([32 bytes vanity, [validator addresses], no vote (an empty list), round 0, no seals]).
    """
    addresses = [to_bytes(hexstr=address) for address in validators]
    no_vote: list[bytes] = []
    no_seals: list[bytes] = []
    return "0x" + rlp.encode([VANITY, addresses, no_vote, 0, no_seals]).hex()


def sorted_validators(addresses: Iterable[str]) -> list[str]:
    """Checksummed, distinct and in ascending order, as Besu's docs ask of the genesis validator list."""
    validators: list[str] = []
    for address in addresses:
        if not is_address(address):
            raise GenesisError(f"not an address: {address!r}")
        checksummed = str(to_checksum_address(address))
        if checksummed in validators:
            raise GenesisError(f"validator named twice: {checksummed}")
        validators.append(checksummed)
    if len(validators) < MIN_VALIDATORS:
        raise GenesisError(
            f"QBFT needs at least {MIN_VALIDATORS} validators to tolerate one fault; got {len(validators)}"
        )
    return sorted(validators, key=lambda address: bytes.fromhex(address[2:]))


def genesis(
    validators: Sequence[str], *, chain_id: int = CHAIN_ID, block_period_s: int = BLOCK_PERIOD_SECONDS
) -> dict[str, Any]:
    """The genesis file of a free-gas QBFT network whose first validators are ``validators``."""
    ordered = sorted_validators(validators)
    return {
        "config": {
            "chainId": chain_id,
            # Every fork to Cancun from the first block: the contracts are compiled for EVM version cancun.
            "homesteadBlock": 0,
            "eip150Block": 0,
            "eip155Block": 0,
            "eip158Block": 0,
            "byzantiumBlock": 0,
            "constantinopleBlock": 0,
            "petersburgBlock": 0,
            "istanbulBlock": 0,
            "berlinBlock": 0,
            "londonBlock": 0,
            "shanghaiTime": 0,
            "cancunTime": 0,
            # London brings a base fee; zeroBaseFee keeps it at 0, so gas stays free (the gateway sends gasPrice 0).
            "zeroBaseFee": True,
            "qbft": {
                "blockperiodseconds": block_period_s,
                "epochlength": EPOCH_LENGTH,
                "requesttimeoutseconds": REQUEST_TIMEOUT_SECONDS,
            },
        },
        "nonce": "0x0",
        "timestamp": "0x0",
        "gasLimit": hex(BLOCK_GAS_LIMIT),
        "baseFeePerGas": "0x0",
        "difficulty": "0x1",
        "mixHash": BFT_MIX_HASH,
        "coinbase": "0x" + "00" * 20,
        # Nobody needs a balance on a free-gas network; the ledger's money is its settlement token.
        "alloc": {},
        "extraData": qbft_extra_data(ordered),
    }


def read_validators(sources: Iterable[str]) -> list[str]:
    """Addresses named on the command line: each an address, or a file of them."""
    addresses: list[str] = []
    for source in sources:
        if is_address(source):
            addresses.append(source)
            continue
        path = Path(source)
        if not path.is_file():
            raise GenesisError(f"neither an address nor a file: {source!r}")
        for line in path.read_text().splitlines():
            words = line.split("#", 1)[0].split()
            if words:
                addresses.append(words[0])
    return addresses


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("validators", nargs="+", metavar="VALIDATOR", help="an address, or a file of addresses")
    parser.add_argument("--out", type=Path, required=True, help="where to write the genesis file")
    parser.add_argument("--chain-id", type=int, default=CHAIN_ID, help=f"the network's chain id (default {CHAIN_ID})")
    parser.add_argument(
        "--block-period", type=int, choices=(1, 2), default=BLOCK_PERIOD_SECONDS, help="QBFT block period, seconds"
    )
    parser.add_argument("--to-encode", type=Path, help="also write the sorted validators for `besu rlp encode`")
    args = parser.parse_args(argv)
    try:
        validators = read_validators(args.validators)
        document = genesis(validators, chain_id=args.chain_id, block_period_s=args.block_period)
    except GenesisError as exc:
        print(f"make_genesis: {exc}", file=sys.stderr)
        return 2
    args.out.write_text(json.dumps(document, indent=2) + "\n")
    if args.to_encode:
        args.to_encode.write_text(json.dumps(sorted_validators(validators), indent=2) + "\n")
    print(f"wrote {args.out}: chain {args.chain_id}, {len(validators)} validators")
    return 0


if __name__ == "__main__":
    sys.exit(main())
