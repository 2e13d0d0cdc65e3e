"""The event indexer: follows the ledger's events into the SQLite read model of :mod:`scf_chain.index.store`.

It reads ``eth_getLogs`` of the ledger's address (and the settlement desk's: the
price of every offer accepted and the recourse claims belong in the audit trail; and
the settlement token's ERC-20 ``Transfer`` events: deposits are mints, withdrawals
burns, and every payment a transfer, so that cash reconciles beside certificates) in
block ranges, from its checkpoint up
to the head less the confirmation depth, and writes each range in one transaction.
Every indexed range end and every block with ledger events is recorded with its
hash; a stored hash that the chain no longer has means a reorganisation, and the
index rolls back to the highest block the chain still agrees with and goes on from
there. Events are keyed by (transaction hash, log index), so applying a range twice
changes nothing.

Where :meth:`Indexer.run` loops in its own thread, it is the only writer of the index: a
writer that must read its own write calls :meth:`Indexer.wait_for`, which wakes the loop
and waits on a condition the loop notifies after every range it applies.

Several processes may share one index (gateway replicas on one database). Only the one that
leads (``run``'s ``leads``, a lease in the gateway's database) writes it; the others read it,
and their :meth:`Indexer.wait_for` watches the checkpoint in the database until the leader
has written the block. A process that comes to lead goes on from the checkpoint.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, cast

from eth_abi import decode as abi_decode
from eth_utils import event_abi_to_log_topic, to_checksum_address
from web3 import Web3

from scf_chain.domain.errors import ScfError
from scf_chain.index.store import (
    DESK,
    LEDGER,
    TOKEN,
    BlockRef,
    CertificateRecord,
    EventRecord,
    LedgerIndex,
    LogEntry,
    MemberRecord,
)

__all__ = [
    "CertificateRecord",
    "EventDecoder",
    "EventRecord",
    "Indexer",
    "IndexerError",
    "LedgerIndex",
    "MemberRecord",
]

log = logging.getLogger(__name__)

# How many stored block hashes one reorg probe compares with the chain.
_REORG_PROBE = 64
# How many block headers one JSON-RPC batch asks for.
_HEADER_BATCH = 500
# How often the loop of run() looks at its stop event while it pauses.
_STOP_CHECK_S = 0.05
# How often a process that does not lead looks at the checkpoint the leader writes, at first and at most.
_FOLLOW_POLL_MIN_S = 0.005
_FOLLOW_POLL_MAX_S = 0.1
# How often one sync restarts after finding the chain moved under it, before it gives up.
_MAX_RESTARTS = 10
# What the index reads of the settlement token: the standard ERC-20 transfer, which every tokenized deposit
# emits (a mint for a deposit, a burn for a withdrawal), so that a bank's own token contract can take its place.
ERC20_TRANSFER_ABI: list[dict[str, Any]] = [
    {
        "type": "event",
        "name": "Transfer",
        "anonymous": False,
        "inputs": [
            {"name": "from", "type": "address", "indexed": True},
            {"name": "to", "type": "address", "indexed": True},
            {"name": "value", "type": "uint256", "indexed": False},
        ],
    }
]


class IndexerError(ScfError):
    """The indexer could not read the chain consistently."""


class _LogsRefusedError(Exception):
    """The node answered eth_getLogs with an error, for example a range or result cap."""


class _ChainMovedError(Exception):
    """The chain reorganised while a range was being read; the range is read again."""


def _hex(value: Any) -> str:
    """A ``0x`` hex string from bytes or a hex string."""
    if isinstance(value, str):
        return value.lower() if value.startswith("0x") else "0x" + value.lower()
    return "0x" + bytes(value).hex()


def _int(value: Any) -> int:
    if isinstance(value, int):
        return value
    return int(value, 16) if isinstance(value, str) else int(value)


@lru_cache(maxsize=4096)
def _checksum(address: str) -> str:
    return str(to_checksum_address(address))


def _json_safe(type_: str, value: Any) -> Any:
    """A decoded ABI value as JSON: checksummed addresses, 0x-hex bytes, ints, lists."""
    if type_.endswith("]"):
        inner = type_[: type_.rindex("[")]
        return [_json_safe(inner, item) for item in value]
    if type_.startswith("("):
        return [_json_safe(inner, item) for inner, item in zip(_tuple_types(type_), value, strict=True)]
    if type_ == "address":
        return _checksum(value)
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    return value


def _tuple_types(type_: str) -> list[str]:
    """The component types of a tuple type such as ``(address,uint256[])``."""
    parts: list[str] = []
    depth, current = 0, ""
    for char in type_[1:-1]:
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += {"(": 1, ")": -1}.get(char, 0)
        current += char
    if current:
        parts.append(current)
    return parts


# Decoding. eth_abi is exact but slow for a rebuild's thousands of logs; the ledger's events use only
# elementary types, strings and arrays of elementary types, which are read here straight from the
# 32-byte words. Any other type, or data that does not parse, goes through eth_abi.

_WORD = 32


def _word_decoder(type_: str) -> Callable[[bytes], Any] | None:
    """The JSON-safe decoder of one 32-byte word of elementary type ``type_``; None for other types."""
    if type_ == "address":
        return lambda word: _checksum("0x" + word[12:].hex())
    if type_ == "bool":
        return lambda word: int.from_bytes(word, "big") != 0
    if re.fullmatch(
        r"uint(8|16|24|32|40|48|56|64|72|80|88|96|104|112|120|128|136|144|152|160|168|176|184|192|"
        r"200|208|216|224|232|240|248|256)?",
        type_,
    ):
        return lambda word: int.from_bytes(word, "big")
    if re.fullmatch(
        r"int(8|16|24|32|40|48|56|64|72|80|88|96|104|112|120|128|136|144|152|160|168|176|184|192|"
        r"200|208|216|224|232|240|248|256)?",
        type_,
    ):
        return lambda word: int.from_bytes(word, "big", signed=True)
    match = re.fullmatch(r"bytes([1-9]|[12][0-9]|3[0-2])", type_)
    if match:
        size = int(match.group(1))
        return lambda word: "0x" + word[:size].hex()
    return None


def _read_word(data: bytes, offset: int) -> bytes:
    word = data[offset : offset + _WORD]
    if len(word) != _WORD:
        raise ValueError("the log data ends inside a word")
    return word


def _data_decoder(type_: str) -> Callable[[bytes, int], Any] | None:
    """Decoder of the value whose head is at ``offset`` of a log's data; None for types left to eth_abi."""
    word = _word_decoder(type_)
    if word is not None:
        return lambda data, offset: word(_read_word(data, offset))
    if type_ in ("string", "bytes"):
        as_text = type_ == "string"

        def dynamic_bytes(data: bytes, offset: int) -> Any:
            start = int.from_bytes(_read_word(data, offset), "big")
            length = int.from_bytes(_read_word(data, start), "big")
            raw = data[start + _WORD : start + _WORD + length]
            if len(raw) != length:
                raise ValueError("the log data ends inside a value")
            return raw.decode("utf-8") if as_text else "0x" + raw.hex()

        return dynamic_bytes
    if type_.endswith("[]"):
        item = _word_decoder(type_[:-2])
        if item is None:
            return None

        def array(data: bytes, offset: int) -> Any:
            start = int.from_bytes(_read_word(data, offset), "big")
            count = int.from_bytes(_read_word(data, start), "big")
            first = start + _WORD
            if first + count * _WORD > len(data):
                raise ValueError("the log data ends inside an array")
            return [item(data[first + i * _WORD : first + (i + 1) * _WORD]) for i in range(count)]

        return array
    return None


