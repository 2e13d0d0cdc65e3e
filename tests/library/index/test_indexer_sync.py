"""The index after a lifecycle, incremental sync, rebuild and re-sync."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from indexer_checks import assert_index_matches_chain, run_lifecycle
from web3 import Web3

from scf_chain.domain.money import from_day
from scf_chain.domain.types import MemberRole
from tests.conftest import new_invoice_number

ZERO = "0x" + "00" * 20


def test_lifecycle_index_matches_the_chain(runtime, consortium, indexed, new_document, maturity):
    index, indexer = indexed
    assert index.indexed_block == -1
    story = run_lifecycle(consortium, new_document, maturity)

    assert indexer.sync() == runtime.w3.eth.block_number
    assert_index_matches_chain(index, runtime)

    tier1, _, tier3, tier4 = (s.address for s in consortium.suppliers)
    bank = consortium.bank.address
    status = {record.id: record.status for record in index.certificates(limit=1000)[0]}
    assert status[story.root] == "split"
    assert status[story.rejected] == status[story.cancelled] == "cancelled"
    assert status[story.remainder1] == "active"
    root = index.certificate(story.root)
    assert root is not None
    assert root.holder is None and root.last_holder == tier1
    assert root.child_ids == (story.remainder1, story.part1)
    assert root.face_value == Decimal("1000.00") and root.hops == 0
    assert root.created_block > 0 and root.created_tx.startswith("0x") and len(root.created_tx) == 66
    block = runtime.w3.eth.get_block(root.created_block)
    assert root.created_at == datetime.fromtimestamp(block["timestamp"], UTC)
    assert "0x" + bytes(block["hash"]).hex() == index.events(from_block=root.created_block, limit=1)[0].block_hash

    # Hops: one per tier left; a part kept by its holder makes none; a whole transfer makes one.
    kept, to_tier4, back_to_tier2 = story.split_children
    hops = {i: index.certificate(i).hops for i in (story.part1, story.part2, kept, to_tier4, back_to_tier2)}
    assert hops == {story.part1: 1, story.part2: 2, kept: 2, to_tier4: 4, back_to_tier2: 3}
    assert index.certificate(to_tier4).holder == bank
    assert index.certificate(story.frozen).frozen
    assert not index.certificate(story.remainder2).frozen
    assert index.certificate(999) is None

    # Trees.
    assert [c.id for c in index.children(story.part2)] == list(story.split_children)
    assert index.children(kept) == []
    subtree = [c.id for c in index.subtree(story.root)]
    assert subtree == [story.root, story.remainder1, story.part1, story.remainder2, story.part2, *story.split_children]
    assert sum(c.face_value for c in index.subtree(story.root) if c.holder) == Decimal("1000.00")
    assert [c.id for c in index.path_to_root(to_tier4)] == [story.root, story.part1, story.part2, to_tier4]
    assert [c.id for c in index.path_to_root(story.root)] == [story.root]
    assert index.subtree(999) == [] and index.path_to_root(999) == []

    # Who held what.
    assert index.has_held(tier1, story.root)
    assert index.has_held(tier4.lower(), to_tier4) and index.has_held(bank, to_tier4)
    assert not index.has_held(tier3, to_tier4)
    assert index.has_held(tier1, story.rejected)  # it was issued to tier 1
    assert not index.has_held("not an address", story.root)

    # Filters and paging.
    by_tier3, total = index.certificates(party=tier3)
    assert total == 1 and [c.id for c in by_tier3] == [kept]
    assert {c.id for c in index.certificates(holder=tier3)[0]} == {kept}
    everything, total = index.certificates(obligor=consortium.core.address.lower())
    assert total == len(story.ids()) == len(everything)
    by_core, total = index.certificates(party=consortium.core.address, limit=3, offset=2)
    assert total == len(story.ids()) and [c.id for c in by_core] == sorted(story.ids())[2:5]
    assert index.certificates(status="CANCELLED")[1] == 2
    assert index.certificates(status="pending")[1] == 0
    assert index.certificates(maturity_from=maturity, maturity_to=maturity)[1] == len(story.ids())
    assert index.certificates(maturity_from=maturity + timedelta(days=1))[1] == 0
    assert index.certificates(holder="0xnothing") == ([], 0)

    # Members.
    tier4_member = index.member(tier4)
    assert tier4_member is not None and tier4_member.frozen and tier4_member.role == "supplier"
    assert index.member(consortium.core.address.lower()).role == "core_enterprise"
    assert index.member(consortium.outsider.address) is None
    assert [m.role for m in index.members()][-2:] == ["financier", "auditor"]

    # Events: JSON-safe arguments, chain order, cursor paging, time bounds.
    events = index.events(limit=100_000)
    json.dumps([e.args for e in events])
    issued = next(e for e in events if e.name == "CertificateIssued" and e.args["id"] == story.root)
    assert issued.args["holder"] == tier1 and issued.args["faceValue"] == 100_000
    assert issued.args["documentHash"].startswith("0x") and len(issued.args["documentHash"]) == 66
    split = next(e for e in events if e.name == "CertificateSplit" and e.args["parentId"] == story.part2)
    assert split.args["amounts"] == [4025, 6000, 25]
    registered = next(e for e in events if e.name == "MemberRegistered")
    assert registered.args["role"] == int(MemberRole.CORE_ENTERPRISE)
    assert {"HopLimitSet", "CreditLimitSet", "Transfer", "CertificateFrozen", "CertificateUnfrozen"} <= {
        e.name for e in events
    }
    paged, cursor = [], None
    while page := index.events(limit=7, after=cursor):
        paged += page
        cursor = (page[-1].block_number, page[-1].log_index)
    assert paged == events
    first, last = events[0].timestamp, events[-1].timestamp
    assert index.events(from_time=first, to_time=last, limit=100_000) == events
    assert index.events(from_time=last + timedelta(seconds=1)) == []
    in_block = index.events(from_block=issued.block_number, to_block=issued.block_number)
    assert in_block and all(e.block_number == issued.block_number for e in in_block)


def test_incremental_sync_follows_new_writes(runtime, consortium, make_indexer, new_document, maturity):
    index, indexer = make_indexer(batch_blocks=5)
    ledger, core = consortium.ledger, consortium.core
    tier1, tier2 = consortium.suppliers[:2]
    first = ledger.issue(
        core, tier1.address, Decimal("10.00"), maturity, new_document(), invoice_number=new_invoice_number()
    ).certificate_id
    indexer.sync()
    assert index.certificate(first).status == "pending"
    assert_index_matches_chain(index, runtime)

    ledger.accept(tier1, first)
    _, part = ledger.transfer_part(tier1, first, tier2.address, "2.50").certificate_ids
    newcomer = runtime.keystore.create()
    ledger.register_member(consortium.operator, newcomer.address, MemberRole.FINANCIER, "Second Bank")
    ledger.transfer(tier2, part, newcomer.address)
    indexer.sync()
    assert_index_matches_chain(index, runtime)
    assert index.certificate(part).holder == newcomer.address
    assert index.member(newcomer.address).name == "Second Bank"

    run_lifecycle(consortium, new_document, maturity)
    indexer.sync()
    assert_index_matches_chain(index, runtime)

    # Built in one go, the index is the same.
    fresh, fresh_indexer = make_indexer("fresh.db")
    fresh_indexer.sync()
    assert fresh.dump() == index.dump()


def test_rebuild_gives_an_identical_index(runtime, consortium, make_indexer, new_document, maturity):
    index, indexer = make_indexer(batch_blocks=3)
    run_lifecycle(consortium, new_document, maturity)
    indexer.sync()
    before = index.dump()
    assert before["events"] and before["certificates"]
    assert indexer.rebuild() == before["indexed_block"]
    assert index.dump() == before
    assert_index_matches_chain(index, runtime)


def test_syncing_again_changes_nothing(runtime, consortium, indexed, new_document, maturity):
    index, indexer = indexed
    run_lifecycle(consortium, new_document, maturity)
    indexer.sync()
    before = index.dump()
    assert indexer.sync() == before["indexed_block"]
    assert index.dump() == before

    # The same ranges delivered again, as after a crash between writing and checkpointing.
    index.set_meta("indexed_block", "-1")
    assert indexer.sync() == before["indexed_block"]
    assert index.dump() == before
    # And the same events applied once more.
    from scf_chain.index.store import LogEntry

    again = [
        LogEntry(e.block_number, e.log_index, e.block_hash, e.tx_hash, int(e.timestamp.timestamp()), e.name, e.args)
        for e in index.events(limit=100_000)
    ]
    assert index.apply(again, [], before["indexed_block"]) == 0
    assert index.dump() == before
    assert_index_matches_chain(index, runtime)


def test_the_index_follows_its_own_ledger_only(runtime, consortium, make_indexer, new_document, maturity):
    from scf_chain.index.indexer import Indexer

    index, indexer = make_indexer()
    consortium.ledger.issue(
        consortium.core,
        consortium.suppliers[0].address,
        "1.00",
        maturity,
        new_document(),
        invoice_number=new_invoice_number(),
    )
    indexer.sync()
    assert index.event_count() > 0
    # Pointed at another address, the index starts over.
    other = Indexer(runtime.w3, "0x" + "11" * 20, runtime.ledger.contract.abi, index)
    assert index.event_count() == 0 and index.indexed_block == -1
    other.sync()
    assert index.event_count() == 0


def test_settlement_desk_hooks(runtime, consortium, indexed, new_document, maturity):
    """Finance (whole and part), settle, overdue and recourse, called as the settlement desk calls them."""
    index, indexer = indexed
    ledger, core, operator, bank = consortium.ledger, consortium.core, consortium.operator, consortium.bank
    tier1, tier2, tier3 = consortium.suppliers[:3]
    contract = ledger.contract
    desk = runtime.keystore.create()
    runtime.sender.transact(operator, contract.functions.grantRole(Web3.keccak(text="SETTLEMENT_ROLE"), desk.address))

    def as_desk(call):
        return runtime.sender.transact(desk, call)

    today = from_day(runtime.w3.eth.get_block("latest")["timestamp"] // 86400)
    whole = ledger.issue(
        core, tier1.address, "100.00", maturity, new_document(), invoice_number=new_invoice_number()
    ).certificate_id
    ledger.accept(tier1, whole)
    as_desk(contract.functions.finance(tier1.address, whole, 0, bank.address, True))
    part_of = ledger.issue(
        core, tier1.address, "100.00", maturity, new_document(), invoice_number=new_invoice_number()
    ).certificate_id
    ledger.accept(tier1, part_of)
    as_desk(contract.functions.finance(tier1.address, part_of, 3000, bank.address, False))
    kept, financed_part = part_of + 1, part_of + 2
    due = ledger.issue(
        core, tier2.address, "80.00", today, new_document(), invoice_number=new_invoice_number()
    ).certificate_id
    ledger.accept(tier2, due)
    remainder, part = ledger.transfer_part(tier2, due, tier3.address, "30.00").certificate_ids
    as_desk(contract.functions.settle(tier3.address, due, [part], True))  # presented by its holder
    as_desk(contract.functions.settle(core.address, due, [remainder, part], False))  # part is skipped: settled already
    indexer.sync()
    assert_index_matches_chain(index, runtime)
    status = {i: index.certificate(i).status for i in (whole, part_of, kept, financed_part, due, remainder, part)}
    assert status == {
        whole: "financed",
        part_of: "split",
        kept: "active",
        financed_part: "financed",
        due: "split",
        remainder: "settled",
        part: "settled",
    }
    assert index.certificate(whole).holder == bank.address and index.certificate(whole).hops == 1
    assert index.certificate(part).holder is None and index.certificate(part).last_holder == tier3.address
    assert index.has_held(bank.address, financed_part) and not index.has_held(bank.address, kept)

    # Past maturity: overdue, handed back on recourse (no hop), then settled late.
    runtime.w3.provider.make_request("evm_increaseTime", [91 * 86400])
    runtime.w3.provider.make_request("evm_mine", [])
    as_desk(contract.functions.markOverdue(whole, [whole], 0))
    as_desk(contract.functions.markOverdue(part_of, [financed_part], 0))
    as_desk(contract.functions.transferOnRecourse(whole, tier1.address))
    indexer.sync()
    assert_index_matches_chain(index, runtime)
    recoursed = index.certificate(whole)
    assert (recoursed.status, recoursed.holder, recoursed.hops) == ("overdue", tier1.address, 1)
    as_desk(contract.functions.settle(core.address, whole, [whole], False))
    indexer.sync()
    assert_index_matches_chain(index, runtime)
    assert index.certificate(whole).status == "settled" and index.certificate(financed_part).status == "overdue"
    settled = [e for e in index.events(limit=100_000) if e.name == "CertificateSettled"]
    assert [(e.args["id"], e.args["late"]) for e in settled] == [(part, False), (remainder, False), (whole, True)]


def test_one_block_at_a_time_by_hash_gives_the_index_a_range_read_gives(
    runtime, consortium, make_indexer, new_document, maturity, monkeypatch
):
    index, indexer = make_indexer("stepwise.db")
    indexer.sync()
    ledger = consortium.ledger
    transact = ledger._transact

    def transact_then_sync(signer, call):  # type: ignore[no-untyped-def]
        receipt = transact(signer, call)
        indexer.sync()
        assert index.indexed_block == receipt["blockNumber"]
        return receipt

    def no_range(start: int, end: int) -> None:
        pytest.fail(f"blocks {start} to {end} were read as a range, not one block by its hash")

    # After every write, exactly one block is new: each is read by its hash, never as a range.
    monkeypatch.setattr(ledger, "_transact", transact_then_sync)
    monkeypatch.setattr(indexer, "_index_range", no_range)
    run_lifecycle(consortium, new_document, maturity)
    assert_index_matches_chain(index, runtime)
    monkeypatch.undo()

    fresh, fresh_indexer = make_indexer("ranges.db")
    fresh_indexer.sync()
    assert fresh.dump() == index.dump()


def test_settlement_token_movements_are_indexed(runtime, consortium, index_at, new_document, maturity):
    """Deposits (mints), withdrawals (burns) and payments (transfers) of the settlement token are in the index,
    beside the ledger's events, and leave the certificates and members as the ledger has them."""
    from scf_chain.index.indexer import LedgerIndex
    from scf_chain.runtime import event_indexer

    ledger, operator, core, bank = consortium.ledger, consortium.operator, consortium.core, consortium.bank
    tier1 = consortium.suppliers[0]
    deposited = ledger.deposit(operator, core.address, "1250.50")
    paid = runtime.sender.transact(core, ledger.token.functions.transfer(tier1.address, 25_000))
    withdrawn = ledger.withdraw(operator, core.address, "0.50")
    ledger.issue(core, tier1.address, "10.00", maturity, new_document(), invoice_number=new_invoice_number())
    with LedgerIndex(index_at) as index:
        event_indexer(runtime, index).sync()
        token = runtime.deployment.settlement_token
        moves = [e for e in index.events(limit=100_000) if e.contract == "token"]
        assert [(e.tx_hash, e.name, e.args) for e in moves] == [
            (deposited.tx_hash, "Transfer", {"from": ZERO, "to": core.address, "value": 125_050}),
            ("0x" + bytes(paid["transactionHash"]).hex(), "Transfer", {"from": core.address, "to": tier1.address,
                                                                        "value": 25_000}),
            (withdrawn.tx_hash, "Transfer", {"from": core.address, "to": ZERO, "value": 50}),
        ]  # fmt: skip
        # Only the standard transfer is read: the token's own Deposited and Withdrawn would count cash twice.
        assert not [e for e in index.events(limit=100_000) if e.name in ("Deposited", "Withdrawn", "Approval")]
        assert index.meta("followed") is not None and f"token={token}" in str(index.meta("followed"))
        assert_index_matches_chain(index, runtime)
        assert index.member(bank.address) is not None
