"""The ledger read straight from the chain, beside the gateway: for counting what a fault left behind.

A fault test must not judge the gateway by the gateway's own index, and must read while the
gateway is down; so this asks the contracts themselves, with the deployment the gateway recorded.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from web3 import Web3

from scf_chain.chain.compiler import compile_contracts
from scf_chain.chain.deploy import DESK_CONTRACT, LEDGER_CONTRACT, TOKEN_CONTRACT, Deployment
from scf_chain.domain.money import MINOR_UNITS_PER_UNIT
from scf_chain.settings import Settings


class ChainView:
    def __init__(self, data_dir: Path, rpc_url: str) -> None:
        settings = Settings(data_dir=data_dir)
        deployment = Deployment.load(settings.manifest_path)
        assert deployment is not None, "the gateway has not deployed the ledger"
        contracts = compile_contracts(settings.build_dir)
        self.w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 10}))
        self.ledger = self.w3.eth.contract(address=deployment.ledger, abi=contracts[LEDGER_CONTRACT].abi)
        self.desk = self.w3.eth.contract(address=deployment.settlement_desk, abi=contracts[DESK_CONTRACT].abi)
        self.token = self.w3.eth.contract(address=deployment.settlement_token, abi=contracts[TOKEN_CONTRACT].abi)

    def certificate_count(self) -> int:
        """How many certificates the ledger has made: its ids are given out from 1, in order."""
        return int(self.ledger.functions.nextCertificateId().call()) - 1

    def balance(self, address: str) -> Decimal:
        return _amount(self.token.functions.balanceOf(Web3.to_checksum_address(address)).call())

    def allowance(self, owner: str) -> Decimal:
        owner = Web3.to_checksum_address(owner)
        return _amount(self.token.functions.allowance(owner, self.desk.address).call())

    def settled_amount(self, root_id: int) -> Decimal:
        return _amount(self.ledger.functions.settledAmount(root_id).call())

    def status_code(self, certificate_id: int) -> int:
        return int(self.ledger.functions.certificate(certificate_id).call()[_STATUS_FIELD])


def _amount(minor_units: int) -> Decimal:
    return (Decimal(minor_units) / MINOR_UNITS_PER_UNIT).quantize(Decimal("0.01"))


# The status's place in the ledger's CertificateView.
_STATUS_FIELD = 10