def _to_bytes(value: Any) -> bytes:
    if isinstance(value, str):
        return bytes.fromhex(value[2:] if value.startswith("0x") else value)
    return bytes(value)


class _EventType:
    __slots__ = ("data_decoders", "indexed", "name", "non_indexed_names", "non_indexed_types")

    def __init__(self, abi: dict[str, Any]) -> None:
        self.name: str = abi["name"]
        inputs = abi.get("inputs", [])
        # (name, type, word decoder or None): a dynamic indexed value is only its hash in the topic.
        self.indexed = [
            (item["name"], _abi_type(item), _word_decoder(_abi_type(item))) for item in inputs if item.get("indexed")
        ]
        self.non_indexed_names = [item["name"] for item in inputs if not item.get("indexed")]
        self.non_indexed_types = [_abi_type(item) for item in inputs if not item.get("indexed")]
        decoders = [_data_decoder(type_) for type_ in self.non_indexed_types]
        self.data_decoders = None if None in decoders else cast(list[Callable[[bytes, int], Any]], decoders)


def _is_static(type_: str) -> bool:
    return not (type_ in ("string", "bytes") or type_.endswith("]") or type_.startswith("("))


def _abi_type(item: dict[str, Any]) -> str:
    type_: str = item["type"]
    if type_.startswith("tuple"):
        inner = ",".join(_abi_type(component) for component in item["components"])
        return f"({inner}){type_[len('tuple') :]}"
    return type_


