"""Transactions straight to the node: encoded and signed here, sent with ``eth_sendRawTransaction``.

The benchmark uses this path twice: to write large ledgers quickly (one round of
transactions is signed, sent back to back and then waited for), and as the raw
chain's own rate, beside which the gateway's is measured. Nothing here estimates
gas or asks the node for anything but nonces and receipts.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import requests
from eth_abi import encode as abi_encode
from eth_account.signers.local import LocalAccount
from eth_utils import event_abi_to_log_topic, function_abi_to_4byte_selector, to_checksum_address
from eth_utils.abi import get_abi_input_types

from scf_chain.client.ledger import invoice_key
from scf_chain.domain.money import to_day

# Gas is free on the benchmark chain (price 0), so a generous limit costs nothing; the block holds 100M.
GAS_LIMIT = {"issue": 600_000, "accept": 300_000, "transferPart": 800_000, "split": 20_000_000}
DEFAULT_GAS_LIMIT = 2_000_000
MAX_PARTS = 100  # CertificateLedger.MAX_PARTS
MIN_PARTS = 2


class RpcError(RuntimeError):
    """The node answered a JSON-RPC call with an error."""


class Rpc:
    """A small JSON-RPC client over one keep-alive HTTP session (one per thread)."""

    def __init__(self, url: str, timeout: float = 60.0) -> None:
        self.url = url
        self.timeout = timeout
        self._local = threading.local()
        self._ids = itertools.count(1)

    @property
    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            self._local.session = session
        return session

    def call(self, method: str, params: list[Any]) -> Any:
        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        answer = self._session.post(self.url, json=body, timeout=self.timeout).json()
        if "error" in answer:
            raise RpcError(f"{method}: {answer['error'].get('message', answer['error'])}")
        return answer["result"]

    def batch(self, calls: Sequence[tuple[str, list[Any]]]) -> list[Any]:
        if not calls:
            return []
        body = [
            {"jsonrpc": "2.0", "id": n, "method": method, "params": params} for n, (method, params) in enumerate(calls)
        ]
        answers = self._session.post(self.url, json=body, timeout=self.timeout).json()
        by_id = {answer["id"]: answer for answer in answers}
        results = []
        for n, (method, _) in enumerate(calls):
            answer = by_id[n]
            if "error" in answer:
                raise RpcError(f"{method}: {answer['error'].get('message', answer['error'])}")
            results.append(answer["result"])
        return results

    def send_raw(self, raw: bytes) -> str:
        return str(self.call("eth_sendRawTransaction", ["0x" + raw.hex()]))

    def receipt(
        self, tx_hash: str, *, timeout: float = 60.0, poll: float = 0.001, max_poll: float = 0.05
    ) -> dict[str, Any]:
        """Polls until the transaction's receipt is there, every ``poll`` seconds at first, then less often."""
        deadline = time.monotonic() + timeout
        while True:
            receipt = self.call("eth_getTransactionReceipt", [tx_hash])
            if receipt is not None:
                return dict(receipt)
            if time.monotonic() > deadline:
                raise RpcError(f"transaction {tx_hash} was not mined within {timeout:.0f}s")
            time.sleep(poll)
            poll = min(poll * 2, max_poll)  # a busy poll would take the machine's cores from the chain

    def receipts(self, tx_hashes: Sequence[str], *, timeout: float = 300.0, chunk: int = 200) -> list[dict[str, Any]]:
        """Every receipt, fetched in batches, waiting for those not mined yet."""
        found: dict[str, dict[str, Any]] = {}
        deadline = time.monotonic() + timeout
        while len(found) < len(tx_hashes):
            missing = [h for h in tx_hashes if h not in found]
            for start in range(0, len(missing), chunk):
                part = missing[start : start + chunk]
                for tx_hash, receipt in zip(
                    part, self.batch([("eth_getTransactionReceipt", [h]) for h in part]), strict=True
                ):
                    if receipt is not None:
                        found[tx_hash] = dict(receipt)
            if len(found) < len(tx_hashes):
                if time.monotonic() > deadline:
                    raise RpcError(f"{len(tx_hashes) - len(found)} transactions were not mined within {timeout:.0f}s")
                time.sleep(0.01)
        return [found[h] for h in tx_hashes]


