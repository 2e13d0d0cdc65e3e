"""The SQLite store on its own, fed hand-made events: no chain needed."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from eth_utils import to_checksum_address

from scf_chain.domain.money import to_day
from scf_chain.index.records import TreeVersion
from scf_chain.index.store import BlockRef, LedgerIndex, LogEntry, event_position

CORE = "0x1111111111111111111111111111111111111111"
ALICE = to_checksum_address("0x" + "a1" * 20)
BOB = "0x3333333333333333333333333333333333333333"
ZERO = "0x0000000000000000000000000000000000000000"
DOC = "0x" + "ab" * 32
MATURITY = date(2030, 1, 31)
T0 = 1_900_000_000


def entries() -> list[LogEntry]:
    """Issue 1 to Alice (mint before CertificateIssued, as the contract emits it), accept, split 2 ways."""

    def log(block: int, index: int, tx: str, event: str, **args: object) -> LogEntry:
        return LogEntry(block, index, f"0x{block:064x}", tx, T0 + block, event, dict(args))

    return [
        log(1, 0, "0xa1", "MemberRegistered", account=ALICE, role=2, name="Alice Parts"),
        log(2, 0, "0xa2", "Transfer", **{"from": ZERO, "to": ALICE, "tokenId": 1}),
        log(
            2,
            1,
            "0xa2",
            "CertificateIssued",
            id=1,
            obligor=CORE,
            holder=ALICE,
            faceValue=100_000,
            maturityDay=to_day(MATURITY),
            documentHash=DOC,
        ),
        log(3, 0, "0xa3", "CertificateAccepted", id=1, holder=ALICE),
        log(4, 0, "0xa4", "Transfer", **{"from": ZERO, "to": ALICE, "tokenId": 2}),
        log(4, 1, "0xa4", "Transfer", **{"from": ZERO, "to": BOB, "tokenId": 3}),
        log(4, 2, "0xa4", "Transfer", **{"from": ALICE, "to": ZERO, "tokenId": 1}),
        log(
            4,
            3,
            "0xa4",
            "CertificateSplit",
            parentId=1,
            rootId=1,
            holder=ALICE,
            firstChildId=2,
            amounts=[70_000, 30_000],
        ),
        log(5, 0, "0xa5", "Transfer", **{"from": BOB, "to": ALICE, "tokenId": 3}),
    ]


def blocks() -> list[BlockRef]:
    return [BlockRef(n, f"0x{n:064x}", T0 + n) for n in range(1, 6)]


def test_projection_of_hand_made_events(index_at):
    with LedgerIndex(index_at) as index:
        assert index.indexed_block == -1
        assert index.certificates() == ([], 0) and index.members() == [] and index.events() == []
        assert index.apply(entries(), blocks(), 5) == len(entries())
        assert index.indexed_block == 5
        parent, kept, moved = index.certificate(1), index.certificate(2), index.certificate(3)
        assert (parent.status, parent.holder, parent.last_holder, parent.child_ids) == ("split", None, ALICE, (2, 3))
        assert (kept.holder, kept.hops, kept.face_value, kept.maturity_date) == (ALICE, 0, Decimal("700.00"), MATURITY)
        assert (moved.holder, moved.hops, moved.parent_id, moved.root_id) == (ALICE, 2, 1, 1)
        assert moved.created_at == datetime.fromtimestamp(T0 + 4, UTC) and moved.created_tx == "0xa4"
        assert index.has_held(BOB, 3) and not index.has_held(BOB, 2)
        assert index.certificates(party=ALICE.lower())[1] == 2
        assert index.certificates(party=CORE)[1] == 3
        assert index.member(ALICE).name == "Alice Parts" and index.member(ALICE).role == "supplier"
        # Delivered again: nothing changes.
        before = index.dump()
        assert index.apply(entries(), blocks(), 5) == 0
        assert index.dump() == before
        # Rolled back to before the split: the parent is whole again and active.
        assert index.rollback(3) == 5
        assert index.indexed_block == 3
        assert index.certificate(1).status == "active" and index.certificate(1).holder == ALICE
        assert index.certificate(2) is None and index.block(4) is None and index.block(3) is not None


@pytest.mark.sqlite_only  # an index from before the migrations was a SQLite file
def test_the_index_persists_and_drops_an_unknown_schema(tmp_path):
    path = tmp_path / "index.db"
    with LedgerIndex(path) as index:
        index.apply(entries(), blocks(), 5)
    with LedgerIndex(path) as index:
        assert index.indexed_block == 5 and index.certificate(3) is not None
    with sqlite3.connect(path) as db:  # as an index from before the migrations, at a version none starts from
        db.execute("DROP TABLE alembic_version")
        db.execute("UPDATE meta SET value = '0' WHERE key = 'schema_version'")
    with LedgerIndex(path) as index:
        assert index.indexed_block == -1 and index.certificate(3) is None
        index.apply(entries(), blocks(), 5)
        assert index.certificate(3) is not None


@pytest.mark.sqlite_only  # an index from before the migrations was a SQLite file
def test_an_index_from_before_token_transfers_is_rebuilt(tmp_path):
    """Schema 3 had no settlement-token movements: kept, it would show an auditor no cash before its upgrade."""
    path = tmp_path / "index.db"
    with LedgerIndex(path) as index:
        index.apply(entries(), blocks(), 5)
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE alembic_version")
        db.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    with LedgerIndex(path) as index:
        assert index.indexed_block == -1 and index.event_count() == 0
        assert index.meta("schema_version") == "4"


def test_readers_in_many_threads_while_one_writes(index_at):
    with LedgerIndex(index_at) as index:
        errors: list[BaseException] = []
        stop = threading.Event()

        def read() -> None:
            try:
                while not stop.is_set():
                    records, total = index.certificates()
                    assert len(records) == total  # a snapshot: the count and the rows agree
                    index.events(limit=5)
            except BaseException as exc:
                errors.append(exc)

        readers = [threading.Thread(target=read) for _ in range(6)]
        for reader in readers:
            reader.start()
        try:
            for round_ in range(30):
                index.apply(entries(), blocks(), 5)
                index.rollback(round_ % 5)
        finally:
            stop.set()
            for reader in readers:
                reader.join()
        assert errors == []


def test_a_tree_version_moves_with_its_own_issuance_the_member_names_and_rollbacks(index_at):
    path = index_at
    everything = entries()

    def version(root: int = 1) -> TreeVersion:
        with index.snapshot() as snapshot:
            return snapshot.tree_version(root)

    def other_issuance(block: int) -> list[LogEntry]:
        return [
            LogEntry(
                block, 0, f"0x{block:064x}", "0xb1", T0 + block, "Transfer", {"from": ZERO, "to": BOB, "tokenId": 9}
            ),
            LogEntry(
                block,
                1,
                f"0x{block:064x}",
                "0xb1",
                T0 + block,
                "CertificateIssued",
                {
                    "id": 9,
                    "obligor": CORE,
                    "holder": BOB,
                    "faceValue": 5_000,
                    "maturityDay": to_day(MATURITY),
                    "documentHash": "0x" + "cd" * 32,
                },
            ),
        ]

    with LedgerIndex(path) as index:
        index.apply(everything[:4], blocks()[:3], 3)  # Alice registered; 1 issued and accepted
        accepted = version()
        assert accepted.tree_change == event_position(3, 0) and accepted.names_change == event_position(1, 0)
        assert version(root=42).tree_change == -1  # no such issuance

        index.apply(other_issuance(4), [BlockRef(4, f"0x{4:064x}", T0 + 4)], 4)
        assert version() == accepted  # another issuance changed, not this one
        assert version(root=9).tree_change == event_position(4, 1)

        registered = LogEntry(
            5, 0, f"0x{5:064x}", "0xb2", T0 + 5, "MemberRegistered", {"account": BOB, "role": 2, "name": "Bob"}
        )
        index.apply([registered], [BlockRef(5, f"0x{5:064x}", T0 + 5)], 5)
        named = version()
        assert named.tree_change == accepted.tree_change and named.names_change == event_position(5, 0)

        index.apply(
            [entry._replace(block_number=entry.block_number + 2) for entry in everything[4:]],
            [BlockRef(n, f"0x{n:064x}", T0 + n) for n in (6, 7)],
            7,
        )
        moved = version()
        assert moved.tree_change == event_position(7, 0)  # the last event: a part changed hands

        index.rollback(6)  # the same positions may now come back with other events
        assert version().generation == moved.generation + 1
        assert version().tree_change == event_position(6, 3)
