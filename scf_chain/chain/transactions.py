"""Signing and sending: one serialized nonce sequence per signer.

web3.py has no nonce manager, so concurrent sends from one account would race. Here
every signer has a lock and a local next nonce: a send estimates, signs, journals
and broadcasts under that lock, so nonces are assigned at the source, in order. The
client never supplies a nonce, gas or chain id.

Every signed transaction is handed to the journal *before* it is broadcast, so a
crash between the two loses nothing: on start-up, :meth:`TransactionSender.resume`
rebroadcasts what the chain has not seen.

Once a transaction is signed, a chain that stops answering for a while is waited out
(for up to the receipt timeout): the same signed bytes are broadcast again until the
chain takes them, and the receipt is asked for until it answers. Giving up at that
point would report a failure for a transaction that may yet be mined.

On a network that makes a block every second or so, a signer has many transactions in
flight at once, which meets two problems a chain mining each transaction at once never
shows:

- A write may depend on an earlier one of its signer not yet in a block (a part of a
  certificate transferred while its acceptance is pending). Its gas is estimated against
  the ``pending`` state, which holds the node's pool, and only when that estimate reverts
  while earlier sends of the signer are still unmined are those waited for and the
  estimate made again (see :meth:`TransactionSender._estimate`).
- A transaction the node loses while later ones of its signer were sent (evicted from the
  pool, a node restarted without it) holds those back for ever. A receipt long in coming
  makes the sender look for such a gap and fill it (see :meth:`TransactionSender._fill_gaps`).

Several gateway processes (replicas) may share one journal and sign for the same members. The local
lock then serializes a signer's sends within one process only, so every section that takes or fills a
nonce (a send, a resume, a replay, a gap filled) also holds the signer's lease (:class:`SignerLeases`),
a row in the shared database that one process holds at a time. Its holder releases it at the end of the
section with the signer's next nonce, and the next holder, in whichever process, goes on from there
without asking the chain. A lease found neither released nor renewed within its bound had a holder that
died part way: its next holder resumes the signer first, as a restart would (the journal's sends the
chain lacks are broadcast again, and the next nonce is the chain's). The chain stays the last word: a
holder that outlived its lease unawares signs a nonce another used, which the chain refuses, and the
refused send takes the chain's next nonce, as it does for a key used elsewhere.

A request whose signer another process holds waits for it, polling the lease, rather than being
forwarded to that process. Every replica serves every route, and none needs to know where the others
are or whether they still run; a section lasts a few milliseconds, so that a handover costs one
database round trip, where forwarding would cost another HTTP hop, a registry of replicas' addresses
and a failure case of its own (the holder dying with the forwarded request). The wait is bounded: past
it the request is refused with :class:`~scf_chain.domain.errors.SignerBusy`, before anything is signed.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol, cast

from eth_abi import encode as abi_encode
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from eth_utils.abi import get_abi_input_types
from hexbytes import HexBytes
from web3 import Web3
from web3.contract.contract import ContractConstructor, ContractFunction
from web3.exceptions import (
    BlockNotFound,
    ContractCustomError,
    ContractLogicError,
    TimeExhausted,
    TransactionNotFound,
    Web3RPCError,
)
from web3.types import RPCEndpoint, TxParams, TxReceipt

from scf_chain.domain.errors import ChainUnavailable, ScfError, SignerBusy, TransactionFailed

log = logging.getLogger(__name__)

# Headroom over the estimate: the state may shift a little between estimate and mining.
GAS_HEADROOM_NUMERATOR = 6
GAS_HEADROOM_DENOMINATOR = 5
NONCE_ERRORS = ("nonce too low", "nonce too high", "already known", "replacement transaction underpriced")
# What a broadcast sent again after an outage is told when the chain had it already: held, or mined.
DELIVERED_ERRORS = ("already known", "nonce too low")
# How often a chain that does not answer is tried again while a signed transaction waits on it.
OUTAGE_RETRY_S = 0.2
# A receipt is asked for at once and then less and less often: a chain that mines each transaction as it comes
# answers in milliseconds, one that mines every few seconds would only be asked in vain.
RECEIPT_POLL_MIN_S = 0.01
RECEIPT_POLL_MAX_S = 0.2
# How long a receipt may be awaited before the signer's nonces are looked at for a gap (see _fill_gaps).
GAP_CHECK_S = 3.0
# How long a send whose estimate reverted waits for the earlier sends of its signer to be mined (see _estimate).
PREDECESSOR_WAIT_S = 10.0
# A transfer of nothing from a signer to itself: what takes a nonce whose own transaction is lost.
FILLER_GAS = 21_000

# A contract call or a deployment.
Sendable = ContractFunction | ContractConstructor
DecodeRevert = Callable[[Any], ScfError]


@dataclass(frozen=True)
class SignedSend:
    sender: str
    nonce: int
    tx_hash: str
    raw: bytes


class TxState(StrEnum):
    """What the chain knows of a sent transaction."""

    MINED = "mined"
    REVERTED = "reverted"
    PENDING = "pending"  # the node holds it, not yet in a block
    UNKNOWN = "unknown"  # neither in a block nor held by the node


@dataclass(frozen=True)
class TxOutcome:
    tx_hash: str
    state: TxState
    block_number: int | None = None


class Journal(Protocol):
    """Where signed transactions are recorded before they are broadcast."""

    def record(self, send: SignedSend) -> None: ...

    def unconfirmed(self, sender: str) -> list[SignedSend]:
        """Signed sends of ``sender`` not yet known to be mined, lowest nonce first."""
        ...

    def confirm(
        self,
        tx_hash: str,
        block_number: int,
        success: bool,
        *,
        block_hash: str | None = None,
        tx_index: int | None = None,
    ) -> None:
        """Records the transaction mined in block ``block_number`` (``block_hash``), at ``tx_index`` in it."""
        ...


class SignerLeases(Protocol):
    """Which process may take a signer's nonces, where several share one journal and one chain.

    One holder at a time, for as long as a section of the sender runs; a holder that stops answering loses
    its leases after a bound, which its live holders renew while a section runs long.
    """

    def acquire(self, signer: str) -> int | None:
        """Waits until this process holds ``signer``'s lease.

        Returns the next nonce its last holder released it with; None where none did (the lease is new, or its
        holder died holding it), and the chain and the journal say where the signer stands. Raises
        :class:`~scf_chain.domain.errors.SignerBusy` where another holder keeps it past the wait's bound.
        """
        ...

    def release(self, signer: str, next_nonce: int | None) -> None:
        """Hands ``signer`` on: its next holder goes on from ``next_nonce`` (None: from the chain).

        Never raises: the section's sends are on their way, and a release that does not reach the database
        leaves the lease to lapse, after which its next holder resumes the signer from the chain.
        """
        ...

    def forget_nonces(self) -> None:
        """Drops the next nonce of every signer's lease, for a chain that went back."""
        ...


