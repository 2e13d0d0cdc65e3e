"""The demo story: one invoice's payable certificate, passed down a four-tier supply chain, financed and paid.

The operator onboards a core enterprise, four suppliers (tier 1 to tier 4), a bank and
an auditor. The core enterprise issues CNY 1,000,000.00 against an invoice whose
SHA-256 it anchors on the ledger; tier 1 accepts, and each tier pays the next part of
what it holds. The holdings are read back from the ledger and summed: they add up to
the face value, to the fen.

Then tier 4 finances its piece at the bank, which the operator (the deposit bank of
the settlement token) funded first: the bank signs an offer, tier 4 accepts it, and in
one transaction the bank pays the price and takes the certificate. Told whole, the
story then moves the chain's clock to maturity, the core enterprise settles every piece
at its face value, and a summary shows who received what.

A chain's clock never goes back, so the whole story plays on a throwaway development
chain of its own (``scf demo``), and the seed of ``scf run`` stops before maturity: the
chain people go on using keeps today's date, and ``scf chain advance`` takes it to
maturity when they choose.

Every run makes fresh member keys and a unique invoice, and dates maturity from the
chain's own clock, so the story can be played any number of times on the same chain.
"""

from __future__ import annotations

import hashlib
import tempfile
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from eth_account.signers.local import LocalAccount
from rich.console import Console
from rich.table import Table

from scf_chain.domain.errors import ScfError
from scf_chain.domain.money import CURRENCY, to_day
from scf_chain.domain.types import Certificate, FinanceResult, MemberRole, SettlementResult
from scf_chain.runtime import Runtime, local_chain, open_runtime
from scf_chain.settings import Settings

FACE_VALUE = Decimal("1000000.00")
CREDIT_LIMIT = Decimal("5000000.00")
TENOR_DAYS = 90

CORE_ENTERPRISE = "Huaxia Motors"
SUPPLIERS = (  # tier 1 to tier 4, each supplying the one before it
    ("Changjiang Seating Systems", "seat assemblies"),
    ("Xinhe Automotive Textiles", "seat covers"),
    ("Minjiang Fibre", "polyester yarn"),
    ("Yunling Polymer Chips", "PET chips"),
)
BANK = "Eastern Commercial Bank"
AUDITOR = "Huaping Audit Office"
# What each tier pays the next, out of the part it holds.
PAYMENTS = (Decimal("600000.00"), Decimal("250000.00"), Decimal("80000.00"))
# The bank's funds for financing, its quote, and how long the quote stands.
BANK_DEPOSIT = Decimal("100000.00")
DISCOUNT_RATE = Decimal("0.0385")
DAY_COUNT = 365
OFFER_VALIDITY_S = 3600
SECONDS_PER_DAY = 86_400


def money(amount: Decimal) -> str:
    return f"{CURRENCY} {amount:,.2f}"


@dataclass(frozen=True)
class Party:
    name: str
    role: MemberRole
    account: LocalAccount

    @property
    def address(self) -> str:
        return str(self.account.address)


@dataclass(frozen=True)
class DemoResult:
    root_id: int
    face_value: Decimal
    invoice_number: str
    document_hash: str
    core: Party
    suppliers: tuple[Party, ...]
    bank: Party
    auditor: Party
    holdings: tuple[Certificate, ...]  # before financing and settlement
    financing: FinanceResult | None = None
    settlements: tuple[SettlementResult, ...] = ()

    @property
    def total(self) -> Decimal:
        """The sum of what was held after the tiers paid each other, computed from the ledger's certificates."""
        return sum((c.face_value for c in self.holdings), Decimal("0.00"))

    @property
    def paid_at_maturity(self) -> Decimal:
        return sum((s.total for s in self.settlements), Decimal("0.00"))


def _run_suffix(runtime: Runtime) -> str:
    """``""`` the first time the story is played on a chain, then `` #2``, `` #3``..."""
    earlier = sum(1 for m in runtime.ledger.members() if m.name.startswith(CORE_ENTERPRISE))
    return f" #{earlier + 1}" if earlier else ""


def _chain_now(runtime: Runtime) -> int:
    """Unix seconds by the ledger's clock: the latest block's time, or the wall clock if that is later."""
    latest = int(runtime.w3.eth.get_block("latest")["timestamp"])
    return max(latest, int(datetime.now(UTC).timestamp()))


