"""Discounting: a financier's signed offer, accepted by the holder, settled delivery versus payment."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from scf_chain.domain import ledger_errors
from scf_chain.domain.offers import offer_digest, offer_struct, sign_offer
from scf_chain.domain.pricing import financing_price
from scf_chain.domain.types import CertificateStatusCode, MemberRole
from tests.conftest import new_invoice_number
from tests.contracts.financing.conftest import RATE, Desk


def test_accepting_an_offer_pays_the_holder_and_hands_over_the_certificate(d: Desk):
    certificate_id = d.issue(d.t1, "100000.00", days=90)
    interest, price = financing_price(Decimal("100000.00"), RATE, 365, 90)
    d.fund(d.bank, "200000.00", approve=price)

    result = d.ledger.accept_offer(d.t1, d.offer(certificate_id))

    assert (result.certificate_id, result.remainder_id, result.days) == (certificate_id, None, 90)
    assert (result.interest, result.price) == (interest, price) == (Decimal("949.32"), Decimal("99050.68"))
    assert (result.financier, result.seller) == (d.bank.address, d.t1.address)
    assert d.balance(d.t1) == price
    assert d.balance(d.bank) == Decimal("200000.00") - price
    assert d.ledger.allowance(d.bank.address) == 0
    certificate = d.ledger.certificate(certificate_id)
    assert (certificate.holder, certificate.status) == (d.bank.address, CertificateStatusCode.FINANCED)
    assert d.ledger.offer_nonce_used(d.bank.address, 0)


def test_accepting_part_of_a_certificate_splits_off_the_part_sold(d: Desk):
    certificate_id = d.issue(d.t1, "1000.00", days=180)
    d.fund(d.bank, "1000.00")

    result = d.ledger.accept_offer(d.t1, d.offer(certificate_id, day_count=360), Decimal("400.00"))

    interest, price = financing_price(Decimal("400.00"), RATE, 360, 180)
    assert (result.face_value, result.interest, result.price) == (Decimal("400.00"), interest, price)
    remainder, part = d.ledger.certificate(result.remainder_id), d.ledger.certificate(result.certificate_id)
    assert (remainder.holder, remainder.face_value, remainder.status) == (
        d.t1.address,
        Decimal("600.00"),
        CertificateStatusCode.ACTIVE,
    )
    assert (part.holder, part.face_value, part.status) == (
        d.bank.address,
        Decimal("400.00"),
        CertificateStatusCode.FINANCED,
    )
    assert d.ledger.certificate(certificate_id).status is CertificateStatusCode.SPLIT
    assert d.balance(d.t1) == price


def test_the_face_value_as_amount_sells_the_whole_certificate(d: Desk):
    certificate_id = d.issue(d.t1, "500.00")
    d.fund(d.bank, "500.00")
    result = d.ledger.accept_offer(d.t1, d.offer(certificate_id), "500.00")
    assert (result.certificate_id, result.remainder_id) == (certificate_id, None)


def test_an_amount_above_the_face_value_is_refused(d: Desk):
    certificate_id = d.issue(d.t1, "500.00")
    d.fund(d.bank, "1000.00")
    with d.unchanged(), pytest.raises(ledger_errors.FinanceAmountAboveFace):
        d.ledger.accept_offer(d.t1, d.offer(certificate_id), "500.01")


def test_no_acceptance_sells_more_than_the_offer_was_priced_for(d: Desk):
    certificate_id = d.issue(d.t1, "100000.00", days=91)
    d.fund(d.bank, "200000.00")
    signed = d.offer(certificate_id, rate="0.05", amount="10000.00")
    assert signed.offer.amount == Decimal("10000.00")
    for amount in ("100000.00", "10000.01", 0):  # 0 asks for the whole certificate
        with d.unchanged(), pytest.raises(ledger_errors.FinanceAmountAboveOffer) as error:
            d.send(d.t1, d.accept_call(signed, amount))
    assert "100,000.00 is more than the 10,000.00 that First Bank" in str(error.value)
    assert error.value.code == "finance_amount_above_offer"
    assert not d.ledger.offer_nonce_used(d.bank.address, signed.offer.nonce)

    result = d.ledger.accept_offer(d.t1, signed, "10000.00")
    assert (result.face_value, result.interest, result.price) == (
        Decimal("10000.00"),
        Decimal("124.66"),
        Decimal("9875.34"),
    )
    assert d.balance(d.bank) == Decimal("200000.00") - Decimal("9875.34")


def test_an_offer_signs_its_amount(d: Desk):
    certificate_id = d.issue(d.t1, "100000.00")
    d.fund(d.bank, "200000.00")
    signed = d.offer(certificate_id, amount="10000.00")
    raised = replace(signed, offer=replace(signed.offer, amount=Decimal("100000.00")))
    with d.unchanged(), pytest.raises(ledger_errors.InvalidOfferSignature):
        d.send(d.t1, d.accept_call(raised))


def test_only_the_holder_can_accept_an_offer(d: Desk):
    certificate_id = d.issue(d.t1, "1000.00")
    d.fund(d.bank, "1000.00")
    signed = d.offer(certificate_id, seller=d.t2.address)  # made to a member who does not hold it
    with d.unchanged(), pytest.raises(ledger_errors.NotCertificateHolder) as error:
        d.send(d.t2, d.accept_call(signed))
    assert "Tier 2 Parts does not hold certificate" in str(error.value)


def test_only_a_registered_financier_can_buy(d: Desk):
    certificate_id = d.issue(d.t1, "1000.00")
    d.fund(d.t2, "1000.00")  # a supplier with money, signing as if a bank
    with d.unchanged(), pytest.raises(ledger_errors.WrongMemberRole):
        d.ledger.accept_offer(d.t1, d.offer(certificate_id, financier=d.t2))


@pytest.mark.parametrize("state", ["pending", "frozen", "financed", "settled", "overdue"])
def test_certificates_that_are_not_active_cannot_be_financed(d: Desk, state: str):
    d.fund(d.bank, "10000.00")
    if state == "pending":
        maturity = d.today_date() + timedelta(days=90)
        issued = d.ledger.issue(
            d.core, d.t1.address, Decimal("1000.00"), maturity, d.new_document(), invoice_number=new_invoice_number()
        )
        certificate_id = issued.certificate_id
        expected: type[Exception] = ledger_errors.CertificateWrongStatus
    elif state == "frozen":
        certificate_id = d.issue(d.t1, "1000.00")
        d.ledger.freeze_certificate(d.operator, certificate_id)
        expected = ledger_errors.CertificateIsFrozen
    elif state == "financed":
        certificate_id = d.issue(d.t1, "1000.00")
        d.ledger.accept_offer(d.t1, d.offer(certificate_id))
        expected = ledger_errors.CertificateWrongStatus
    else:
        certificate_id = d.issue(d.t1, "1000.00", days=10)
        d.travel_to(d.today() + 10 + 4)
        d.fund(d.core, "1000.00")
        if state == "settled":
            d.ledger.settle(d.core, certificate_id, [certificate_id])
        else:
            d.ledger.mark_overdue(d.t3, certificate_id, [certificate_id])
        expected = ledger_errors.CertificateWrongStatus
    with d.unchanged(), pytest.raises(expected):
        d.send(d.t1, d.accept_call(d.offer(certificate_id, seller=d.t1.address)))


# Boundaries of the day count


def test_one_day_before_maturity_is_the_last_day_to_finance(d: Desk):
    certificate_id = d.issue(d.t1, "1000000.00", days=1)
    d.fund(d.bank, "1000000.00")
    result = d.ledger.accept_offer(d.t1, d.offer(certificate_id, rate="0.05", day_count=360))
    assert result.days == 1
    # 1,000,000 * 5% / 360 = 138.888… -> 138.89
    assert (result.interest, result.price) == (Decimal("138.89"), Decimal("999861.11"))


def test_a_certificate_maturing_today_is_not_financeable(d: Desk):
    certificate_id = d.issue(d.t1, "1000.00", days=0)
    d.fund(d.bank, "1000.00")
    with d.unchanged(), pytest.raises(ledger_errors.CertificateMatured) as error:
        d.send(d.t1, d.accept_call(d.offer(certificate_id)))
    assert "can be financed only before" in str(error.value)


def test_a_certificate_past_maturity_is_not_financeable(d: Desk):
    certificate_id = d.issue(d.t1, "1000.00", days=2)
    d.travel_to(d.today() + 3)
    d.fund(d.bank, "1000.00")
    with d.unchanged(), pytest.raises(ledger_errors.CertificateMatured):
        d.ledger.accept_offer(d.t1, d.offer(certificate_id))


def test_365_days_on_a_360_basis_cost_more_than_the_stated_rate(d: Desk):
    certificate_id = d.issue(d.t1, "36000.00", days=365)
    d.fund(d.bank, "36000.00")
    result = d.ledger.accept_offer(d.t1, d.offer(certificate_id, rate="0.036", day_count=360))
    # 36,000 * 3.6% * 365 / 360 = 1,314.00 exactly
    assert (result.days, result.interest, result.price) == (365, Decimal("1314.00"), Decimal("34686.00"))


def test_rounding_is_half_up_to_the_fen(d: Desk):
    # 0.02 * 0.0925 * 365 / 365 = 0.00185 -> 0.00; 0.06 * 0.0925 = 0.00555 -> 0.01
    assert d.ledger.quote("0.02", "0.0925", 365, 365) == (Decimal("0.00"), Decimal("0.02"))
    assert d.ledger.quote("0.06", "0.0925", 365, 365) == (Decimal("0.01"), Decimal("0.05"))
    # exactly half a fen rounds up: 100.00 * 0.00005 * 365 / 365 = 0.005
    assert d.ledger.quote("100.00", "0.00005", 365, 365) == (Decimal("0.01"), Decimal("99.99"))
    assert financing_price(Decimal("100.00"), Decimal("0.00005"), 365, 365) == (Decimal("0.01"), Decimal("99.99"))


@pytest.mark.parametrize(
    ("rate", "day_count", "error"),
    [
        ("0.0385", 364, ledger_errors.InvalidDayCount),
        ("1.00000001", 365, ledger_errors.AnnualRateTooHigh),
    ],
)
def test_offers_with_invalid_terms_are_refused(d: Desk, rate: str, day_count: int, error: type[Exception]):
    certificate_id = d.issue(d.t1, "1000.00")
    d.fund(d.bank, "1000.00")
    signed = d.offer(certificate_id)
    struct = list(offer_struct(signed.offer))
    struct[4] = int(Decimal(rate) * 10**8)
    struct[5] = day_count
    with d.unchanged(), pytest.raises(error):
        d.send(d.t1, d.desk.functions.acceptOffer(tuple(struct), signed.signature, 0))


def test_a_rate_that_eats_the_whole_face_value_is_refused(d: Desk):
    with pytest.raises(ledger_errors.InterestNotBelowFace):
        d.ledger.quote("100.00", "1", 360, 365)


# Offers


def test_the_desk_and_eth_account_agree_on_the_offer_digest(d: Desk):
    signed = d.offer(d.issue())
    local = offer_digest(signed.offer, chain_id=d.ledger.chain_id, desk=d.desk.address)
    assert d.ledger.offer_hash(signed.offer) == local


def test_a_financier_can_withdraw_an_offer_by_its_terms_or_its_nonce(d: Desk):
    certificate_id = d.issue(d.t1, "1000.00")
    d.fund(d.bank, "1000.00")
    first, second = d.offer(certificate_id, nonce=7), d.offer(certificate_id, nonce=300)
    d.ledger.withdraw_offer(d.bank, first.offer)
    d.ledger.withdraw_offer_nonce(d.bank, 300)
    assert d.ledger.offer_nonce_used(d.bank.address, 7) and d.ledger.offer_nonce_used(d.bank.address, 300)
    assert not d.ledger.offer_nonce_used(d.bank.address, 8)
    for signed in (first, second):
        with d.unchanged(), pytest.raises(ledger_errors.OfferNonceUsed):
            d.ledger.accept_offer(d.t1, signed)
    with pytest.raises(ledger_errors.OfferNonceUsed):
        d.ledger.withdraw_offer_nonce(d.bank, 7)


def test_only_the_seller_it_was_made_to_can_accept_an_offer(d: Desk):
    certificate_id = d.issue(d.t1, "1000.00")
    d.fund(d.bank, "1000.00")
    to_t1 = d.offer(certificate_id, recourse=True)
    assert to_t1.offer.seller == d.t1.address
    # t1 passes the certificate on: the bank's offer (and its recourse against t1) is not t2's to take.
    d.ledger.transfer(d.t1, certificate_id, d.t2.address)
    with d.unchanged(), pytest.raises(ledger_errors.NotOfferSeller, match="made to"):
        d.ledger.accept_offer(d.t2, to_t1)
    # Nor does a seller's name on someone else's signature help: the signature covers it.
    forged = replace(to_t1, offer=replace(to_t1.offer, seller=d.t2.address))
    with d.unchanged(), pytest.raises(ledger_errors.InvalidOfferSignature):
        d.ledger.accept_offer(d.t2, forged)
    assert not d.ledger.offer_nonce_used(d.bank.address, to_t1.offer.nonce)
    result = d.ledger.accept_offer(d.t2, d.offer(certificate_id))
    assert (result.seller, result.financier) == (d.t2.address, d.bank.address)


def test_only_its_financier_can_withdraw_an_offer(d: Desk):
    signed = d.offer(d.issue())
    with pytest.raises(ledger_errors.NotOfferFinancier):
        d.ledger.withdraw_offer(d.t1, signed.offer)
    assert not d.ledger.offer_nonce_used(d.bank.address, signed.offer.nonce)


def test_a_member_can_register_a_second_financier_whose_offers_are_its_own(d: Desk):
    second = d.runtime.keystore.create()
    d.ledger.register_member(d.operator, second.address, MemberRole.FINANCIER, "Second Bank")
    certificate_id = d.issue(d.t1, "1000.00")
    d.fund(second, "1000.00")
    # The same nonce as the first bank's: nonces are per financier.
    d.ledger.withdraw_offer_nonce(d.bank, 0)
    result = d.ledger.accept_offer(d.t1, d.offer(certificate_id, financier=second, nonce=0))
    assert result.financier == second.address
    with pytest.raises(Exception, match="cannot be signed by"):
        sign_offer(d.bank, d.offer(certificate_id, financier=second).offer, chain_id=1, desk=d.desk.address)
