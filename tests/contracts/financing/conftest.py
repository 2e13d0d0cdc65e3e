"""A desk harness over the session consortium: money, offers, chain time and whole-state snapshots.

Every test starts at noon UTC of the chain's next day, so that "today" cannot roll
over mid-test; the session conftest reverts the chain (time included) afterwards.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from web3.contract.contract import ContractFunction
from web3.types import TxReceipt

from scf_chain.client.ledger import LedgerClient
from scf_chain.domain.money import from_day, to_minor_units
from scf_chain.domain.types import SignedOffer
from scf_chain.runtime import Runtime
from tests.conftest import new_invoice_number

DAY = 86_400
RATE = Decimal("0.0385")


class Desk:
    """The consortium (``core``, ``t1`` … ``t4``, ``bank``) with the settlement desk and token at hand."""

    def __init__(self, consortium: Any, new_document: Callable[[], bytes]) -> None:
        self.runtime: Runtime = consortium.runtime
        self.w3 = self.runtime.w3
        self.ledger: LedgerClient = consortium.ledger
        self.desk = self.ledger.desk
        self.token = self.ledger.token
        self.operator: LocalAccount = consortium.operator
        self.core: LocalAccount = consortium.core
        self.t1, self.t2, self.t3, self.t4 = consortium.suppliers
        self.bank: LocalAccount = consortium.bank
        self.auditor: LocalAccount = consortium.auditor
        self.outsider: LocalAccount = consortium.outsider
        self.new_document = new_document
        self._nonces = itertools.count()
        self.names = {
            to_checksum_address(account.address): name
            for name, account in {
                "core": self.core,
                "t1": self.t1,
                "t2": self.t2,
                "t3": self.t3,
                "t4": self.t4,
                "bank": self.bank,
                "desk": self.desk,
            }.items()
        }

    # Chain time

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def today(self) -> int:
        """The chain's day, as the contracts see it: days since 1970-01-01 UTC."""
        return self.now() // DAY

    def today_date(self) -> date:
        return from_day(self.today())

    def travel(self, seconds: int) -> None:
        self.w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
        self.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]

    def travel_to(self, day: int, hour: int = 12) -> None:
        """Moves the chain to ``hour`` o'clock UTC on ``day``."""
        target = day * DAY + hour * 3600
        assert target > self.now(), "the chain only moves forward"
        self.travel(target - self.now())

    # Certificates and money

    def issue(self, holder: LocalAccount | None = None, amount: Decimal | str = "1000.00", *, days: int = 90) -> int:
        """Issues an accepted certificate from ``core`` to ``holder`` (``t1``), maturing ``days`` from today."""
        holder = holder or self.t1
        maturity = self.today_date() + timedelta(days=days)
        issued = self.ledger.issue(
            self.core,
            holder.address,
            Decimal(amount),
            maturity,
            self.new_document(),
            invoice_number=new_invoice_number(),
        )
        self.ledger.accept(holder, issued.certificate_id)
        return issued.certificate_id

    def fund(self, account: LocalAccount, amount: Decimal | str, *, approve: Decimal | str | None = None) -> None:
        """Deposits ``amount`` to ``account`` and approves the desk for ``approve`` (default: the amount)."""
        if Decimal(amount) > 0:
            self.ledger.deposit(self.operator, account.address, amount)
        self.ledger.approve_desk(account, amount if approve is None else approve)

    def offer(
        self,
        certificate_id: int,
        *,
        financier: LocalAccount | None = None,
        seller: str | None = None,
        rate: Decimal | str = RATE,
        day_count: int = 365,
        expires_in: int = 3600,
        recourse: bool = False,
        nonce: int | None = None,
        amount: Decimal | str | None = None,
    ) -> SignedOffer:
        """A signed offer of ``bank`` (by default) for the certificate, valid for ``expires_in`` seconds.

        It is made to ``seller``, by default the member holding the certificate now, for ``amount``, by
        default the whole face value.
        """
        return self.ledger.make_offer(
            financier or self.bank,
            certificate_id,
            Decimal(rate),
            seller=seller or self.ledger.certificate(certificate_id).holder or "",
            day_count=day_count,
            expires_at=self.now() + expires_in,
            recourse=recourse,
            nonce=next(self._nonces) if nonce is None else nonce,
            amount=amount,
        )

    def send(self, signer: LocalAccount, call: ContractFunction, *, gas: int | None = 1_000_000) -> TxReceipt:
        """Sends a call with a fixed gas limit, so that a failing one is mined and reverts on chain."""
        return self.runtime.sender.transact(signer, call, gas=gas)

    def accept_call(self, signed: SignedOffer, amount: Decimal | str | int = 0) -> ContractFunction:
        from scf_chain.domain.offers import offer_struct

        minor = amount if isinstance(amount, int) else to_minor_units(amount)
        return self.desk.functions.acceptOffer(offer_struct(signed.offer), signed.signature, minor)

    def balance(self, account: LocalAccount) -> Decimal:
        return self.ledger.balance_of(account.address)

    # Whole state

    def state(self, certificate_ids: list[int] | None = None) -> dict[str, Any]:
        """Balances, allowances, holdings and certificates: everything a desk operation can move."""
        next_id = int(self.ledger.contract.functions.nextCertificateId().call())
        ids = certificate_ids if certificate_ids is not None else list(range(1, next_id))
        accounts = list(self.names)
        token, ledger = self.token.functions, self.ledger.contract.functions
        return {
            "nextCertificateId": next_id,
            "tokens": {self.names[a]: token.balanceOf(a).call() for a in accounts},
            "allowances": {self.names[a]: token.allowance(a, self.desk.address).call() for a in accounts},
            "holdings": {self.names[a]: ledger.balanceOf(a).call() for a in accounts},
            "supply": token.totalSupply().call(),
            "creditLine": ledger.creditLine(self.core.address).call(),
            "certificates": {i: ledger.certificate(i).call() for i in ids},
            "settled": {i: ledger.settledAmount(i).call() for i in ids},
        }

    @contextmanager
    def unchanged(self) -> Iterator[None]:
        """Asserts that nothing at all moved inside the block."""
        before = self.state()
        yield
        assert self.state() == before


@pytest.fixture
def d(consortium: Any, new_document: Callable[[], bytes]) -> Desk:
    desk = Desk(consortium, new_document)
    desk.travel_to(desk.today() + 1)
    return desk