def can_travel_in_time(runtime: Runtime) -> bool:
    """Whether the story may move the chain's clock: only the embedded chain, in development mode."""
    return runtime.settings.dev_mode and not runtime.settings.rpc_url


def travel_to(runtime: Runtime, day: int, hour: int = 12) -> None:
    """Moves the embedded chain's clock to ``hour`` o'clock UTC on ``day`` and mines a block there."""
    if not can_travel_in_time(runtime):
        raise ScfError("the chain's clock is moved only on the embedded development chain")
    delta = day * SECONDS_PER_DAY + hour * 3600 - int(runtime.w3.eth.get_block("latest")["timestamp"])
    if delta > 0:
        runtime.w3.provider.make_request("evm_increaseTime", [delta])  # type: ignore[arg-type]
    runtime.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


def _invoice(number: str, seller: str, buyer: str, goods: str, maturity: str, issued_at: datetime) -> str:
    return "\n".join(
        [
            f"INVOICE {number}",
            f"Issued:   {issued_at:%Y-%m-%d %H:%M:%S} UTC",
            f"Seller:   {seller}",
            f"Buyer:    {buyer}",
            f"Goods:    20,000 {goods}, delivered to the Wuhan assembly plant",
            f"Amount:   {money(FACE_VALUE)}",
            f"Payment:  payable certificate, maturing {maturity}",
            f"Ref:      {uuid.uuid4()}",
        ]
    )


def play_on_throwaway_chain(settings: Settings, console: Console) -> DemoResult:
    """Plays the whole story, settlement at maturity included, on a development chain started for it and then
    discarded, so that no chain anyone goes on using has its clock moved."""
    with tempfile.TemporaryDirectory(prefix="scf-demo-") as folder:
        throwaway = settings.model_copy(update={"data_dir": Path(folder), "chain_port": 0, "rpc_url": None})
        chain = local_chain(throwaway)
        record = chain.start()
        console.print(
            f"The story plays on a throwaway development chain ({record.url}), whose clock it moves to maturity; "
            f"the chain of {settings.data_dir} is left as it is."
        )
        try:
            return play(open_runtime(throwaway, deploy_if_missing=True), console, settle_at_maturity=True)
        finally:
            chain.stop()


