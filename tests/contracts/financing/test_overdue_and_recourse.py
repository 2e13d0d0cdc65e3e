"""Overdue after the grace period, late payment, and recourse against the seller."""

from __future__ import annotations

from decimal import Decimal

import pytest

from scf_chain.domain import ledger_errors
from scf_chain.domain.pricing import financing_price
from scf_chain.domain.types import CertificateStatusCode, Recourse, RecourseClaimStatus
from tests.contracts.financing.conftest import RATE, Desk

DAYS = 30


def test_the_grace_period_defaults_to_three_days_and_the_operator_sets_it(d: Desk):
    assert d.ledger.grace_period() == 3
    with pytest.raises(ledger_errors.AccessControlUnauthorizedAccount):
        d.ledger.set_grace_period(d.core, 10)
    d.ledger.set_grace_period(d.operator, 10)
    assert d.ledger.grace_period() == 10


def test_marking_overdue_waits_for_maturity_plus_the_grace_period(d: Desk):
    root = d.issue(d.t1, "1000.00", days=DAYS)
    maturity = d.today() + DAYS
    for day in (maturity, maturity + 3):
        d.travel_to(day)
        with d.unchanged(), pytest.raises(ledger_errors.GracePeriodNotOver) as error:
            d.send(d.t3, d.desk.functions.markOverdue(root, [root]))
        assert "after its grace period" in str(error.value)
    d.travel_to(maturity + 4)
    d.ledger.mark_overdue(d.t3, root, [root])  # anyone may mark
    assert d.ledger.certificate(root).status is CertificateStatusCode.OVERDUE
    # Marking again skips it.
    with d.unchanged():
        d.ledger.mark_overdue(d.t3, root, [root])


def test_a_shorter_grace_period_applies_at_once(d: Desk):
    root = d.issue(d.t1, "1000.00", days=DAYS)
    d.ledger.set_grace_period(d.operator, 0)
    d.travel_to(d.today() + DAYS + 1)
    d.ledger.mark_overdue(d.t3, root, [root])
    assert d.ledger.certificate(root).status is CertificateStatusCode.OVERDUE


def test_an_overdue_certificate_cannot_move_but_is_still_paid_late(d: Desk):
    root = d.issue(d.t1, "1000.00", days=DAYS)
    remainder, part = d.ledger.transfer_part(d.t1, root, d.t2.address, "250.00").certificate_ids
    d.travel_to(d.today() + DAYS + 4)
    d.ledger.mark_overdue(d.t4, root, [part])
    with d.unchanged(), pytest.raises(ledger_errors.CertificateWrongStatus):
        d.send(d.t2, d.ledger.contract.functions.transferFrom(d.t2.address, d.t3.address, part))
    with d.unchanged(), pytest.raises(ledger_errors.CertificateWrongStatus):
        d.send(d.t2, d.ledger.contract.functions.transferPart(part, d.t3.address, 1))
    d.fund(d.core, "1000.00")
    result = d.ledger.settle(d.core, root, [remainder, part])
    assert set(result.payments) == {
        (remainder, d.t1.address, Decimal("750.00"), False),
        (part, d.t2.address, Decimal("250.00"), True),
    }
    assert d.ledger.certificate(part).status is CertificateStatusCode.SETTLED


def test_pending_or_retired_certificates_cannot_be_marked_overdue(d: Desk):
    root = d.issue(d.t1, "1000.00", days=DAYS)
    remainder, _ = d.ledger.transfer_part(d.t1, root, d.t2.address, "250.00").certificate_ids
    d.travel_to(d.today() + DAYS + 4)
    with d.unchanged(), pytest.raises(ledger_errors.CertificateWrongStatus):
        d.send(d.t3, d.desk.functions.markOverdue(root, [remainder, root]))


def _sold_with_recourse(d: Desk, *, recourse: bool = True) -> tuple[int, Decimal]:
    """t1 sells a 10,000.00 certificate to the bank; returns its id and price. The certificate then goes overdue."""
    certificate_id = d.issue(d.t1, "10000.00", days=DAYS)
    _, price = financing_price(Decimal("10000.00"), RATE, 365, DAYS)
    d.fund(d.bank, price)
    d.ledger.accept_offer(d.t1, d.offer(certificate_id, recourse=recourse))
    d.travel_to(d.today() + DAYS + 4)
    d.ledger.mark_overdue(d.t3, certificate_id, [certificate_id])
    return certificate_id, price


