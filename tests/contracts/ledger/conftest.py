"""A harness over the session consortium: issue in one line, read the whole ledger state in one request.

``Harness.state()`` reads everything a ledger operation can change (every certificate,
every member, the credit line, holdings, the ledger's switches, the block number and the
signers' nonces) in one JSON-RPC batch, so that each failure test can assert cheaply that
nothing at all changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from eth_abi import decode, encode
from eth_account.signers.local import LocalAccount
from eth_utils import function_abi_to_4byte_selector, to_checksum_address
from eth_utils.abi import get_abi_input_types, get_abi_output_types
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractCustomError, ContractLogicError
from web3.logs import DISCARD
from web3.types import TxReceipt

from scf_chain.domain.types import TxResult
from tests.conftest import new_invoice_number

CERTIFICATE_FIELDS = (
    "id",
    "faceValue",
    "obligor",
    "holder",
    "lastHolder",
    "maturityDay",
    "rootId",
    "parentId",
    "hops",
    "documentHash",
    "status",
    "frozen",
    "firstChildId",
    "childCount",
)


class Harness:
    """The session consortium with shortcuts; every account is named (``core``, ``t1`` … ``t4``, ``bank`` …)."""

    def __init__(self, consortium: Any, new_document: Callable[[], bytes], maturity: date) -> None:
        self.consortium = consortium
        self.runtime = consortium.runtime
        self.w3 = consortium.runtime.w3
        self.ledger = consortium.ledger
        self.contract = consortium.ledger.contract
        self.sender = consortium.runtime.sender
        self.operator: LocalAccount = consortium.operator
        self.core: LocalAccount = consortium.core
        self.t1, self.t2, self.t3, self.t4 = consortium.suppliers
        self.suppliers: list[LocalAccount] = list(consortium.suppliers)
        self.bank: LocalAccount = consortium.bank
        self.auditor: LocalAccount = consortium.auditor
        self.outsider: LocalAccount = consortium.outsider
        self.new_document = new_document
        self.maturity = maturity
        self.names: dict[str, str] = {
            to_checksum_address(account.address): name
            for name, account in {
                "operator": self.operator,
                "core": self.core,
                "t1": self.t1,
                "t2": self.t2,
                "t3": self.t3,
                "t4": self.t4,
                "bank": self.bank,
                "auditor": self.auditor,
                "outsider": self.outsider,
            }.items()
        }
        self._abi = {entry["name"]: entry for entry in self.contract.abi if entry.get("type") == "function"}

    # Writing

    def issue(
        self,
        holder: LocalAccount | None = None,
        amount: Decimal | str = "1000.00",
        *,
        accept: bool = True,
        maturity: date | None = None,
        document: bytes | None = None,
        invoice_number: str | None = None,
    ) -> int:
        """Issues a certificate from ``core`` (to ``t1`` by default) and accepts it unless told not to.

        Without a document or an invoice number, fresh ones are made up for the test.
        """
        holder = holder or self.t1
        result = self.ledger.issue(
            self.core,
            holder.address,
            amount,
            maturity or self.maturity,
            document or self.new_document(),
            invoice_number=invoice_number or new_invoice_number(),
        )
        if accept:
            self.ledger.accept(holder, result.certificate_id)
        return result.certificate_id

    def send(self, signer: LocalAccount, function: str, *args: Any, gas: int | None = None) -> TxReceipt:
        """Calls a ledger function directly, bypassing the client's own checks."""
        call: ContractFunction = getattr(self.contract.functions, function)(*args)
        return self.sender.transact(signer, call, gas=gas)

    # Reading

    def call(self, function: str, *args: Any) -> Any:
        """Reads a view function; a revert comes back as the decoded ledger error."""
        try:
            return getattr(self.contract.functions, function)(*args).call()
        except (ContractCustomError, ContractLogicError) as exc:
            raise self.ledger.decode_revert(exc.data) from None

    def receipt(self, result: TxResult | TxReceipt) -> TxReceipt:
        if isinstance(result, TxResult):
            return self.w3.eth.get_transaction_receipt(result.tx_hash)
        return result

    def events(self, result: TxResult | TxReceipt, name: str) -> list[dict[str, Any]]:
        """The arguments of every ``name`` event the transaction emitted, in log order."""
        logs = getattr(self.contract.events, name)().process_receipt(self.receipt(result), errors=DISCARD)
        return [dict(entry["args"]) for entry in logs]

    def balance(self, account: LocalAccount) -> int:
        return int(self.contract.functions.balanceOf(account.address).call())

    def next_id(self) -> int:
        return int(self.contract.functions.nextCertificateId().call())

    def name(self, address: str | None) -> str | None:
        """The harness name of an address (``t1``), for readable state diffs."""
        if address is None or int(address, 16) == 0:
            return None
        return self.names.get(to_checksum_address(address), address)

    def _batch(self, requests: list[tuple[str, list[Any]]]) -> list[Any]:
        """Sends JSON-RPC requests in one batch; returns their results in order."""
        responses = self.w3.provider.make_batch_request(requests)  # type: ignore[attr-defined]
        results = []
        for (method, params), response in zip(requests, sorted(responses, key=lambda r: r["id"]), strict=True):
            assert "result" in response, f"{method}{params} failed: {response.get('error')}"
            results.append(response["result"])
        return results

    def _eth_call(self, function: str, *args: Any) -> tuple[str, list[Any]]:
        # Encoded by hand: web3's encode_abi validates the whole ABI on every call, which is slow.
        abi = self._abi[function]
        data = function_abi_to_4byte_selector(abi) + encode(get_abi_input_types(abi), list(args))
        return ("eth_call", [{"to": self.contract.address, "data": "0x" + data.hex()}, "latest"])

    def _decode(self, function: str, result: str) -> tuple[Any, ...]:
        return decode(get_abi_output_types(self._abi[function]), bytes.fromhex(result[2:]))

    def state(self, *, include_chain: bool = True) -> dict[str, Any]:
        """Everything the ledger records now; with ``include_chain``, also the block number and nonces."""
        next_id = self.next_id()
        addresses = list(self.names)
        calls: list[tuple[str, tuple[Any, ...]]] = [
            ("paused", ()),
            ("maxHops", ()),
            ("memberCount", ()),
            ("creditLine", (self.core.address,)),
        ]
        calls += [("member", (a,)) for a in addresses]
        calls += [("balanceOf", (a,)) for a in addresses]
        calls += [("certificate", (i,)) for i in range(1, next_id)]
        requests = [self._eth_call(fn, *args) for fn, args in calls]
        if include_chain:
            requests.append(("eth_blockNumber", []))
            requests += [("eth_getTransactionCount", [a, "latest"]) for a in addresses]
        results = self._batch(requests)
        outputs = iter(self._decode(fn, result) for (fn, _), result in zip(calls, results, strict=False))
        state: dict[str, Any] = {"nextCertificateId": next_id}
        state["paused"] = next(outputs)[0]
        state["maxHops"] = next(outputs)[0]
        state["memberCount"] = next(outputs)[0]
        state["creditLine"] = next(outputs)
        state["members"] = {self.name(a): next(outputs) for a in addresses}
        state["balanceOf"] = {self.name(a): next(outputs)[0] for a in addresses}
        certificates = {}
        for i in range(1, next_id):
            fields = dict(zip(CERTIFICATE_FIELDS, next(outputs)[0], strict=True))
            for key in ("obligor", "holder", "lastHolder"):
                fields[key] = self.name(fields[key])
            certificates[i] = fields
        state["certificates"] = certificates
        if include_chain:
            chain = results[len(calls) :]
            state["block"] = int(chain[0], 16)
            state["nonces"] = {self.name(a): int(n, 16) for a, n in zip(addresses, chain[1:], strict=True)}
        return state

    @contextmanager
    def unchanged(self, *, include_chain: bool = True) -> Iterator[dict[str, Any]]:
        """Asserts that nothing the ledger records changed inside the block (and, by default, nothing was mined)."""
        before = self.state(include_chain=include_chain)
        yield before
        after = self.state(include_chain=include_chain)
        assert after == before


@pytest.fixture
def h(consortium: Any, new_document: Callable[[], bytes], maturity: date) -> Harness:
    return Harness(consortium, new_document, maturity)
