"""Reorganisations (made with Anvil's evm_snapshot / evm_revert), confirmations, wait_for and run."""

from __future__ import annotations

import logging
import threading
import time
from decimal import Decimal

import pytest
import sqlalchemy as sa
from indexer_checks import assert_index_matches_chain, chain_logs, run_lifecycle
from web3 import Web3

from scf_chain.chain.local import free_port
from scf_chain.domain.types import TxResult
from scf_chain.index.indexer import Indexer, IndexerError, LedgerIndex
from tests import databases
from tests.conftest import new_invoice_number


def snapshot(runtime) -> str:
    return runtime.w3.provider.make_request("evm_snapshot", [])["result"]


def revert(runtime, snapshot_id: str) -> None:
    assert runtime.w3.provider.make_request("evm_revert", [snapshot_id])["result"] is True
    runtime.sender.forget_nonces()  # nonces handed out after the snapshot are gone with it


def block_hashes(runtime, numbers) -> dict[int, str]:
    return {n: "0x" + bytes(runtime.w3.eth.get_block(n)["hash"]).hex() for n in numbers}


@pytest.mark.parametrize("longer", [True, False], ids=["replacement-longer", "replacement-shorter"])
def test_reorg_rolls_back_to_the_common_ancestor(
    runtime, consortium, make_indexer, new_document, maturity, longer, caplog
):
    index, indexer = make_indexer(batch_blocks=4)
    ledger, core = consortium.ledger, consortium.core
    tier1, tier2, tier3 = consortium.suppliers[:3]
    root = ledger.issue(
        core, tier1.address, Decimal("1000.00"), maturity, new_document(), invoice_number=new_invoice_number()
    ).certificate_id
    ledger.accept(tier1, root)
    indexer.sync()
    fork_point = index.indexed_block
    kept_events = index.events(limit=100_000)

    snap = snapshot(runtime)
    # The branch that will be orphaned.
    _, orphan_part = ledger.transfer_part(tier1, root, tier2.address, "300.00").certificate_ids
    ledger.transfer_part(tier2, orphan_part, tier3.address, "100.00")
    orphan_cert = ledger.issue(
        core, tier2.address, Decimal("7.00"), maturity, new_document(), invoice_number=new_invoice_number()
    ).certificate_id
    ledger.freeze_certificate(consortium.operator, root)
    indexer.sync()
    assert_index_matches_chain(index, runtime)
    orphan_head = index.indexed_block
    orphan_hashes = block_hashes(runtime, range(fork_point + 1, orphan_head + 1))
    orphan_txs = {e.tx_hash for e in index.events(from_block=fork_point + 1, limit=100_000)}
    assert index.certificate(orphan_cert) is not None

    revert(runtime, snap)
    assert runtime.w3.eth.block_number == fork_point
    # The branch that wins: different writes at the same heights.
    ledger.split(tier1, root, [(tier3.address, "999.00"), (tier1.address, "1.00")])
    if longer:
        run_lifecycle(consortium, new_document, maturity)
        assert runtime.w3.eth.block_number > orphan_head
    else:
        assert runtime.w3.eth.block_number < orphan_head
    new_hashes = block_hashes(runtime, range(fork_point + 1, min(orphan_head, runtime.w3.eth.block_number) + 1))
    assert all(new_hashes[n] != orphan_hashes[n] for n in new_hashes)

    with caplog.at_level(logging.WARNING, logger="scf_chain.index.indexer"):
        assert indexer.sync() == runtime.w3.eth.block_number
    assert "reorganisation" in caplog.text
    assert_index_matches_chain(index, runtime)
    assert index.events(to_block=fork_point, limit=100_000) == kept_events
    assert not orphan_txs & {e.tx_hash for e in index.events(limit=100_000)}
    assert all(e.block_hash == block_hashes(runtime, [e.block_number])[e.block_number] for e in index.events())
    assert index.certificate(root).status == "split" and not index.certificate(root).frozen
    if not longer:
        assert index.certificate(orphan_cert) is None

    # What the reorg left is what a fresh index builds.
    fresh, fresh_indexer = make_indexer("fresh.db")
    fresh_indexer.sync()
    assert fresh.dump() == index.dump()


def test_reorg_below_every_recorded_block_starts_over(
    runtime, consortium, make_indexer, index_locations, new_document, maturity
):
    snap = snapshot(runtime)
    index, indexer = make_indexer()
    consortium.ledger.issue(
        consortium.core,
        consortium.suppliers[0].address,
        "5.00",
        maturity,
        new_document(),
        invoice_number=new_invoice_number(),
    )
    indexer.sync()
    before = index.dump()
    # Make the index believe every block it recorded is from another chain.
    db = databases.engine(index_locations["index.db"])
    with db.begin() as connection:
        connection.execute(
            sa.text(
                "UPDATE blocks SET hash = substr(hash, 1, 65) || CASE WHEN substr(hash, 66) = '0' THEN '1' ELSE '0' END"
            )
        )
    db.dispose()
    revert(runtime, snap)
    consortium.ledger.issue(
        consortium.core,
        consortium.suppliers[1].address,
        "6.00",
        maturity,
        new_document(),
        invoice_number=new_invoice_number(),
    )
    indexer.sync()
    assert_index_matches_chain(index, runtime)
    assert index.dump() != before