class TransactionSender:
    """Signs and sends transactions for any number of signers.

    ``leases``: where other processes sign for the same keys, the lease every section of a signer holds (see
    the module's docstring); None for a process that is the only one to sign with its keys.
    """

    def __init__(
        self,
        w3: Web3,
        *,
        chain_id: int,
        decode_revert: DecodeRevert,
        gas_price: int = 0,
        journal: Journal | None = None,
        receipt_timeout: float = 30.0,
        max_pending_per_sender: int = 64,
        gap_check_s: float = GAP_CHECK_S,
        predecessor_wait_s: float = PREDECESSOR_WAIT_S,
        pending_state: bool | None = None,
        leases: SignerLeases | None = None,
    ) -> None:
        """``pending_state``: whether the node runs its pool in its ``pending`` state (Anvil, Geth) or takes
        ``pending`` for ``latest`` (Besu); None asks the node (see :meth:`_estimate`)."""
        self.w3 = w3
        self.chain_id = chain_id
        self.gas_price = gas_price
        self.journal = journal
        self.leases = leases
        self.receipt_timeout = receipt_timeout
        self.max_pending_per_sender = max_pending_per_sender
        self._pending: dict[str, threading.BoundedSemaphore] = {}
        self._decode_revert = decode_revert
        self._registry_lock = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._next_nonce: dict[str, int] = {}
        self.gap_check_s = gap_check_s
        self.predecessor_wait_s = predecessor_wait_s
        self.pending_state = pending_state
        # What is in flight, for filling gaps: per signer, nonce -> its broadcast send; under _flight_lock.
        self._flight_lock = threading.Lock()
        self._in_flight: dict[str, dict[int, SignedSend]] = {}
        self._fillers: dict[str, dict[int, SignedSend]] = {}
        # Sends whose nonce went to another transaction, for good: hash -> what their waiter is told.
        self._dropped: dict[str, str] = {}
        self._gap_checked: dict[str, float] = {}
        # The signers seen, to sign a filler for one of them.
        self._accounts: dict[str, LocalAccount] = {}

    def _lock_for(self, address: str) -> threading.Lock:
        with self._registry_lock:
            return self._locks.setdefault(address, threading.Lock())

    @contextmanager
    def _section(self, address: str, *, resume: bool = True) -> Iterator[int | None]:
        """Holds ``address``'s nonces: its local lock, and with leases its lease as well, for one section.

        With leases, the next nonce comes from the lease; where no holder released it (the lease is new, or its
        holder died), the signer is resumed first unless ``resume`` is False, and the section is given how many
        sends that broadcast again (else None). The lease is released with the next nonce, whatever happens.
        """
        with self._lock_for(address):
            if self.leases is None:
                yield None
                return
            released = self.leases.acquire(address)
            try:
                resumed: int | None = None
                if released is not None:
                    self._next_nonce[address] = released
                else:
                    self._next_nonce.pop(address, None)
                    if resume:
                        resumed = self._resend_journalled(address)
                yield resumed
            finally:
                self.leases.release(address, self._next_nonce.get(address))

    def _pending_slot(self, address: str) -> threading.BoundedSemaphore:
        with self._registry_lock:
            return self._pending.setdefault(address, threading.BoundedSemaphore(self.max_pending_per_sender))

    def send(self, account: LocalAccount, call: Sendable, *, gas: int | None = None) -> str:
        """Estimates, signs, journals and broadcasts ``call`` from ``account``; returns the hash.

        A call that would revert raises the decoded ledger error and sends nothing.
        """
        address = to_checksum_address(account.address)
        with self._section(address):
            self._accounts[address] = account
            transaction = self._build(address, call, gas)
            for attempt in range(2):
                transaction["nonce"] = self._take_nonce(address)
                signed = account.sign_transaction(transaction)
                send = SignedSend(
                    address, transaction["nonce"], "0x" + signed.hash.hex(), bytes(signed.raw_transaction)
                )
                if self.journal is not None:
                    self.journal.record(send)
                try:
                    self._broadcast(send)
                except Web3RPCError as exc:
                    # Refused, the transaction leaves no gap: its nonce goes to the next send, which asks the
                    # chain for it (no later nonce was handed out meanwhile, all being under this lock).
                    if attempt == 0 and any(text in str(exc).lower() for text in NONCE_ERRORS):
                        # Someone else used this key, or the chain restarted: resync once.
                        log.warning("nonce %d of %s was stale; resyncing from the chain", send.nonce, address)
                        self._next_nonce.pop(address, None)
                        continue
                    self._next_nonce.pop(address, None)
                    raise TransactionFailed(f"the chain refused the transaction: {_rpc_message(exc)}") from exc
                self._next_nonce[address] = send.nonce + 1
                self._track(send)
                return send.tx_hash
        raise TransactionFailed("the transaction could not be given a valid nonce")

    def transact(self, account: LocalAccount, call: Sendable, *, gas: int | None = None) -> TxReceipt:
        """Sends ``call`` and waits for its receipt; a revert raises the decoded error."""
        # Besu caps the pending transactions of one sender: past the cap, wait for a slot.
        with self._pending_slot(to_checksum_address(account.address)):
            tx_hash = self.send(account, call, gas=gas)
            return self.wait(tx_hash, call=call, sender=account.address)

    def _broadcast(self, send: SignedSend) -> None:
        """Broadcasts ``send``; while the chain does not answer, again, for up to the receipt timeout."""
        deadline = time.monotonic() + self.receipt_timeout
        outage = False
        while True:
            try:
                self.w3.eth.send_raw_transaction(send.raw)
                return
            except ChainUnavailable:
                if time.monotonic() >= deadline:
                    raise
                if not outage:
                    log.warning("the chain did not take transaction %s; sending it again when it answers", send.tx_hash)
                    outage = True
                time.sleep(OUTAGE_RETRY_S)
            except Web3RPCError as exc:
                # A broadcast that reached the chain before the outage cut its answer off: the chain has it.
                if outage and any(text in str(exc).lower() for text in DELIVERED_ERRORS):
                    return
                raise

    def wait(self, tx_hash: str, *, call: Sendable | None = None, sender: str | None = None) -> TxReceipt:
        deadline = time.monotonic() + self.receipt_timeout
        address = to_checksum_address(sender) if sender is not None else None
        next_gap_check = time.monotonic() + self.gap_check_s
        poll = RECEIPT_POLL_MIN_S
        outage = False
        while True:
            try:
                if outage:
                    self._send_again_if_forgotten(tx_hash, sender)
                    outage = False
                receipt = self._receipt(tx_hash)
                if receipt is not None:
                    break
                with self._flight_lock:
                    dropped = self._dropped.pop(tx_hash, None)
                if dropped is not None:
                    raise TransactionFailed(dropped)
                now = time.monotonic()
                if now >= deadline:
                    self._untrack(tx_hash)
                    if address is not None:
                        # Its nonce may be free again (a node that forgot its pool): the next send asks the chain.
                        self._forget_nonce(address)
                    raise TransactionFailed(f"transaction {tx_hash} was not mined within {self.receipt_timeout:.0f}s")
                if address is not None and now >= next_gap_check:
                    # Where another process holds the signer, it looks at the gaps itself while it waits.
                    with contextlib.suppress(SignerBusy):
                        self._fill_gaps(address, tx_hash)
                    next_gap_check = time.monotonic() + self.gap_check_s
                    continue  # it may have been found dropped
                time.sleep(min(poll, deadline - now))
                poll = min(poll * 2, RECEIPT_POLL_MAX_S)
            except ChainUnavailable:
                # The transaction is on its way and may be mined: the chain's absence is waited out, not reported.
                if time.monotonic() >= deadline:
                    raise
                outage = True
                time.sleep(OUTAGE_RETRY_S)
        self._untrack(tx_hash)
        self._journal_receipt(tx_hash, receipt)
        if receipt["status"] != 1:
            raise self._revert_reason(tx_hash, receipt, call, sender)
        return receipt

    def _receipt(self, tx_hash: str) -> TxReceipt | None:
        try:
            return self.w3.eth.get_transaction_receipt(HexBytes(tx_hash))
        except TransactionNotFound:
            return None

    def _send_again_if_forgotten(self, tx_hash: str, sender: str | None) -> None:
        """After an outage: a node restarted without its pool no longer holds the transaction; the journal's
        signed bytes are broadcast again."""
        if self.journal is None or sender is None or self.outcome(tx_hash).state is not TxState.UNKNOWN:
            return
        for send in self.journal.unconfirmed(to_checksum_address(sender)):
            if send.tx_hash == tx_hash:
                log.warning("the chain came back without transaction %s; sending it again", tx_hash)
                try:
                    self.w3.eth.send_raw_transaction(send.raw)
                except Web3RPCError as exc:  # the wait for its receipt decides what became of it
                    log.warning("transaction %s was not sent again: %s", tx_hash, _rpc_message(exc))
                return

    def outcome(self, tx_hash: str) -> TxOutcome:
        """Asks the chain, without waiting, what became of a sent transaction; a receipt found is journalled."""
        try:
            receipt = self.w3.eth.get_transaction_receipt(HexBytes(tx_hash))
        except TransactionNotFound:
            try:
                self.w3.eth.get_transaction(HexBytes(tx_hash))
            except TransactionNotFound:
                return TxOutcome(tx_hash, TxState.UNKNOWN)
            return TxOutcome(tx_hash, TxState.PENDING)
        success = receipt["status"] == 1
        self._untrack(tx_hash)
        self._journal_receipt(tx_hash, receipt)
        return TxOutcome(tx_hash, TxState.MINED if success else TxState.REVERTED, receipt["blockNumber"])

    def _journal_receipt(self, tx_hash: str, receipt: TxReceipt) -> None:
        if self.journal is not None:
            self.journal.confirm(
                tx_hash,
                receipt["blockNumber"],
                receipt["status"] == 1,
                block_hash="0x" + bytes(receipt["blockHash"]).hex(),
                tx_index=receipt["transactionIndex"],
            )

    def replay(self, sends: list[SignedSend]) -> int:
        """Broadcasts ``sends`` again in the order given, each once the one before is mined; returns how many.

        For a chain that lost blocks: the same signed bytes, in the order the chain first ran them, so
        that what the ledger numbers in order (certificate ids) comes out the same. A send whose nonce
        the chain has already used is skipped; one that is refused or not mined in time ends the replay.
        """
        sent = 0
        self.forget_nonces()
        for send in sends:
            # Not resumed on taking its lease: these are its sends, in the order they must go.
            with self._section(send.sender, resume=False):
                if send.nonce < self.w3.eth.get_transaction_count(to_checksum_address(send.sender), "pending"):
                    continue
                try:
                    self.w3.eth.send_raw_transaction(send.raw)
                    receipt = self.w3.eth.wait_for_transaction_receipt(
                        HexBytes(send.tx_hash), timeout=self.receipt_timeout, poll_latency=0.01
                    )
                except (Web3RPCError, TimeExhausted) as exc:
                    log.warning("journalled transaction %s was not sent again: %s", send.tx_hash, exc)
                    break
                sent += 1
                self._journal_receipt(send.tx_hash, receipt)  # a revert is its operation's to report
        self.forget_nonces()
        return sent

    def may_still_be_mined(self, send: SignedSend) -> bool:
        """Whether ``send``'s nonce is still free on the chain: if not, another transaction took its place for good."""
        return send.nonce >= self.w3.eth.get_transaction_count(to_checksum_address(send.sender), "pending")

    def resume(self, address: str) -> int:
        """Rebroadcasts journalled sends of ``address`` the chain has not seen; returns how many."""
        if self.journal is None:
            return 0
        address = to_checksum_address(address)
        with self._section(address) as resumed:
            return resumed if resumed is not None else self._resend_journalled(address)

    def _resend_journalled(self, address: str) -> int:
        """Broadcasts the journalled sends of ``address`` at or above the chain's pending nonce, in the signer's
        section; the next nonce is then the chain's."""
        if self.journal is None:
            return 0
        resent = 0
        chain_nonce = self.w3.eth.get_transaction_count(to_checksum_address(address), "pending")
        for send in self.journal.unconfirmed(address):
            if send.nonce < chain_nonce:
                continue
            try:
                self.w3.eth.send_raw_transaction(send.raw)
                resent += 1
                self._track(send)  # a gap behind it is filled like one of this run's
            except Web3RPCError as exc:
                log.warning("journalled transaction %s was not rebroadcast: %s", send.tx_hash, _rpc_message(exc))
        self._next_nonce.pop(address, None)
        return resent

    def forget_nonces(self) -> None:
        """Drops every cached next nonce (and every lease's), so the next send of each signer asks the chain again.

        For when the chain went back (a reverted snapshot, a restarted development chain).
        """
        with self._registry_lock:
            addresses = list(self._locks)
        for address in addresses:
            with self._lock_for(address):
                self._next_nonce.pop(address, None)
        if self.leases is not None:
            self.leases.forget_nonces()

    def _forget_nonce(self, address: str) -> None:
        """The next send of ``address`` asks the chain for its nonce, in whichever process it runs."""
        try:
            with self._section(address, resume=False):
                self._next_nonce.pop(address, None)
        except SignerBusy:
            pass  # its holder goes on from what it knows, and the chain corrects a nonce that is off

    def _build(self, address: str, call: Sendable, gas: int | None) -> dict[str, Any]:
        if not isinstance(call, ContractFunction):  # a deployment: rare, through web3
            params: dict[str, Any] = {"from": address, "chainId": self.chain_id, "gasPrice": self.gas_price}
            params["gas"] = gas if gas is not None else self._estimate(call.estimate_gas, params)
            return dict(call.build_transaction(cast(TxParams, {**params, "nonce": 0})))
        transaction: dict[str, Any] = {
            "to": call.address,
            "data": call_data(call),
            "value": 0,
            "gasPrice": self.gas_price,
        }
        if gas is None:
            gas = self._estimate(self.w3.eth.estimate_gas, {**transaction, "from": address})
        return {**transaction, "gas": gas, "chainId": self.chain_id}

    def _estimate(self, estimate_gas: Callable[..., int], params: dict[str, Any]) -> int:
        """The gas to send with, over the node's estimate; a call that would revert raises the decoded error.

        Estimated against the ``pending`` state: on interval blocks a write may depend on an earlier one of its
        signer still in the pool, and would revert against ``latest``. Anvil and Geth run the pool in their
        ``pending`` state; a node that takes ``pending`` for ``latest`` (Besu) reverts there, so a revert while
        the signer has sends in flight is checked once more after they are mined: only a revert then is final.
        Estimating keeps the gas of each write its own and refuses a doomed write, with the ledger's decoded
        error, before it takes a nonce; a table of fixed gas limits per ledger function would need the same
        call against ``pending`` to refuse it, and would go stale with every change of the contracts.
        """
        try:
            estimate = estimate_gas(cast(TxParams, params), block_identifier="pending")
        except (ContractCustomError, ContractLogicError) as exc:
            if not self._await_predecessors(to_checksum_address(params["from"])):
                raise self._decode_revert(exc.data) from None
            try:
                estimate = estimate_gas(cast(TxParams, params), block_identifier="pending")
            except (ContractCustomError, ContractLogicError) as again:
                raise self._decode_revert(again.data) from None
        return int(estimate) * GAS_HEADROOM_NUMERATOR // GAS_HEADROOM_DENOMINATOR

    def _runs_pending_state(self) -> bool:
        """Whether the node's ``pending`` state is a block to come, over its pool: its number is past the latest.

        A node that takes ``pending`` for ``latest`` answers the latest block. Asked pending block first: a block
        mined between the two questions can only make a node with a pending state look like one without (and
        cost a wait), never the other way round. Once seen, it is kept.
        """
        if self.pending_state is None:
            try:
                pending = self.w3.eth.get_block("pending")["number"]
                latest = self.w3.eth.block_number
            except (Web3RPCError, BlockNotFound, KeyError):
                return False
            if pending is not None and pending > latest:
                self.pending_state = True
        return bool(self.pending_state)

    def _await_predecessors(self, address: str) -> bool:
        """Waits, under the signer's lock, for its sends in flight to be mined; whether there were any, on a node
        without a pending state of its own, and they were mined within ``predecessor_wait_s``."""
        with self._flight_lock:
            nonces = list(self._in_flight.get(address, {}))
        if not nonces:
            return False
        highest = max(nonces)
        if self.w3.eth.get_transaction_count(to_checksum_address(address), "latest") > highest:
            return False  # nothing of the signer is in flight any more: the revert stands
        if self._runs_pending_state():
            return False  # the estimate ran after them already
        deadline = time.monotonic() + self.predecessor_wait_s
        poll = RECEIPT_POLL_MIN_S
        while time.monotonic() < deadline:
            time.sleep(poll)
            poll = min(poll * 2, RECEIPT_POLL_MAX_S)
            if self.w3.eth.get_transaction_count(to_checksum_address(address), "latest") > highest:
                return True
        return False

    def _take_nonce(self, address: str) -> int:
        if address not in self._next_nonce:
            self._next_nonce[address] = self.w3.eth.get_transaction_count(to_checksum_address(address), "pending")
        return self._next_nonce[address]

    # What is in flight, and its gaps

    def _track(self, send: SignedSend) -> None:
        with self._flight_lock:
            sends = self._in_flight.setdefault(send.sender, {})
            sends[send.nonce] = send
            # Sends never waited for are forgotten, the oldest first, so that this stays small.
            while len(sends) > 2 * self.max_pending_per_sender:
                del sends[min(sends)]

    def _untrack(self, tx_hash: str) -> None:
        with self._flight_lock:
            for sends in self._in_flight.values():
                for nonce, send in list(sends.items()):
                    if send.tx_hash == tx_hash:
                        del sends[nonce]
                        return

    def _tracked(self, tx_hash: str) -> SignedSend | None:
        with self._flight_lock:
            for sends in self._in_flight.values():
                for send in sends.values():
                    if send.tx_hash == tx_hash:
                        return send
        return None

    def _fill_gaps(self, address: str, waiting: str) -> None:
        """A receipt long in coming: makes sure no lost transaction of ``address`` holds it back.

        A signer's transactions are mined in nonce order. A revert at mining uses its nonce, and one refused at
        broadcast hands its nonce to the next send, so neither leaves a gap; but one the node loses (evicted from
        its pool, a node restarted without it, dropped by hand) after later ones were sent holds those back for
        ever. The lowest nonce the chain has not mined, and that of the transaction waited for, are looked at:

        - a transaction of ours there that the node neither holds nor mined is broadcast again, the same signed
          bytes (the journal's, after a restart), and its operation goes on as if nothing happened;
        - if the node refuses them, or none of ours is known there while later ones wait, a transfer of nothing
          from the signer to itself (a filler) takes the nonce, so that those behind it are mined, and the lost
          transaction's waiter is told at once that it was dropped. A filler is not journalled: it belongs to no
          operation, and one lost before it is mined leaves the same gap, found and filled again;
        - a transaction of ours whose nonce the chain mined with another one was replaced: its waiter is told.
        """
        with self._section(address):
            mined = self.w3.eth.get_transaction_count(to_checksum_address(address), "latest")
            nonces: list[int] = []
            now = time.monotonic()
            # The lowest nonce is everyone's business: looked at by one waiter of the signer at a time.
            if now - self._gap_checked.get(address, -math.inf) >= self.gap_check_s / 2:
                self._gap_checked[address] = now
                nonces.append(mined)
            own = self._tracked(waiting)
            if own is not None and own.nonce != mined:
                nonces.append(own.nonce)
            with self._flight_lock:
                fillers = self._fillers.get(address, {})
                for nonce in [n for n in fillers if n < mined]:
                    del fillers[nonce]
            for nonce in nonces:
                self._fill_nonce(address, nonce, mined)

    def _fill_nonce(self, address: str, nonce: int, mined: int) -> None:
        with self._flight_lock:
            tracked = self._in_flight.get(address, {})
            ours = [send for send in (tracked.get(nonce), self._fillers.get(address, {}).get(nonce)) if send]
            waiting_behind = any(n > nonce for n in tracked)
        if not ours and nonce >= mined and self.journal is not None:
            ours = [send for send in self.journal.unconfirmed(address) if send.nonce == nonce][-1:]
        if any(self.outcome(send.tx_hash).state is not TxState.UNKNOWN for send in ours):
            return  # held by the node, or mined: no gap
        if nonce < mined:
            for send in ours:
                self._mark_dropped(
                    send, f"transaction {send.tx_hash} was replaced: the chain mined another one at its nonce {nonce}"
                )
            return
        refusal = "the node did not have it"
        for send in ours[:1]:
            try:
                self.w3.eth.send_raw_transaction(send.raw)
                log.warning("lost transaction %s (nonce %d of %s) sent again", send.tx_hash, nonce, address)
                return
            except Web3RPCError as exc:
                if any(text in str(exc).lower() for text in DELIVERED_ERRORS):
                    return
                refusal = f"the node refused it again: {_rpc_message(exc)}"
        expected = nonce < self._next_nonce.get(address, 0) or waiting_behind
        account = self._accounts.get(address)
        if not expected or account is None:
            return
        transaction: dict[str, Any] = {"to": address, "value": 0, "data": b"", "gas": FILLER_GAS}
        transaction |= {"gasPrice": self.gas_price, "nonce": nonce, "chainId": self.chain_id}
        signed = account.sign_transaction(transaction)
        filler = SignedSend(address, nonce, "0x" + signed.hash.hex(), bytes(signed.raw_transaction))
        try:
            self.w3.eth.send_raw_transaction(filler.raw)
        except Web3RPCError as exc:
            log.error("nonce %d of %s is a gap that could not be filled: %s", nonce, address, _rpc_message(exc))
            return
        log.warning("nonce %d of %s was lost (%s); filled with transaction %s", nonce, address, refusal, filler.tx_hash)
        with self._flight_lock:
            self._fillers.setdefault(address, {})[nonce] = filler
        for send in ours:
            if send.tx_hash != filler.tx_hash:
                self._mark_dropped(
                    send,
                    f"transaction {send.tx_hash} was dropped by the chain and not taken again ({refusal}); its nonce "
                    f"{nonce} was filled with a transfer of nothing, so that the later transactions of {address} "
                    "could be mined",
                )

    def _mark_dropped(self, send: SignedSend, message: str) -> None:
        self._untrack(send.tx_hash)
        with self._flight_lock:
            self._dropped[send.tx_hash] = message

    def _revert_reason(self, tx_hash: str, receipt: TxReceipt, call: Sendable | None, sender: str | None) -> ScfError:
        """Why a mined transaction reverted: from its trace where the node gives one, else replayed at its block.

        The trace is the transaction's own run, after those before it in its block; a replay on the block before
        misses them, which on interval blocks may be what made it revert.
        """
        traced = self._traced_revert_data(tx_hash)
        if traced is not None:
            return self._decode_revert(traced)
        if isinstance(call, ContractFunction) and sender is not None:
            try:
                call.call({"from": sender}, block_identifier=receipt["blockNumber"] - 1)
            except (ContractCustomError, ContractLogicError) as exc:
                return self._decode_revert(exc.data)
        return TransactionFailed(f"transaction {tx_hash} reverted")

    def _traced_revert_data(self, tx_hash: str) -> str | None:
        """The revert data of a mined transaction from the node's call tracer; None where it has no debug API."""
        tracer = {"tracer": "callTracer", "tracerConfig": {"onlyTopCall": True}}
        try:
            answer = self.w3.provider.make_request(RPCEndpoint("debug_traceTransaction"), [tx_hash, tracer])
        except ChainUnavailable:
            return None
        result = answer.get("result") if isinstance(answer, dict) else None
        if not isinstance(result, dict) or not result.get("error"):
            return None
        output = result.get("output")
        return output if isinstance(output, str) and len(output) > 2 else None


def call_data(call: ContractFunction) -> str:
    """The call's transaction data: its selector and its arguments, encoded by eth_abi.

    web3's own encoder checks the contract's whole ABI again on every call (a Keccak hash
    per function each time), which cost more than anything else in a send but the node's
    round trips. The function and its normalized arguments are known once the call is made.
    """
    return str(call.selector) + abi_encode(get_abi_input_types(call.abi), call.arguments).hex()


def _rpc_message(exc: Web3RPCError) -> str:
    message = exc.rpc_response.get("error", {}).get("message") if exc.rpc_response else None
    return str(message or exc)
