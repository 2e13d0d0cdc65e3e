"""The typed client of the ledger: one method per operation, amounts as ``Decimal``.

Writes take the signing account, wait for the receipt and return what they created
with the transaction hash. Reverts come back as the exceptions of
:mod:`scf_chain.ledger_errors`, with a plain message that names members.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.logs import DISCARD
from web3.types import TxReceipt

from scf_chain.errors import InvalidAmount, ScfError, TransactionFailed
from scf_chain.ledger_errors import ErrorDecoder
from scf_chain.money import from_day, from_minor_units, to_day, to_minor_units, to_positive_minor_units
from scf_chain.transactions import TransactionSender
from scf_chain.types import (
    Certificate,
    CertificateStatus,
    CreditLine,
    IssueResult,
    Member,
    MemberRole,
    SplitResult,
    TxResult,
)

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


def document_hash_bytes(document_hash: str | bytes) -> bytes:
    """A 32-byte document hash from bytes or a ``0x``-prefixed hex string."""
    raw = bytes(HexBytes(document_hash)) if isinstance(document_hash, str) else document_hash
    if len(raw) != 32:
        raise ScfError("a document hash is 32 bytes (64 hex digits)")
    return raw


class LedgerClient:
    """Typed access to one deployed ``CertificateLedger``."""

    def __init__(self, w3: Web3, address: str, abi: list[dict[str, Any]], sender: TransactionSender) -> None:
        self.w3 = w3
        self.contract: Contract = w3.eth.contract(address=to_checksum_address(address), abi=abi)
        self.sender = sender
        self._decoder = ErrorDecoder([abi])
        self._names: dict[str, str] = {}

    @property
    def address(self) -> str:
        return str(self.contract.address)

    # Errors

    def describe(self, address: str) -> str:
        """Names a member for a person: its legal name, or the bare address."""
        address = to_checksum_address(address)
        if address not in self._names:
            try:
                _, _, name = self.contract.functions.member(address).call()
            except Exception:  # reading a name must never hide the error being described
                name = ""
            if not name:
                return address
            self._names[address] = name
        return self._names[address]

    def decode_revert(self, data: str | bytes | None) -> ScfError:
        if data:
            raw = bytes(HexBytes(data))
            error = self._decoder.decode(raw, self.describe)
            if error is not None:
                return error
        return TransactionFailed("the ledger refused the call without a reason")

    def _transact(self, signer: LocalAccount, call: ContractFunction) -> TxReceipt:
        return self.sender.transact(signer, call)

    @staticmethod
    def _result(receipt: TxReceipt) -> TxResult:
        return TxResult("0x" + receipt["transactionHash"].hex(), receipt["blockNumber"], receipt["gasUsed"])

    # Members and credit

    def register_member(self, operator: LocalAccount, address: str, role: MemberRole, name: str) -> TxResult:
        call = self.contract.functions.registerMember(to_checksum_address(address), int(role), name)
        return self._result(self._transact(operator, call))

    def freeze_member(self, operator: LocalAccount, address: str) -> TxResult:
        return self._result(self._transact(operator, self.contract.functions.freezeMember(address)))

    def unfreeze_member(self, operator: LocalAccount, address: str) -> TxResult:
        return self._result(self._transact(operator, self.contract.functions.unfreezeMember(address)))

    def member(self, address: str) -> Member:
        address = to_checksum_address(address)
        role, frozen, name = self.contract.functions.member(address).call()
        return Member(address=address, role=MemberRole(role), name=name, frozen=frozen)

    def members(self) -> list[Member]:
        """Every registered member, in order of registration, as the ledger has them now."""
        logs = self.contract.events.MemberRegistered().get_logs(from_block=0)
        return [self.member(entry["args"]["account"]) for entry in logs]

    def set_credit_limit(self, operator: LocalAccount, obligor: str, limit: Decimal | str) -> TxResult:
        minor = to_minor_units(limit)
        if minor < 0:
            raise InvalidAmount(f"a credit limit cannot be negative ({limit})")
        call = self.contract.functions.setCreditLimit(to_checksum_address(obligor), minor)
        return self._result(self._transact(operator, call))

    def credit_line(self, obligor: str) -> CreditLine:
        obligor = to_checksum_address(obligor)
        limit, outstanding = self.contract.functions.creditLine(obligor).call()
        return CreditLine(obligor, from_minor_units(limit), from_minor_units(outstanding))

    # Certificate lifecycle

    def issue(
        self,
        obligor: LocalAccount,
        holder: str,
        amount: Decimal | str,
        maturity: date,
        document_hash: str | bytes,
    ) -> IssueResult:
        call = self.contract.functions.issue(
            to_checksum_address(holder),
            to_positive_minor_units(amount),
            to_day(maturity),
            document_hash_bytes(document_hash),
        )
        receipt = self._transact(obligor, call)
        (event,) = self.contract.events.CertificateIssued().process_receipt(receipt, errors=DISCARD)
        base = self._result(receipt)
        return IssueResult(base.tx_hash, base.block_number, base.gas_used, certificate_id=event["args"]["id"])

    def accept(self, holder: LocalAccount, certificate_id: int) -> TxResult:
        return self._result(self._transact(holder, self.contract.functions.accept(certificate_id)))

    def reject(self, holder: LocalAccount, certificate_id: int) -> TxResult:
        return self._result(self._transact(holder, self.contract.functions.reject(certificate_id)))

    def cancel(self, obligor: LocalAccount, certificate_id: int) -> TxResult:
        return self._result(self._transact(obligor, self.contract.functions.cancel(certificate_id)))

    def split(
        self, holder: LocalAccount, certificate_id: int, parts: Sequence[tuple[str, Decimal | str]]
    ) -> SplitResult:
        """Splits a certificate into ``parts`` of (receiver, amount); returns the new ids in part order."""
        encoded = [(to_checksum_address(to), to_positive_minor_units(amount)) for to, amount in parts]
        receipt = self._transact(holder, self.contract.functions.split(certificate_id, encoded))
        return self._split_result(receipt)

    def transfer_part(self, holder: LocalAccount, certificate_id: int, to: str, amount: Decimal | str) -> SplitResult:
        """Pays ``amount`` of a certificate to ``to``; returns (remainder id, part id)."""
        call = self.contract.functions.transferPart(
            certificate_id, to_checksum_address(to), to_positive_minor_units(amount)
        )
        return self._split_result(self._transact(holder, call))

    def transfer(self, holder: LocalAccount, certificate_id: int, to: str) -> TxResult:
        """Moves a whole certificate to another member."""
        call = self.contract.functions.transferFrom(holder.address, to_checksum_address(to), certificate_id)
        return self._result(self._transact(holder, call))

    def _split_result(self, receipt: TxReceipt) -> SplitResult:
        (event,) = self.contract.events.CertificateSplit().process_receipt(receipt, errors=DISCARD)
        first, count = event["args"]["firstChildId"], len(event["args"]["amounts"])
        base = self._result(receipt)
        return SplitResult(base.tx_hash, base.block_number, base.gas_used, tuple(range(first, first + count)))

    # Operator controls

    def freeze_certificate(self, operator: LocalAccount, certificate_id: int) -> TxResult:
        return self._result(self._transact(operator, self.contract.functions.freezeCertificate(certificate_id)))

    def unfreeze_certificate(self, operator: LocalAccount, certificate_id: int) -> TxResult:
        return self._result(self._transact(operator, self.contract.functions.unfreezeCertificate(certificate_id)))

    def set_max_hops(self, operator: LocalAccount, max_hops: int) -> TxResult:
        return self._result(self._transact(operator, self.contract.functions.setMaxHops(max_hops)))

    def pause(self, operator: LocalAccount) -> TxResult:
        return self._result(self._transact(operator, self.contract.functions.pause()))

    def unpause(self, operator: LocalAccount) -> TxResult:
        return self._result(self._transact(operator, self.contract.functions.unpause()))

    # Reads

    def certificate(self, certificate_id: int, *, block: int | str = "latest") -> Certificate:
        try:
            raw = self.contract.functions.certificate(certificate_id).call(block_identifier=block)
        except Exception as exc:
            data = getattr(exc, "data", None)
            if data:
                raise self.decode_revert(data) from None
            raise
        (id_, face, obligor, holder, last_holder, maturity_day, root, parent, hops, doc, status, frozen, first, count) = raw
        return Certificate(
            id=id_,
            face_value=from_minor_units(face),
            obligor=obligor,
            holder=None if holder == ZERO_ADDRESS else holder,
            last_holder=last_holder,
            maturity_date=from_day(maturity_day),
            root_id=root,
            parent_id=parent or None,
            hops=hops,
            document_hash="0x" + bytes(doc).hex(),
            status=CertificateStatus(status),
            frozen=frozen,
            child_ids=tuple(range(first, first + count)),
        )

    def ancestry(self, certificate_id: int) -> list[int]:
        """Ids from the certificate's parent up to its root."""
        return list(self.contract.functions.ancestry(certificate_id).call())

    def children(self, certificate_id: int) -> list[int]:
        return list(self.contract.functions.children(certificate_id).call())

    def descendants(self, root_id: int) -> Iterable[Certificate]:
        """Every certificate of the tree under ``root_id``, the root included, parents first."""
        queue = [root_id]
        while queue:
            certificate = self.certificate(queue.pop(0))
            yield certificate
            queue.extend(certificate.child_ids)

    def holdings(self, root_id: int) -> list[Certificate]:
        """The live leaves of an issuance: what is held now, summing to its face value."""
        return [c for c in self.descendants(root_id) if not c.child_ids and c.holder is not None]

    def max_hops(self) -> int:
        return int(self.contract.functions.maxHops().call())

    def paused(self) -> bool:
        return bool(self.contract.functions.paused().call())

    def issuance_of(self, document_hash: str | bytes) -> int | None:
        root = self.contract.functions.issuanceOf(document_hash_bytes(document_hash)).call()
        return int(root) or None
