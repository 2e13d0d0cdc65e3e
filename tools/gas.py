"""Gas used by the ledger's operations, measured from receipts, beside plain token baselines.

Every figure is the steady state: sender and receiver already hold something, as
members of a running consortium do, and the same holds for the baselines. First-time
receivers pay about 17,100 gas more for their first balance slot, on both sides.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from itertools import count
from pathlib import Path

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from web3.contract import Contract

from scf_chain.chain.deploy import deploy_contract
from scf_chain.domain.money import from_day, today_utc
from scf_chain.domain.types import FinanceResult, MemberRole
from scf_chain.runtime import Runtime, local_chain, open_runtime
from scf_chain.settings import Settings

# Targets from the ledger's design; a benchmark reports them, tests never assert them.
TARGETS = {"issue": 150_000, "transfer-part": 150_000, "whole transfer": 65_000}
TARGETS.update({"accept offer": 130_000, "settle per cert": 45_000})
SETTLEMENT_BATCH = 50


@dataclass(frozen=True)
class GasFigure:
    operation: str
    gas_used: int
    target: int | None = None

    @property
    def within_target(self) -> bool | None:
        return None if self.target is None else self.gas_used <= self.target


def _documents(kind: str = "invoice") -> Iterator[bytes]:
    for n in count():
        yield hashlib.sha256(f"gas-report-{kind}-{n}".encode()).digest()


def _invoice_numbers(kind: str = "invoice") -> Iterator[str]:
    for n in count():
        yield f"GAS-{kind.upper()}-{n:06d}"


def measure_ledger(runtime: Runtime) -> list[GasFigure]:
    """Runs each certificate operation once in steady state and reads its gas from the receipt."""
    ledger, operator, keystore = runtime.ledger, runtime.operator, runtime.keystore
    core = keystore.create()
    alice, bob = keystore.create(), keystore.create()
    ledger.register_member(operator, core.address, MemberRole.CORE_ENTERPRISE, "Gas Core")
    ledger.register_member(operator, alice.address, MemberRole.SUPPLIER, "Gas Supplier A")
    ledger.register_member(operator, bob.address, MemberRole.SUPPLIER, "Gas Supplier B")
    ledger.set_credit_limit(operator, core.address, Decimal("1000000000"))
    documents, invoices = _documents(), _invoice_numbers()
    maturity = today_utc() + timedelta(days=90)

    def issue_accepted(holder: LocalAccount, amount: str) -> int:
        certificate_id = ledger.issue(
            core, holder.address, Decimal(amount), maturity, next(documents), invoice_number=next(invoices)
        ).certificate_id
        ledger.accept(holder, certificate_id)
        return certificate_id

    # Warm-up: both suppliers already hold certificates.
    issue_accepted(alice, "100.00")
    issue_accepted(bob, "100.00")

    issued = ledger.issue(
        core, alice.address, Decimal("1000000.00"), maturity, next(documents), invoice_number=next(invoices)
    )
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


def measure_financing(runtime: Runtime) -> list[GasFigure]:
    """Discounting (the DvP of an accepted offer) and settlement, in steady state.

    Steady state: the financier's offers are numbered in order (their nonce word is
    already in use), and payers and payees already hold settlement tokens. Settlement
    is measured on a batch of 50 certificates, per certificate.
    """
    ledger, operator, keystore, w3 = runtime.ledger, runtime.operator, runtime.keystore, runtime.w3
    core, alice, bob, bank = keystore.create(), keystore.create(), keystore.create(), keystore.create()
    ledger.register_member(operator, core.address, MemberRole.CORE_ENTERPRISE, "Gas Settling Core")
    ledger.register_member(operator, alice.address, MemberRole.SUPPLIER, "Gas Seller A")
    ledger.register_member(operator, bob.address, MemberRole.SUPPLIER, "Gas Seller B")
    ledger.register_member(operator, bank.address, MemberRole.FINANCIER, "Gas Bank")
    ledger.set_credit_limit(operator, core.address, Decimal("1000000000"))
    for account in (core, alice, bob, bank):
        ledger.deposit(operator, account.address, Decimal("10000000.00"))
        ledger.approve_desk(account, Decimal("10000000.00"))
    documents, invoices = _documents("financed-invoice"), _invoice_numbers("financed")
    today = int(w3.eth.get_block("latest")["timestamp"]) // 86_400
    maturity = from_day(today + 90)
    nonces = count()

    def issue_accepted(holder: LocalAccount, amount: str, matures: date = maturity) -> int:
        certificate_id = ledger.issue(
            core, holder.address, Decimal(amount), matures, next(documents), invoice_number=next(invoices)
        ).certificate_id
        ledger.accept(holder, certificate_id)
        return certificate_id

    def sell(certificate_id: int, *, recourse: bool = False, amount: str | None = None) -> FinanceResult:
        expires_at = int(w3.eth.get_block("latest")["timestamp"]) + 3600
        offer = ledger.make_offer(
            bank,
            certificate_id,
            Decimal("0.0385"),
            seller=alice.address,
            expires_at=expires_at,
            nonce=next(nonces),
            recourse=recourse,
        )
        return ledger.accept_offer(alice, offer, amount)

    # Warm-up: the bank's first offer opens its nonce word; both sides already hold certificates.
    sell(issue_accepted(alice, "100.00"))
    issue_accepted(alice, "100.00")
    whole = sell(issue_accepted(alice, "100000.00"))
    with_recourse = sell(issue_accepted(alice, "100000.00"), recourse=True)
    part = sell(issue_accepted(alice, "100000.00"), amount="40000.00")

    # Settlement: one issuance split in 50 certificates between two suppliers who already hold tokens.
    root = issue_accepted(alice, "5000.00", from_day(today + 1))
    leaves = ledger.split(alice, root, [((alice, bob)[i % 2].address, "100.00") for i in range(SETTLEMENT_BATCH)])
    w3.provider.make_request("evm_increaseTime", [2 * 86_400])  # type: ignore[arg-type]
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    settled = ledger.settle(core, root, leaves.certificate_ids)
    return [
        GasFigure("accept offer", whole.gas_used, TARGETS["accept offer"]),
        GasFigure("  with recourse", with_recourse.gas_used, TARGETS["accept offer"]),
        GasFigure("  for a part", part.gas_used),
        GasFigure(f"settle {SETTLEMENT_BATCH}", settled.gas_used),
        GasFigure("settle per cert", settled.gas_used // SETTLEMENT_BATCH, TARGETS["settle per cert"]),
    ]


def measure_baselines(runtime: Runtime) -> list[GasFigure]:
    """OpenZeppelin ERC-20, ERC-721 and ERC-1155 operations on the same chain, in steady state."""
    sender, deployer, contracts = runtime.sender, runtime.operator, runtime.contracts
    alice, bob = runtime.keystore.create(), runtime.keystore.create()
    w3 = runtime.w3

    def at(name: str) -> Contract:
        address, _ = deploy_contract(sender, deployer, contracts[name])
        return w3.eth.contract(address=to_checksum_address(address), abi=contracts[name].abi)

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


def render(ledger: list[GasFigure], baselines: list[GasFigure]) -> str:
    """The report as a plain-text table, with each figure beside an ERC-721 transfer."""
    erc721_transfer = next(f.gas_used for f in baselines if f.operation == "ERC-721 transfer")
    lines = [f"{'operation':<20}{'gas':>12}{'target':>12}{'vs ERC-721 transfer':>22}  verdict"]
    for figure in ledger + baselines:
        target = f"{figure.target:,}" if figure.target else "-"
        verdict = {True: "within target", False: "ABOVE TARGET", None: ""}[figure.within_target]
        ratio = figure.gas_used / erc721_transfer
        lines.append(f"{figure.operation:<20}{figure.gas_used:>12,}{target:>12}{ratio:>21.2f}x  {verdict}")
    return "\n".join(lines)


def gas_report() -> str:
    """Measures on a fresh local chain of its own, in a temporary data folder, and renders the table.

    It never touches the configured chain, whatever SCF_RPC_URL or SCF_DEV_MODE say.
    """
    with tempfile.TemporaryDirectory(prefix="scf-gas-") as data_dir:
        settings = Settings(data_dir=Path(data_dir), chain_port=0, rpc_url=None, dev_mode=True)
        chain = local_chain(settings)
        chain.start()
        try:
            runtime = open_runtime(settings, deploy_if_missing=True)
            return render(measure_ledger(runtime) + measure_financing(runtime), measure_baselines(runtime))
        finally:
            chain.stop()
