"""Every signed transaction is journalled before it is sent, and a restart rebroadcasts what was lost."""

from api.store import GatewayStore, SqliteJournal, recording_operation
from scf_chain.chain.transactions import SignedSend
from tests.conftest import new_invoice_number


def test_sends_are_journalled_and_a_lost_send_is_rebroadcast(
    runtime, consortium, tmp_path, database_url, new_document, maturity
):
    store = GatewayStore(database_url or tmp_path / "gateway.db")
    journal = SqliteJournal(store)
    sender = runtime.sender
    sender.journal = journal
    try:
        ledger, core, supplier = runtime.ledger, consortium.core, consortium.suppliers[0]
        issued = ledger.issue(
            core, supplier.address, "10.00", maturity, new_document(), invoice_number=new_invoice_number()
        )
        assert journal.count() == 1
        assert journal.unconfirmed(core.address) == []

        # A crash between journalling and sending: the signed transaction exists only in the journal.
        call = ledger.contract.functions.accept(issued.certificate_id)
        transaction = sender._build(supplier.address, call, None)
        transaction["nonce"] = runtime.w3.eth.get_transaction_count(supplier.address, "pending")
        signed = supplier.sign_transaction(transaction)
        journal.record(
            SignedSend(supplier.address, transaction["nonce"], "0x" + signed.hash.hex(), bytes(signed.raw_transaction))
        )
        assert ledger.certificate(issued.certificate_id).status.label == "pending"

        assert sender.resume(supplier.address) == 1
        sender.wait("0x" + signed.hash.hex())
        assert ledger.certificate(issued.certificate_id).status.label == "active"
        # The next send continues after the rebroadcast nonce.
        remainder, _ = ledger.transfer_part(
            supplier, issued.certificate_id, consortium.suppliers[1].address, "1.00"
        ).certificate_ids
        assert ledger.certificate(remainder).holder == supplier.address
    finally:
        sender.journal = None
        store.close()


def test_an_operation_holds_the_transactions_its_write_signed(
    runtime, consortium, tmp_path, database_url, new_document, maturity
):
    store = GatewayStore(database_url or tmp_path / "gateway.db")
    sender = runtime.sender
    sender.journal = SqliteJournal(store)
    try:
        ledger, core, supplier = runtime.ledger, consortium.core, consortium.suppliers[0]
        operation = store.create_operation(core.address, "issue")
        with recording_operation(operation.id):
            issued = ledger.issue(
                core, supplier.address, "10.00", maturity, new_document(), invoice_number=new_invoice_number()
            )
        ledger.accept(supplier, issued.certificate_id)  # outside the operation: not one of its transactions

        recorded = store.operation(operation.id)
        assert recorded is not None and recorded.tx_hashes == (issued.tx_hash,)
        assert store.transaction_status(issued.tx_hash) == ("mined", issued.block_number)
    finally:
        sender.journal = None
        store.close()
