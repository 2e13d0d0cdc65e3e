"""Two gateway processes' senders, signing for the same member on one chain, through the signer's lease.

Each "replica" is a TransactionSender with a GatewayStore of its own, both on one shared database (a SQLite
file, or PostgreSQL with ``--database=postgres``), as two processes would have: the journal and the leases
are the only things they share.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3.contract.contract import ContractFunction

from api.store import GatewayStore, SqliteJournal, StoreLeases
from api.store.leases import SIGNER_PREFIX
from scf_chain.chain.deploy import TOKEN_CONTRACT
from scf_chain.chain.transactions import SignedSend, TransactionSender, call_data
from scf_chain.domain.errors import SignerBusy
from scf_chain.runtime import Runtime

THREADS = 8
SENDS_PER_THREAD = 6
LEASE_S = 1.0


@dataclass
class Replica:
    store: GatewayStore
    leases: StoreLeases
    sender: TransactionSender


@pytest.fixture
def shared_database(tmp_path: Path, database_url: str | None) -> Path | str:
    return database_url or tmp_path / "gateway.db"


@pytest.fixture
def replicas(runtime: Runtime, shared_database: Path | str) -> Iterator[list[Replica]]:
    made: list[Replica] = []
    try:
        for name in ("replica-a", "replica-b"):
            store = GatewayStore(shared_database)
            leases = StoreLeases(store, holder=name, lease_s=LEASE_S)
            sender = TransactionSender(
                runtime.w3,
                chain_id=runtime.w3.eth.chain_id,
                decode_revert=runtime.ledger.decode_revert,
                journal=SqliteJournal(store),
                leases=leases,
            )
            made.append(Replica(store, leases, sender))
        yield made
    finally:
        for replica in made:
            replica.store.close()


def _approval(runtime: Runtime, amount: int) -> ContractFunction:
    """A write anyone may make any number of times: an allowance of the settlement token."""
    token = runtime.w3.eth.contract(
        address=runtime.deployment.settlement_token, abi=runtime.contracts[TOKEN_CONTRACT].abi
    )
    return token.functions.approve(runtime.operator.address, amount)


def _nonce_of(runtime: Runtime, tx_hash: str) -> int:
    return int(runtime.w3.eth.get_transaction(tx_hash)["nonce"])  # type: ignore[arg-type]


def test_two_replicas_sending_for_one_signer_take_consecutive_nonces(runtime: Runtime, replicas: list[Replica]):
    signer: LocalAccount = Account.create()

    def sends(replica: Replica, thread: int) -> list[str]:
        hashes = []
        for n in range(SENDS_PER_THREAD):
            receipt = replica.sender.transact(signer, _approval(runtime, thread * 100 + n))
            assert receipt["status"] == 1
            hashes.append("0x" + bytes(receipt["transactionHash"]).hex())
        return hashes

    with ThreadPoolExecutor(2 * THREADS) as pool:
        futures = [pool.submit(sends, replica, t) for replica in replicas for t in range(THREADS)]
        hashes = [tx_hash for future in futures for tx_hash in future.result()]

    total = len(replicas) * THREADS * SENDS_PER_THREAD
    assert len(set(hashes)) == total
    nonces = sorted(_nonce_of(runtime, tx_hash) for tx_hash in hashes)
    assert nonces == list(range(total))  # none reused, none skipped
    assert runtime.w3.eth.get_transaction_count(signer.address, "latest") == total  # all mined
    # Released with the next nonce, for whichever replica comes next.
    lease = replicas[0].store.lease(SIGNER_PREFIX + signer.address)
    assert lease is not None and lease.holder is None and lease.next_nonce == total


def test_a_holder_that_died_holding_the_lease_is_resumed_from_the_journal_and_the_chain(
    runtime: Runtime, replicas: list[Replica]
):
    """The first replica takes the lease, journals a signed transaction and dies before broadcasting it: the
    second waits for the lease to lapse, broadcasts the journalled transaction, and goes on after it."""
    dead, survivor = replicas
    signer: LocalAccount = Account.create()
    name = SIGNER_PREFIX + signer.address
    assert dead.store.take_lease(name, dead.leases.holder, LEASE_S).holder == dead.leases.holder
    call = _approval(runtime, 1)
    transaction = {"to": call.address, "data": call_data(call), "value": 0, "gas": 100_000, "gasPrice": 0}
    signed = signer.sign_transaction({**transaction, "nonce": 0, "chainId": runtime.w3.eth.chain_id})
    orphan = SignedSend(signer.address, 0, "0x" + signed.hash.hex(), bytes(signed.raw_transaction))
    dead.store.record_signed(orphan, None)

    # While the dead holder's lease runs, the signer is busy for anyone who will not wait.
    impatient = StoreLeases(survivor.store, holder=survivor.leases.holder, lease_s=LEASE_S, wait_s=0)
    with pytest.raises(SignerBusy):
        impatient.acquire(signer.address)

    receipt = survivor.sender.transact(signer, _approval(runtime, 2))  # waits out the lease, within its bound

    assert receipt["status"] == 1
    assert _nonce_of(runtime, "0x" + bytes(receipt["transactionHash"]).hex()) == 1
    orphan_receipt = runtime.w3.eth.get_transaction_receipt(orphan.tx_hash)  # type: ignore[arg-type]
    assert orphan_receipt["status"] == 1  # resumed from the journal: broadcast by the survivor
    assert runtime.w3.eth.get_transaction_count(signer.address, "latest") == 2  # no gap
    lease = survivor.store.lease(name)
    assert lease is not None and lease.holder is None and lease.next_nonce == 2