def play(runtime: Runtime, console: Console, *, settle_at_maturity: bool = False) -> DemoResult:
    """Plays the story on the ledger of ``runtime``, narrating it on ``console``.

    With ``settle_at_maturity`` (on the embedded development chain only) it moves the chain's clock to maturity
    for good and settles; otherwise it stops before maturity and says how to get there.
    """
    ledger, operator, keystore = runtime.ledger, runtime.operator, runtime.keystore
    suffix = _run_suffix(runtime)

    # 1. Onboarding
    console.rule("1. The operator onboards the consortium")
    core = Party(CORE_ENTERPRISE + suffix, MemberRole.CORE_ENTERPRISE, keystore.create())
    suppliers = tuple(Party(f"{name}{suffix}", MemberRole.SUPPLIER, keystore.create()) for name, _ in SUPPLIERS)
    bank = Party(BANK + suffix, MemberRole.FINANCIER, keystore.create())
    auditor = Party(AUDITOR + suffix, MemberRole.AUDITOR, keystore.create())
    members = Table("member", "role", "address")
    for party, label in [
        (core, "core enterprise"),
        *[(s, f"supplier, tier {tier}") for tier, s in enumerate(suppliers, start=1)],
        (bank, "financier"),
        (auditor, "auditor"),
    ]:
        ledger.register_member(operator, party.address, party.role, party.name)
        members.add_row(party.name, label, party.address)
    console.print(members)
    ledger.set_credit_limit(operator, core.address, CREDIT_LIMIT)
    console.print(f"Credit line of {core.name}: {money(CREDIT_LIMIT)}")

    # 2. Issuance against an invoice
    console.rule("2. The core enterprise issues a certificate against an invoice")
    # Dated by the ledger's clock, which judges maturity and may have been moved ahead (`scf chain advance`).
    now = datetime.fromtimestamp(_chain_now(runtime), UTC)
    chain_today = now.date()
    maturity = chain_today + timedelta(days=TENOR_DAYS)
    number = f"HM-{now:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6].upper()}"
    invoice = _invoice(number, suppliers[0].name, core.name, SUPPLIERS[0][1], maturity.isoformat(), now)
    document_hash = "0x" + hashlib.sha256(invoice.encode()).hexdigest()
    console.print(invoice, style="dim")
    issued = ledger.issue(
        core.account, suppliers[0].address, FACE_VALUE, maturity, document_hash, invoice_number=number
    )
    root_id = issued.certificate_id
    console.print(
        f"{core.name} issues certificate #{root_id}: {money(FACE_VALUE)} to {suppliers[0].name}, "
        f"maturing {maturity}, anchored to invoice {number} (sha256 {document_hash})"
    )

    # 3. Acceptance, then each tier pays the next
    console.rule("3. Tier 1 accepts, and each tier pays the next")
    ledger.accept(suppliers[0].account, root_id)
    console.print(f"{suppliers[0].name} accepts certificate #{root_id}")
    held = root_id
    for payer, payee, amount in zip(suppliers[:-1], suppliers[1:], PAYMENTS, strict=True):
        remainder_id, part_id = ledger.transfer_part(payer.account, held, payee.address, amount).certificate_ids
        console.print(
            f"{payer.name} pays {payee.name} {money(amount)} out of #{held}: "
            f"#{part_id} goes to {payee.name}, #{remainder_id} stays"
        )
        held = part_id

    # 4. Final holdings, read back from the ledger
    console.rule("4. Who holds what")
    names = {p.address: p.name for p in (core, *suppliers, bank, auditor)}
    holdings = tuple(ledger.holdings(root_id))
    table = Table("certificate", "holder")
    table.add_column("amount", justify="right")
    table.add_column("hops", justify="right")
    table.add_column("status")
    for certificate in holdings:
        holder = certificate.holder or certificate.last_holder
        table.add_row(
            f"#{certificate.id}",
            names.get(holder, holder),
            money(certificate.face_value),
            str(certificate.hops),
            certificate.status.label,
        )
    console.print(table)
    result = DemoResult(root_id, FACE_VALUE, number, document_hash, core, suppliers, bank, auditor, holdings)
    face_value = ledger.certificate(root_id).face_value
    if result.total != face_value:
        raise ScfError(
            f"the holdings of #{root_id} sum to {money(result.total)}, not its face value {money(face_value)}"
        )
    console.print(f"Sum of holdings: {money(result.total)} = face value of #{root_id}: {money(face_value)}")

    # The auditor traces tier 4's part back to the invoice.
    path = " <- ".join(f"#{i}" for i in [held, *ledger.ancestry(held)])
    anchored = ledger.certificate(root_id).document_hash == document_hash
    console.print(
        f"{auditor.name} traces #{held}, held by {suppliers[-1].name}: {path}, "
        f"anchored to invoice {number} ({'sha256 matches' if anchored else 'sha256 DOES NOT MATCH'})"
    )

    # 5. Discounting: tier 4 sells its piece to the bank, delivery versus payment
    console.rule("5. Tier 4 finances its certificate at the bank")
    financing = _finance(runtime, console, bank, suppliers[-1], held)
    result = replace(result, financing=financing)

    # 6. Settlement at maturity
    console.rule("6. At maturity, the core enterprise pays every holder")
    if not (settle_at_maturity and can_travel_in_time(runtime)):
        console.print(f"The certificates mature on {maturity}; the obligor settles then with POST /v1/settlements.")
        if can_travel_in_time(runtime):
            days = (maturity - chain_today).days
            console.print(
                f"To try settlement now, move this development chain's clock to maturity: "
                f"`scf chain advance --days {days}` (it never goes back)."
            )
        return result
    settlements = _settle_at_maturity(runtime, console, core, root_id, maturity, names)
    result = replace(result, settlements=settlements)

    # 7. Who received what
    console.rule("7. Who received what")
    _summary(console, result)
    return result