def test_recourse_claim_and_payment(d: Desk):
    certificate_id, price = _sold_with_recourse(d)
    assert d.ledger.recourse(certificate_id) == Recourse(certificate_id, d.t1.address, RecourseClaimStatus.NONE)
    # The seller is kept in the certificate's own slot; the certificate still reads as childless.
    raw = d.ledger.contract.functions.certificate(certificate_id).call()
    assert (raw[-2], raw[-1]) == (0, 0)
    assert d.ledger.children(certificate_id) == []
    with pytest.raises(ledger_errors.RecourseClaimWrongStatus):  # nothing to pay before the claim
        d.ledger.pay_recourse_claim(d.t1, certificate_id)

    d.ledger.record_recourse_claim(d.bank, certificate_id)
    assert d.ledger.recourse(certificate_id).claim is RecourseClaimStatus.RECORDED
    with pytest.raises(ledger_errors.RecourseClaimWrongStatus):
        d.ledger.record_recourse_claim(d.bank, certificate_id)
    with pytest.raises(ledger_errors.NotRecourseSeller):
        d.ledger.pay_recourse_claim(d.t2, certificate_id)

    d.fund(d.t1, Decimal("10000.00") - price)  # the seller tops up what the bank paid it
    with d.unchanged(), pytest.raises(ledger_errors.ERC20InsufficientAllowance):
        d.send(d.t1, d.desk.functions.payRecourseClaim(certificate_id))
    d.ledger.approve_desk(d.t1, "10000.00")
    d.ledger.pay_recourse_claim(d.t1, certificate_id)
    assert d.balance(d.bank) == Decimal("10000.00")
    assert d.balance(d.t1) == 0
    certificate = d.ledger.certificate(certificate_id)
    assert (certificate.holder, certificate.status) == (d.t1.address, CertificateStatusCode.OVERDUE)
    assert d.ledger.recourse(certificate_id).claim is RecourseClaimStatus.PAID

    # The seller now stands in the bank's place: the obligor's late payment goes to it.
    d.fund(d.core, "10000.00")
    result = d.ledger.settle(d.core, certificate_id, [certificate_id])
    assert result.payments == ((certificate_id, d.t1.address, Decimal("10000.00"), True),)
    assert d.balance(d.bank) == Decimal("10000.00")


def test_recourse_needs_an_overdue_certificate_bought_with_recourse(d: Desk):
    certificate_id = d.issue(d.t1, "10000.00", days=DAYS)
    d.fund(d.bank, "10000.00")
    d.ledger.accept_offer(d.t1, d.offer(certificate_id, recourse=True))
    with pytest.raises(ledger_errors.CertificateWrongStatus):  # financed, not yet overdue
        d.ledger.record_recourse_claim(d.bank, certificate_id)
    d.travel_to(d.today() + DAYS + 4)
    d.ledger.mark_overdue(d.t3, certificate_id, [certificate_id])
    with pytest.raises(ledger_errors.NotCertificateHolder):  # only the financier holding it claims
        d.ledger.record_recourse_claim(d.t2, certificate_id)
    d.ledger.record_recourse_claim(d.bank, certificate_id)


def test_no_recourse_without_recourse(d: Desk):
    certificate_id, _ = _sold_with_recourse(d, recourse=False)
    assert d.ledger.recourse(certificate_id) is None
    with pytest.raises(ledger_errors.NotFinancedWithRecourse):
        d.ledger.record_recourse_claim(d.bank, certificate_id)


def test_a_claim_lapses_once_the_obligor_pays(d: Desk):
    certificate_id, _ = _sold_with_recourse(d)
    d.ledger.record_recourse_claim(d.bank, certificate_id)
    d.fund(d.core, "10000.00")
    d.ledger.settle(d.core, certificate_id, [certificate_id])
    d.fund(d.t1, "10000.00")
    with d.unchanged(), pytest.raises(ledger_errors.CertificateWrongStatus):
        d.send(d.t1, d.desk.functions.payRecourseClaim(certificate_id))
    assert d.balance(d.bank) == Decimal("10000.00")


def test_only_the_desk_may_use_the_ledger_hooks(d: Desk):
    certificate_id = d.issue(d.t1, "1000.00")
    with d.unchanged(), pytest.raises(ledger_errors.AccessControlUnauthorizedAccount) as error:
        d.send(d.t1, d.ledger.contract.functions.finance(d.t1.address, certificate_id, 0, d.bank.address, False))
    assert "is not the settlement desk" in str(error.value)


def test_a_part_sold_with_recourse_records_its_seller(d: Desk):
    certificate_id = d.issue(d.t1, "10000.00", days=DAYS)
    d.fund(d.bank, "10000.00")
    result = d.ledger.accept_offer(d.t1, d.offer(certificate_id, recourse=True), "2500.00")
    assert d.ledger.recourse(result.certificate_id) == Recourse(
        result.certificate_id, d.t1.address, RecourseClaimStatus.NONE
    )
    assert d.ledger.recourse(result.remainder_id) is None
    assert d.ledger.recourse(certificate_id) is None  # the split parent was not sold


def test_the_hand_over_on_recourse_passes_the_gate_without_a_hop(d: Desk):
    certificate_id, price = _sold_with_recourse(d)
    hops = d.ledger.certificate(certificate_id).hops
    d.ledger.set_max_hops(d.operator, hops)  # any further hop is refused
    d.ledger.record_recourse_claim(d.bank, certificate_id)
    d.fund(d.t1, Decimal("10000.00") - price)
    d.ledger.approve_desk(d.t1, "10000.00")
    d.ledger.pay_recourse_claim(d.t1, certificate_id)
    certificate = d.ledger.certificate(certificate_id)
    assert (certificate.holder, certificate.status, certificate.hops) == (
        d.t1.address,
        CertificateStatusCode.OVERDUE,
        hops,
    )
    # Outside the hand-over, an overdue certificate still cannot move.
    with d.unchanged(), pytest.raises(ledger_errors.CertificateWrongStatus):
        d.send(d.t1, d.ledger.contract.functions.transferFrom(d.t1.address, d.t2.address, certificate_id))


def test_the_hand_over_on_recourse_is_refused_while_paused(d: Desk):
    certificate_id, price = _sold_with_recourse(d)
    d.ledger.record_recourse_claim(d.bank, certificate_id)
    d.fund(d.t1, Decimal("10000.00") - price)
    d.ledger.approve_desk(d.t1, "10000.00")
    d.ledger.pause(d.operator)
    with d.unchanged(), pytest.raises(ledger_errors.LedgerPaused):
        d.send(d.t1, d.desk.functions.payRecourseClaim(certificate_id))
