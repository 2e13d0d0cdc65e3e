"""Deploys the ledger once per chain and records where it lives.

The deployment manifest in the data folder names the chain, the addresses, the block
and a hash of the ABI. Deploying again on the same chain reuses it; a manifest for
another chain, or whose contract is gone (a fresh local chain), is replaced.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3

from scf_chain.compiler import CompiledContract
from scf_chain.transactions import TransactionSender

log = logging.getLogger(__name__)

LEDGER_CONTRACT = "CertificateLedger"


@dataclass(frozen=True)
class Deployment:
    chain_id: int
    ledger: str
    operator: str
    block: int
    abi_hash: str

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> Deployment | None:
        if not path.exists():
            return None
        return cls(**json.loads(path.read_text()))


def abi_hash(abi: list[dict[str, Any]]) -> str:
    return hashlib.sha256(json.dumps(abi, sort_keys=True).encode()).hexdigest()[:16]


def deploy_contract(
    sender: TransactionSender, deployer: LocalAccount, contract: CompiledContract, *args: Any
) -> tuple[str, int]:
    """Deploys one contract; returns its address and block."""
    factory = sender.w3.eth.contract(abi=contract.abi, bytecode=contract.bytecode)
    receipt = sender.transact(deployer, factory.constructor(*args))
    address = receipt["contractAddress"]
    assert address is not None
    return Web3.to_checksum_address(address), receipt["blockNumber"]


def find_deployment(w3: Web3, manifest_path: Path, contracts: dict[str, CompiledContract]) -> Deployment | None:
    """The recorded deployment, if it is for this chain, still has code and matches the ABI."""
    deployment = Deployment.load(manifest_path)
    if deployment is None or deployment.chain_id != w3.eth.chain_id:
        return None
    if not w3.eth.get_code(Web3.to_checksum_address(deployment.ledger)):
        return None
    if deployment.abi_hash != abi_hash(contracts[LEDGER_CONTRACT].abi):
        log.warning("the deployed ledger's ABI differs from the compiled one; redeploying")
        return None
    return deployment


def deploy(
    sender: TransactionSender,
    operator: LocalAccount,
    contracts: dict[str, CompiledContract],
    manifest_path: Path,
) -> tuple[Deployment, bool]:
    """Deploys the ledger unless this chain already has it; returns it and whether it is new."""
    existing = find_deployment(sender.w3, manifest_path, contracts)
    if existing is not None:
        return existing, False
    ledger = contracts[LEDGER_CONTRACT]
    address, block = deploy_contract(sender, operator, ledger, operator.address)
    deployment = Deployment(
        chain_id=sender.w3.eth.chain_id,
        ledger=address,
        operator=operator.address,
        block=block,
        abi_hash=abi_hash(ledger.abi),
    )
    deployment.save(manifest_path)
    log.info("deployed %s at %s in block %d", LEDGER_CONTRACT, address, block)
    return deployment, True
