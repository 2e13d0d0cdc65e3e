"""``scf deposit``, ``scf withdraw`` and ``scf balance``: members' cash, as settlement tokens."""

from __future__ import annotations

from typing import Annotated

import typer

from scf_chain.cli.common import Directory, console, money, open_runtime, parse_amount, tx


def _move_cash(member: str, amount: str, deposit: bool) -> None:
    """The operator, as the deposit bank, credits or debits a member's settlement tokens."""
    value = parse_amount(amount)
    runtime = open_runtime()
    directory = Directory(runtime)
    address = directory.address(member)
    ledger = runtime.ledger
    result = (ledger.deposit if deposit else ledger.withdraw)(runtime.operator, address, value)
    balance = ledger.balance_of(address)
    verb = "deposited" if deposit else "withdrew"
    console().print(f"{verb} {money(value)} for {directory.name(address)}; it holds {money(balance)} ({tx(result)})")


def deposit(
    member: Annotated[str, typer.Argument(help="The member who paid the money in: name or address.")],
    amount: Annotated[str, typer.Argument(help="CNY, at most two decimals, e.g. 250000.00.")],
) -> None:
    """Credit settlement tokens to a member for money it paid in, as the operator (the deposit bank)."""
    _move_cash(member, amount, True)


def withdraw(
    member: Annotated[str, typer.Argument(help="The member paid out: name or address.")],
    amount: Annotated[str, typer.Argument(help="CNY, at most two decimals.")],
) -> None:
    """Debit settlement tokens from a member for money paid out to it, as the operator (the deposit bank)."""
    _move_cash(member, amount, False)


def balance(member: Annotated[str, typer.Argument(help="Name or address of the member.")]) -> None:
    """A member's settlement tokens, and what the settlement desk may still draw from them."""
    runtime = open_runtime()
    directory = Directory(runtime)
    address = directory.address(member)
    ledger = runtime.ledger
    console().print(
        f"{directory.name(address)} holds {money(ledger.balance_of(address))}; "
        f"the settlement desk may draw {money(ledger.allowance(address))}"
    )


def register(app: typer.Typer) -> None:
    """Adds the cash commands to the command line."""
    app.command("deposit")(deposit)
    app.command("withdraw")(withdraw)
    app.command("balance")(balance)
