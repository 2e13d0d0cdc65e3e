"""Operations a previous run of the gateway left unfinished, settled from the chain's receipts.

A crash between broadcasting a transaction and reading its receipt leaves an operation
``submitted`` (or ``mined``, part way through). On start-up the journal's unconfirmed
transactions are broadcast again (``Gateway.start``); then each such operation is settled
by what the chain says of the transactions recorded against it:

- none recorded: nothing was sent, so the ledger is unchanged: failed, ``interrupted``;
- one reverted: failed, ``transaction_reverted``;
- one the node no longer knows: sent again while its nonce is free; once another transaction has
  taken its nonce it can never be mined: failed, ``transaction_dropped``;
- some still pending: left as it is until a later pass finds them in a block;
- all mined: a write of one transaction is confirmed with what its receipt and the index show;
  a workflow of several (``WORKFLOW_KINDS``) fails ``interrupted_after_sending``, naming what was
  mined: sending it again continues where it stopped.

The idempotency records left in progress are settled with their operations, so that no key is stuck:
- an operation confirmed: the record keeps the answer the request would have had (its success
  status and the operation's result);
- failed with nothing sent (``interrupted``) or part way through a workflow (``interrupted_after_sending``),
  or no operation at all (the crash came before one was made): the record is released, and the
  replay runs the request again, which continues a workflow where it stopped;
- failed otherwise: the record keeps that problem.

Replicas sharing one database each settle what their own requests could not wait for. What a replica
that stopped left (its own lease in the database lapsed: killed, or restarted under a new identity) is
settled by the leader, which looks for it on every pass; so a replica taking over the leadership settles
what the last one left. One process alone on its SQLite file settles, at start-up, everything left then.
"""

from __future__ import annotations

import contextlib
import json
import logging

from fastapi.encoders import jsonable_encoder

from api.gateway import Gateway
from api.render.problems import PROBLEM_JSON, Problem
from api.schemas import WriteResult
from api.services.writes import WORKFLOW_KINDS, certificate_out
from api.store import Operation
from scf_chain.chain.nodes import failovers_of
from scf_chain.chain.transactions import TxOutcome, TxState
from scf_chain.domain.errors import SignerBusy

log = logging.getLogger(__name__)

# How often pending transactions of interrupted operations are looked at again.
SETTLE_INTERVAL_S = 2.0
# Failures after which the request may simply be sent again: released, not kept, by its idempotency record.
SEND_AGAIN_CODES = frozenset({"interrupted", "interrupted_after_sending", "transaction_dropped"})


class InterruptedOperations:
    """The operations unfinished when this run started; only those are settled (live ones finish themselves)."""

    def __init__(self, gateway: Gateway) -> None:
        self._waiting: set[str] = set()
        self._keys: list[tuple[str, str, str | None, int | None]] = []
        if gateway.leases is None:
            # Made before the first request of this run, alone on its database: what is in progress now is the
            # previous run's. Among replicas, what is in progress may be another's, which settles its own.
            self._waiting = {operation.id for operation in gateway.store.unfinished_operations()}
            self._keys = gateway.store.idempotency_keys_in_progress()
        self._failovers = 0  # a failover at start-up too: the first pass sends again what the new node lacks
        if self._waiting or self._keys:
            log.warning(
                "%d operations and %d idempotency records were unfinished at start-up; settling them from receipts",
                len(self._waiting),
                len(self._keys),
            )

    def __len__(self) -> int:
        return len(self._waiting) + len(self._keys)

    def settle(self, gateway: Gateway) -> None:
        """One pass: settles every waiting operation whose transactions the chain has decided, and its records.

        Operations this run's requests could not wait for (``Gateway.leave_unsettled``) join the waiting ones;
        their journalled transactions the chain has not seen are broadcast again first.
        """
        self._waiting |= gateway.take_unsettled()
        if gateway.leases is not None and gateway.leads():
            self._adopt(gateway)
        # Another node took over (scf_chain.chain.nodes): it may lack what the last one held but had not passed on.
        failovers = failovers_of(gateway.runtime.w3)
        if self._waiting or failovers != self._failovers:  # on every pass: one that found the chain away sent nothing
            for sender in gateway.journal.senders_with_unconfirmed():
                with contextlib.suppress(SignerBusy):  # another replica has it now, and the next pass tries again
                    gateway.runtime.sender.resume(sender)
            self._failovers = failovers
        for operation_id in sorted(self._waiting):
            operation = gateway.store.operation(operation_id)
            if operation is None or operation.status not in ("submitted", "mined") or _settle(gateway, operation):
                self._waiting.discard(operation_id)
                known = {(record[0], record[1]) for record in self._keys}
                self._keys += [
                    record
                    for record in gateway.store.idempotency_keys_in_progress(of_operation=operation_id)
                    if (record[0], record[1]) not in known
                ]
        self._keys = [record for record in self._keys if not _settle_key(gateway, *record)]

    def _adopt(self, gateway: Gateway) -> None:
        """Takes on what replicas that stopped left in progress: those whose own lease is not held."""
        live = gateway.leases.live_replicas() if gateway.leases is not None else set()
        left = {operation.id for operation in gateway.store.unfinished_operations(except_of=live)} - self._waiting
        known = {(record[0], record[1]) for record in self._keys}
        keys = [
            record
            for record in gateway.store.idempotency_keys_in_progress(except_of=live)
            if (record[0], record[1]) not in known
        ]
        if left or keys:
            log.warning(
                "%d operations and %d idempotency records of stopped replicas were unfinished; settling them",
                len(left),
                len(keys),
            )
        self._waiting |= left
        self._keys += keys


