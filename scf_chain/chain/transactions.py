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
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
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
    ContractCustomError,
    ContractLogicError,
    TimeExhausted,
    TransactionNotFound,
    Web3RPCError,
)
from web3.types import TxParams, TxReceipt

from scf_chain.domain.errors import ChainUnavailable, ScfError, TransactionFailed

log = logging.getLogger(__name__)

# Headroom over the estimate: the state may shift a little between estimate and mining.
GAS_HEADROOM_NUMERATOR = 6
GAS_HEADROOM_DENOMINATOR = 5
NONCE_ERRORS = ("nonce too low", "nonce too high", "already known", "replacement transaction underpriced")
# What a broadcast sent again after an outage is told when the chain had it already: held, or mined.
DELIVERED_ERRORS = ("already known", "nonce too low")
# How often a chain that does not answer is tried again while a signed transaction waits on it.
OUTAGE_RETRY_S = 0.2

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


class TransactionSender:
    """Signs and sends transactions for any number of signers."""

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
    ) -> None:
        self.w3 = w3
        self.chain_id = chain_id
        self.gas_price = gas_price
        self.journal = journal
        self.receipt_timeout = receipt_timeout
        self.max_pending_per_sender = max_pending_per_sender
        self._pending: dict[str, threading.BoundedSemaphore] = {}
        self._decode_revert = decode_revert
        self._registry_lock = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._next_nonce: dict[str, int] = {}

    def _lock_for(self, address: str) -> threading.Lock:
        with self._registry_lock:
            return self._locks.setdefault(address, threading.Lock())

    def _pending_slot(self, address: str) -> threading.BoundedSemaphore:
        with self._registry_lock:
            return self._pending.setdefault(address, threading.BoundedSemaphore(self.max_pending_per_sender))

    def send(self, account: LocalAccount, call: Sendable, *, gas: int | None = None) -> str:
        """Estimates, signs, journals and broadcasts ``call`` from ``account``; returns the hash.

        A call that would revert raises the decoded ledger error and sends nothing.
        """
        address = to_checksum_address(account.address)
        with self._lock_for(address):
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
                    if attempt == 0 and any(text in str(exc).lower() for text in NONCE_ERRORS):
                        # Someone else used this key, or the chain restarted: resync once.
                        log.warning("nonce %d of %s was stale; resyncing from the chain", send.nonce, address)
                        self._next_nonce.pop(address, None)
                        continue
                    self._next_nonce.pop(address, None)
                    raise TransactionFailed(f"the chain refused the transaction: {_rpc_message(exc)}") from exc
                self._next_nonce[address] = send.nonce + 1
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
        outage = False
        while True:
            try:
                if outage:
                    self._send_again_if_forgotten(tx_hash, sender)
                receipt = self.w3.eth.wait_for_transaction_receipt(
                    HexBytes(tx_hash), timeout=max(deadline - time.monotonic(), 0.01), poll_latency=0.01
                )
                break
            except TimeExhausted as exc:
                if sender is not None:
                    # Its nonce may be free again (a node that forgot its pool): the next send asks the chain.
                    address = to_checksum_address(sender)
                    with self._lock_for(address):
                        self._next_nonce.pop(address, None)
                raise TransactionFailed(
                    f"transaction {tx_hash} was not mined within {self.receipt_timeout:.0f}s"
                ) from exc
            except ChainUnavailable:
                # The transaction is on its way and may be mined: the chain's absence is waited out, not reported.
                if time.monotonic() >= deadline:
                    raise
                outage = True
                time.sleep(OUTAGE_RETRY_S)
        self._journal_receipt(tx_hash, receipt)
        if receipt["status"] != 1:
            raise self._revert_reason(tx_hash, receipt, call, sender)
        return receipt

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
            with self._lock_for(send.sender):
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
        resent = 0
        with self._lock_for(address):
            chain_nonce = self.w3.eth.get_transaction_count(address, "pending")
            for send in self.journal.unconfirmed(address):
                if send.nonce < chain_nonce:
                    continue
                try:
                    self.w3.eth.send_raw_transaction(send.raw)
                    resent += 1
                except Web3RPCError as exc:
                    log.warning("journalled transaction %s was not rebroadcast: %s", send.tx_hash, _rpc_message(exc))
            self._next_nonce.pop(address, None)
        return resent

    def forget_nonces(self) -> None:
        """Drops every cached next nonce, so the next send of each signer asks the chain again.

        For when the chain went back (a reverted snapshot, a restarted development chain).
        """
        with self._registry_lock:
            addresses = list(self._locks)
        for address in addresses:
            with self._lock_for(address):
                self._next_nonce.pop(address, None)

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
        """The gas to send with, over the node's estimate; a call that would revert raises the decoded error."""
        try:
            estimate = estimate_gas(cast(TxParams, params), block_identifier="pending")
        except (ContractCustomError, ContractLogicError) as exc:
            raise self._decode_revert(exc.data) from None
        return int(estimate) * GAS_HEADROOM_NUMERATOR // GAS_HEADROOM_DENOMINATOR

    def _take_nonce(self, address: str) -> int:
        if address not in self._next_nonce:
            self._next_nonce[address] = self.w3.eth.get_transaction_count(to_checksum_address(address), "pending")
        return self._next_nonce[address]

    def _revert_reason(self, tx_hash: str, receipt: TxReceipt, call: Sendable | None, sender: str | None) -> ScfError:
        """Replays a reverted call at its block to learn why it reverted."""
        if isinstance(call, ContractFunction) and sender is not None:
            try:
                call.call({"from": sender}, block_identifier=receipt["blockNumber"] - 1)
            except (ContractCustomError, ContractLogicError) as exc:
                return self._decode_revert(exc.data)
        return TransactionFailed(f"transaction {tx_hash} reverted")


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
