"""Marking unpaid certificates overdue, on request and on the gateway's own.

The route ``POST /v1/certificates/{id}/mark-overdue`` and the gateway's background
task share this code: both list the unpaid certificates from the index, let the
ledger judge the grace period with an ``eth_call`` first, and mark in batches of at
most the desk's batch size. The background task signs as the operator, so that an
issuance past maturity and grace is overdue on the ledger even if nobody asks.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from eth_account.signers.local import LocalAccount

from scf_chain.domain.errors import ScfError
from scf_chain.domain.types import CertificateStatus
from scf_chain.index.indexer import CertificateRecord

if TYPE_CHECKING:
    from api.gateway import Gateway

log = logging.getLogger(__name__)

UNSETTLED = (CertificateStatus.ACTIVE, CertificateStatus.FINANCED, CertificateStatus.OVERDUE)
OVERDUE_MARKABLE = (CertificateStatus.ACTIVE, CertificateStatus.FINANCED)
PAGE = 500


def leaves(gateway: Gateway, root_id: int) -> list[CertificateRecord]:
    """The certificates of an issuance that are not split: the live ones and the retired leaves."""
    return [
        c
        for c in gateway.index.subtree(root_id)
        if not c.child_ids and c.status not in (CertificateStatus.SPLIT, CertificateStatus.CANCELLED)
    ]


def unsettled(records: list[CertificateRecord]) -> list[CertificateRecord]:
    return [c for c in records if c.status in UNSETTLED and c.holder is not None]


def catch_up(gateway: Gateway) -> int:
    """Waits until the index has every block mined so far, so that what it lists is what the ledger has."""
    return gateway.wait_indexed(gateway.runtime.ledger.head())


@dataclass(frozen=True)
class OverdueMarked:
    root_id: int
    certificate_ids: list[int]
    tx_hashes: list[str]
    indexed_block: int


def markable_ids(gateway: Gateway, root_id: int, certificate_id: int) -> list[int]:
    """What marking ``certificate_id`` covers: every unpaid, unfrozen certificate of the issuance given its root."""
    if certificate_id == root_id:
        candidates = unsettled(leaves(gateway, root_id))
        return [c.id for c in candidates if c.status in OVERDUE_MARKABLE and not c.frozen]
    current = gateway.index.certificate(certificate_id)
    return [certificate_id] if current is not None and current.status in OVERDUE_MARKABLE else []


def mark_overdue(gateway: Gateway, signer: LocalAccount, root_id: int, certificate_id: int) -> OverdueMarked:
    """Marks ``certificate_id`` (or, given the root, its whole issuance) overdue; the ledger's error if too early."""
    ledger = gateway.runtime.ledger
    indexed_block = catch_up(gateway)
    ids = markable_ids(gateway, root_id, certificate_id)
    size = ledger.max_batch()
    ledger.preflight(signer.address, ledger.desk.functions.markOverdue(root_id, ids[:size]))
    batches = [ledger.mark_overdue(signer, root_id, ids[start : start + size]) for start in range(0, len(ids), size)]
    if batches:
        indexed_block = gateway.wait_indexed(batches[-1].block_number)
    return OverdueMarked(root_id, ids, [b.tx_hash for b in batches], indexed_block)


def issuances_past_grace(gateway: Gateway, grace_days: int) -> list[int]:
    """Roots of issuances with unpaid certificates whose maturity and grace period are over by the ledger's date."""
    # The ledger allows marking from the day after maturity plus grace.
    last_maturity = gateway.runtime.clock.today() - timedelta(days=grace_days + 1)
    roots: set[int] = set()
    for status in OVERDUE_MARKABLE:
        offset = 0
        while True:
            records, total = gateway.index.certificates(
                status=status, maturity_to=last_maturity, limit=PAGE, offset=offset
            )
            roots.update(c.root_id for c in records if not c.frozen)
            offset += len(records)
            if not records or offset >= total:
                break
    return sorted(roots)


def mark_past_grace(gateway: Gateway) -> list[OverdueMarked]:
    """One pass of the background task: marks every issuance past maturity and grace overdue, as the operator."""
    catch_up(gateway)
    operator = gateway.runtime.operator
    marked: list[OverdueMarked] = []
    for root_id in issuances_past_grace(gateway, gateway.runtime.ledger.grace_period()):
        try:
            result = mark_overdue(gateway, operator, root_id, root_id)
        except ScfError as exc:  # one issuance the ledger refuses (paused, frozen meanwhile) must not stop the rest
            log.warning("marking issuance %d overdue failed: %s", root_id, exc)
            continue
        if result.certificate_ids:
            log.info("marked %d certificates of issuance %d overdue", len(result.certificate_ids), root_id)
            marked.append(result)
    return marked
