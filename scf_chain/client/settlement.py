"""Settling an issuance at maturity: the one saga that the gateway and the ``scf settle`` command share.

The obligor pays every unpaid certificate of the issuance its face value, to whoever holds
it, in batches of the settlement desk's own batch size (read from the contract). Before
anything is sent, the desk's checks run as a call (maturity, obligor, statuses) and the
obligor's balance is compared with the total, so that a settlement that cannot be paid
sends nothing. Then the desk is approved for exactly the total, on top of any allowance
the obligor keeps for presentment, and the batches are paid. A certificate that is frozen,
or held by a frozen member, is withheld: the ledger would refuse its whole batch.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from eth_account.signers.local import LocalAccount
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractCustomError, ContractLogicError

from scf_chain.client.ledger import LedgerClient
from scf_chain.domain.ledger_errors import ERC20InsufficientAllowance, ERC20InsufficientBalance
from scf_chain.domain.money import format_amount, to_minor_units
from scf_chain.domain.types import SettlementResult, TxResult


class Payable(Protocol):
    """A certificate to pay, as the index or the ledger gives it."""

    @property
    def id(self) -> int: ...
    @property
    def holder(self) -> str | None: ...
    @property
    def frozen(self) -> bool: ...
    @property
    def face_value(self) -> Decimal: ...


@dataclass(frozen=True)
class SettlementPlan:
    """What settling issuance ``root_id`` pays now: ``payable`` (ids, for ``total``), and ``withheld`` (frozen)."""

    root_id: int
    payable: tuple[int, ...]
    withheld: tuple[int, ...]
    total: Decimal


@dataclass(frozen=True)
class IssuanceSettlement:
    """What a settlement sent: the approval of the desk (None if nothing was to pay) and every batch paid."""

    plan: SettlementPlan
    approval: TxResult | None
    batches: tuple[SettlementResult, ...]

    @property
    def paid(self) -> Decimal:
        return sum((amount for batch in self.batches for _, _, amount, _ in batch.payments), Decimal("0.00"))


def plan_settlement(root_id: int, unsettled: Iterable[Payable], frozen_members: Collection[str]) -> SettlementPlan:
    """Splits the unsettled certificates of an issuance into those paid now and those withheld (frozen)."""
    payable: list[Payable] = []
    withheld: list[int] = []
    for certificate in sorted(unsettled, key=lambda c: c.id):
        if certificate.frozen or certificate.holder in frozen_members:
            withheld.append(certificate.id)
        else:
            payable.append(certificate)
    total = sum((c.face_value for c in payable), Decimal("0.00"))
    return SettlementPlan(root_id, tuple(c.id for c in payable), tuple(withheld), total)


def _check(ledger: LedgerClient, sender: str, call: ContractFunction) -> None:
    """Raises the ledger's error if ``call`` would revert, except for the allowance the saga approves itself."""
    try:
        call.call({"from": sender}, block_identifier="pending")
    except (ContractCustomError, ContractLogicError) as exc:
        data: Any = exc.data if isinstance(exc.data, str | bytes) else None
        error = ledger.decode_revert(data)
        if isinstance(error, ERC20InsufficientAllowance):
            return
        raise error from None


def settle_issuance(
    ledger: LedgerClient,
    obligor: LocalAccount,
    plan: SettlementPlan,
    *,
    on_batch: Callable[[IssuanceSettlement], None] | None = None,
    standing_allowance: Decimal | None = None,
    on_approval: Callable[[Decimal], None] | None = None,
) -> IssuanceSettlement:
    """Pays what ``plan`` says, from ``obligor``, in batches of the desk's size; after each batch ``on_batch``
    is given the settlement so far.

    The desk is approved up to ``standing_allowance`` (what the obligor keeps allowed for presentment; by
    default its allowance now) plus the plan's total. A settlement that continues an interrupted one gives
    the standing allowance the first run had: the allowance now still holds what that run approved and did
    not spend, which must not be approved twice. ``on_approval`` is given the standing allowance before the
    approval is sent, for keeping it until the settlement is done.

    Raises the ledger's error (not yet matured, not the obligor...) or ``ERC20InsufficientBalance``
    before any transaction is sent.
    """
    size = ledger.max_batch()
    ids = list(plan.payable)
    _check(ledger, obligor.address, ledger.desk.functions.settle(plan.root_id, ids[:size]))
    approval = None
    if ids:
        balance = ledger.balance_of(obligor.address)
        if balance < plan.total:
            held, needed = to_minor_units(balance), to_minor_units(plan.total)
            raise ERC20InsufficientBalance(
                f"{ledger.describe(obligor.address)} holds {format_amount(held)} in settlement tokens, "
                f"and settling issuance {plan.root_id} needs {format_amount(needed)}; deposit more first",
                {"sender": obligor.address, "balance": held, "needed": needed},
            )
        allowance = ledger.allowance(obligor.address)
        standing = allowance if standing_allowance is None else standing_allowance
        if on_approval is not None:
            on_approval(standing)
        # Only ever raised: an allowance above the target was given by someone else, and is theirs to lower.
        if allowance < standing + plan.total:
            approval = ledger.approve_desk(obligor, standing + plan.total)
    batches: list[SettlementResult] = []
    for start in range(0, len(ids), size):
        result = ledger.settle(obligor, plan.root_id, ids[start : start + size])
        batches.append(result)
        if on_batch is not None:
            on_batch(IssuanceSettlement(plan, approval, tuple(batches)))
    return IssuanceSettlement(plan, approval, tuple(batches))
