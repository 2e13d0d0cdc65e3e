"""Deploys the ledger once per chain and records where it lives.

Three contracts make one deployment, in this order: the settlement token (the money),
the ledger (which names the token it settles in), and the settlement desk (which the
ledger trusts with its ``SETTLEMENT_ROLE`` to move money against certificates).

The deployment manifest in the data folder names the chain, the addresses, the block
and a hash of the ABIs. Deploying again on the same chain reuses it; a manifest for
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
from eth_utils import keccak
from web3 import Web3

from scf_chain.chain.compiler import CompiledContract
from scf_chain.chain.transactions import TransactionSender
from scf_chain.settings import write_private

log = logging.getLogger(__name__)

LEDGER_CONTRACT = "CertificateLedger"
TOKEN_CONTRACT = "SettlementToken"  # noqa: S105 (a contract name, not a secret)
DESK_CONTRACT = "SettlementDesk"
SETTLEMENT_ROLE = keccak(text="SETTLEMENT_ROLE")


@dataclass(frozen=True)
class Deployment:
    chain_id: int
    ledger: str
    operator: str
    block: int
    abi_hash: str
    settlement_token: str = ""
    settlement_desk: str = ""

    def save(self, path: Path) -> None:
        write_private(path, json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> Deployment | None:
        if not path.exists():
            return None
        return cls(**json.loads(path.read_text()))


def deployment_abi_hash(contracts: dict[str, CompiledContract]) -> str:
    """One hash over the ABIs of the token, the ledger and the desk: a change to any redeploys all three."""
    abis = [contracts[name].abi for name in (TOKEN_CONTRACT, LEDGER_CONTRACT, DESK_CONTRACT)]
    return hashlib.sha256(json.dumps(abis, sort_keys=True).encode()).hexdigest()[:16]


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
    if not deployment.settlement_desk or not deployment.settlement_token:
        log.warning("the recorded deployment has no settlement desk or token; redeploying")
        return None
    if not w3.eth.get_code(Web3.to_checksum_address(deployment.ledger)):
        return None
    if deployment.abi_hash != deployment_abi_hash(contracts):
        log.warning("the deployed contracts' ABIs differ from the compiled ones; redeploying")
        return None
    return deployment


def deploy(
    sender: TransactionSender,
    operator: LocalAccount,
    contracts: dict[str, CompiledContract],
    manifest_path: Path,
    *,
    token_uri_base: str = "",
) -> tuple[Deployment, bool]:
    """Deploys the token, the ledger and the desk unless this chain already has them.

    Returns the deployment and whether it is new. The operator is the token's minter
    (the deposit bank) and the ledger's operator; the desk gets the ledger's
    ``SETTLEMENT_ROLE``. The manifest's ``block`` is the ledger's. ``token_uri_base`` is
    where the gateway shows certificates (``.../v1/certificates/``), for ERC-721 tools.
    """
    existing = find_deployment(sender.w3, manifest_path, contracts)
    if existing is not None:
        return existing, False
    token, _ = deploy_contract(sender, operator, contracts[TOKEN_CONTRACT], operator.address)
    ledger, block = deploy_contract(sender, operator, contracts[LEDGER_CONTRACT], operator.address, token)
    desk, _ = deploy_contract(sender, operator, contracts[DESK_CONTRACT], ledger)
    ledger_contract = sender.w3.eth.contract(
        address=Web3.to_checksum_address(ledger), abi=contracts[LEDGER_CONTRACT].abi
    )
    sender.transact(operator, ledger_contract.functions.grantRole(SETTLEMENT_ROLE, desk))
    if token_uri_base:
        sender.transact(operator, ledger_contract.functions.setTokenURIBase(token_uri_base))
    deployment = Deployment(
        chain_id=sender.w3.eth.chain_id,
        ledger=ledger,
        operator=operator.address,
        block=block,
        abi_hash=deployment_abi_hash(contracts),
        settlement_token=token,
        settlement_desk=desk,
    )
    deployment.save(manifest_path)
    log.info(
        "deployed %s at %s in block %d, with %s at %s and %s at %s",
        LEDGER_CONTRACT,
        ledger,
        block,
        TOKEN_CONTRACT,
        token,
        DESK_CONTRACT,
        desk,
    )
    return deployment, True
