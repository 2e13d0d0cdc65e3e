"""The gateway's store on either database (``--database``): every upsert, the idempotency claim of two stores
at once, 64-bit numbers, several processes opening a new database, and a PostgreSQL server that goes away."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from api.store import GatewayStore, SqliteJournal, recording_operation
from api.store.idempotency import idempotency
from scf_chain.chain.transactions import SignedSend
from scf_chain.domain.errors import DatabaseUnavailable
from tests import databases
from tools.postgres import LocalPostgres

MEMBER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
# Past 2^31 (and 2^32): what a 32-bit INTEGER column would refuse or wrap on PostgreSQL.
BIG = 2**40 + 7


@pytest.fixture
def location(database_url: str | None, tmp_path: Path) -> Path | str:
    return database_url or tmp_path / "gateway.db"


@pytest.fixture
def open_store(location: Path | str) -> Iterator[Callable[[], GatewayStore]]:
    opened: list[GatewayStore] = []

    def make() -> GatewayStore:
        store = GatewayStore(location)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def store(open_store: Callable[[], GatewayStore]) -> GatewayStore:
    return open_store()


def _send(nonce: int, block_hint: int = 0) -> SignedSend:
    return SignedSend(MEMBER, nonce, f"0x{nonce + block_hint:064x}", b"\x02raw-%d" % nonce)


def test_the_store_says_which_database_it_is_on(store: GatewayStore, database_url: str | None):
    assert store.dialect == ("postgresql" if database_url else "sqlite")
    assert store.shared is (database_url is not None)


def test_a_send_journalled_again_starts_over_as_signed(store: GatewayStore):
    journal = SqliteJournal(store)
    send = _send(BIG)
    journal.record(send)
    journal.confirm(send.tx_hash, BIG, True, block_hash="0xb", tx_index=3)
    assert store.transaction_status(send.tx_hash) == ("mined", BIG)
    journal.record(send)  # its rebroadcast
    assert store.transaction_status(send.tx_hash) == ("signed", None)
    assert store.unconfirmed_sends(MEMBER) == [send]
    assert journal.count() == 1


def test_a_transaction_recorded_twice_for_an_operation_is_listed_once(store: GatewayStore):
    operation = store.create_operation(MEMBER, "split")
    with recording_operation(operation.id):
        for send in (_send(1), _send(2), _send(1)):
            SqliteJournal(store).record(send)
    recorded = store.operation(operation.id)
    assert recorded is not None and recorded.tx_hashes == (_send(1).tx_hash, _send(2).tx_hash)


def test_each_keep_of_a_standing_allowance_replaces_the_last(store: GatewayStore):
    store.keep_standing_allowance("0xAbC", BIG, Decimal("10.50"))
    store.keep_standing_allowance("0xabc", BIG, Decimal("7.25"))
    assert store.standing_allowance("0xABC", BIG) == Decimal("7.25")
    store.forget_standing_allowance("0xabc", BIG)
    assert store.standing_allowance("0xabc", BIG) is None


def test_an_invoice_number_set_again_replaces_the_first_and_is_found_in_any_case(store: GatewayStore):
    store.set_invoice_number(BIG, "INV-1")
    store.set_invoice_number(BIG, "Inv-2")
    store.set_invoice_number(5, "inv-2")
    assert store.invoice_number(BIG) == "Inv-2"
    assert store.roots_with_invoice_number(" INV-2 ") == [5, BIG]
    assert store.roots_with_invoice_number("INV-1") == []


def test_a_repeat_upload_keeps_the_first_time_and_the_newest_name(store: GatewayStore):
    first = store.record_document_upload("0xdoc", MEMBER, "a.pdf", "application/pdf", 3 * 2**31)
    again = store.record_document_upload("0xdoc", MEMBER, "b.pdf", "application/pdf", 3 * 2**31)
    assert again.uploaded_at == first.uploaded_at
    assert (again.filename, again.size) == ("b.pdf", 3 * 2**31)
    assert store.document_uploads("0xdoc") == [again]


def test_an_offer_allowance_set_again_replaces_the_first(store: GatewayStore):
    store.set_offer_allowance("0xF1", Decimal("100.00"))
    store.set_offer_allowance("0xF1", Decimal("0"))
    store.set_offer_allowance("0xF2", Decimal("5.00"))
    assert store.offer_allowance("0xF1") == Decimal("0")
    assert store.financiers_with_offer_allowance() == ["0xF2"]


def test_an_offer_withdrawn_again_keeps_the_newest_reason(store: GatewayStore):
    request = store.create_financing_request(BIG, MEMBER, None, None)
    offer = store.create_offer(
        request_id=request.id,
        certificate_id=BIG,
        seller=MEMBER,
        financier="0xF1",
        annual_rate=Decimal("0.05"),
        day_count=360,
        expires_at=4_102_444_800,  # 2100: past a 32-bit time
        recourse=True,
        nonce=BIG,
        amount=Decimal("1000.00"),
        signature="0xsig",
    )
    assert (offer.certificate_id, offer.expires_at, offer.nonce) == (BIG, 4_102_444_800, BIG)
    assert store.next_offer_nonce("0xF1") == BIG + 1
    assert [o.id for o in store.withdraw_open_offers(BIG, "the certificate was settled")] == [offer.id]
    # Open again behind the store's back, and withdrawn for another reason: the withdrawal's row is replaced.
    with store._db.transaction() as db:
        db.execute(sa.text("UPDATE offers SET status = 'open' WHERE id = :id"), {"id": offer.id})
    store.withdraw_open_offers(BIG, "the certificate was split")
    withdrawn = store.offer(offer.id)
    assert withdrawn is not None and withdrawn.withdrawn_because == "the certificate was split"


def test_two_stores_claiming_one_key_at_once_give_one_new_claim(open_store: Callable[[], GatewayStore]):
    """Two replicas' stores on one database, each asked for the same keys at the same moment."""
    stores = [open_store(), open_store()]
    keys = [f"key-{n}" for n in range(40)]
    answers: dict[str, list[str]] = {key: [] for key in keys}
    barrier = threading.Barrier(len(stores))

    def claim(store: GatewayStore) -> None:
        for key in keys:
            barrier.wait()
            state, _ = store.claim_idempotency_key(MEMBER, key, "fingerprint")
            answers[key].append(state)

    threads = [threading.Thread(target=claim, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {key: sorted(states) for key, states in answers.items()} == {key: ["in_progress", "new"] for key in keys}


def test_a_claim_learns_from_its_insert_whether_it_claimed(store: GatewayStore):
    assert store.claim_idempotency_key(MEMBER, "k", "f") == ("new", None)
    assert store.claim_idempotency_key(MEMBER, "k", "f") == ("in_progress", None)
    assert store.claim_idempotency_key(MEMBER, "k", "other") == ("conflict", None)
    store.complete_idempotency_key(MEMBER, "k", 201, b'{"id":1}', "application/json")
    assert store.claim_idempotency_key(MEMBER, "k", "f") == ("done", (201, b'{"id":1}', "application/json", None))
    store.release_idempotency_key(MEMBER, "k")
    assert store.claim_idempotency_key(MEMBER, "k", "f") == ("new", None)


def test_api_keys_a_record_still_holds_are_redacted_when_the_store_opens(
    location: Path | str, open_store: Callable[[], GatewayStore]
):
    open_store().close()
    engine = databases.engine(location)
    try:
        with engine.begin() as db:
            db.execute(
                idempotency.insert(),
                {"scope": MEMBER, "key": "old", "fingerprint": "f", "created_at": 0.0, "response_status": 201,
                 "response_body": b'{"api_key":"scf_secret","member":"m"}', "content_type": "application/json"},
            )  # fmt: skip
    finally:
        engine.dispose()
    store = open_store()
    state, (status, body, _, _) = store.claim_idempotency_key(MEMBER, "old", "f")
    assert (state, status) == ("done", 201)
    assert b"scf_secret" not in body and b'"api_key":null' in body


def _open_when_all_are_ready(barrier: Any, kind: str, location: Path | str) -> None:
    from scf_chain.index.store import LedgerIndex

    barrier.wait()
    (LedgerIndex(location) if kind == "index" else GatewayStore(location)).close()


def test_processes_opening_a_new_database_at_once_migrate_it_once(location: Path | str, tmp_path: Path):
    """Four processes start on an empty database at the same moment: two stores, two indexes (beside the store
    on PostgreSQL, in a file of their own on SQLite); each opens it at the newest revision."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(4)
    index_location = location if isinstance(location, str) else tmp_path / "index.db"
    processes = [
        context.Process(target=_open_when_all_are_ready, args=(barrier, kind, where))
        for kind, where in (("store", location), ("index", index_location)) * 2
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [process.exitcode for process in processes] == [0, 0, 0, 0]
    GatewayStore(location).close()


def test_the_store_and_the_index_migrate_one_postgresql_database_each_with_its_revision(
    database_url: str | None,
):
    if database_url is None:
        pytest.skip("one database for both is PostgreSQL's; on SQLite each has a file")
    from scf_chain.index.store import POSTGRESQL_VERSION_TABLE, LedgerIndex

    GatewayStore(database_url).close()
    LedgerIndex(database_url).close()
    GatewayStore(database_url).close()  # opened again: both at their newest revision, neither taken for the other
    engine = databases.engine(database_url)
    try:
        with engine.connect() as db:
            store_revision = db.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
            index_versions = sa.table(POSTGRESQL_VERSION_TABLE, sa.column("version_num"))
            index_revision = db.execute(sa.select(index_versions.c.version_num)).scalars().all()
            tables = set(sa.inspect(db).get_table_names())
    finally:
        engine.dispose()
    assert len(store_revision) == 1 and store_revision[0].startswith("000")
    assert index_revision == ["0001"]
    assert {"journal", "idempotency", "events", "certificates", POSTGRESQL_VERSION_TABLE} <= tables


def test_a_server_that_stops_is_database_unavailable_until_it_is_back(
    database_url: str | None, postgres: LocalPostgres, store: GatewayStore
):
    if database_url is None:
        pytest.skip("a server to stop is PostgreSQL's")
    store.create_api_key(MEMBER)
    postgres.stop()
    try:
        with pytest.raises(DatabaseUnavailable) as stopped:
            store.claim_idempotency_key(MEMBER, "during", "f")
        assert "password" not in str(stopped.value)
        with pytest.raises(DatabaseUnavailable):
            store.members_with_api_keys()
        with pytest.raises(DatabaseUnavailable):
            store.unfinished_operations()  # a snapshot
    finally:
        postgres.start()
    # The pool's connections died with the server: the next statements connect again by themselves.
    assert store.members_with_api_keys() == {MEMBER}
    assert store.claim_idempotency_key(MEMBER, "during", "f") == ("new", None)


def test_a_write_that_fails_half_way_leaves_nothing(store: GatewayStore):
    operation = store.create_operation(MEMBER, "split")
    with pytest.raises(RuntimeError), store._db.transaction() as db:
        db.execute(sa.text("UPDATE operations SET status = 'confirmed' WHERE id = :id"), {"id": operation.id})
        raise RuntimeError("the writer failed before it committed")
    found = store.operation(operation.id)
    assert found is not None and found.status == "submitted"
