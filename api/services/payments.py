"""Writes of financing and settlement: a write answers with its own body, and may report progress.

Like :func:`api.services.writes.perform`, a write waits for its transactions and for the index
by default, and with ``Prefer: respond-async`` answers 202 with an operation to poll.
A write of several transactions (settlement in batches) reports its progress on the
operation: it stays ``mined`` with the result so far until it is ``confirmed``.

Payments drawn by the settlement desk need the payer's allowance. Where the gateway
pays on a member's behalf (settlement, recourse), it first checks the call with an
``eth_call`` (so that the ledger refuses what it would refuse without any approval
being sent), then raises the member's allowance by exactly the amount needed. One
lock per member keeps concurrent payments of a member from racing on its allowance.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from decimal import Decimal

from eth_account.signers.local import LocalAccount

from api.gateway import Gateway
from api.render.problems import Problem
from api.schemas import CertificateOut
from api.services.writes import certificate_out
from scf_chain.client.ledger import LedgerClient
from scf_chain.domain.types import TxResult

log = logging.getLogger(__name__)

_locks_guard = threading.Lock()
_locks: dict[str, threading.RLock] = {}

# Reverts that only say the payer has not approved the desk yet: the gateway approves next.
ALLOWANCE_ERRORS = ("erc20_insufficient_allowance",)


def member_lock(address: str) -> threading.RLock:
    """The lock serializing one member's approvals and payments in this process."""
    with _locks_guard:
        return _locks.setdefault(address, threading.RLock())


def certificates_out(gateway: Gateway, ids: Iterable[int]) -> list[CertificateOut]:
    out = []
    for certificate_id in ids:
        record = gateway.index.certificate(certificate_id)
        if record is not None:
            out.append(certificate_out(gateway, record))
    return out


def require_balance(ledger: LedgerClient, payer: str, needed: Decimal) -> None:
    balance = ledger.balance_of(payer)
    if balance < needed:
        raise Problem(
            409,
            "erc20_insufficient_balance",
            f"{ledger.describe(payer)} holds {balance:,.2f} in settlement tokens, and this needs {needed:,.2f}; "
            "deposit more first.",
            extra={"balance": f"{balance:.2f}", "needed": f"{needed:.2f}"},
        )


def top_up_allowance(ledger: LedgerClient, payer: LocalAccount, needed: Decimal) -> TxResult | None:
    """Raises ``payer``'s allowance to the desk by ``needed``, keeping what it had allowed for other payments."""
    if needed <= 0:
        return None
    return ledger.approve_desk(payer, ledger.allowance(payer.address) + needed)
