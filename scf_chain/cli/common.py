"""What every ``scf`` command shares: settings, the runtime, member names, output and one-line errors.

The command modules of this package, and those that other packages register through the
``scf_chain.commands`` entry points, build on these helpers so that every command reads and
fails alike.
"""

from __future__ import annotations

import re
import sys
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from scf_chain.domain.errors import ScfError
from scf_chain.domain.ledger_errors import LedgerError
from scf_chain.domain.money import CURRENCY, from_minor_units, to_positive_minor_units
from scf_chain.domain.types import Member, TxResult
from scf_chain.settings import Settings, load_settings, make_data_dir_private

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

    from scf_chain.runtime import Runtime

OPERATOR = "operator"
ADDRESS_PATTERN = re.compile(r"^0x[0-9a-fA-F]{40}$")
SECONDS_PER_DAY = 86_400

AsOption = Annotated[str, typer.Option("--as", help="The member who acts (name or address); its key signs.")]


class UnknownMember(ScfError):
    """No member goes by the name given."""


class AmbiguousMember(ScfError):
    """More than one member goes by the name given."""


# Errors: one line, whatever goes wrong.


def one_line(message: str) -> str:
    return " ".join(message.split())


def sentence(message: str) -> str:
    """One line that reads as a sentence: a capital first letter and a full stop."""
    text = one_line(message)
    if text[:1].islower():
        text = text[0].upper() + text[1:]
    if text and text[-1] not in ".!?":
        text += "."
    return text


def describe_error(exc: ScfError) -> str:
    # What went wrong, for a person: a ledger error's reason without the contract's error name.
    return sentence(exc.reason if isinstance(exc, LedgerError) else str(exc))


def fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"error: {sentence(message)}", err=True)
    sys.exit(code)


# Settings and the runtime


def read_settings() -> Settings:
    settings = load_settings()
    make_data_dir_private(settings.data_dir)
    return settings


def open_runtime(settings: Settings | None = None) -> Runtime:
    from scf_chain import runtime

    return runtime.open_runtime(settings or read_settings())


def deploy_runtime(settings: Settings) -> tuple[Runtime, bool]:
    """Opens the runtime, deploying the ledger unless this chain has it; returns it and whether it is new."""
    from scf_chain.chain.compiler import compile_contracts
    from scf_chain.chain.deploy import find_deployment
    from scf_chain.runtime import connect
    from scf_chain.runtime import open_runtime as open_deployed

    before = find_deployment(connect(settings), settings.manifest_path, compile_contracts(settings.build_dir))
    runtime = open_deployed(settings, deploy_if_missing=True)
    return runtime, before is None or before.ledger != runtime.deployment.ledger


# Output


def console() -> Console:
    # No markup: names, paths and messages print exactly as they are.
    return Console(highlight=False, markup=False, soft_wrap=True)


def echo_table(table: Table) -> None:
    """Prints a table with no padding to the terminal's edge, so that its lines end where their text does."""
    output = console()
    with output.capture() as captured:
        output.print(table)
    typer.echo("\n".join(line.rstrip() for line in captured.get().splitlines()))


def money(value: Decimal) -> str:
    return f"{CURRENCY} {value:,.2f}"


def parse_amount(text: str) -> Decimal:
    """A positive amount of whole fen, or InvalidAmount."""
    return from_minor_units(to_positive_minor_units(text.strip()))


def tx(result: TxResult) -> str:
    return f"tx {result.tx_hash}, block {result.block_number}"


class Directory:
    """Resolves the names and addresses a user types into members, and names addresses back."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._members: list[Member] | None = None

    @property
    def members(self) -> list[Member]:
        if self._members is None:
            self._members = self.runtime.ledger.members()
        return self._members

    def address(self, reference: str) -> str:
        from eth_utils import to_checksum_address

        reference = reference.strip()
        if reference.casefold() == OPERATOR:
            return str(self.runtime.operator.address)
        if ADDRESS_PATTERN.match(reference):
            return str(to_checksum_address(reference))
        if reference.startswith("0x"):
            raise UnknownMember(f"{reference!r} is not an address (0x and 40 hex digits)")
        named = [m for m in self.members if m.name == reference] or [
            m for m in self.members if m.name.casefold() == reference.casefold()
        ]
        if not named:
            raise UnknownMember(f"no member is named {reference!r}; see `scf member list`")
        if len(named) > 1:
            addresses = ", ".join(m.address for m in named)
            raise AmbiguousMember(f"{len(named)} members are named {reference!r} ({addresses}); use the address")
        return named[0].address

    def signer(self, reference: str) -> LocalAccount:
        from scf_chain.domain.errors import KeyNotFound

        address = self.address(reference)
        try:
            return self.runtime.keystore.account(address)
        except KeyNotFound:
            raise KeyNotFound(
                f"no signing key for {self.name(address)} is kept in {self.runtime.settings.keystore_dir}"
            ) from None

    def name(self, address: str | None) -> str:
        """A member's name, ``operator``, or the bare address for a non-member."""
        if address is None:
            return "nobody"
        if address == self.runtime.operator.address:
            return OPERATOR
        return self.runtime.ledger.describe(address)

    def label(self, address: str) -> str:
        """Name and address, for a detailed view."""
        name = self.name(address)
        return address if name == address else f"{name} ({address})"
