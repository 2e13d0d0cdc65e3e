"""The demo story: one invoice's payable certificate, passed down a four-tier supply chain.

The operator onboards a core enterprise, four suppliers (tier 1 to tier 4), a bank and
an auditor. The core enterprise issues CNY 1,000,000.00 against an invoice whose
SHA-256 it anchors on the ledger; tier 1 accepts, and each tier pays the next part of
what it holds. The holdings at the end are read back from the ledger and summed: they
add up to the face value, to the fen.

Every run makes fresh member keys and a unique invoice, so the story can be played any
number of times on the same chain.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from eth_account.signers.local import LocalAccount
from rich.console import Console
from rich.table import Table

from scf_chain.errors import ScfError
from scf_chain.money import CURRENCY, today_utc
from scf_chain.runtime import Runtime
from scf_chain.types import Certificate, MemberRole

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
    holdings: tuple[Certificate, ...]

    @property
    def total(self) -> Decimal:
        """The sum of what is held now, computed from the ledger's certificates."""
        return sum((c.face_value for c in self.holdings), Decimal("0.00"))


def _run_suffix(runtime: Runtime) -> str:
    """``""`` the first time the story is played on a chain, then `` #2``, `` #3``..."""
    earlier = sum(1 for m in runtime.ledger.members() if m.name.startswith(CORE_ENTERPRISE))
    return f" #{earlier + 1}" if earlier else ""


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


def play(runtime: Runtime, console: Console) -> DemoResult:
    """Plays the story on the ledger of ``runtime``, narrating it on ``console``."""
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
    now = datetime.now(UTC)
    maturity = today_utc() + timedelta(days=TENOR_DAYS)
    number = f"HM-{now:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6].upper()}"
    invoice = _invoice(number, suppliers[0].name, core.name, SUPPLIERS[0][1], maturity.isoformat(), now)
    document_hash = "0x" + hashlib.sha256(invoice.encode()).hexdigest()
    console.print(invoice, style="dim")
    issued = ledger.issue(core.account, suppliers[0].address, FACE_VALUE, maturity, document_hash)
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
    return result
