"""Financiers' financing offers: EIP-712 typed data, signed off chain with eth-account.

The signing domain names the settlement desk, the chain id and the desk's address,
so an offer signed for one chain or one desk is worthless on any other. The desk
recomputes the price itself when the offer is accepted; the offer carries the terms and
the most face value it buys (``amount``), which no acceptance can exceed.
"""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address

from scf_chain.domain.errors import ScfError
from scf_chain.domain.money import to_positive_minor_units
from scf_chain.domain.pricing import DAY_COUNT_BASES, InvalidTerms, to_rate_units
from scf_chain.domain.types import Offer, SignedOffer

DOMAIN_NAME = "scf-chain settlement desk"
DOMAIN_VERSION = "1"
OFFER_FIELDS = [
    {"name": "certificateId", "type": "uint256"},
    {"name": "amount", "type": "uint256"},
    {"name": "financier", "type": "address"},
    {"name": "seller", "type": "address"},
    {"name": "annualRate", "type": "uint256"},
    {"name": "dayCount", "type": "uint256"},
    {"name": "expiresAt", "type": "uint256"},
    {"name": "recourse", "type": "bool"},
    {"name": "nonce", "type": "uint256"},
]


def offer_struct(offer: Offer) -> tuple[int, int, str, str, int, int, int, bool, int]:
    """The offer as the desk's ``Offer`` struct, for a contract call."""
    if offer.day_count not in DAY_COUNT_BASES:
        raise InvalidTerms(f"the day-count basis must be 360 or 365, not {offer.day_count}")
    return (
        offer.certificate_id,
        to_positive_minor_units(offer.amount),
        to_checksum_address(offer.financier),
        to_checksum_address(offer.seller),
        to_rate_units(offer.annual_rate),
        offer.day_count,
        offer.expires_at,
        offer.recourse,
        offer.nonce,
    )


def offer_typed_data(offer: Offer, *, chain_id: int, desk: str) -> dict[str, Any]:
    """The full EIP-712 message for ``offer``, on chain ``chain_id`` and desk ``desk``."""
    certificate_id, amount, financier, seller, rate, day_count, expires_at, recourse, nonce = offer_struct(offer)
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Offer": OFFER_FIELDS,
        },
        "primaryType": "Offer",
        "domain": {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": chain_id,
            "verifyingContract": to_checksum_address(desk),
        },
        "message": {
            "certificateId": certificate_id,
            "amount": amount,
            "financier": financier,
            "seller": seller,
            "annualRate": rate,
            "dayCount": day_count,
            "expiresAt": expires_at,
            "recourse": recourse,
            "nonce": nonce,
        },
    }


def offer_digest(offer: Offer, *, chain_id: int, desk: str) -> bytes:
    """The 32-byte EIP-712 digest the financier signs; the desk's ``hashOffer``."""
    signable = encode_typed_data(full_message=offer_typed_data(offer, chain_id=chain_id, desk=desk))
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


def sign_offer(financier: LocalAccount, offer: Offer, *, chain_id: int, desk: str) -> SignedOffer:
    """Signs ``offer`` as its financier, for the desk ``desk`` on chain ``chain_id``."""
    if to_checksum_address(financier.address) != to_checksum_address(offer.financier):
        raise ScfError(f"an offer of {offer.financier} cannot be signed by {financier.address}")
    signed = Account.sign_typed_data(financier.key, full_message=offer_typed_data(offer, chain_id=chain_id, desk=desk))
    return SignedOffer(offer, bytes(signed.signature))
