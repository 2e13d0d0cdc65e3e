"""A chain that came back shorter, or different, repaired from the journal.

The embedded chain saves its state every second, so a ``kill -9`` can take its last blocks with it;
a proof-of-authority network can reorganise its latest blocks. Either way, blocks the journal saw
its transactions mined in are gone. Then:

1. the common ancestor is found: the newest block the journal knows that the chain still has, with
   the same hash;
2. every send mined above it is unconfirmed again, and so is every finished operation that sent one
   (an idempotency record of such an operation answers "in progress" meanwhile);
3. the journalled signed transactions are broadcast again, in the order the chain first ran them.
   The ledger numbers certificates in order, so the same transactions in the same order give the
   same ids, and every answer given before stays true;
4. each unconfirmed operation is settled again from its receipts: confirmed as before when all its
   transactions are mined; failed if one now reverts, and then its idempotency record answers that
   failure and an issuance's invoice number is forgotten (its id may go to another issuance).

Offers, financing requests and document uploads name certificates by id and are kept as they are:
the replay gives the ids back.

It runs before the gateway serves, and then every few seconds.
"""

from __future__ import annotations

import json
import logging

from api.gateway import Gateway
from api.render.problems import PROBLEM_JSON, Problem
from api.store import Operation
from scf_chain.chain.transactions import TxState

log = logging.getLogger(__name__)

CHECK_INTERVAL_S = 2.0


def common_ancestor(gateway: Gateway, blocks: list[tuple[int, str]]) -> int:
    """The newest of ``blocks`` (oldest first) the chain still holds with the same hash; -1 for none.

    A loss takes the newest blocks, so the blocks still held are a prefix: found by bisection.
    """
    low, high = 0, len(blocks)  # blocks[:low] are held; blocks[high:] are not
    while low < high:
        middle = (low + high) // 2
        number, block_hash = blocks[middle]
        if gateway.runtime.ledger.block_hash(number) == block_hash:
            low = middle + 1
        else:
            high = middle
    return blocks[low - 1][0] if low else -1


def _lost_above(gateway: Gateway) -> int | None:
    """The common ancestor, if the chain lost blocks the journal saw since the last check; else None.

    The first check (at start-up) compares the newest block and bisects; later ones compare every
    block confirmed since the block the last check found held, so that a loss the chain has since
    grown past again is found too.
    """
    store, ledger = gateway.store, gateway.runtime.ledger
    if gateway.verified_block is None:
        newest = store.newest_confirmed_block()
        if newest is None or ledger.block_hash(newest[0]) == newest[1]:
            gateway.verified_block = newest
            return None
        return common_ancestor(gateway, store.confirmed_blocks())
    for number, block_hash in store.confirmed_blocks(from_number=gateway.verified_block[0]):
        if ledger.block_hash(number) != block_hash:
            return number - 1
        gateway.verified_block = (number, block_hash)
    return None


def repair(gateway: Gateway) -> int:
    """Checks that the chain holds every block the journal saw; sends again what it lost. Returns how many.

    Runs before the gateway serves, every few seconds, and before the first write after the chain
    stopped answering (``Gateway.chain_checked``), when a chain that restarted without its last
    blocks is most likely: before a new write can take the ids the lost ones had.
    """
    with gateway.repair_lock:
        store = gateway.store
        ancestor = _lost_above(gateway)
        lost: list[str] = []
        if ancestor is not None:
            lost = store.unconfirm_sends_above(ancestor)
            unconfirmed = store.unconfirm_operations(lost)
            gateway.verified_block = None
            log.warning(
                "the chain no longer holds the blocks above %d: %d transactions and %d operations are unconfirmed; "
                "sending them again",
                ancestor,
                len(lost),
                unconfirmed,
            )
        sent = 0
        if lost or store.unconfirmed_operations():
            sent = gateway.runtime.sender.replay(store.sends_to_replay())
            if sent:
                log.info("sent %d journalled transactions again, in their first order", sent)
            for operation in store.unconfirmed_operations():
                _settle_again(gateway, operation)
        gateway.chain_checked.set()
        return sent


def _settle_again(gateway: Gateway, operation: Operation) -> None:
    """Settles an unconfirmed operation from its receipts, once the chain has decided all of them."""
    outcomes = [gateway.runtime.sender.outcome(tx_hash) for tx_hash in operation.tx_hashes]
    if any(outcome.state is TxState.PENDING for outcome in outcomes):
        return
    failed = next((outcome for outcome in outcomes if outcome.state is not TxState.MINED), None)
    if failed is None or operation.problem is not None:
        # As it was: every transaction is in a block again (a failed one fails as it did).
        status = "failed" if operation.problem is not None else "confirmed"
        gateway.store.update_operation(operation.id, status, result=operation.result, problem=operation.problem)
        log.info("operation %s is %s again", operation.id, status)
        return
    problem = Problem(
        409,
        "transaction_lost",
        f"The chain lost the block of transaction {failed.tx_hash}, and sent again it "
        f"{'reverted' if failed.state is TxState.REVERTED else 'was not mined'}: this operation did not happen. "
        "Read the ledger before you try again.",
    )
    gateway.store.update_operation(operation.id, "failed", result=operation.result, problem=problem.body())
    if operation.kind == "issue" and isinstance(operation.result, dict):
        # Its id may go to another issuance now: the invoice number noted for it is not that one's.
        for certificate in operation.result.get("certificates", []):
            gateway.store.forget_invoice_number(certificate["root_id"])
    # A replay of the request must tell the same: its recorded success is no longer true.
    body = json.dumps(problem.body()).encode()
    for scope, key in gateway.store.idempotency_keys_of(operation.id):
        gateway.store.complete_idempotency_key(scope, key, problem.status, body, PROBLEM_JSON)
    log.warning("operation %s failed after the chain lost its block: %s", operation.id, failed.tx_hash)
