"""The typed client of the ledger: one method per operation, amounts as ``Decimal``.

Writes take the signing account, wait for the receipt and return what they created
with the transaction hash. Reverts come back as the exceptions of
:mod:`scf_chain.domain.ledger_errors`, with a plain message that names members.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address
from eth_utils.abi import function_abi_to_4byte_selector
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import BlockNotFound, ContractCustomError, ContractLogicError
from web3.logs import DISCARD
from web3.types import BlockIdentifier, RPCEndpoint, TxReceipt

from scf_chain.chain.transactions import TransactionSender
from scf_chain.client.reverts import RevertDecoder
from scf_chain.domain.errors import InvalidAmount, ScfError
from scf_chain.domain.ledger_errors import CertificateNotFound, LedgerError
from scf_chain.domain.money import from_day, from_minor_units, to_day, to_minor_units, to_positive_minor_units
from scf_chain.domain.offers import offer_struct, sign_offer
from scf_chain.domain.pricing import financing_price, to_rate_units
from scf_chain.domain.types import (
    Certificate,
    CertificateStatusCode,
    CreditLine,
    FinanceResult,
    IssueResult,
    Member,
    MemberRole,
    Offer,
    Recourse,
    RecourseClaimStatus,
    SettlementResult,
    SignedOffer,
    SplitResult,
    TxResult,
)

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
SETTLEABLE = (CertificateStatusCode.ACTIVE, CertificateStatusCode.FINANCED, CertificateStatusCode.OVERDUE)


@dataclass(frozen=True)
class ContractAt:
    """A deployed contract: where it is and its ABI."""

    address: str
    abi: list[dict[str, Any]]


def document_hash_bytes(document_hash: str | bytes) -> bytes:
    """A 32-byte document hash from bytes or a ``0x``-prefixed hex string."""
    raw = bytes(HexBytes(document_hash)) if isinstance(document_hash, str) else document_hash
    if len(raw) != 32:
        raise ScfError("a document hash is 32 bytes (64 hex digits)")
    return raw


def normalise_invoice_number(invoice_number: str) -> str:
    """The form an invoice number is compared in: Unicode-compatible, trimmed, single spaces, case folded.

    So that ``"INV-2026-0001"`` and ``" inv-2026-0001 "`` are one invoice, whoever typed them.
    """
    normalised = " ".join(unicodedata.normalize("NFKC", invoice_number).split()).casefold()
    if not normalised:
        raise ScfError("an issuance needs the number of the invoice it is issued against")
    return normalised


def invoice_key(invoice_number: str) -> bytes:
    """What the ledger keeps of an invoice number: the hash of its normalised form, never the number itself."""
    return keccak(text=normalise_invoice_number(invoice_number))


class LedgerClient:
    """Typed access to one deployed ``CertificateLedger``."""

    def __init__(
        self,
        w3: Web3,
        address: str,
        abi: list[dict[str, Any]],
        sender: TransactionSender,
        *,
        decoder: RevertDecoder,
        desk: ContractAt | None = None,
        token: ContractAt | None = None,
    ) -> None:
        """``decoder`` turns reverts into errors; ``desk`` and ``token`` are the settlement desk and token, for
        financing and settlement."""
        self.w3 = w3
        self.contract: Contract = w3.eth.contract(address=to_checksum_address(address), abi=abi)
        self.sender = sender
        self._desk = w3.eth.contract(address=to_checksum_address(desk.address), abi=desk.abi) if desk else None
        self._token = w3.eth.contract(address=to_checksum_address(token.address), abi=token.abi) if token else None
        self.decoder = decoder
        self._limits: dict[str, int] = {}
        self._chain_id: int | None = None

    @property
    def address(self) -> str:
        return str(self.contract.address)

    # Errors

    def describe(self, address: str) -> str:
        """Names a member for a person: its legal name, or the bare address."""
        return self.decoder.describe(address)

    def decode_revert(self, data: str | bytes | None) -> ScfError:
        return self.decoder(data)

    def preflight(self, sender: str, call: ContractFunction, *, ignore: Iterable[str] = ()) -> None:
        """Raises the ledger's error if ``call`` from ``sender`` would revert now, unless its code is in ``ignore``."""
        try:
            call.call({"from": sender}, block_identifier="pending")
        except (ContractCustomError, ContractLogicError) as exc:
            error = self.decoder(exc.data if isinstance(exc.data, str | bytes) else None)
            if isinstance(error, LedgerError) and error.code in set(ignore):
                return
            raise error from None

    # The chain

    def head(self) -> int:
        """The latest block's number."""
        return int(self.w3.eth.block_number)

    def block_hash(self, number: int) -> str | None:
        """The hash of block ``number`` as the chain has it now; None past its head."""
        try:
            block = self.w3.eth.get_block(number)
        except BlockNotFound:
            return None
        return "0x" + bytes(block["hash"]).hex()

    def deployed(self) -> bool:
        """Whether the chain holds the ledger's code at its address."""
        return bool(self.w3.eth.get_code(self.contract.address))

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
        *,
        invoice_number: str,
    ) -> IssueResult:
        """Issues a certificate against one invoice: its document's hash and its number.

        ``obligor`` may issue against an invoice number once (again only after that issuance was
        cancelled or rejected); the ledger keeps the number's :func:`invoice_key`, not the number.
        """
        call = self.contract.functions.issue(
            to_checksum_address(holder),
            to_positive_minor_units(amount),
            to_day(maturity),
            document_hash_bytes(document_hash),
            invoice_key(invoice_number),
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

    def set_token_uri_base(self, operator: LocalAccount, base: str) -> TxResult:
        """Points every certificate's ``tokenURI`` at ``base`` + its id: where the gateway shows it."""
        return self._result(self._transact(operator, self.contract.functions.setTokenURIBase(base)))

    def set_max_hops(self, operator: LocalAccount, max_hops: int) -> TxResult:
        return self._result(self._transact(operator, self.contract.functions.setMaxHops(max_hops)))

    def pause(self, operator: LocalAccount) -> TxResult:
        return self._result(self._transact(operator, self.contract.functions.pause()))

    def unpause(self, operator: LocalAccount) -> TxResult:
        return self._result(self._transact(operator, self.contract.functions.unpause()))

    # Reads

    def certificate(self, certificate_id: int, *, block: BlockIdentifier = "latest") -> Certificate:
        try:
            raw = self.contract.functions.certificate(certificate_id).call(block_identifier=block)
        except Exception as exc:
            data = getattr(exc, "data", None)
            if data:
                raise self.decode_revert(data) from None
            raise
        (
            id_,
            face,
            obligor,
            holder,
            last_holder,
            maturity_day,
            root,
            parent,
            hops,
            doc,
            status,
            frozen,
            first,
            count,
        ) = raw
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
            status=CertificateStatusCode(status),
            frozen=frozen,
            child_ids=tuple(range(first, first + count)),
        )

    def certificates_encoded(self, ids: Sequence[int], block: int) -> list[bytes | None]:
        """What ``certificate(id)`` returns for each of ``ids`` at ``block``, still ABI-encoded, asked in one
        JSON-RPC batch; None for an id the ledger does not know.

        For reading thousands at once, the call data is written directly, the answers are left for the
        caller to decode, and the batch goes straight to the provider: web3's encoders, formatters and
        middleware (``batch_requests`` included) take a millisecond a call, several times the node's own.
        """
        selector = function_abi_to_4byte_selector(self.contract.get_function_by_name("certificate").abi).hex()
        address = self.contract.address
        calls = [(RPCEndpoint("eth_call"), [{"to": address, "data": f"0x{selector}{i:064x}"}, hex(block)]) for i in ids]
        provider = self.w3.provider
        batch = getattr(provider, "make_batch_request", None)
        answers: Any = batch(calls) if batch is not None and len(calls) > 1 else None
        if not isinstance(answers, list) or len(answers) != len(calls):  # no batches here: one call at a time
            answers = [provider.make_request(method, params) for method, params in calls]
        found: list[bytes | None] = []
        for answer in answers:
            error = answer.get("error")
            if not error:
                found.append(bytes(HexBytes(answer["result"])))
                continue
            data = error.get("data") if isinstance(error, dict) else None
            if isinstance(data, dict):  # some nodes nest the revert data
                data = data.get("data")
            refused = self.decode_revert(data if isinstance(data, str) else None)
            if not isinstance(refused, CertificateNotFound):
                raise refused
            found.append(None)
        return found

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

    def issuance_of_invoice(self, obligor: str, invoice_number: str) -> int | None:
        """The issuance ``obligor`` made against ``invoice_number`` (the latest, if one was cancelled), or None."""
        call = self.contract.functions.issuanceOfInvoice(to_checksum_address(obligor), invoice_key(invoice_number))
        return int(call.call()) or None

    def token_uri(self, certificate_id: int) -> str:
        """Where the gateway shows the certificate, as ERC-721 tools read it."""
        return str(self._read(self.contract.functions.tokenURI(certificate_id)))

    # The settlement token

    @property
    def desk(self) -> Contract:
        """The settlement desk: offers, settlement, overdue marking and recourse."""
        if self._desk is None:
            raise ScfError("this client was opened without the settlement desk")
        return self._desk

    @property
    def token(self) -> Contract:
        """The settlement token, a tokenized CNY deposit with 2 decimals."""
        if self._token is None:
            raise ScfError("this client was opened without the settlement token")
        return self._token

    def deposit(self, operator: LocalAccount, member: str, amount: Decimal | str) -> TxResult:
        """Credits settlement tokens to ``member`` for money it paid in (the operator is the deposit bank)."""
        call = self.token.functions.deposit(to_checksum_address(member), to_positive_minor_units(amount))
        return self._result(self._transact(operator, call))

    def withdraw(self, operator: LocalAccount, member: str, amount: Decimal | str) -> TxResult:
        """Debits settlement tokens from ``member`` for money paid out to it."""
        call = self.token.functions.withdraw(to_checksum_address(member), to_positive_minor_units(amount))
        return self._result(self._transact(operator, call))

    def balance_of(self, address: str) -> Decimal:
        """Settlement tokens held by ``address``, in CNY."""
        return from_minor_units(self.token.functions.balanceOf(to_checksum_address(address)).call())

    def approve_desk(self, owner: LocalAccount, amount: Decimal | str) -> TxResult:
        """Allows the settlement desk to draw up to ``amount`` of ``owner``'s tokens: to pay for
        certificates bought, at settlement, or on recourse."""
        minor = to_minor_units(amount)
        if minor < 0:
            raise InvalidAmount(f"an allowance cannot be negative ({amount})")
        call = self.token.functions.approve(self.desk.address, minor)
        return self._result(self._transact(owner, call))

    def allowance(self, owner: str) -> Decimal:
        """What the settlement desk may still draw from ``owner``, in CNY."""
        minor = self.token.functions.allowance(to_checksum_address(owner), self.desk.address).call()
        return from_minor_units(minor)

    # Financing

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = int(self.w3.eth.chain_id)
        return self._chain_id

    def make_offer(
        self,
        financier: LocalAccount,
        certificate_id: int,
        annual_rate: Decimal | str,
        *,
        seller: str,
        expires_at: int,
        nonce: int,
        day_count: int = 365,
        recourse: bool = False,
        amount: Decimal | str | None = None,
    ) -> SignedOffer:
        """Builds and signs, off chain, ``financier``'s offer to buy a certificate from ``seller``, for this chain
        and desk.

        ``annual_rate`` is a fraction a year (``"0.0385"``), ``expires_at`` unix seconds. ``amount`` is the most
        face value the offer buys (the amount it was priced for); None reads the certificate's face value.
        """
        if amount is None:
            amount = self.certificate(certificate_id).face_value
        offer = Offer(
            certificate_id=certificate_id,
            amount=Decimal(amount),
            financier=to_checksum_address(financier.address),
            seller=to_checksum_address(seller),
            annual_rate=Decimal(annual_rate),
            day_count=day_count,
            expires_at=expires_at,
            recourse=recourse,
            nonce=nonce,
        )
        return sign_offer(financier, offer, chain_id=self.chain_id, desk=self.desk.address)

    def offer_hash(self, offer: Offer) -> bytes:
        """The EIP-712 digest of ``offer`` as the desk computes it."""
        return bytes(self.desk.functions.hashOffer(offer_struct(offer)).call())

    def accept_offer(
        self, holder: LocalAccount, signed: SignedOffer, amount: Decimal | str | None = None
    ) -> FinanceResult:
        """Accepts a signed offer for ``holder``'s certificate: the whole of it, or a part of ``amount``,
        never more than the offer's own amount.

        In one transaction the desk prices it, the financier pays ``holder`` and the
        certificate (or the part) passes to the financier as financed.
        """
        minor = 0 if amount is None else to_positive_minor_units(amount)
        call = self.desk.functions.acceptOffer(offer_struct(signed.offer), signed.signature, minor)
        receipt = self._transact(holder, call)
        (event,) = self.desk.events.OfferAccepted().process_receipt(receipt, errors=DISCARD)
        splits = self.contract.events.CertificateSplit().process_receipt(receipt, errors=DISCARD)
        args = event["args"]
        base = self._result(receipt)
        return FinanceResult(
            base.tx_hash,
            base.block_number,
            base.gas_used,
            certificate_id=args["id"],
            remainder_id=splits[0]["args"]["firstChildId"] if splits else None,
            financier=args["financier"],
            seller=args["seller"],
            face_value=from_minor_units(args["faceValue"]),
            interest=from_minor_units(args["faceValue"] - args["price"]),
            price=from_minor_units(args["price"]),
            days=args["daysToMaturity"],
        )

    def withdraw_offer(self, financier: LocalAccount, offer: Offer) -> TxResult:
        """Withdraws ``offer`` on chain, so that it can no longer be accepted."""
        call = self.desk.functions.withdrawOffer(offer_struct(offer))
        return self._result(self._transact(financier, call))

    def withdraw_offer_nonce(self, financier: LocalAccount, nonce: int) -> TxResult:
        """Withdraws ``financier``'s offer numbered ``nonce``, whatever its terms."""
        return self._result(self._transact(financier, self.desk.functions.withdrawOfferNonce(nonce)))

    def offer_nonce_used(self, financier: str, nonce: int) -> bool:
        """Whether ``financier``'s offer ``nonce`` was accepted or withdrawn."""
        return bool(self.desk.functions.offerNonceUsed(to_checksum_address(financier), nonce).call())

    def quote(
        self, face: Decimal | str, annual_rate: Decimal | str, day_count: int, days: int
    ) -> tuple[Decimal, Decimal]:
        """The desk's own (interest, price) for ``face`` at ``annual_rate``, ``days`` before maturity."""
        call = self.desk.functions.quote(to_minor_units(face), to_rate_units(annual_rate), day_count, days)
        interest, price = self._read(call)
        return from_minor_units(interest), from_minor_units(price)

    def price_offer(self, offer: Offer, amount: Decimal | str | None = None) -> tuple[Decimal, Decimal, int]:
        """(interest, price, days) the offer would pay if accepted in the next block, priced locally.

        The days run from the latest block's day (UTC) to the certificate's maturity day.
        """
        certificate = self.certificate(offer.certificate_id)
        face = certificate.face_value if amount is None else Decimal(amount)
        today = int(self.w3.eth.get_block("latest")["timestamp"]) // 86_400
        days = to_day(certificate.maturity_date) - today
        interest, price = financing_price(face, offer.annual_rate, offer.day_count, max(days, 0))
        return interest, price, days

    # Settlement

    def settle(self, obligor: LocalAccount, root_id: int, certificate_ids: Sequence[int]) -> SettlementResult:
        """Pays certificates of issuance ``root_id`` (at most :meth:`max_batch`) from ``obligor``, on or after maturity.

        Certificates settled already are skipped; the result lists those paid now.
        """
        call = self.desk.functions.settle(root_id, list(certificate_ids))
        return self._settlement_result(root_id, self._transact(obligor, call))

    def unsettled(self, root_id: int) -> list[Certificate]:
        """The certificates of an issuance still to be paid: active, financed or overdue."""
        return [c for c in self.holdings(root_id) if c.status in SETTLEABLE]

    def settle_all(
        self, obligor: LocalAccount, root_id: int, *, batch_size: int | None = None
    ) -> list[SettlementResult]:
        """Pays every unsettled certificate of issuance ``root_id``, in batches of ``batch_size`` (the desk's most)."""
        batch_size = batch_size or self.max_batch()
        ids = [c.id for c in self.unsettled(root_id)]
        return [self.settle(obligor, root_id, ids[i : i + batch_size]) for i in range(0, len(ids), batch_size)]

    def present(self, holder: LocalAccount, certificate_id: int) -> SettlementResult:
        """Presents ``holder``'s matured certificate: paid from the obligor's allowance to the desk."""
        receipt = self._transact(holder, self.desk.functions.present(certificate_id))
        return self._settlement_result(self.certificate(certificate_id).root_id, receipt)

    def settled_amount(self, root_id: int) -> Decimal:
        """How much of issuance ``root_id`` has been paid."""
        return from_minor_units(self.contract.functions.settledAmount(root_id).call())

    def mark_overdue(self, caller: LocalAccount, root_id: int, certificate_ids: Sequence[int]) -> TxResult:
        """Marks certificates of an issuance overdue, once maturity and the grace period have passed."""
        call = self.desk.functions.markOverdue(root_id, list(certificate_ids))
        return self._result(self._transact(caller, call))

    def set_grace_period(self, operator: LocalAccount, days: int) -> TxResult:
        return self._result(self._transact(operator, self.desk.functions.setGracePeriod(days)))

    def grace_period(self) -> int:
        """Days after maturity before an unpaid certificate may be marked overdue."""
        return int(self.desk.functions.gracePeriod().call())

    def max_tenor_days(self) -> int:
        """The furthest maturity the ledger accepts, in days after its today (a constant: read once)."""
        return self._limit("MAX_TENOR_DAYS", self.contract)

    def max_batch(self) -> int:
        """The most certificates one settlement or overdue marking takes: the desk's ``MAX_BATCH``, read once."""
        return self._limit("MAX_BATCH", self.desk)

    def _limit(self, name: str, contract: Contract) -> int:
        if name not in self._limits:
            self._limits[name] = int(getattr(contract.functions, name)().call())
        return self._limits[name]

    def _settlement_result(self, root_id: int, receipt: TxReceipt) -> SettlementResult:
        events = self.contract.events.CertificateSettled().process_receipt(receipt, errors=DISCARD)
        payments = tuple(
            (e["args"]["id"], e["args"]["holder"], from_minor_units(e["args"]["amount"]), e["args"]["late"])
            for e in events
        )
        base = self._result(receipt)
        return SettlementResult(base.tx_hash, base.block_number, base.gas_used, root_id=root_id, payments=payments)

    # Recourse

    def record_recourse_claim(self, financier: LocalAccount, certificate_id: int) -> TxResult:
        """Records ``financier``'s claim on the seller of an overdue certificate bought with recourse."""
        call = self.desk.functions.recordRecourseClaim(certificate_id)
        return self._result(self._transact(financier, call))

    def pay_recourse_claim(self, seller: LocalAccount, certificate_id: int) -> TxResult:
        """Pays the recorded recourse claim: the face value to the financier; the certificate returns to ``seller``."""
        call = self.desk.functions.payRecourseClaim(certificate_id)
        return self._result(self._transact(seller, call))

    def recourse(self, certificate_id: int) -> Recourse | None:
        """The seller and recourse claim of a certificate bought with recourse; None without recourse."""
        seller, claim = self.desk.functions.recourseOf(certificate_id).call()
        if seller == ZERO_ADDRESS:
            return None
        return Recourse(certificate_id, seller, RecourseClaimStatus(claim))

    def _read(self, call: ContractFunction) -> Any:
        """Calls a view, turning a revert into the matching ledger error."""
        try:
            return call.call()
        except (ContractCustomError, ContractLogicError) as exc:
            data = exc.data if isinstance(exc.data, str | bytes) else None
            raise self.decode_revert(data) from None
