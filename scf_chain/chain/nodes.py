"""A consortium network's nodes behind one provider: one node in use, the next when it stops.

Every call goes to the node in use. When that node does not answer (``ChainUnavailable`` from its
transport), or the health watch finds it stopped, the next healthy node takes its place and the call
carries on there: reads always, and ``eth_sendRawTransaction`` too, since the same signed bytes have
the same hash on every node and can never make a second transaction; a node that already holds them
("already known", or "nonce too low" for a transaction it has) is taken as having accepted them.
Calls that change a node's own state (``evm_*``, ``anvil_*``, ``eth_sendTransaction``) are not repeated
elsewhere: the node that failed may have run them.

The health watch (one daemon thread per node) asks each node for its head every ``probe_interval_s``
with a short timeout. A node that does not answer, or whose head has not moved for ``lag_after_s`` while
another node's is ahead of it, is passed over. When no node's head has moved for ``halt_after_s`` the
network is halted (a BFT network that lost its quorum): :meth:`FailoverProvider.halted_for` says so,
writes are refused before they sign anything, and a receipt asked for meanwhile is ``ChainUnavailable``
rather than "not yet" (nothing can be mined), so that a write waiting for one is settled later from the
chain instead of being reported failed. It clears by itself once a block comes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from eth_utils import keccak
from web3 import Web3
from web3.providers.base import JSONBaseProvider
from web3.types import RPCEndpoint, RPCResponse

from scf_chain.chain.rpc import PooledHTTPProvider, shown_url
from scf_chain.domain.errors import ChainUnavailable

log = logging.getLogger(__name__)

PROBE_INTERVAL_S = 0.5
PROBE_TIMEOUT_S = 1.5
# Calls whose answer does not depend on which node ran them, or that do no harm run twice.
_REPEATABLE_PREFIXES = ("eth_", "net_", "web3_", "txpool_", "clique_get", "ibft_get", "qbft_get")
_NOT_REPEATABLE = frozenset({"eth_sendTransaction"})
SEND_RAW = "eth_sendRawTransaction"
# A node's answer to signed bytes it holds already (geth and Anvil; Besu).
_HELD = ("already known", "known transaction", "already imported")
_NONCE_TOO_LOW = "nonce too low"


def may_repeat(method: str) -> bool:
    """Whether ``method`` may be sent to the next node after the one in use did not answer it."""
    return method not in _NOT_REPEATABLE and method.startswith(_REPEATABLE_PREFIXES)


@dataclass(frozen=True)
class NodeStatus:
    """What the health watch last saw of one node; ``url`` without credentials."""

    url: str
    current: bool
    answering: bool
    head: int | None
    last_advance: float | None  # wall-clock time its head last moved (or was first seen)
    lagging: bool


class _Node:
    def __init__(self, url: str, timeout: float, max_connections: int, probe_timeout: float) -> None:
        self.url = url
        self.shown = shown_url(url)
        self.provider = PooledHTTPProvider(url, timeout=timeout, max_connections=max_connections)
        self.probe = PooledHTTPProvider(url, timeout=probe_timeout, max_connections=1)
        self.answering = True  # until the watch or a call finds otherwise
        self.head: int | None = None
        self.advanced = time.monotonic()
        self.advanced_wall: float | None = None


class FailoverProvider(JSONBaseProvider):
    """JSON-RPC to the first of ``urls`` that works, moving on to the next when it stops."""

    def __init__(
        self,
        urls: Sequence[str],
        *,
        timeout: float = 30.0,
        max_connections: int = 32,
        probe_interval_s: float = PROBE_INTERVAL_S,
        probe_timeout_s: float = PROBE_TIMEOUT_S,
        lag_after_s: float = 10.0,
        halt_after_s: float | None = 10.0,
        watch: bool = True,
    ) -> None:
        if not urls:
            raise ValueError("a failover provider needs at least one node")
        super().__init__()
        self._nodes = [_Node(url, timeout, max_connections, probe_timeout_s) for url in urls]
        self._current = self._nodes[0]
        self._lock = threading.Lock()
        self.probe_interval_s = probe_interval_s
        self.lag_after_s = lag_after_s
        # None or 0: the network is never judged halted (a chain that mines only on demand).
        self.halt_after_s = halt_after_s
        self._started = time.monotonic()
        self.failovers = 0  # how many times another node took over: its readers resend what the last one held
        self._stop = threading.Event()
        self._watchers: list[threading.Thread] = []
        if watch:
            self.start_watch()

    def __str__(self) -> str:
        return f"RPC connection to {len(self._nodes)} nodes, using {self._current.shown}"

    # The node in use

    @property
    def current_url(self) -> str:
        return self._current.url

    @property
    def endpoint_uri(self) -> str:
        return self._current.url

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self._nodes]

    def nodes_status(self) -> list[NodeStatus]:
        now = time.monotonic()
        with self._lock:
            best = self._best_head()
            return [
                NodeStatus(
                    url=node.shown,
                    current=node is self._current,
                    answering=node.answering,
                    head=node.head,
                    last_advance=node.advanced_wall,
                    lagging=self._lagging(node, best, now),
                )
                for node in self._nodes
            ]

    def halted_for(self) -> float | None:
        """Seconds since any node's head last moved, if that is past the halt bound; else None."""
        if not self.halt_after_s:
            return None
        with self._lock:
            latest = max(node.advanced for node in self._nodes)
        quiet = time.monotonic() - max(latest, self._started)
        return quiet if quiet >= self.halt_after_s else None

    # Calls

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        node = self._current
        tried: list[_Node] = []
        while True:
            try:
                response = node.provider.make_request(method, params)
                break
            except ChainUnavailable as exc:
                tried.append(node)
                following = self._fail_over(node, tried, exc)
                if following is None or not may_repeat(method):
                    raise
                node = following
        if method == SEND_RAW:
            return self._as_held(node, params, response)
        if method == "eth_getTransactionReceipt" and response.get("result") is None and "error" not in response:
            halted = self.halted_for()
            if halted is not None:  # nothing can be mined: not "not yet", but "not while the network is down"
                raise ChainUnavailable(f"the network has produced no block for {halted:.0f} s")
        return response

    def make_batch_request(self, requests: list[tuple[RPCEndpoint, Any]]) -> list[RPCResponse] | RPCResponse:
        node = self._current
        tried: list[_Node] = []
        while True:
            try:
                return node.provider.make_batch_request(requests)
            except ChainUnavailable as exc:
                tried.append(node)
                following = self._fail_over(node, tried, exc)
                if following is None or not all(may_repeat(method) for method, _ in requests):
                    raise
                node = following

    def _as_held(self, node: _Node, params: Any, response: RPCResponse) -> RPCResponse:
        """A node's refusal of signed bytes it holds already, or has mined, as their acceptance: same bytes,
        same hash, one transaction. A "nonce too low" for a transaction the node does not know stays a refusal."""
        error = response.get("error")
        if not error:
            return response
        message = str(error.get("message", "") if isinstance(error, dict) else error).lower()
        if not any(text in message for text in (*_HELD, _NONCE_TOO_LOW)):
            return response
        raw = params[0]
        tx_hash = "0x" + keccak(hexstr=raw if isinstance(raw, str) else "0x" + bytes(raw).hex()).hex()
        if _NONCE_TOO_LOW in message:
            try:
                known = node.provider.make_request(RPCEndpoint("eth_getTransactionByHash"), [tx_hash]).get("result")
            except ChainUnavailable:
                return response
            if not known:
                return response
        return cast(RPCResponse, {"jsonrpc": "2.0", "id": response.get("id"), "result": tx_hash})

    def _fail_over(self, node: _Node, tried: list[_Node], reason: Exception) -> _Node | None:
        """Marks ``node`` as not answering and moves the calls to the next node not yet tried; None if none is
        left."""
        with self._lock:
            node.answering = False
            following = self._next_after(node, exclude=tried)
            if following is not None:
                self._switch(node, following, str(reason))
            return following

    def _next_after(self, node: _Node, *, exclude: Sequence[_Node] = ()) -> _Node | None:
        """The next node after ``node`` in order: a healthy one first, else any not excluded. Under the lock."""
        start = self._nodes.index(node)
        others = [self._nodes[(start + i) % len(self._nodes)] for i in range(1, len(self._nodes))]
        candidates = [other for other in others if other not in exclude]
        now, best = time.monotonic(), self._best_head()
        healthy = [other for other in candidates if self._healthy(other, best, now)]
        chosen = healthy or candidates
        return chosen[0] if chosen else None

    def _switch(self, old: _Node, new: _Node, reason: str) -> None:
        """Under the lock: ``new`` takes over from ``old`` if ``old`` is still in use (one warning per failover)."""
        if self._current is not old or new is old:
            return
        self._current = new
        self.failovers += 1
        log.warning("node %s stopped (%s); using node %s", old.shown, reason, new.shown)

    def _best_head(self) -> int | None:
        heads = [node.head for node in self._nodes if node.head is not None and node.answering]
        return max(heads) if heads else None

    def _lagging(self, node: _Node, best: int | None, now: float) -> bool:
        if not self.lag_after_s or node.head is None or best is None or node.head >= best:
            return False
        return now - node.advanced > self.lag_after_s

    def _healthy(self, node: _Node, best: int | None, now: float) -> bool:
        return node.answering and not self._lagging(node, best, now)

    # The health watch

    def start_watch(self) -> None:
        if self._watchers:
            return
        for node in self._nodes:
            thread = threading.Thread(target=self._watch, args=(node,), name=f"node-watch {node.shown}", daemon=True)
            self._watchers.append(thread)
            thread.start()

    def close(self) -> None:
        """Stops the health watch."""
        self._stop.set()
        for thread in self._watchers:
            thread.join(timeout=5)
        self._watchers = []

    def _watch(self, node: _Node) -> None:
        while not self._stop.is_set():
            head: int | None
            try:
                head = int(node.probe.make_request(RPCEndpoint("eth_blockNumber"), [])["result"], 16)
            except (ChainUnavailable, KeyError, TypeError, ValueError):
                head = None
            self._observe(node, head)
            self._stop.wait(self.probe_interval_s)

    def _observe(self, node: _Node, head: int | None) -> None:
        now = time.monotonic()
        with self._lock:
            node.answering = head is not None
            if head is not None and head != node.head:  # a new block (or, after a restart, another head)
                node.head = head
                node.advanced = now
                node.advanced_wall = time.time()
            current = self._current
            best = self._best_head()
            if self._healthy(current, best, now):
                return
            following = self._next_after(current)
            if following is not None and self._healthy(following, best, now):
                why = "no answer" if not current.answering else f"head {current.head} stayed behind {best}"
                self._switch(current, following, why)


def failovers_of(w3: Web3) -> int:
    """How many times another node took over ``w3``'s calls; 0 for a single node."""
    provider = w3.provider
    return provider.failovers if isinstance(provider, FailoverProvider) else 0


def halted_for(w3: Web3) -> float | None:
    """Seconds the network behind ``w3`` has produced no block, once that is past its halt bound; else None."""
    provider = w3.provider
    return provider.halted_for() if isinstance(provider, FailoverProvider) else None


def nodes_of(w3: Web3) -> list[NodeStatus]:
    """What is known of the nodes behind ``w3``: the watch's view, or for a single node, its answer now."""
    provider = w3.provider
    if isinstance(provider, FailoverProvider):
        return provider.nodes_status()
    url = str(getattr(provider, "endpoint_uri", ""))
    probe = PooledHTTPProvider(url, timeout=2.0, max_connections=1)
    try:
        head: int | None = int(probe.make_request(RPCEndpoint("eth_blockNumber"), [])["result"], 16)
    except (ChainUnavailable, KeyError, TypeError, ValueError):
        head = None
    return [NodeStatus(shown_url(url), True, head is not None, head, None, False)]
