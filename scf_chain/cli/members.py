"""``scf member`` (onboard, freeze, list) and ``scf credit`` (the credit lines of core enterprises)."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from scf_chain.cli.common import ADDRESS_PATTERN, OPERATOR, Directory, console, echo_table, money, open_runtime, tx
from scf_chain.domain.errors import ScfError
from scf_chain.domain.money import from_minor_units, to_minor_units
from scf_chain.domain.types import MemberRole

if TYPE_CHECKING:
    from scf_chain.runtime import Runtime

member_app = typer.Typer(help="Consortium members: onboard, freeze, list.", no_args_is_help=True)
credit_app = typer.Typer(help="Credit lines of core enterprises.", no_args_is_help=True)


class MemberNameTaken(ScfError):
    """A member of that name exists already; the CLI refers to members by name."""


class Role(StrEnum):
    CORE_ENTERPRISE = "core-enterprise"
    SUPPLIER = "supplier"
    FINANCIER = "financier"
    AUDITOR = "auditor"

    @property
    def member_role(self) -> MemberRole:
        return MemberRole[self.name]


@member_app.command("add")
def member_add(
    name: Annotated[str, typer.Argument(help="Legal name or identifier, unique in the consortium.")],
    role: Annotated[Role, typer.Option("--role", help="The member's role.", case_sensitive=False)],
    address: Annotated[
        str | None, typer.Option("--address", help="Its address; without one, a new key is made and kept here.")
    ] = None,
) -> None:
    """Register a member, as the operator."""
    name = name.strip()
    if name.casefold() == OPERATOR or name.startswith("0x"):
        raise typer.BadParameter(f"{name!r} would be read as an address or the operator", param_hint="NAME")
    if address is not None and not ADDRESS_PATTERN.match(address.strip()):
        raise typer.BadParameter(f"{address!r} is not an address (0x and 40 hex digits)", param_hint="--address")
    runtime = open_runtime()
    directory = Directory(runtime)
    taken = [m for m in directory.members if m.name.casefold() == name.casefold()]
    if taken:
        raise MemberNameTaken(f"{taken[0].name!r} is already a member ({taken[0].address}); names must be unique")
    if address is None:
        account = runtime.keystore.create()
        member_address, key_note = str(account.address), f"new signing key kept in {runtime.settings.keystore_dir}"
    else:
        member_address = directory.address(address)
        kept = member_address in runtime.keystore
        key_note = "its signing key is kept here" if kept else "its signing key is kept elsewhere"
    result = runtime.ledger.register_member(runtime.operator, member_address, role.member_role, name)
    console().print(f"registered {name} as {role.member_role.label}: {member_address} ({key_note}; {tx(result)})")


def _set_frozen(reference: str, frozen: bool) -> None:
    runtime = open_runtime()
    directory = Directory(runtime)
    address = directory.address(reference)
    ledger = runtime.ledger
    result = (ledger.freeze_member if frozen else ledger.unfreeze_member)(runtime.operator, address)
    verb = "froze" if frozen else "unfroze"
    console().print(f"{verb} {directory.label(address)} ({tx(result)})")


@member_app.command("freeze")
def member_freeze(member: Annotated[str, typer.Argument(help="Name or address.")]) -> None:
    """Freeze a member: it can no longer act, send or receive."""
    _set_frozen(member, True)


@member_app.command("unfreeze")
def member_unfreeze(member: Annotated[str, typer.Argument(help="Name or address.")]) -> None:
    """Lift the freeze on a member."""
    _set_frozen(member, False)


@member_app.command("list")
def member_list() -> None:
    """Every registered member, in order of registration."""
    runtime = open_runtime()
    # No borders, so that an 80-column terminal has room: the address and role are never broken (they are
    # copied and read whole), and a long name wraps onto further lines rather than being cut.
    table = Table(box=None, pad_edge=False, caption=f"operator: {runtime.operator.address}", caption_justify="left")
    table.add_column("name", overflow="fold", min_width=10)
    table.add_column("role", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("address", no_wrap=True, min_width=42)
    for m in runtime.ledger.members():
        table.add_row(m.name, m.role.label, "frozen" if m.frozen else "active", m.address)
    echo_table(table)


def _print_credit_line(runtime: Runtime, directory: Directory, obligor: str) -> None:
    line = runtime.ledger.credit_line(obligor)
    console().print(
        f"credit line of {directory.label(obligor)}: limit {money(line.limit)}, "
        f"outstanding {money(line.outstanding)}, available {money(line.available)}"
    )


@credit_app.command("set")
def credit_set(
    obligor: Annotated[str, typer.Argument(help="The core enterprise: name or address.")],
    limit: Annotated[str, typer.Argument(help="The limit in CNY, e.g. 5000000.00.")],
) -> None:
    """Set a core enterprise's credit limit, as the operator."""
    value = from_minor_units(to_minor_units(limit.strip()))
    runtime = open_runtime()
    directory = Directory(runtime)
    address = directory.address(obligor)
    result = runtime.ledger.set_credit_limit(runtime.operator, address, value)
    console().print(f"set the credit limit of {directory.name(address)} to {money(value)} ({tx(result)})")
    _print_credit_line(runtime, directory, address)


@credit_app.command("show")
def credit_show(obligor: Annotated[str, typer.Argument(help="The core enterprise: name or address.")]) -> None:
    """A core enterprise's limit, outstanding and available credit."""
    runtime = open_runtime()
    directory = Directory(runtime)
    _print_credit_line(runtime, directory, directory.address(obligor))


def register(app: typer.Typer) -> None:
    """Adds ``scf member`` and ``scf credit`` to the command line."""
    app.add_typer(member_app, name="member")
    app.add_typer(credit_app, name="credit")
