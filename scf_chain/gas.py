"""Gas used by the ledger's operations, measured from receipts, beside plain token baselines.

Every figure is the steady state: sender and receiver already hold something, as
members of a running consortium do, and the same holds for the baselines. First-time
receivers pay about 17,100 gas more for their first balance slot, on both sides.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from itertools import count

from eth_account.signers.local import LocalAccount

from scf_chain.deploy import deploy_contract
from scf_chain.money import today_utc
from scf_chain.runtime import Runtime
from scf_chain.types import MemberRole

# Targets from the ledger's design; a benchmark reports them, tests never assert them.
TARGETS = {"issue": 150_000, "transfer-part": 150_000, "whole transfer": 65_000}


@dataclass(frozen=True)
class GasFigure:
    operation: str
    gas_used: int
    target: int | None = None

    @property
    def within_target(self) -> bool | None:
        return None if self.target is None else self.gas_used <= self.target


def _documents() -> Iterator[bytes]:
    for n in count():
        yield hashlib.sha256(f"gas-report-invoice-{n}".encode()).digest()


def measure_ledger(runtime: Runtime) -> list[GasFigure]:
    """Runs each certificate operation once in steady state and reads its gas from the receipt."""
    ledger, operator, keystore = runtime.ledger, runtime.operator, runtime.keystore
    core = keystore.create()
    alice, bob = keystore.create(), keystore.create()
    ledger.register_member(operator, core.address, MemberRole.CORE_ENTERPRISE, "Gas Core")
    ledger.register_member(operator, alice.address, MemberRole.SUPPLIER, "Gas Supplier A")
    ledger.register_member(operator, bob.address, MemberRole.SUPPLIER, "Gas Supplier B")
    ledger.set_credit_limit(operator, core.address, Decimal("1000000000"))
    documents = _documents()
    maturity = today_utc() + timedelta(days=90)

    def issue_accepted(holder: LocalAccount, amount: str) -> int:
        certificate_id = ledger.issue(core, holder.address, Decimal(amount), maturity, next(documents)).certificate_id
        ledger.accept(holder, certificate_id)
        return certificate_id

    # Warm-up: both suppliers already hold certificates.
    issue_accepted(alice, "100.00")
    issue_accepted(bob, "100.00")

    issued = ledger.issue(core, alice.address, Decimal("1000000.00"), maturity, next(documents))
    accepted = ledger.accept(alice, issued.certificate_id)
    part = ledger.transfer_part(alice, issued.certificate_id, bob.address, Decimal("250000.00"))
    remainder_id = part.certificate_ids[0]
    whole = ledger.transfer(alice, remainder_id, bob.address)
    two_way = ledger.split(bob, remainder_id, [(alice.address, "1.00"), (bob.address, "749999.00")])
    ten_way_id = issue_accepted(alice, "1000.00")
    ten_way = ledger.split(alice, ten_way_id, [(bob.address, "100.00")] * 10)
    hundred_way_id = issue_accepted(alice, "10000.00")
    hundred_way = ledger.split(alice, hundred_way_id, [(bob.address, "100.00")] * 100)
    return [
        GasFigure("issue", issued.gas_used, TARGETS["issue"]),
        GasFigure("accept", accepted.gas_used),
        GasFigure("transfer-part", part.gas_used, TARGETS["transfer-part"]),
        GasFigure("whole transfer", whole.gas_used, TARGETS["whole transfer"]),
        GasFigure("2-way split", two_way.gas_used),
        GasFigure("10-way split", ten_way.gas_used),
        GasFigure("100-way split", hundred_way.gas_used),
    ]


def measure_baselines(runtime: Runtime) -> list[GasFigure]:
    """OpenZeppelin ERC-20, ERC-721 and ERC-1155 operations on the same chain, in steady state."""
    sender, deployer, contracts = runtime.sender, runtime.operator, runtime.contracts
    alice, bob = runtime.keystore.create(), runtime.keystore.create()
    w3 = runtime.w3

    def at(name: str):  # type: ignore[no-untyped-def]
        address, _ = deploy_contract(sender, deployer, contracts[name])
        return w3.eth.contract(address=address, abi=contracts[name].abi)

    erc20, erc721, erc1155 = at("BaselineERC20"), at("BaselineERC721"), at("BaselineERC1155")
    sender.transact(deployer, erc20.functions.mint(alice.address, 10**6))
    sender.transact(deployer, erc20.functions.mint(bob.address, 10**6))
    erc20_transfer = sender.transact(alice, erc20.functions.transfer(bob.address, 100))
    sender.transact(deployer, erc721.functions.mint(alice.address, 1))
    sender.transact(deployer, erc721.functions.mint(bob.address, 2))
    erc721_mint = sender.transact(deployer, erc721.functions.mint(alice.address, 3))
    erc721_transfer = sender.transact(alice, erc721.functions.transferFrom(alice.address, bob.address, 3))
    sender.transact(deployer, erc1155.functions.mint(alice.address, 1, 1000))
    sender.transact(deployer, erc1155.functions.mint(bob.address, 1, 1000))
    erc1155_transfer = sender.transact(
        alice, erc1155.functions.safeTransferFrom(alice.address, bob.address, 1, 10, b"")
    )
    return [
        GasFigure("ERC-20 transfer", erc20_transfer["gasUsed"]),
        GasFigure("ERC-721 mint", erc721_mint["gasUsed"]),
        GasFigure("ERC-721 transfer", erc721_transfer["gasUsed"]),
        GasFigure("ERC-1155 transfer", erc1155_transfer["gasUsed"]),
    ]