class Calls:
    """ABI encoding of one contract's calls with eth_abi directly (web3's checks are slow at 100 parts)."""

    def __init__(self, address: str, abi: list[dict[str, Any]]) -> None:
        self.address = to_checksum_address(address)
        self._functions: dict[str, Any] = {item["name"]: item for item in abi if item.get("type") == "function"}
        self._events: dict[str, Any] = {item["name"]: item for item in abi if item.get("type") == "event"}
        self._encoders: dict[str, tuple[bytes, list[str]]] = {}

    def data(self, name: str, *args: Any) -> bytes:
        if name not in self._encoders:
            function = self._functions[name]
            self._encoders[name] = (function_abi_to_4byte_selector(function), list(get_abi_input_types(function)))
        selector, types = self._encoders[name]
        return selector + abi_encode(types, list(args))

    def topic(self, event: str) -> str:
        return "0x" + event_abi_to_log_topic(self._events[event]).hex()


@dataclass(frozen=True)
class Tx:
    """One call to sign: who signs it, which contract, the call data and the gas limit."""

    account: LocalAccount
    to: str
    data: bytes
    gas: int = DEFAULT_GAS_LIMIT


@dataclass(frozen=True)
class SignedTx:
    sender: str
    nonce: int
    tx_hash: str
    raw: bytes


class Signer:
    """Signs transactions locally with nonces it keeps per sender, starting from the node's pending count."""

    def __init__(self, rpc: Rpc, chain_id: int) -> None:
        self.rpc = rpc
        self.chain_id = chain_id
        self._nonces: dict[str, int] = {}
        self._lock = threading.Lock()

    def next_nonce(self, address: str) -> int:
        with self._lock:
            if address not in self._nonces:
                self._nonces[address] = int(self.rpc.call("eth_getTransactionCount", [address, "pending"]), 16)
            nonce = self._nonces[address]
            self._nonces[address] = nonce + 1
            return nonce

    def forget(self, address: str) -> None:
        with self._lock:
            self._nonces.pop(address, None)

    def sign(self, tx: Tx) -> SignedTx:
        address = str(tx.account.address)
        nonce = self.next_nonce(address)
        fields: dict[str, Any] = {
            "nonce": nonce,
            "gasPrice": 0,
            "gas": tx.gas,
            "to": tx.to,
            "value": 0,
            "data": tx.data,
            "chainId": self.chain_id,
        }
        signed = tx.account.sign_transaction(fields)
        return SignedTx(address, nonce, "0x" + signed.hash.hex(), bytes(signed.raw_transaction))


def run_round(signer: Signer, txs: Sequence[Tx], *, full_blocks: bool = False) -> list[dict[str, Any]]:
    """Signs every transaction, sends them back to back, waits for every receipt; raises on a revert.

    With ``full_blocks``, Anvil's automining is paused while they are sent and they are
    mined as few full blocks: Anvil takes longer to mine each block as its state grows,
    which on a large ledger costs more than the transactions themselves.
    """
    for address in {str(tx.account.address) for tx in txs}:
        signer.forget(address)  # another client (the gateway, the library) may have used the key since
    signed = [signer.sign(tx) for tx in txs]
    rpc = signer.rpc
    if full_blocks:
        rpc.call("evm_setAutomine", [False])
    try:
        for item in signed:
            rpc.send_raw(item.raw)
        if full_blocks:
            while int(rpc.call("txpool_status", [])["pending"], 16):
                rpc.call("evm_mine", [])
    finally:
        if full_blocks:
            rpc.call("evm_setAutomine", [True])
    receipts = rpc.receipts([item.tx_hash for item in signed])
    failed = [r["transactionHash"] for r in receipts if int(r["status"], 16) != 1]
    if failed:
        raise RpcError(f"{len(failed)} of {len(txs)} transactions reverted, the first {failed[0]}")
    return receipts


@dataclass
class Node:
    """A certificate of a tree being built: its id, face value in minor units, and holder."""

    id: int
    face: int
    holder: LocalAccount
    children: list[Node]