def _settle_key(gateway: Gateway, scope: str, key: str, operation_id: str | None, success_status: int | None) -> bool:
    """Settles one idempotency record left in progress, once its operation is settled; says whether it did."""
    store = gateway.store
    operation = store.operation(operation_id) if operation_id is not None else None
    if operation is None:
        store.release_idempotency_key(scope, key)
        return True
    if operation.status in ("submitted", "mined"):
        return False
    if operation.status == "confirmed":
        body = json.dumps(operation.result).encode()
        store.complete_idempotency_key(scope, key, success_status or 200, body, "application/json")
        return True
    problem = operation.problem or {}
    if operation.status == "failed" and problem.get("code") not in SEND_AGAIN_CODES:
        body = json.dumps(problem).encode()
        store.complete_idempotency_key(scope, key, int(problem.get("status", 500)), body, PROBLEM_JSON)
        return True
    if operation.status == "failed":
        store.release_idempotency_key(scope, key)
        return True
    return False  # unconfirmed: settled again by api.services.rollback first


def _settle(gateway: Gateway, operation: Operation) -> bool:
    """Settles ``operation`` if the chain has decided all its transactions; says whether it did."""
    store = gateway.store
    if not operation.tx_hashes:
        _fail(
            gateway,
            operation,
            Problem(
                503,
                "interrupted",
                "The gateway restarted before this operation sent a transaction, so the ledger is unchanged; "
                "send the request again.",
            ),
        )
        return True
    outcomes = [gateway.runtime.sender.outcome(tx_hash) for tx_hash in operation.tx_hashes]
    if any(outcome.state is TxState.PENDING for outcome in outcomes):
        return False
    for outcome in outcomes:
        if outcome.state is TxState.REVERTED:
            _fail(
                gateway,
                operation,
                Problem(
                    409,
                    "transaction_reverted",
                    f"Transaction {outcome.tx_hash} of this operation reverted on the ledger; "
                    "read the ledger before you try again.",
                ),
            )
            return True
        if outcome.state is TxState.UNKNOWN:
            send = store.journalled_send(outcome.tx_hash)
            if send is not None and gateway.runtime.sender.may_still_be_mined(send):
                return False  # its nonce is still free: sent again by the next pass's resume
            _fail(
                gateway,
                operation,
                Problem(
                    503,
                    "transaction_dropped",
                    f"Transaction {outcome.tx_hash} of this operation is in no block, and another took its place: "
                    "the ledger is unchanged by it. Send the request again.",
                ),
            )
            return True
    if operation.kind in WORKFLOW_KINDS:
        mined = ", ".join(outcome.tx_hash for outcome in outcomes)
        _fail(
            gateway,
            operation,
            Problem(
                503,
                "interrupted_after_sending",
                f"The gateway restarted part way through; its transactions {mined} are in blocks. "
                "Send the request again to finish: what is done already is not done twice.",
            ),
        )
        return True
    store.update_operation(operation.id, "confirmed", result=jsonable_encoder(_from_receipt(gateway, outcomes[-1])))
    log.info("operation %s settled from the receipt of %s", operation.id, outcomes[-1].tx_hash)
    return True


def _fail(gateway: Gateway, operation: Operation, problem: Problem) -> None:
    # The result so far (a workflow's progress) stays beside the problem.
    gateway.store.update_operation(operation.id, "failed", result=operation.result, problem=problem.body())


def _from_receipt(gateway: Gateway, outcome: TxOutcome) -> WriteResult:
    """What a one-transaction write answers, rebuilt from its block: the certificates its events name."""
    assert outcome.block_number is not None
    indexed_block = gateway.wait_indexed(outcome.block_number)
    named: set[int] = set()
    retired: set[int] = set()  # a split's parent: the write itself answers with the parts
    for event in gateway.index.events(from_block=outcome.block_number, to_block=outcome.block_number):
        if event.tx_hash.lower() != outcome.tx_hash.lower():
            continue
        args = event.args
        for field in ("id", "tokenId", "parentId"):
            if field in args:
                named.add(int(args[field]))
        if "firstChildId" in args and "amounts" in args:
            first = int(args["firstChildId"])
            named.update(range(first, first + len(args["amounts"])))
            retired.add(int(args["parentId"]))
    records = (gateway.index.certificate(i) for i in sorted(named - retired))
    certificates = [certificate_out(gateway, record) for record in records if record is not None]
    return WriteResult(
        tx_hash=outcome.tx_hash,
        block_number=outcome.block_number,
        certificates=certificates,
        indexed_block=indexed_block,
    )
