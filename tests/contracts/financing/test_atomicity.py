"""Delivery versus payment is all or nothing: each failed acceptance below is mined, reverts on
chain, and leaves every balance, allowance, holder and status exactly as it was."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from web3.contract.contract import ContractFunction

from scf_chain.domain import ledger_errors
from scf_chain.domain.offers import sign_offer
from scf_chain.domain.pricing import financing_price
from scf_chain.domain.types import CertificateStatusCode
from tests.contracts.financing.conftest import RATE, Desk

FACE = Decimal("250000.00")
DAYS = 120
INTEREST, PRICE = financing_price(FACE, RATE, 365, DAYS)


@pytest.fixture
def certificate_id(d: Desk) -> int:
    return d.issue(d.t1, FACE, days=DAYS)


def _refused(d: Desk, call: ContractFunction, error: type[Exception]) -> None:
    """Sends ``call`` from t1 with a fixed gas limit, so that it is mined and reverts; asserts nothing moved."""
    block = d.w3.eth.block_number
    with d.unchanged(), pytest.raises(error):
        d.send(d.t1, call)
    assert d.w3.eth.block_number == block + 1, "the failed acceptance was mined"


def test_the_price_is_what_the_tests_below_approve(d: Desk, certificate_id: int):
    d.fund(d.bank, PRICE)
    assert d.ledger.accept_offer(d.t1, d.offer(certificate_id)).price == PRICE
    assert d.balance(d.bank) == 0


def test_an_allowance_short_by_a_fen_moves_nothing(d: Desk, certificate_id: int):
    d.fund(d.bank, "1000000.00", approve=PRICE - Decimal("0.01"))
    _refused(d, d.accept_call(d.offer(certificate_id)), ledger_errors.ERC20InsufficientAllowance)
    assert d.ledger.certificate(certificate_id).status is CertificateStatusCode.ACTIVE
    assert not d.ledger.offer_nonce_used(d.bank.address, 0)


def test_a_balance_short_by_a_fen_moves_nothing(d: Desk, certificate_id: int):
    d.fund(d.bank, PRICE - Decimal("0.01"), approve=PRICE)
    _refused(d, d.accept_call(d.offer(certificate_id)), ledger_errors.ERC20InsufficientBalance)


def test_a_shortfall_on_a_part_leaves_the_certificate_whole(d: Desk, certificate_id: int):
    _, part_price = financing_price(Decimal("1000.00"), RATE, 365, DAYS)
    d.fund(d.bank, "1000000.00", approve=part_price - Decimal("0.01"))
    _refused(d, d.accept_call(d.offer(certificate_id), "1000.00"), ledger_errors.ERC20InsufficientAllowance)
    assert d.ledger.certificate(certificate_id).child_ids == ()


def test_an_expired_offer_moves_nothing(d: Desk, certificate_id: int):
    d.fund(d.bank, "1000000.00")
    signed = d.offer(certificate_id, expires_in=60)
    d.travel(61)
    _refused(d, d.accept_call(signed), ledger_errors.OfferExpired)


def test_a_withdrawn_offer_moves_nothing(d: Desk, certificate_id: int):
    d.fund(d.bank, "1000000.00")
    signed = d.offer(certificate_id)
    d.ledger.withdraw_offer(d.bank, signed.offer)
    _refused(d, d.accept_call(signed), ledger_errors.OfferNonceUsed)


def test_a_replayed_offer_moves_nothing(d: Desk, certificate_id: int):
    d.fund(d.bank, "1000000.00")
    signed = d.offer(certificate_id)
    first = d.ledger.accept_offer(d.t1, signed, "1000.00")
    assert d.ledger.certificate(first.remainder_id).holder == d.t1.address
    # The same signed offer again, now for the remainder the seller still holds: refused.
    _refused(d, d.accept_call(signed, "1000.00"), ledger_errors.OfferNonceUsed)


def test_an_offer_for_another_certificate_moves_nothing(d: Desk, certificate_id: int):
    other = d.issue(d.t1, "1000.00", days=DAYS)
    d.fund(d.bank, "1000000.00")
    signed = d.offer(other)
    # Pointing the signed offer at another certificate breaks the signature …
    retargeted = replace(signed, offer=replace(signed.offer, certificate_id=certificate_id))
    _refused(d, d.accept_call(retargeted), ledger_errors.InvalidOfferSignature)
    # … and a holder cannot sell someone else's certificate with its offer.
    d.ledger.transfer(d.t1, other, d.t2.address)
    _refused(d, d.accept_call(signed), ledger_errors.NotCertificateHolder)


def test_an_offer_signed_for_another_chain_moves_nothing(d: Desk, certificate_id: int):
    d.fund(d.bank, "1000000.00")
    offer = d.offer(certificate_id).offer
    foreign = sign_offer(d.bank, offer, chain_id=d.ledger.chain_id + 1, desk=d.desk.address)
    _refused(d, d.accept_call(foreign), ledger_errors.InvalidOfferSignature)
    # The same offer signed for this chain is good.
    assert d.ledger.accept_offer(d.t1, sign_offer(d.bank, offer, chain_id=d.ledger.chain_id, desk=d.desk.address))


def test_an_offer_signed_for_another_desk_moves_nothing(d: Desk, certificate_id: int):
    d.fund(d.bank, "1000000.00")
    offer = d.offer(certificate_id).offer
    foreign = sign_offer(d.bank, offer, chain_id=d.ledger.chain_id, desk=d.ledger.address)
    _refused(d, d.accept_call(foreign), ledger_errors.InvalidOfferSignature)


def test_an_offer_signed_by_someone_else_moves_nothing(d: Desk, certificate_id: int):
    d.fund(d.bank, "1000000.00")
    offer = d.offer(certificate_id).offer
    impostor = sign_offer(d.t2, replace(offer, financier=d.t2.address), chain_id=d.ledger.chain_id, desk=d.desk.address)
    _refused(d, d.accept_call(replace(impostor, offer=offer)), ledger_errors.InvalidOfferSignature)
