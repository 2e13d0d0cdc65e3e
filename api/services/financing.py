"""Financing, beside the routes: whether a certificate can be financed, whether a request or an offer is
still open, what an offer may cost, the financiers' allowances, and the offers' own workflows (making,
withdrawing and accepting one on the ledger).

Whether a certificate can be financed is judged as the ledger judges it (:func:`not_financeable`), so that
a request the desk would refuse is refused before anything is stored or signed.

A financier's allowance to the settlement desk is what the desk may draw from it, so
the gateway keeps it at what the financier's offers may cost and nothing more:

    allowance = the sum, over the financier's open offers, of each offer's cost

An offer counts while it is open: not accepted, withdrawn or expired, and its
certificate still active with the seller and not matured. Its cost is the desk's price
for the offer's own amount (the most it buys) on the last day it can be accepted: its
expiry day, or the day before maturity if that comes first. For an offer that expires
today that is today's price; for a longer one it is the most the offer can ever cost,
since the interest shrinks as maturity nears.

The gateway sets the allowance to that sum, with one approval and only when it
differs, when the financier makes an offer, withdraws one, or an offer on a
certificate it quoted for is accepted (the desk has drawn the price by then). A
background pass does the same when an offer lapses on its own: it expires, or its
certificate moves on. A financier that sets its allowance itself (``PUT
/v1/allowance``) keeps that setting until the next of these.

Accepting part of a certificate leaves the remainder open for financing: a new request
for it, to the same financiers, and the other offers on the certificate sold from are
withdrawn with the reason.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from eth_account.signers.local import LocalAccount

from api.render.problems import Problem
from api.services.payments import member_lock
from api.store import FinancingRequest, StoredOffer
from scf_chain.client.clock import SECONDS_PER_DAY, ledger_now
from scf_chain.domain.errors import ScfError
from scf_chain.domain.money import to_day
from scf_chain.domain.pricing import InvalidTerms, financing_price
from scf_chain.domain.types import CertificateStatus, FinanceResult, Offer, SignedOffer
from scf_chain.index.indexer import CertificateRecord

if TYPE_CHECKING:
    from api.gateway import Gateway

log = logging.getLogger(__name__)

# How often the background pass looks for offers that lapsed on their own.
LAPSED_OFFERS_INTERVAL_S = 2.0


# Whether a certificate can be financed, and whether a request or an offer on it is still open


def not_financeable(record: CertificateRecord, today: date) -> Problem | None:
    """Why the ledger would refuse to finance the certificate now, with the ledger's code; None if it would not."""
    if record.status != CertificateStatus.ACTIVE:
        return Problem(
            409,
            "certificate_wrong_status",
            f"Certificate {record.id} is {record.status}; only an active certificate can be financed.",
        )
    if record.frozen:
        return Problem(409, "certificate_is_frozen", f"Certificate {record.id} is frozen by the operator.")
    if record.maturity_date <= today:
        return Problem(
            409,
            "certificate_matured",
            f"Certificate {record.id} matures on {record.maturity_date} and can be financed only before then; "
            f"today is {today} (UTC).",
        )
    return None


def request_status(request: FinancingRequest, record: CertificateRecord | None, today: date) -> str:
    """The request's own status, or closed once its certificate left the holder or can no longer be financed."""
    if request.status != "open":
        return request.status
    if (
        record is None
        or record.holder != request.holder
        or record.status != CertificateStatus.ACTIVE
        or record.maturity_date <= today
    ):
        return "closed"
    return "open"


def offer_status(offer: StoredOffer, record: CertificateRecord | None, now: int) -> str:
    """open, withdrawn, accepted, expired, or closed (the certificate can no longer be sold to its financier)."""
    if offer.status != "open":
        return offer.status
    if now > offer.expires_at:
        return "expired"
    today = now // SECONDS_PER_DAY
    if (
        record is None
        or record.status != CertificateStatus.ACTIVE
        or record.holder != offer.seller
        or to_day(record.maturity_date) <= today
    ):
        return "closed"
    return "open"


