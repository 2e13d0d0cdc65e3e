"""Checking what the index shows against the ledger contract's own state, at one block.

Every certificate is read from the contract with ``eth_call`` pinned to one block
number, through the ledger client in JSON-RPC batches of 250, four batches at a time
(a tree of ten thousand certificates is forty round trips, not ten thousand), and
compared field by field with the index's row.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import to_checksum_address
from eth_utils.abi import get_abi_output_types

from api.render.problems import Problem
from api.services.provenance import money
from scf_chain.client.ledger import LedgerClient
from scf_chain.domain.errors import TransactionFailed
from scf_chain.domain.ledger_errors import LedgerError
from scf_chain.domain.money import from_day
from scf_chain.domain.types import CertificateStatusCode
from scf_chain.index.records import CertificateRecord

BATCH = 250
PARALLEL_BATCHES = 4
# The fields compared, in the order a report lists them.
FIELDS = (
    "root_id",
    "parent_id",
    "obligor",
    "holder",
    "last_holder",
    "amount",
    "maturity_date",
    "hops",
    "document_hash",
    "status",
    "frozen",
    "first_child_id",
    "child_count",
)

Fields = dict[str, Any]


def _status_label(value: int) -> str:
    try:
        return CertificateStatusCode(value).label
    except ValueError:
        return str(value)


def index_fields(node: CertificateRecord) -> Fields:
    return {
        "root_id": node.root_id,
        "parent_id": node.parent_id,
        "obligor": node.obligor,
        "holder": node.holder,
        "last_holder": node.last_holder,
        "amount": money(node.face_minor),
        "maturity_date": from_day(node.maturity_day).isoformat(),
        "hops": node.hops,
        "document_hash": node.document_hash.lower(),
        "status": node.status,
        "frozen": bool(node.frozen),
        "first_child_id": node.first_child_id if node.child_count else None,
        "child_count": node.child_count,
    }


@lru_cache(maxsize=4096)  # a consortium has few members, and a tree fewer
def _address(value: int) -> str:
    return str(to_checksum_address(f"0x{value:040x}"))


def _chain_fields(raw: Sequence[Any]) -> Fields:
    """The contract's ``CertificateView``, as :meth:`LedgerClient.certificate` reads it (addresses as numbers)."""
    (_, face, obligor, holder, last_holder, maturity_day, root, parent, hops, doc, status, frozen, first, count) = raw
    return {
        "root_id": int(root),
        "parent_id": int(parent) or None,
        "obligor": _address(obligor),
        "holder": _address(holder) if holder else None,
        "last_holder": _address(last_holder),
        "amount": money(int(face)),
        "maturity_date": from_day(int(maturity_day)).isoformat(),
        "hops": int(hops),
        "document_hash": "0x" + bytes(doc).hex(),
        "status": _status_label(int(status)),
        "frozen": bool(frozen),
        "first_child_id": int(first) if count else None,
        "child_count": int(count),
    }


def read_chain(ledger: LedgerClient, ids: Sequence[int], block: int) -> dict[int, Fields | None]:
    """Each certificate as the contract had it at ``block``; None for one the contract does not know."""
    # Addresses are read as the 160-bit numbers they are encoded as: eth_abi would checksum every one, three a
    # certificate, where _address does it once a member.
    function = ledger.contract.get_function_by_name("certificate").abi
    output_types = [output.replace("address", "uint160") for output in get_abi_output_types(function)]
    chunks = [list(ids[start : start + BATCH]) for start in range(0, len(ids), BATCH)]

    def read(chunk: list[int]) -> dict[int, Fields | None]:
        try:
            encoded = ledger.certificates_encoded(chunk, block)
        except (LedgerError, TransactionFailed):  # an answer other than the certificate or "no such certificate"
            detail = "The chain could not answer a read of the ledger at that block."
            raise Problem(502, "chain_error", detail) from None
        return {
            i: None if answer is None else _chain_fields(abi_decode(output_types, answer)[0])
            for i, answer in zip(chunk, encoded, strict=True)
        }

    found: dict[int, Fields | None] = {}
    if len(chunks) <= 1:
        results = [read(chunk) for chunk in chunks]
    else:  # a node answers several batches at once faster than one after the other
        with ThreadPoolExecutor(max_workers=PARALLEL_BATCHES, thread_name_prefix="verify") as pool:
            results = list(pool.map(read, chunks))
    for result in results:
        found.update(result)
    return found


def compare(node: CertificateRecord, on_chain: Fields | None) -> list[dict[str, Any]]:
    """Where the index's row differs from the contract's state."""
    if on_chain is None:
        return [{"field": "exists", "index": True, "chain": False}]
    indexed = index_fields(node)
    return [
        {"field": name, "index": indexed[name], "chain": on_chain[name]}
        for name in FIELDS
        if indexed[name] != on_chain[name]
    ]
