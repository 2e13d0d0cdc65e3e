"""Operations carry their transactions: the journal adds each send to the operation it was signed for."""

import threading

import pytest

from api.store import GatewayStore, SqliteJournal, recording_operation, watch_signed_transactions
from scf_chain.chain.transactions import SignedSend

MEMBER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def _send(nonce: int) -> SignedSend:
    return SignedSend(MEMBER, nonce, f"0x{nonce:064x}", b"\x02raw-%d" % nonce)


@pytest.fixture
def store(tmp_path, database_url):
    opened = GatewayStore(database_url or tmp_path / "gateway.db")
    yield opened
    opened.close()


def test_an_operation_lists_the_transactions_recorded_for_it_in_order(store):
    journal = SqliteJournal(store)
    operation = store.create_operation(MEMBER, "split")
    journal.record(_send(0))  # outside any operation
    with recording_operation(operation.id), watch_signed_transactions() as signed:
        for nonce in (3, 1, 2):
            journal.record(_send(nonce))
        journal.record(_send(1))  # a rebroadcast is one transaction, listed once
    assert signed == [_send(n).tx_hash for n in (3, 1, 2, 1)]
    recorded = store.operation(operation.id)
    assert recorded is not None
    assert recorded.tx_hashes == tuple(_send(n).tx_hash for n in (3, 1, 2))
    assert journal.count() == 4


def test_unfinished_operations_are_those_submitted_or_mined(store):
    submitted, mined, confirmed, failed = (store.create_operation(MEMBER, "issue") for _ in range(4))
    store.update_operation(mined.id, "mined", result={"certificate_id": 1})
    store.update_operation(confirmed.id, "confirmed", result={"certificate_id": 2})
    store.update_operation(failed.id, "failed", problem={"code": "reverted"})
    with recording_operation(mined.id):
        SqliteJournal(store).record(_send(5))
    unfinished = store.unfinished_operations()
    assert {operation.id for operation in unfinished} == {submitted.id, mined.id}
    assert next(op for op in unfinished if op.id == mined.id).tx_hashes == (_send(5).tx_hash,)


def test_the_journal_tells_a_transactions_status(store):
    journal = SqliteJournal(store)
    for nonce in (0, 1, 2):
        journal.record(_send(nonce))
    journal.confirm(_send(1).tx_hash, 10, True)
    journal.confirm(_send(2).tx_hash, 11, False)
    assert store.transaction_status(_send(0).tx_hash) == ("signed", None)
    assert store.transaction_status(_send(1).tx_hash) == ("mined", 10)
    assert store.transaction_status(_send(2).tx_hash) == ("reverted", 11)
    assert store.transaction_status("0x" + "ff" * 32) is None
    assert journal.unconfirmed(MEMBER) == [_send(0)]
    journal.record(_send(1))  # journalled again: signed again, as it was before it was mined
    assert store.transaction_status(_send(1).tx_hash) == ("signed", None)


def test_a_journal_row_and_its_operation_entry_are_written_together_or_not_at_all(store, monkeypatch):
    journal = SqliteJournal(store)
    operation = store.create_operation(MEMBER, "transfer")

    def failing(db, operation_id, tx_hash):
        raise RuntimeError("disk full")

    monkeypatch.setattr("api.store.journal.add_operation_transaction", failing)
    with recording_operation(operation.id), pytest.raises(RuntimeError, match="disk full"):
        journal.record(_send(0))
    assert store.transaction_status(_send(0).tx_hash) is None and journal.count() == 0


def test_requests_in_many_threads_record_to_their_own_operations(store):
    journal = SqliteJournal(store)
    created = [store.create_operation(MEMBER, "transfer") for _ in range(8)]

    def write(index: int) -> None:
        with recording_operation(created[index].id):
            for step in range(5):
                journal.record(_send(index * 10 + step))

    threads = [threading.Thread(target=write, args=(index,)) for index in range(len(created))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for index, operation in enumerate(created):
        recorded = store.operation(operation.id)
        assert recorded is not None
        assert recorded.tx_hashes == tuple(_send(index * 10 + step).tx_hash for step in range(5))
    assert journal.count() == 40