# What offers may cost: the financiers' allowances


def cost(amount: Decimal, annual_rate: Decimal, day_count: int, expires_at: int, record: CertificateRecord) -> Decimal:
    """The most an offer on ``record`` can cost its financier: its amount's price on the last day it can be accepted."""
    maturity_day = to_day(record.maturity_date)
    last_day = min(expires_at // SECONDS_PER_DAY, maturity_day - 1)
    try:
        return financing_price(amount, annual_rate, day_count, maturity_day - last_day)[1]
    except InvalidTerms:  # terms the desk would refuse: the offer can never be paid
        return Decimal(0)


def offer_cost(offer: StoredOffer, record: CertificateRecord) -> Decimal:
    return cost(offer.amount, offer.annual_rate, offer.day_count, offer.expires_at, record)


def committed(gateway: Gateway, financier: str, now: int) -> Decimal:
    """What ``financier``'s open offers may cost, together."""
    total = Decimal(0)
    for offer in gateway.store.offers(financier=financier, status="open"):
        record = gateway.index.certificate(offer.certificate_id)
        if record is not None and offer_status(offer, record, now) == "open":
            total += offer_cost(offer, record)
    return total


def set_allowance(
    gateway: Gateway, financier: str, *, extra: Decimal = Decimal(0), on_chain: bool = True, now: int | None = None
) -> None:
    """Sets ``financier``'s allowance to what its open offers may cost, plus ``extra`` (an offer being made).

    With ``on_chain`` the target is compared with the allowance on the ledger, else with
    the one the gateway set last; an approval is sent only when they differ.
    """
    ledger = gateway.runtime.ledger
    with member_lock(financier):
        target = committed(gateway, financier, ledger_now() if now is None else now) + extra
        stored = gateway.store.offer_allowance(financier)
        if (ledger.allowance(financier) if on_chain else stored) != target:
            ledger.approve_desk(gateway.runtime.keystore.account(financier), target)
        if stored != target:
            gateway.store.set_offer_allowance(financier, target)


def release_after_acceptance(gateway: Gateway, financiers: set[str]) -> None:
    """After an acceptance: the allowances of the financiers whose offers it used or closed."""
    for financier in sorted(financiers):
        try:
            set_allowance(gateway, financier)
        except ScfError as exc:  # the acceptance stands; the background pass tries again
            log.warning("could not set the allowance of %s after an acceptance: %s", financier, exc)


def release_lapsed(gateway: Gateway) -> None:
    """The background pass: lowers the allowances of financiers whose offers expired or closed on their own."""
    now = gateway.runtime.clock.now()  # a background pass: no request's clock is current
    for financier in gateway.store.financiers_with_offer_allowance():
        set_allowance(gateway, financier, on_chain=False, now=now)


# Offers on the ledger


def signed_offer(offer: StoredOffer) -> SignedOffer:
    """The offer as the financier signed it, for the desk."""
    terms = Offer(
        certificate_id=offer.certificate_id,
        amount=offer.amount,
        financier=offer.financier,
        seller=offer.seller,
        annual_rate=offer.annual_rate,
        day_count=offer.day_count,
        expires_at=offer.expires_at,
        recourse=offer.recourse,
        nonce=offer.nonce,
    )
    return SignedOffer(terms, bytes.fromhex(offer.signature.removeprefix("0x")))


def unused_nonce(gateway: Gateway, financier: str) -> int:
    """The next offer nonce of ``financier`` that the desk has not seen spent, including outside this gateway."""
    nonce = gateway.store.next_offer_nonce(financier)
    while gateway.runtime.ledger.offer_nonce_used(financier, nonce):
        nonce += 1
    return nonce


def make_offer(
    gateway: Gateway,
    financier: LocalAccount,
    financing: FinancingRequest,
    record: CertificateRecord,
    *,
    amount: Decimal,
    annual_rate: Decimal,
    day_count: int,
    expires_at: int,
    recourse: bool,
) -> StoredOffer:
    """Signs and keeps an offer answering ``financing``, after raising the financier's allowance by its cost."""
    with member_lock(financier.address):
        price = cost(amount, annual_rate, day_count, expires_at, record)
        set_allowance(gateway, financier.address, extra=price)
        nonce = unused_nonce(gateway, financier.address)
        signed = gateway.runtime.ledger.make_offer(
            financier,
            record.id,
            annual_rate,
            seller=financing.holder,
            expires_at=expires_at,
            nonce=nonce,
            day_count=day_count,
            recourse=recourse,
            amount=amount,
        )
        return gateway.store.create_offer(
            request_id=financing.id,
            certificate_id=record.id,
            seller=financing.holder,
            financier=financier.address,
            annual_rate=annual_rate,
            day_count=day_count,
            expires_at=expires_at,
            recourse=recourse,
            nonce=nonce,
            amount=amount,
            signature="0x" + signed.signature.hex(),
        )


def withdraw(gateway: Gateway, financier: LocalAccount, offer: StoredOffer) -> StoredOffer:
    """Spends the offer's nonce on the ledger, so that it can never be accepted, and lowers the allowance."""
    result = gateway.runtime.ledger.withdraw_offer(financier, signed_offer(offer).offer)
    gateway.store.mark_offer_withdrawn(offer.id, result.tx_hash)
    set_allowance(gateway, financier.address)
    withdrawn = gateway.store.offer(offer.id)
    assert withdrawn is not None
    return withdrawn


@dataclass(frozen=True)
class Acceptance:
    """An accepted offer: the desk's result, the offer as now stored, and the request keeping the remainder open."""

    result: FinanceResult
    offer: StoredOffer
    remainder_request: FinancingRequest | None
    indexed_block: int


def finance(gateway: Gateway, seller: LocalAccount, offer: StoredOffer, amount: Decimal) -> Acceptance:
    """The seller accepts the offer: ``amount`` of the certificate passes to the financier as financed, against
    the price, in one transaction. Then a remainder is kept open, and the allowances the offers used or closed
    are given back."""
    answered = gateway.store.financing_request(offer.request_id)
    result = gateway.runtime.ledger.accept_offer(seller, signed_offer(offer), amount)
    gateway.store.mark_offer_accepted(
        offer.id,
        financed_id=result.certificate_id,
        amount=result.face_value,
        interest=result.interest,
        price=result.price,
        days=result.days,
        tx_hash=result.tx_hash,
    )
    indexed_block = gateway.wait_indexed(result.block_number)
    closed = gateway.store.offers(certificate_id=offer.certificate_id, status="open")
    remainder_request = None
    if result.remainder_id is not None:
        remainder_request = _keep_remainder_open(gateway, offer, answered, result.remainder_id, result.face_value)
    release_after_acceptance(gateway, {offer.financier, *(o.financier for o in closed)})
    accepted = gateway.store.offer(offer.id)
    assert accepted is not None
    return Acceptance(result, accepted, remainder_request, indexed_block)


def _keep_remainder_open(
    gateway: Gateway, offer: StoredOffer, answered: FinancingRequest | None, remainder_id: int, sold: Decimal
) -> FinancingRequest | None:
    """After part of a certificate was sold: a request for the remainder, if the holder was still asking, and
    the other offers on the certificate sold from withdrawn (it is split; none can be accepted any more)."""
    request = None
    if answered is not None and answered.status == "open":
        request = gateway.store.create_financing_request(remainder_id, offer.seller, None, answered.financiers)
    remainder = f"the remainder, certificate {remainder_id}, " + (
        f"is open for financing under request {request.id}" if request else "stays with the holder"
    )
    gateway.store.withdraw_open_offers(
        offer.certificate_id,
        f"{sold:,.2f} of certificate {offer.certificate_id} was sold under offer {offer.id}, which split it; "
        f"{remainder}.",
    )
    return request
