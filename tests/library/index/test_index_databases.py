"""The index on either database (``--database``), fed hand-made events: positions past 32 bits, every upsert
of the projection, a snapshot that keeps its state while the writer writes, and a PostgreSQL server that
goes away."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path

import pytest
from eth_utils import to_checksum_address

from scf_chain.domain.errors import DatabaseUnavailable
from scf_chain.domain.money import to_day
from scf_chain.index.store import BlockRef, LedgerIndex, LogEntry, event_position
from tools.postgres import LocalPostgres

CORE = "0x1111111111111111111111111111111111111111"
ALICE = to_checksum_address("0x" + "a1" * 20)
BOB = "0x3333333333333333333333333333333333333333"
ZERO = "0x0000000000000000000000000000000000000000"
# A block far past 2^31 (a position past 2^55), and a certificate id past 2^32.
BLOCK = 2**31 + 12
CERTIFICATE = 2**32 + 5
T0 = 4_102_444_800  # 2100: a block time past 32 bits


def _log(block: int, index: int, event: str, **args: object) -> LogEntry:
    return LogEntry(block, index, f"0x{block:064x}", f"0x{block:060x}{index:04x}", T0 + block, event, dict(args))


def _block(number: int, tag: str = "") -> BlockRef:
    return BlockRef(number, f"0x{number:062x}{tag or '00'}", T0 + number)


def _issuance(block: int, certificate: int, holder: str = ALICE) -> list[LogEntry]:
    return [
        _log(block, 0, "Transfer", **{"from": ZERO, "to": holder, "tokenId": certificate}),
        _log(
            block,
            1,
            "CertificateIssued",
            id=certificate,
            obligor=CORE,
            holder=holder,
            faceValue=2**40,  # minor units past 32 bits too
            maturityDay=to_day(date(2099, 12, 31)),
            documentHash="0x" + "ab" * 32,
        ),
    ]


def test_positions_ids_and_times_past_32_bits_are_stored_and_read_back(index_at: Path | str):
    with LedgerIndex(index_at) as index:
        registered = _log(BLOCK, 0, "MemberRegistered", account=ALICE, role=2, name="Alice Parts")
        index.apply([registered], [_block(BLOCK)], BLOCK)
        index.apply(_issuance(BLOCK + 1, CERTIFICATE), [_block(BLOCK + 1)], BLOCK + 1)
        assert index.indexed_block == BLOCK + 1
        certificate = index.certificate(CERTIFICATE)
        assert certificate is not None
        assert (certificate.id, certificate.root_id, certificate.created_block) == (CERTIFICATE, CERTIFICATE, BLOCK + 1)
        assert int(certificate.face_value * 100) == 2**40
        assert index.block(BLOCK + 1) == _block(BLOCK + 1)
        assert index.member(ALICE) is not None and index.member(ALICE).registered_block == BLOCK
        with index.snapshot() as snapshot:
            version = snapshot.tree_version(CERTIFICATE)
            assert version.tree_change == event_position(BLOCK + 1, 1) > 2**55
            assert version.names_change == event_position(BLOCK, 0)
            assert snapshot.changed_since(CERTIFICATE, event_position(BLOCK + 1, 0))[0].id == CERTIFICATE
            assert snapshot.changed_since(CERTIFICATE, event_position(BLOCK + 1, 1)) == []
            assert [record.id for record in snapshot.subtree(certificate)] == [CERTIFICATE]
            assert [record.id for record in snapshot.path(CERTIFICATE)] == [CERTIFICATE]
        after_first = index.events(after=(BLOCK + 1, 0))
        assert [(event.block_number, event.log_index) for event in after_first] == [(BLOCK + 1, 1)]
        assert index.has_held(ALICE, CERTIFICATE)


def test_every_upsert_of_the_index_keeps_one_row_with_the_newest_values(index_at: Path | str):
    with LedgerIndex(index_at) as index:
        first = [
            _log(1, 0, "MemberRegistered", account=ALICE, role=2, name="Alice Parts"),
            *_issuance(2, 7),
            _log(3, 0, "Transfer", **{"from": ALICE, "to": BOB, "tokenId": 7}),
            _log(4, 0, "Transfer", **{"from": BOB, "to": ALICE, "tokenId": 7}),  # Alice holds it again: one row
        ]
        assert index.apply(first, [_block(n) for n in range(1, 5)], 4) == len(first)
        # The same range delivered again, with a block whose hash the chain changed: the events are kept once,
        # the block's hash is the newest.
        assert index.apply(first, [_block(4, tag="ff")], 4) == 0
        assert index.block(4) == _block(4, tag="ff")
        # A member registered again (a new name) and a certificate issued again replace their rows.
        again = [_log(5, 0, "MemberRegistered", account=ALICE, role=2, name="Alice Parts Ltd"), *_issuance(6, 7, BOB)]
        index.apply(again, [_block(5), _block(6)], 6)
        assert index.member(ALICE).name == "Alice Parts Ltd"
        assert index.certificate(7).holder == BOB
        index.set_meta("followed", "a")
        index.set_meta("followed", "b")
        assert index.meta("followed") == "b"
        dump = index.dump()
        assert sorted(dump["holdings"]) == sorted([(ALICE, 7), (BOB, 7)])
        assert len(dump["certificates"]) == 1 and len(dump["members"]) == 1
        assert index.event_count() == len(first) + len(again)
        # A rollback replays the events into emptied tables; each upsert then inserts.
        generation = index.meta("generation")
        assert index.rollback(4) == len(again)
        assert index.meta("generation") == str(int(generation or 0) + 1)
        assert index.member(ALICE).name == "Alice Parts"
        assert index.certificate(7).holder == ALICE


def test_a_snapshot_keeps_its_state_while_the_writer_writes(index_at: Path | str):
    with LedgerIndex(index_at) as index:
        index.apply(_issuance(1, 1), [_block(1)], 1)
        with index.snapshot() as snapshot:
            assert snapshot.indexed_block() == 1
            writer = threading.Thread(target=index.apply, args=(_issuance(2, 2), [_block(2)], 2))
            writer.start()
            writer.join()  # the writer never waits for a reader
            assert snapshot.indexed_block() == 1
            assert snapshot.certificate(2) is None
            assert snapshot.event_count() == 2
        assert index.indexed_block == 2 and index.certificate(2) is not None


def test_a_server_that_stops_is_database_unavailable_until_it_is_back(
    database_url: str | None, postgres: LocalPostgres
):
    if database_url is None:
        pytest.skip("a server to stop is PostgreSQL's")
    with LedgerIndex(database_url) as index:
        index.apply(_issuance(1, 1), [_block(1)], 1)
        postgres.stop()
        try:
            with pytest.raises(DatabaseUnavailable) as stopped:
                index.certificate(1)
            assert "does not answer" in str(stopped.value)
            with pytest.raises(DatabaseUnavailable):
                index.apply(_issuance(2, 2), [_block(2)], 2)
        finally:
            postgres.start()
        # Nothing of the failed write was kept, and the next statements connect again by themselves.
        assert index.indexed_block == 1 and index.certificate(2) is None
        index.apply(_issuance(2, 2), [_block(2)], 2)
        assert index.certificate(2) is not None
