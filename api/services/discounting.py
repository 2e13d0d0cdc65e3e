"""Discounting, beside the routes: whether an offer is still open, what it may cost, and allowances.

A financier's allowance to the settlement desk is what the desk may draw from it, so
the gateway keeps it at what the financier's offers may cost and nothing more:

    allowance = the sum, over the financier's open offers, of each offer's cost

An offer counts while it is open: not accepted, withdrawn or expired, and its
certificate still active with the seller and not matured. Its cost is the desk's price
for the offer's own amount (the most it buys) on the last day it can be accepted: its
expiry day, or the day before maturity if that comes first. For an offer that expires
today that is today's price; for a longer one it is the most the offer can ever cost,
since a discount shrinks as maturity nears.

The gateway sets the allowance to that sum, with one approval and only when it
differs, when the financier makes an offer, withdraws one, or an offer on a
certificate it quoted for is accepted (the desk has drawn the price by then). A
background pass does the same when an offer lapses on its own: it expires, or its
certificate moves on. A financier that sets its allowance itself (``PUT
/v1/allowance``) keeps that setting until the next of these.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import TYPE_CHECKING

from api.services.payments import member_lock
from api.store import StoredOffer
from scf_chain.client.clock import SECONDS_PER_DAY, ledger_now
from scf_chain.domain.errors import ScfError
from scf_chain.domain.money import to_day
from scf_chain.domain.pricing import InvalidTerms, discount_price
from scf_chain.index.indexer import CertificateRecord

if TYPE_CHECKING:
    from api.gateway import Gateway

log = logging.getLogger(__name__)

# How often the background pass looks for offers that lapsed on their own.
LAPSED_OFFERS_INTERVAL_S = 2.0


def offer_status(offer: StoredOffer, record: CertificateRecord | None, now: int) -> str:
    """open, withdrawn, accepted, expired, or closed (the certificate can no longer be sold to its financier)."""
    if offer.status != "open":
        return offer.status
    if now > offer.expires_at:
        return "expired"
    today = now // SECONDS_PER_DAY
    if (
        record is None
        or record.status != "active"
        or record.holder != offer.seller
        or to_day(record.maturity_date) <= today
    ):
        return "closed"
    return "open"


def cost(amount: Decimal, annual_rate: Decimal, day_count: int, expires_at: int, record: CertificateRecord) -> Decimal:
    """The most an offer on ``record`` can cost its financier: its amount's price on the last day it can be accepted."""
    maturity_day = to_day(record.maturity_date)
    last_day = min(expires_at // SECONDS_PER_DAY, maturity_day - 1)
    try:
        return discount_price(amount, annual_rate, day_count, maturity_day - last_day)[1]
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
