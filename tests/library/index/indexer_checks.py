"""Checks shared by the indexer tests: the index against the chain, and a lifecycle that touches every event."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from typing import Any

from scf_chain.domain.types import MemberRole
from scf_chain.index.indexer import LedgerIndex
from scf_chain.index.store import LEDGER
from scf_chain.runtime import Runtime
from tests.conftest import new_invoice_number

CERTIFICATE_FIELDS = (
    "id",
    "root_id",
    "parent_id",
    "obligor",
    "holder",
    "last_holder",
    "face_value",
    "maturity_date",
    "hops",
    "document_hash",
    "frozen",
    "child_ids",
)


def chain_logs(runtime: Runtime) -> list[tuple[int, int, str]]:
    """(block, log index, transaction hash) of every ledger log on the chain now."""
    logs = runtime.w3.eth.get_logs({"address": runtime.ledger.address, "fromBlock": 0, "toBlock": "latest"})
    return [(entry["blockNumber"], entry["logIndex"], "0x" + bytes(entry["transactionHash"]).hex()) for entry in logs]


def assert_index_matches_chain(index: LedgerIndex, runtime: Runtime) -> None:
    """Every certificate, member and event of the index is as the chain has it at its head."""
    ledger = runtime.ledger
    assert index.indexed_block == runtime.w3.eth.block_number
    next_id = ledger.contract.functions.nextCertificateId().call()
    records, total = index.certificates(limit=100_000)
    assert total == next_id - 1
    assert [record.id for record in records] == list(range(1, next_id))
    for record in records:
        on_chain = ledger.certificate(record.id)
        for name in CERTIFICATE_FIELDS:
            assert getattr(record, name) == getattr(on_chain, name), f"certificate {record.id}: {name}"
        assert record.status == on_chain.status.label, f"certificate {record.id}: status"
        assert index.certificate(record.id) == record
    members = [(m.address, m.name, m.role, m.frozen) for m in index.members()]
    expected = [(m.address, m.name, MemberRole(m.role).name.lower(), m.frozen) for m in ledger.members()]
    assert members == expected
    events = [(e.block_number, e.log_index, e.tx_hash) for e in index.events(limit=1_000_000) if e.contract == LEDGER]
    assert events == chain_logs(runtime)


@dataclass
class Lifecycle:
    """The certificates a lifecycle created, by what happened to them."""

    root: int  # issued to tier 1, accepted, then split by part transfers
    remainder1: int  # tier 1's remainder of root
    part1: int  # tier 2's part of root, split again
    remainder2: int  # tier 2's remainder of part1, frozen then unfrozen
    part2: int  # tier 3's part of part1, split three ways
    split_children: tuple[int, ...]  # tier 3 keeps one, tier 4 one (moved on whole to the bank), tier 2 one
    rejected: int
    cancelled: int
    frozen: int  # accepted by tier 1 and frozen

    def ids(self) -> list[int]:
        values: list[int] = []
        for field in fields(self):
            value = getattr(self, field.name)
            values.extend(value if isinstance(value, tuple) else [value])
        return values


def run_lifecycle(consortium: Any, new_document: Callable[[], bytes], maturity: date) -> Lifecycle:
    ledger, core, op = consortium.ledger, consortium.core, consortium.operator
    tier1, tier2, tier3, tier4 = consortium.suppliers
    root = ledger.issue(
        core, tier1.address, Decimal("1000.00"), maturity, new_document(), invoice_number=new_invoice_number()
    ).certificate_id
    ledger.accept(tier1, root)
    remainder1, part1 = ledger.transfer_part(tier1, root, tier2.address, "300.00").certificate_ids
    remainder2, part2 = ledger.transfer_part(tier2, part1, tier3.address, "100.50").certificate_ids
    children = ledger.split(
        tier3, part2, [(tier3.address, "40.25"), (tier4.address, "60.00"), (tier2.address, "0.25")]
    ).certificate_ids
    ledger.transfer(tier4, children[1], consortium.bank.address)
    ledger.freeze_certificate(op, remainder2)
    ledger.unfreeze_certificate(op, remainder2)
    rejected = ledger.issue(
        core, tier1.address, Decimal("500.00"), maturity, new_document(), invoice_number=new_invoice_number()
    ).certificate_id
    ledger.reject(tier1, rejected)
    cancelled = ledger.issue(
        core, tier2.address, Decimal("200.00"), maturity, new_document(), invoice_number=new_invoice_number()
    ).certificate_id
    ledger.cancel(core, cancelled)
    frozen = ledger.issue(
        core, tier1.address, Decimal("50.00"), maturity, new_document(), invoice_number=new_invoice_number()
    ).certificate_id
    ledger.accept(tier1, frozen)
    ledger.freeze_certificate(op, frozen)
    ledger.freeze_member(op, tier4.address)
    ledger.set_max_hops(op, 8)
    return Lifecycle(root, remainder1, part1, remainder2, part2, children, rejected, cancelled, frozen)