class LedgerWriter:
    """Writes certificate trees to the ledger in rounds of pipelined transactions, one round per tree level."""

    def __init__(self, signer: Signer, ledger: Calls, *, full_blocks: bool = True) -> None:
        self.signer = signer
        self.full_blocks = full_blocks
        self.ledger = ledger
        self._issued_topic = ledger.topic("CertificateIssued")
        self._split_topic = ledger.topic("CertificateSplit")
        self._documents = itertools.count()
        self.transactions = 0

    def _round(self, txs: Sequence[Tx]) -> list[dict[str, Any]]:
        self.transactions += len(txs)
        return run_round(self.signer, txs, full_blocks=self.full_blocks)

    def _document(self) -> bytes:
        return time.time_ns().to_bytes(12, "big") + next(self._documents).to_bytes(20, "big")

    def _invoice(self) -> tuple[bytes, bytes]:
        """A fresh document hash and the key of an invoice number of its own."""
        document = self._document()
        return document, invoice_key(f"BENCH-{document.hex()}")

    def issue(self, core: LocalAccount, holders: Sequence[LocalAccount], face: int, maturity: date) -> list[Node]:
        """Issues one certificate of ``face`` minor units to each holder, who accepts it."""
        txs = [
            Tx(
                core,
                self.ledger.address,
                self.ledger.data("issue", h.address, face, to_day(maturity), *self._invoice()),
                GAS_LIMIT["issue"],
            )
            for h in holders
        ]
        ids = [int(self._log(r, self._issued_topic)["topics"][1], 16) for r in self._round(txs)]
        self._round(
            [
                Tx(h, self.ledger.address, self.ledger.data("accept", i), GAS_LIMIT["accept"])
                for h, i in zip(holders, ids, strict=True)
            ]
        )
        return [Node(i, face, h, []) for i, h in zip(ids, holders, strict=True)]

    def split(self, plans: Sequence[tuple[Node, Sequence[LocalAccount]]]) -> list[Node]:
        """Splits each node into equal parts, one per receiver given (2 to 100); returns the new nodes."""
        return self.split_exact(
            [
                (node, list(zip(receivers, _equal_parts(node.face, len(receivers)), strict=True)))
                for node, receivers in plans
            ]
        )

    def split_exact(self, plans: Sequence[tuple[Node, Sequence[tuple[LocalAccount, int]]]]) -> list[Node]:
        """Splits each node into the parts given, (receiver, minor units); returns the new nodes in order."""
        txs = [
            Tx(
                node.holder,
                self.ledger.address,
                self.ledger.data("split", node.id, [(r.address, a) for r, a in parts]),
                GAS_LIMIT["split"],
            )
            for node, parts in plans
        ]
        made: list[Node] = []
        for (node, parts), receipt in zip(plans, self._round(txs), strict=True):
            first = int(self._log(receipt, self._split_topic)["data"][2:66], 16)
            node.children = [Node(first + n, amount, receiver, []) for n, (receiver, amount) in enumerate(parts)]
            made += node.children
        return made

    def tree(
        self,
        core: LocalAccount,
        holder: LocalAccount,
        nodes: int,
        maturity: date,
        receivers: Callable[[int], LocalAccount],
        face: int = 10**12,
    ) -> Node:
        """An issuance split level by level into a tree of exactly ``nodes`` certificates (at least 1, not 2).

        Breadth first: each certificate is split into up to 100 parts until the count is
        reached; part ``n`` of the whole tree goes to ``receivers(n)``.
        """
        if nodes == 2:
            raise ValueError("a tree cannot have exactly 2 certificates: a split makes at least 2 parts")
        (root,) = self.issue(core, [holder], face, maturity)
        total, level, counter = 1, [root], itertools.count()
        while total < nodes:
            plans: list[tuple[Node, Sequence[LocalAccount]]] = []
            for node in level:
                remaining = nodes - total
                if remaining <= 0:
                    break
                parts = min(MAX_PARTS, remaining)
                if remaining - parts == 1:
                    parts -= 1  # leave two for the next split, which cannot make one part
                plans.append((node, [receivers(next(counter)) for _ in range(parts)]))
                total += parts
            level = self.split(plans)
        return root

    @staticmethod
    def _log(receipt: dict[str, Any], topic: str) -> dict[str, Any]:
        for entry in receipt["logs"]:
            if entry["topics"] and entry["topics"][0] == topic:
                return dict(entry)
        raise RpcError(f"transaction {receipt['transactionHash']} has no log {topic}")


def _equal_parts(face: int, count: int) -> list[int]:
    share = face // count
    if share == 0:
        raise ValueError(f"{face} minor units cannot be split in {count} positive parts")
    return [share] * (count - 1) + [face - share * (count - 1)]


def walk(root: Node) -> list[Node]:
    """Every node of a tree, parents first."""
    nodes, queue = [], [root]
    while queue:
        node = queue.pop(0)
        nodes.append(node)
        queue.extend(node.children)
    return nodes


def deepest(root: Node) -> Node:
    node = root
    while node.children:
        node = node.children[-1]
    return node
