"""Reverts turned into the library's exceptions, naming the members involved.

The decoder is built first, from the contracts' ABIs and a lookup of members' names,
and handed down to the transaction sender (which meets reverts when it estimates gas
or replays a failed transaction) and to the ledger client (which meets them in views).
Neither calls back into the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth_utils import to_checksum_address
from hexbytes import HexBytes
from web3 import Web3

from scf_chain.domain.errors import ScfError, TransactionFailed
from scf_chain.domain.ledger_errors import Describe, ErrorDecoder


class MemberNames:
    """Members' legal names as the ledger records them, each read once; a bare address where none is known."""

    def __init__(self, w3: Web3, ledger: str, ledger_abi: list[dict[str, Any]]) -> None:
        self._ledger = w3.eth.contract(address=to_checksum_address(ledger), abi=ledger_abi)
        self._names: dict[str, str] = {}

    def describe(self, address: str) -> str:
        """Names a member for a person: its legal name, or the bare address."""
        address = to_checksum_address(address)
        if address not in self._names:
            try:
                _, _, name = self._ledger.functions.member(address).call()
            except Exception:  # reading a name must never hide the error being described
                name = ""
            if not name:  # not kept: the address may be registered later
                return address
            self._names[address] = name
        return self._names[address]


def bare_address(address: str) -> str:
    """Names nobody: for reverts met before the ledger, and so its members, exists."""
    return to_checksum_address(address)


class RevertDecoder:
    """Revert data of the ledger, the settlement desk or the token into the matching :class:`ScfError`."""

    def __init__(self, abis: Sequence[list[dict[str, Any]]], describe: Describe) -> None:
        self._errors = ErrorDecoder(list(abis))
        self.describe = describe

    def __call__(self, data: str | bytes | None) -> ScfError:
        if data:
            error = self._errors.decode(bytes(HexBytes(data)), self.describe)
            if error is not None:
                return error
        return TransactionFailed("the ledger refused the call without a reason")