def _finance(runtime: Runtime, console: Console, bank: Party, seller: Party, certificate_id: int) -> FinanceResult:
    ledger, operator = runtime.ledger, runtime.operator
    ledger.deposit(operator, bank.address, BANK_DEPOSIT)
    console.print(f"The operator, as deposit bank, credits {bank.name} with {money(BANK_DEPOSIT)} in settlement tokens")
    face_value = ledger.certificate(certificate_id).face_value
    nonce = 0
    while ledger.offer_nonce_used(bank.address, nonce):
        nonce += 1
    offer = ledger.make_offer(
        bank.account,
        certificate_id,
        DISCOUNT_RATE,
        seller=seller.address,
        expires_at=_chain_now(runtime) + OFFER_VALIDITY_S,
        nonce=nonce,
        day_count=DAY_COUNT,
        amount=face_value,
    )
    ledger.approve_desk(bank.account, face_value)
    console.print(
        f"{bank.name} offers to buy #{certificate_id} at {DISCOUNT_RATE * 100:.2f}% a year "
        f"(actual/{DAY_COUNT}, without recourse), signed off chain (EIP-712)"
    )
    financed = ledger.accept_offer(seller.account, offer)
    console.print(
        f"{seller.name} accepts: in one transaction {bank.name} pays {money(financed.price)} "
        f"({money(financed.face_value)} less {money(financed.interest)} interest for {financed.days} days) "
        f"and takes #{financed.certificate_id}, now financed"
    )
    return financed


def _settle_at_maturity(
    runtime: Runtime,
    console: Console,
    core: Party,
    root_id: int,
    maturity: date,
    names: dict[str, str],
) -> tuple[SettlementResult, ...]:
    ledger, operator = runtime.ledger, runtime.operator
    owed = sum((c.face_value for c in ledger.unsettled(root_id)), Decimal("0.00"))
    ledger.deposit(operator, core.address, owed)
    console.print(f"{core.name} pays {money(owed)} into its settlement account")
    travel_to(runtime, to_day(maturity))
    console.print(f"The development chain's clock moves to the maturity day, {maturity} (evm_increaseTime)")
    ledger.approve_desk(core.account, ledger.allowance(core.address) + owed)
    settlements = tuple(ledger.settle_all(core.account, root_id))
    for settlement in settlements:
        for certificate_id, holder, amount, _ in settlement.payments:
            console.print(f"#{certificate_id}: {money(amount)} to {names.get(holder, holder)}")
    paid = sum((s.total for s in settlements), Decimal("0.00"))
    console.print(
        f"{core.name} settles issuance #{root_id}: {money(paid)} in {len(settlements)} transaction(s); "
        f"credit outstanding now {money(ledger.credit_line(core.address).outstanding)}"
    )
    return settlements


def _summary(console: Console, result: DemoResult) -> None:
    flows: dict[str, list[Decimal]] = {}  # address -> [financing, at maturity]

    def add(address: str, column: int, amount: Decimal) -> None:
        flows.setdefault(address, [Decimal("0.00"), Decimal("0.00")])[column] += amount

    if result.financing is not None:
        add(result.financing.seller, 0, result.financing.price)
        add(result.financing.financier, 0, -result.financing.price)
    for settlement in result.settlements:
        for _, holder, amount, _ in settlement.payments:
            add(holder, 1, amount)
    add(result.core.address, 1, -result.paid_at_maturity)
    table = Table("member")
    for column in ("financing", "at maturity", "net"):
        table.add_column(column, justify="right")
    order = [result.core, *result.suppliers, result.bank]
    for party in order:
        financing_flow, maturity = flows.get(party.address, [Decimal("0.00"), Decimal("0.00")])
        table.add_row(party.name, money(financing_flow), money(maturity), money(financing_flow + maturity))
    console.print(table)
    if result.financing is not None:
        interest = result.financing.face_value - result.financing.price
        console.print(
            f"{result.bank.name} paid {money(result.financing.price)} for #{result.financing.certificate_id} and "
            f"was paid {money(result.financing.face_value)} at maturity: {money(interest)} of discount interest"
        )
    net = sum((a + b for a, b in flows.values()), Decimal("0.00"))
    console.print(
        f"Paid at maturity: {money(result.paid_at_maturity)} = face value of #{result.root_id}: "
        f"{money(result.face_value)}; net across members: {money(net)}"
    )