class EventDecoder:
    """Decodes raw logs of one contract ABI into names and JSON-safe arguments."""

    def __init__(self, abi: Sequence[dict[str, Any]], *, fast: bool = True) -> None:
        self.fast = fast  # False: every value through eth_abi (the reference the fast path is tested against)
        self._types: dict[str, _EventType] = {}
        for item in abi:
            if item.get("type") == "event" and not item.get("anonymous"):
                topic = "0x" + event_abi_to_log_topic(item).hex()  # type: ignore[arg-type]
                self._types[topic] = _EventType(item)

    def decode(self, topics: Sequence[Any], data: Any) -> tuple[str, dict[str, Any]] | None:
        """The event name and arguments of a log, or None for a log this ABI does not describe."""
        if not topics:
            return None
        event = self._types.get(_hex(topics[0]))
        if event is None:
            return None
        args: dict[str, Any] = {}
        for (name, type_, word), topic in zip(event.indexed, topics[1:], strict=False):
            raw = _to_bytes(topic)
            if not _is_static(type_):
                args[name] = "0x" + raw.hex()
            elif word is not None and self.fast:
                args[name] = word(raw)
            else:
                args[name] = _json_safe(type_, abi_decode([type_], raw)[0])
        if event.non_indexed_types:
            raw_data = _to_bytes(data)
            if self.fast and event.data_decoders is not None:
                try:
                    for position, (name, decoder) in enumerate(
                        zip(event.non_indexed_names, event.data_decoders, strict=True)
                    ):
                        args[name] = decoder(raw_data, position * _WORD)
                    return event.name, args
                except (ValueError, UnicodeDecodeError):
                    pass  # eth_abi decides, and explains
            values = abi_decode(event.non_indexed_types, raw_data)
            for name, type_, value in zip(event.non_indexed_names, event.non_indexed_types, values, strict=True):
                args[name] = _json_safe(type_, value)
        return event.name, args