def test_confirmations_hold_back_the_newest_blocks(runtime, consortium, make_indexer, new_document, maturity):
    index, indexer = make_indexer(confirmations=2)
    ledger = consortium.ledger
    issued = ledger.issue(
        consortium.core,
        consortium.suppliers[0].address,
        "5.00",
        maturity,
        new_document(),
        invoice_number=new_invoice_number(),
    )
    head = runtime.w3.eth.block_number
    assert indexer.sync() == head - 2
    assert index.certificate(issued.certificate_id) is None
    ledger.accept(consortium.suppliers[0], issued.certificate_id)  # one block
    assert indexer.sync() == head - 1
    assert index.certificate(issued.certificate_id) is None
    runtime.w3.provider.make_request("evm_mine", [])
    assert indexer.sync() == head
    record = index.certificate(issued.certificate_id)
    assert record is not None and record.status == "pending"
    assert chain_logs(runtime)[: len(index.events())] == [
        (e.block_number, e.log_index, e.tx_hash) for e in index.events()
    ]


def test_wait_for_wakes_the_loop_and_waits_for_it_to_index_the_block(
    runtime, consortium, indexed, new_document, maturity
):
    index, indexer = indexed

    def issue() -> TxResult:
        return consortium.ledger.issue(
            consortium.core,
            consortium.suppliers[0].address,
            "5.00",
            maturity,
            new_document(),
            invoice_number=new_invoice_number(),
        )

    issued = issue()
    assert index.indexed_block < issued.block_number
    # A waiter never writes the index itself: without the loop, nothing indexes the block.
    assert not indexer.wait_for(issued.block_number, timeout=0.2)
    assert index.indexed_block < issued.block_number
    stop = threading.Event()
    # An interval far longer than the waits below: only a waiter's wake-up can make the loop sync in time.
    thread = threading.Thread(target=indexer.run, args=(stop,), kwargs={"interval": 60}, daemon=True)
    thread.start()
    try:
        assert indexer.wait_for(issued.block_number, timeout=5)
        assert index.certificate(issued.certificate_id) is not None
        again = issue()
        started = time.monotonic()
        assert indexer.wait_for(again.block_number, timeout=5)
        assert time.monotonic() - started < 2 and index.certificate(again.certificate_id) is not None
        assert indexer.wait_for(0, timeout=0)
        started = time.monotonic()
        assert not indexer.wait_for(runtime.w3.eth.block_number + 100, timeout=0.3)
        assert time.monotonic() - started < 2
    finally:
        stop.set()
        thread.join(timeout=5)
    assert not thread.is_alive()


def test_run_follows_the_chain_while_others_read(runtime, consortium, indexed, new_document, maturity):
    index, indexer = indexed
    stop = threading.Event()
    thread = threading.Thread(target=indexer.run, args=(stop,), kwargs={"interval": 0.05}, daemon=True)
    thread.start()
    try:
        ledger, tier1, tier2 = consortium.ledger, *consortium.suppliers[:2]
        issued = ledger.issue(
            consortium.core, tier1.address, "100.00", maturity, new_document(), invoice_number=new_invoice_number()
        )
        ledger.accept(tier1, issued.certificate_id)
        split = ledger.transfer_part(tier1, issued.certificate_id, tier2.address, "40.00")
        # wait_for while run() syncs in its own thread; reads come from this thread.
        assert indexer.wait_for(split.block_number, timeout=10)
        assert [c.id for c in index.children(issued.certificate_id)] == list(split.certificate_ids)
        seen: list[int] = []

        def read() -> None:
            seen.append(index.certificates(party=tier2.address)[1])

        readers = [threading.Thread(target=read) for _ in range(4)]
        for reader in readers:
            reader.start()
        for reader in readers:
            reader.join()
        assert seen == [1, 1, 1, 1]
    finally:
        stop.set()
        thread.join(timeout=5)
    assert not thread.is_alive()
    assert_index_matches_chain(index, runtime)


def test_run_survives_an_unreachable_chain(runtime, index_at, caplog):
    dead = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{free_port()}", request_kwargs={"timeout": 1}))
    index = LedgerIndex(index_at)
    indexer = Indexer(dead, runtime.ledger.address, runtime.ledger.contract.abi, index)
    stop = threading.Event()
    with caplog.at_level(logging.WARNING, logger="scf_chain.index.indexer"):
        thread = threading.Thread(target=indexer.run, args=(stop,), kwargs={"interval": 0.01}, daemon=True)
        thread.start()
        time.sleep(0.5)
        assert thread.is_alive()
        stop.set()
        thread.join(timeout=5)
    assert not thread.is_alive()
    assert "indexing failed" in caplog.text
    assert index.indexed_block == -1
    assert not indexer.wait_for(0, timeout=0.2)
    index.close()


class _CappedIndexer(Indexer):
    """An indexer on a node that refuses eth_getLogs over more than 3 blocks, as some nodes cap ranges."""

    def _rpc(self, method, params):
        if method == "eth_getLogs" and int(params[0]["toBlock"], 16) - int(params[0]["fromBlock"], 16) >= 3:
            raise IndexerError("eth_getLogs failed: block range exceeds 3")
        return super()._rpc(method, params)


def test_sync_narrows_ranges_a_node_refuses(runtime, consortium, index_at, new_document, maturity):
    run_lifecycle(consortium, new_document, maturity)
    with LedgerIndex(index_at) as index:
        indexer = _CappedIndexer(runtime.w3, runtime.ledger.address, runtime.ledger.contract.abi, index)
        assert indexer.sync() == runtime.w3.eth.block_number
        assert_index_matches_chain(index, runtime)
