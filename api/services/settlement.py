"""Settlement and recourse for the gateway: how far an issuance is paid, the settlement of an issuance on
the obligor's behalf, and the seller's payment of a recourse claim.

The settlement saga itself (the desk's checks, the balance, the approval, the batches) is the library's,
shared with ``scf settle``; here it runs under the obligor's lock, from the index's list of what is unpaid,
and its progress is told as the API shows it.

A settlement interrupted after it approved the desk (the gateway killed, the chain gone) leaves part of that
approval unspent. So before approving, the gateway notes in its store the allowance the obligor kept
for presentment; a settlement of the issuance sent again continues from that note, approving only what is
missing, and the note goes once nothing is left to pay.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from eth_account.signers.local import LocalAccount

from api.gateway import Gateway
from api.schemas import Payment, SettlementBatch, SettlementOut, SettlementStatusOut
from api.services import overdue
from api.services.payments import ALLOWANCE_ERRORS, member_lock, require_balance, top_up_allowance
from api.services.writes import Report
from scf_chain.client.clock import ledger_today
from scf_chain.client.settlement import IssuanceSettlement, plan_settlement, settle_issuance
from scf_chain.domain.types import CertificateStatus, TxResult
from scf_chain.index.indexer import CertificateRecord
from scf_chain.index.store import DESK

# Events read per page when looking through the index for one desk event.
EVENT_PAGE = 1000


def settlement_status(gateway: Gateway, root: CertificateRecord, today: date) -> SettlementStatusOut:
    """What the issuance of ``root`` has been paid and what is outstanding, from the index."""
    leaves = overdue.leaves(gateway, root.id)
    settled = [c for c in leaves if c.status == CertificateStatus.SETTLED]
    unsettled = overdue.unsettled(leaves)
    settled_total = sum((c.face_value for c in settled), Decimal("0.00"))
    if not unsettled and settled:
        status = "settled"
    elif settled:
        status = "partially_settled"
    elif root.maturity_date > today:
        status = "not_due"
    else:
        status = "due"
    return SettlementStatusOut(
        root_id=root.id,
        obligor=root.obligor,
        maturity_date=root.maturity_date,
        face_value=root.face_value,
        settled_total=settled_total,
        outstanding=sum((c.face_value for c in unsettled), Decimal("0.00")),
        certificates_settled=len(settled),
        certificates_outstanding=len(unsettled),
        certificates_overdue=sum(1 for c in unsettled if c.status == CertificateStatus.OVERDUE),
        status=status,
        indexed_block=gateway.index.indexed_block,
    )


def settle(gateway: Gateway, obligor: LocalAccount, root: CertificateRecord, report: Report) -> SettlementOut:
    """Pays every unpaid certificate of the issuance of ``root`` from ``obligor``, reporting each batch.

    Raises the ledger's error (not yet matured, too few tokens) before anything is sent.
    """
    ledger = gateway.runtime.ledger
    batches: list[SettlementBatch] = []
    payments: list[Payment] = []
    approval: str | None = None
    skipped: list[int] = []

    def summary(indexed_block: int, final: bool) -> SettlementOut:
        status = settlement_status(gateway, root, ledger_today())
        paid = sum((p.amount for p in payments), Decimal("0.00"))
        done = final and status.certificates_outstanding == 0
        return SettlementOut(
            root_id=root.id,
            obligor=root.obligor,
            face_value=root.face_value,
            paid_total=paid,
            certificates_settled=len(payments),
            settled_total=status.settled_total if final else ledger.settled_amount(root.id),
            outstanding=status.outstanding,
            certificates_outstanding=status.certificates_outstanding,
            skipped_frozen=skipped,
            status="settled" if done else ("partially_settled" if final else "in_progress"),
            approval_tx_hash=approval,
            batches=list(batches),
            payments=list(payments),
            indexed_block=indexed_block,
        )

    def progress(so_far: IssuanceSettlement) -> None:
        nonlocal approval
        approval = so_far.approval.tx_hash if so_far.approval else None
        result = so_far.batches[-1]
        batches.append(
            SettlementBatch(
                tx_hash=result.tx_hash,
                block_number=result.block_number,
                certificates_settled=len(result.payments),
                paid=result.total,
            )
        )
        payments.extend(
            Payment(certificate_id=i, holder=holder, amount=amount, late=late)
            for i, holder, amount, late in result.payments
        )
        report(summary(indexed_block, final=False))

    with member_lock(obligor.address):
        indexed_block = overdue.catch_up(gateway)
        unsettled = overdue.unsettled(overdue.leaves(gateway, root.id))
        frozen_members = {m.address for m in gateway.index.members() if m.frozen}
        plan = plan_settlement(root.id, unsettled, frozen_members)
        skipped = list(plan.withheld)
        store = gateway.store
        settle_issuance(
            ledger,
            obligor,
            plan,
            on_batch=progress,
            standing_allowance=store.standing_allowance(obligor.address, root.id),
            # Noted before the approval is signed, so that a crash after it always finds the note.
            on_approval=lambda standing: store.keep_standing_allowance(obligor.address, root.id, standing),
        )
        store.forget_standing_allowance(obligor.address, root.id)
        if batches:
            indexed_block = gateway.wait_indexed(batches[-1].block_number)
    return summary(indexed_block, final=True)


def financier_paid(gateway: Gateway, record: CertificateRecord) -> str | None:
    """The financier a paid recourse claim on the certificate went to, from the desk's event in the index."""
    paid_to: str | None = None
    after: tuple[int, int] | None = None
    # The claim is paid after the certificate was made: the events before its block need no reading.
    while True:
        events = gateway.index.events(from_block=record.created_block, after=after, limit=EVENT_PAGE)
        for event in events:
            if event.contract == DESK and event.name == "RecourseClaimPaid" and event.args.get("id") == record.id:
                paid_to = str(event.args["financier"])
        if len(events) < EVENT_PAGE:
            return paid_to
        after = (events[-1].block_number, events[-1].log_index)


def pay_recourse(gateway: Gateway, seller: LocalAccount, record: CertificateRecord) -> tuple[TxResult, str]:
    """The seller pays the recourse claim on ``record``: the transaction, and the financier it paid.

    The desk's checks run as a call first, so that nothing is approved for a payment the ledger would refuse;
    then the seller's balance is checked and its allowance raised by exactly the face value.
    """
    ledger = gateway.runtime.ledger
    with member_lock(seller.address):
        call = ledger.desk.functions.payRecourseClaim(record.id)
        ledger.preflight(seller.address, call, ignore=ALLOWANCE_ERRORS)
        financier = ledger.certificate(record.id).holder or record.last_holder
        require_balance(ledger, seller.address, record.face_value)
        top_up_allowance(ledger, seller, record.face_value)
        result = ledger.pay_recourse_claim(seller, record.id)
    return result, financier