class Indexer:
    """Keeps a :class:`LedgerIndex` up to date with the ledger's events (and the settlement desk's and the
    settlement token's transfers, if given)."""

    def __init__(
        self,
        w3: Web3,
        ledger_address: str,
        abi: list[dict[str, Any]],
        index: LedgerIndex,
        *,
        desk: tuple[str, list[dict[str, Any]]] | None = None,
        token: str | None = None,
        confirmations: int = 0,
        batch_blocks: int = 2000,
        start_block: int = 0,
    ) -> None:
        if confirmations < 0:
            raise ValueError("confirmations cannot be negative")
        if batch_blocks < 1:
            raise ValueError("batch_blocks must be at least 1")
        self.w3 = w3
        self.address = _checksum(ledger_address)
        self.index = index
        self.confirmations = confirmations
        self.batch_blocks = batch_blocks
        self.start_block = max(start_block, 0)
        self.decoder = EventDecoder(abi)
        # Which contract each followed address is, and how to read its logs.
        self.sources: dict[str, tuple[str, EventDecoder]] = {self.address: (LEDGER, self.decoder)}
        if desk is not None:
            self.sources[_checksum(desk[0])] = (DESK, EventDecoder(desk[1]))
        if token is not None:
            self.sources[_checksum(token)] = (TOKEN, EventDecoder(ERC20_TRANSFER_ABI))
        self._source_of = {address.lower(): source for address, source in self.sources.items()}  # no checksum per log
        self._lock = threading.Lock()  # one sync at a time
        # Notified after every range the index takes in: what writers waiting for their block wait on.
        self._indexed = threading.Condition()
        # Set by a waiter so that the loop of run() syncs now instead of at its next interval.
        self._wake = threading.Event()
        # Whether the loop of run() writes the index in this process: else another process does.
        self._leading = False
        self._timestamps: dict[int, tuple[str, int]] = {}  # block number -> (hash, timestamp), within one range
        followed = ",".join(f"{kind}={address}" for address, (kind, _) in self.sources.items())
        recorded = index.meta("followed")
        if recorded != followed:
            if recorded is not None:
                log.warning("the index at %s followed %s; rebuilding for %s", index.location, recorded, followed)
                index.reset()
            index.set_meta("followed", followed)

    # Public interface

    def sync(self) -> int:
        """Indexes from the checkpoint up to the head less the confirmation depth; returns the indexed block.

        For a process without :meth:`run`'s loop (a command that indexes once); where the loop runs, it
        is the only writer, and others wait for it with :meth:`wait_for`.
        """
        with self._lock:
            return self._sync()

    def rebuild(self) -> int:
        """Drops the whole index and indexes again from the start; returns the indexed block."""
        with self._lock:
            self.index.reset()
            return self._sync()

    def run(self, stop: threading.Event, interval: float = 0.2, *, leads: Callable[[], bool] | None = None) -> None:
        """Syncs every ``interval`` seconds, or at once when a waiter asks, until ``stop`` is set; survives RPC
        errors.

        ``leads``: where processes share the index, whether this one writes it now; asked before every sync.
        """
        failures = 0
        while not stop.is_set():
            self._wake.clear()  # before the sync: a waiter who asks during it gets another one
            self._leading = leads is None or leads()
            if not self._leading:
                self._pause(stop, interval)
                continue
            try:
                self.sync()
                if failures:
                    log.info("the indexer is back in step after %d failed attempts", failures)
                failures = 0
                delay = interval
            except Exception as exc:  # a chain that restarts or a dropped connection must not stop the indexer
                failures += 1
                delay = min(interval * 2**failures, 5.0)
                if failures == 1 or failures % 50 == 0:
                    log.warning("indexing failed (%d in a row): %s", failures, exc, exc_info=failures == 1)
            self._pause(stop, delay)

    def _pause(self, stop: threading.Event, delay: float) -> None:
        """Until ``delay`` has passed, a waiter asks for a sync, or ``stop`` is set (looked at every 50 ms)."""
        deadline = time.monotonic() + delay
        while not stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._wake.wait(min(remaining, _STOP_CHECK_S)):
                return

    def wait_for(self, block_number: int, timeout: float = 10.0) -> bool:
        """Waits until block ``block_number`` is indexed by the loop of :meth:`run`, which it wakes, or by the
        process that leads, whose checkpoint it watches; True if it was within ``timeout``. It never writes the
        index itself."""
        deadline = time.monotonic() + timeout
        poll = _FOLLOW_POLL_MIN_S
        with self._indexed:
            while self.index.indexed_block < block_number:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                if self._leading:
                    self._wake.set()
                    self._indexed.wait(min(remaining, _FOLLOW_POLL_MAX_S))  # it may stop leading meanwhile
                else:
                    self._indexed.wait(min(remaining, poll))
                    poll = min(poll * 2, _FOLLOW_POLL_MAX_S)
        return True

    # Syncing

    def _sync(self) -> int:
        for _ in range(_MAX_RESTARTS):
            try:
                return self._sync_once()
            except _ChainMovedError as moved:
                log.info("the chain moved while indexing (%s); checking again", moved)
        raise IndexerError(f"the chain kept reorganising; gave up after {_MAX_RESTARTS} attempts")

    def _sync_once(self) -> int:
        indexed = self.index.indexed_block
        following: dict[str, Any] | None = None
        if indexed >= 0:
            # One round trip: the head, the last indexed block (for the reorg check) and the block after it.
            head_hex, header, following = self._batch(
                [
                    ("eth_blockNumber", []),
                    ("eth_getBlockByNumber", [hex(indexed), False]),
                    ("eth_getBlockByNumber", [hex(indexed + 1), False]),
                ]
            )
            last = (_hex(header["hash"]), _int(header["timestamp"])) if header else None
        else:
            head_hex, last = self._rpc("eth_blockNumber", []), None
        head = _int(head_hex)
        target = head - self.confirmations
        self._check_reorg(head, last)
        if following and self.index.indexed_block == indexed and target == indexed + 1:
            try:
                self._index_next_block(following)  # the usual step: one block more, as after a write
                return self.index.indexed_block
            except IndexerError as exc:  # a node that cannot filter logs by block hash: read it as a range
                log.debug("reading block %d by its hash failed (%s); reading it as a range", indexed + 1, exc)
        indexed = self.index.indexed_block
        start = max(indexed + 1, self.start_block)
        span = self.batch_blocks
        while start <= target:
            end = min(start + span - 1, target)
            try:
                self._index_range(start, end)
            except _LogsRefusedError as refused:
                # Some nodes cap the blocks or results of one eth_getLogs: ask for less.
                if end == start:
                    raise IndexerError(str(refused)) from refused
                span = max((end - start + 1) // 2, 1)
                log.info("%s; reading %d blocks at a time", refused, span)
                continue
            start = end + 1
        return self.index.indexed_block

    def _check_reorg(self, head: int, on_chain: tuple[str, int] | None) -> None:
        """Rolls the index back if the chain no longer has the last indexed block (``on_chain``: its header now)."""
        indexed = self.index.indexed_block
        if indexed < 0:
            return
        stored = self.index.block(indexed)
        if stored is not None and indexed <= head and on_chain is not None and on_chain[0] == stored.hash:
            return
        ancestor = self._common_ancestor(indexed + 1, head)
        dropped = self.index.rollback(ancestor)
        self._timestamps.clear()
        log.warning(
            "chain reorganisation below block %d: rolled the index back to block %d (%d events dropped)",
            indexed,
            ancestor,
            dropped,
        )

    def _common_ancestor(self, below: int, head: int) -> int:
        """The highest recorded block below ``below`` whose hash the chain still has; -1 if none."""
        while True:
            candidates = [block for block in self.index.blocks_before(below, _REORG_PROBE) if block.number <= head]
            if not candidates:
                stored = self.index.blocks_before(below, 1)
                if not stored:
                    return -1
                below = stored[0].number  # every recorded block here is above the head
                continue
            on_chain = self._headers([block.number for block in candidates])
            for block in candidates:
                found = on_chain.get(block.number)
                if found is not None and found[0] == block.hash:
                    return block.number
            below = candidates[-1].number

    def _index_range(self, start: int, end: int) -> None:
        # The end block's hash before and after reading the logs: the same hash means the logs are of that chain.
        wanted = [end]
        indexed = self.index.indexed_block
        if indexed >= 0:
            wanted.append(indexed)
        before = self._headers(wanted)
        if end not in before:
            raise _ChainMovedError(f"block {end} is gone")
        if indexed >= 0:
            stored = self.index.block(indexed)
            if stored is not None and before.get(indexed, ("",))[0] != stored.hash:
                raise _ChainMovedError(f"block {indexed} changed")
        try:
            query = {"address": list(self.sources), "fromBlock": hex(start), "toBlock": hex(end)}
            logs = self._rpc("eth_getLogs", [query])
        except IndexerError as exc:
            raise _LogsRefusedError(f"the node refused the logs of blocks {start} to {end}: {exc}") from exc
        after = self._headers([end])
        if after.get(end) != before[end]:
            raise _ChainMovedError(f"block {end} changed while its logs were read")
        self._apply(logs, BlockRef(end, *before[end]))

    def _index_next_block(self, header: dict[str, Any]) -> None:
        """Indexes the block after the last indexed one, whose header the chain just gave.

        Its logs are asked for by its hash, which names exactly that block, and its parent
        hash must be the indexed block's: no header need be read again before and after.
        """
        number, block_hash = _int(header["number"]), _hex(header["hash"])
        stored = self.index.block(number - 1)
        if stored is None or _hex(header["parentHash"]) != stored.hash:
            raise _ChainMovedError(f"block {number} does not follow the indexed block")
        timestamp = _int(header["timestamp"])
        self._timestamps[number] = (block_hash, timestamp)
        logs = self._rpc("eth_getLogs", [{"address": list(self.sources), "blockHash": block_hash}])
        self._apply(logs, BlockRef(number, block_hash, timestamp))

    def _apply(self, logs: Sequence[dict[str, Any]], end: BlockRef) -> None:
        """Stores the logs read up to block ``end``, which becomes the checkpoint."""
        entries, blocks = self._decode_logs(logs)
        blocks[end.number] = end
        self.index.apply(entries, blocks.values(), end.number)
        self._timestamps.clear()
        with self._indexed:
            self._indexed.notify_all()

    def _decode_logs(self, logs: Sequence[dict[str, Any]]) -> tuple[list[LogEntry], dict[int, BlockRef]]:
        live = [entry for entry in logs if not entry.get("removed")]
        live.sort(key=lambda entry: (_int(entry["blockNumber"]), _int(entry["logIndex"])))
        # Timestamps come with each log on Anvil (and recent clients); others need the block headers.
        missing = sorted(
            {_int(entry["blockNumber"]) for entry in live if entry.get("blockTimestamp") is None}
            - self._timestamps.keys()
        )
        if missing:
            self._timestamps.update(self._headers(missing))
        entries: list[LogEntry] = []
        blocks: dict[int, BlockRef] = {}
        for raw in live:
            number = _int(raw["blockNumber"])
            block_hash = _hex(raw["blockHash"])
            stamp = raw.get("blockTimestamp")
            if stamp is None:
                known = self._timestamps.get(number)
                if known is None:
                    raise _ChainMovedError(f"block {number} is gone")
                if known[0] != block_hash:
                    raise _ChainMovedError(f"block {number} changed while its logs were read")
                timestamp = known[1]
            else:
                timestamp = _int(stamp)
            source = self._source_of.get(str(raw["address"]).lower())
            decoded = None if source is None else source[1].decode(raw["topics"], raw["data"])
            if source is None or decoded is None:
                log.debug("skipping a log no followed ABI describes in block %d", number)
                continue
            name, args = decoded
            tx_hash = _hex(raw["transactionHash"])
            entries.append(
                LogEntry(number, _int(raw["logIndex"]), block_hash, tx_hash, timestamp, name, args, source[0])
            )
            blocks[number] = BlockRef(number, block_hash, timestamp)
        return entries, blocks

    # JSON-RPC

    def _rpc(self, method: str, params: list[Any]) -> Any:
        response = self.w3.provider.make_request(method, params)  # type: ignore[arg-type]
        if "error" in response:
            raise IndexerError(f"{method} failed: {response['error']}")
        return response.get("result")

    def _headers(self, numbers: Sequence[int]) -> dict[int, tuple[str, int]]:
        """(hash, timestamp) of each block that exists, by number, in JSON-RPC batches."""
        found: dict[int, tuple[str, int]] = {}
        for chunk_start in range(0, len(numbers), _HEADER_BATCH):
            chunk = numbers[chunk_start : chunk_start + _HEADER_BATCH]
            requests = [("eth_getBlockByNumber", [hex(number), False]) for number in chunk]
            results = self._batch(requests)
            for number, block in zip(chunk, results, strict=True):
                if block:
                    found[number] = (_hex(block["hash"]), _int(block["timestamp"]))
        return found

    def _batch(self, requests: list[tuple[str, list[Any]]]) -> list[Any]:
        if len(requests) == 1:
            return [self._rpc(*requests[0])]
        try:
            batch = getattr(self.w3.provider, "make_batch_request", None)
            if batch is None:
                raise NotImplementedError
            responses = batch(requests)
        except NotImplementedError:
            return [self._rpc(method, params) for method, params in requests]
        if not isinstance(responses, list):
            raise IndexerError(f"a batch of {len(requests)} requests failed: {responses.get('error')}")
        results = []
        for response in responses:
            if "error" in response:
                raise IndexerError(f"{requests[0][0]} failed: {response['error']}")
            results.append(response.get("result"))
        return results
