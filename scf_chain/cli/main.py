"""The ``scf`` command line: the local chain, deployment, members, credit lines, certificates, the demo.

Settings come from the environment (``SCF_DATA_DIR``, ``SCF_CHAIN_PORT``...), so two
checkouts with their own data folders never share a chain. Members are named by their
registered name, by address, or ``operator`` for the consortium operator.

Errors are one sentence on stderr, ``error: <what went wrong and why>.``, with exit code
1 (2 for a command used wrongly); never a stack trace, an internal class name, a
private key or a passphrase. The development-mode warning is printed once per process.
"""

from __future__ import annotations

import hashlib
import logging
import re
import signal
import sys
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import requests
import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from scf_chain.domain.errors import ScfError
from scf_chain.domain.ledger_errors import LedgerError
from scf_chain.domain.money import CURRENCY, from_minor_units, to_minor_units, to_positive_minor_units
from scf_chain.domain.types import Member, MemberRole, TxResult
from scf_chain.settings import Settings, load_settings, make_data_dir_private

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

    from scf_chain.runtime import Runtime

OPERATOR = "operator"
ADDRESS_PATTERN = re.compile(r"^0x[0-9a-fA-F]{40}$")
HASH_PATTERN = re.compile(r"^0x[0-9a-fA-F]{64}$")
DATE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SECONDS_PER_DAY = 86_400


class UnknownMember(ScfError):
    """No member goes by the name given."""


class AmbiguousMember(ScfError):
    """More than one member goes by the name given."""


class MemberNameTaken(ScfError):
    """A member of that name exists already; the CLI refers to members by name."""


# Errors: one line, whatever goes wrong.


def _one_line(message: str) -> str:
    return " ".join(message.split())


def _sentence(message: str) -> str:
    """One line that reads as a sentence: a capital first letter and a full stop."""
    text = _one_line(message)
    if text[:1].islower():
        text = text[0].upper() + text[1:]
    if text and text[-1] not in ".!?":
        text += "."
    return text


def _describe_error(exc: ScfError) -> str:
    # What went wrong, for a person: a ledger error's reason without the contract's error name.
    return _sentence(exc.reason if isinstance(exc, LedgerError) else str(exc))


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"error: {_sentence(message)}", err=True)
    sys.exit(code)


class _OneLineErrors(TyperGroup):
    """The top-level group: turns every expected failure into one line on stderr."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        except typer.TyperException as exc:  # usage errors (exit code 2) and the like, from typer's own click
            format_message = getattr(exc, "format_message", None)
            message = (format_message() if format_message else str(exc)).replace("Value error, ", "").rstrip(".")
            code = getattr(exc, "exit_code", 1)
            if not message:  # a group run without a command: its help is printed already
                sys.exit(code)
            context = getattr(exc, "ctx", None)
            if context is not None:
                message += f" (see `{context.command_path} --help`)"
            _fail(message, code)
        except typer.Abort:
            _fail("aborted", 1)
        except typer.Exit as exc:
            sys.exit(exc.exit_code)
        except ScfError as exc:
            _fail(_describe_error(exc))
        except requests.ConnectionError:
            _fail("the connection to the chain was lost; is it still running? (`scf chain status`)")
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    cls=_OneLineErrors,
    help="scf-chain: a permissioned ledger of supply-chain finance payable certificates.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,  # a bug shows a plain traceback, never local variables
)
chain_app = typer.Typer(help="The local Anvil chain of this data folder.", no_args_is_help=True)
member_app = typer.Typer(help="Consortium members: onboard, freeze, list.", no_args_is_help=True)
credit_app = typer.Typer(help="Credit lines of core enterprises.", no_args_is_help=True)
cert_app = typer.Typer(help="Payable certificates: issue, accept, split, pass on, show.", no_args_is_help=True)
app.add_typer(chain_app, name="chain")
app.add_typer(member_app, name="member")
app.add_typer(credit_app, name="credit")
app.add_typer(cert_app, name="cert")
keys_app = typer.Typer(help="API keys of the gateway.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


class StderrLogHandler(logging.Handler):
    """Writes ``warning: <message>`` lines to the stderr of the moment (which a test runner may swap)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(f"{record.levelname.lower()}: {self.format(record)}\n")
            sys.stderr.flush()
        except Exception:
            self.handleError(record)


def _configure_logging() -> None:
    """Warnings of the library, the development-mode one among them, go to stderr once each."""
    logger = logging.getLogger("scf_chain")
    if not any(isinstance(handler, StderrLogHandler) for handler in logger.handlers):
        handler = StderrLogHandler(logging.WARNING)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)


@app.callback()
def _main_callback() -> None:
    _configure_logging()


def main() -> None:
    """The ``scf`` console script."""
    app()


# Shared helpers


def _settings() -> Settings:
    settings = load_settings()
    make_data_dir_private(settings.data_dir)
    return settings


def _console() -> Console:
    # No markup: names, paths and messages print exactly as they are.
    return Console(highlight=False, markup=False, soft_wrap=True)


def _money(amount: Decimal) -> str:
    return f"{CURRENCY} {amount:,.2f}"


def _amount(text: str) -> Decimal:
    """A positive amount of whole fen, or InvalidAmount."""
    return from_minor_units(to_positive_minor_units(text.strip()))


def _open(settings: Settings | None = None) -> Runtime:
    from scf_chain.runtime import open_runtime

    return open_runtime(settings or _settings())


def _deploy(settings: Settings) -> tuple[Runtime, bool]:
    """Opens the runtime, deploying the ledger unless this chain has it; returns it and whether it is new."""
    from scf_chain.chain.compiler import compile_contracts
    from scf_chain.chain.deploy import find_deployment
    from scf_chain.runtime import connect, open_runtime

    before = find_deployment(connect(settings), settings.manifest_path, compile_contracts(settings.build_dir))
    runtime = open_runtime(settings, deploy_if_missing=True)
    return runtime, before is None or before.ledger != runtime.deployment.ledger


def _tx(result: TxResult) -> str:
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


# scf chain


@chain_app.command("up")
def chain_up() -> None:
    """Start the local chain of this data folder (or find it running); print its URL."""
    from scf_chain.runtime import local_chain

    settings = _settings()
    if settings.rpc_url:
        raise ScfError(f"SCF_RPC_URL is set ({settings.rpc_url}): that chain is not managed here")
    chain = local_chain(settings)
    running = chain.record()
    record = running or chain.start()
    state = "already running" if running else "started"
    _console().print(f"local chain {state} at {record.url} (pid {record.pid}; state in {chain.directory})")


@chain_app.command("down")
def chain_down() -> None:
    """Stop the local chain cleanly; its state is saved in the data folder."""
    from scf_chain.runtime import local_chain

    settings = _settings()
    if settings.rpc_url:
        raise ScfError(f"SCF_RPC_URL is set ({settings.rpc_url}): that chain is not managed here")
    chain = local_chain(settings)
    if chain.stop():
        _console().print(f"local chain stopped; its state is saved in {chain.state_path}")
    else:
        _console().print(f"no local chain was running for {settings.data_dir}")


@chain_app.command("status")
def chain_status() -> None:
    """Whether the chain answers, its height, and the ledger deployed on it."""
    from web3 import Web3

    from scf_chain.chain.deploy import Deployment
    from scf_chain.chain.local import rpc_answers
    from scf_chain.runtime import local_chain

    settings = _settings()
    console = _console()
    if settings.rpc_url:
        url = settings.rpc_url
        if not rpc_answers(url, timeout=2.0):
            console.print(f"external chain at {url}: not answering")
            return
        console.print(f"external chain at {url}: answering")
    else:
        record = local_chain(settings).record()
        if record is None:
            console.print(f"local chain: not running (data folder {settings.data_dir})")
            return
        url = record.url
        console.print(f"local chain: running at {url} (pid {record.pid}; data folder {settings.data_dir})")
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 10}))
    console.print(f"chain id {w3.eth.chain_id}, block {w3.eth.block_number}")
    deployment = Deployment.load(settings.manifest_path)
    if (
        deployment
        and deployment.chain_id == w3.eth.chain_id
        and w3.eth.get_code(Web3.to_checksum_address(deployment.ledger))
    ):
        console.print(f"ledger: {deployment.ledger} (deployed in block {deployment.block})")
    else:
        console.print("ledger: not deployed (`scf deploy`)")


@chain_app.command("advance")
def chain_advance(
    days: Annotated[int, typer.Option("--days", min=1, max=3650, help="Days to move the clock forward.")],
) -> None:
    """Move the embedded development chain's clock N days forward (to reach maturity); it never goes back."""
    from scf_chain.domain.money import from_day
    from scf_chain.runtime import local_chain

    settings = _settings()
    if settings.rpc_url:
        raise ScfError(
            f"SCF_RPC_URL is set ({settings.rpc_url}): only the embedded development chain's clock can be moved"
        )
    if not settings.dev_mode:
        raise ScfError("the chain's clock is moved only in development mode (SCF_DEV_MODE=true)")
    chain = local_chain(settings)
    if chain.record() is None:
        raise ScfError(f"no local chain is running for {settings.data_dir}; start it with `scf chain up` or `make run`")
    moved_to = chain.advance(days * SECONDS_PER_DAY)
    _console().print(
        f"the chain's clock moved {days} days forward: the ledger's date is now {from_day(moved_to // SECONDS_PER_DAY)}"
    )


# scf deploy


@app.command()
def deploy() -> None:
    """Deploy the ledger, or reuse the one this chain has already."""
    runtime, new = _deploy(_settings())
    d = runtime.deployment
    console = _console()
    if new:
        console.print(f"deployed a new ledger at {d.ledger} in block {d.block} (chain {d.chain_id})")
    else:
        console.print(f"reusing the ledger at {d.ledger}, deployed in block {d.block} (chain {d.chain_id})")
    console.print(f"settlement token {d.settlement_token}, settlement desk {d.settlement_desk}; operator {d.operator}")


# scf member


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
    runtime = _open()
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
    _console().print(f"registered {name} as {role.member_role.label}: {member_address} ({key_note}; {_tx(result)})")


def _set_frozen(reference: str, frozen: bool) -> None:
    runtime = _open()
    directory = Directory(runtime)
    address = directory.address(reference)
    ledger = runtime.ledger
    result = (ledger.freeze_member if frozen else ledger.unfreeze_member)(runtime.operator, address)
    verb = "froze" if frozen else "unfroze"
    _console().print(f"{verb} {directory.label(address)} ({_tx(result)})")


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
    runtime = _open()
    # No borders, so that an 80-column terminal has room: the address and role are never broken (they are
    # copied and read whole), and a long name wraps onto further lines rather than being cut.
    table = Table(box=None, pad_edge=False, caption=f"operator: {runtime.operator.address}", caption_justify="left")
    table.add_column("name", overflow="fold", min_width=10)
    table.add_column("role", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("address", no_wrap=True, min_width=42)
    for m in runtime.ledger.members():
        table.add_row(m.name, m.role.label, "frozen" if m.frozen else "active", m.address)
    console = _console()
    with console.capture() as captured:
        console.print(table)
    typer.echo("\n".join(line.rstrip() for line in captured.get().splitlines()))  # no padding to the edge


# scf credit


def _print_credit_line(runtime: Runtime, directory: Directory, obligor: str) -> None:
    line = runtime.ledger.credit_line(obligor)
    _console().print(
        f"credit line of {directory.label(obligor)}: limit {_money(line.limit)}, "
        f"outstanding {_money(line.outstanding)}, available {_money(line.available)}"
    )


@credit_app.command("set")
def credit_set(
    obligor: Annotated[str, typer.Argument(help="The core enterprise: name or address.")],
    limit: Annotated[str, typer.Argument(help="The limit in CNY, e.g. 5000000.00.")],
) -> None:
    """Set a core enterprise's credit limit, as the operator."""
    amount = from_minor_units(to_minor_units(limit.strip()))
    runtime = _open()
    directory = Directory(runtime)
    address = directory.address(obligor)
    result = runtime.ledger.set_credit_limit(runtime.operator, address, amount)
    _console().print(f"set the credit limit of {directory.name(address)} to {_money(amount)} ({_tx(result)})")
    _print_credit_line(runtime, directory, address)


@credit_app.command("show")
def credit_show(obligor: Annotated[str, typer.Argument(help="The core enterprise: name or address.")]) -> None:
    """A core enterprise's limit, outstanding and available credit."""
    runtime = _open()
    directory = Directory(runtime)
    _print_credit_line(runtime, directory, directory.address(obligor))


# scf cert

AsOption = Annotated[str, typer.Option("--as", help="The member who acts (name or address); its key signs.")]


def _maturity(text: str) -> date:
    try:
        if not DATE_PATTERN.match(text.strip()):
            raise ValueError(text)
        return date.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date; use YYYY-MM-DD", param_hint="--maturity") from None


def _document_hash(document_hash: str | None, document: Path | None) -> str:
    if (document_hash is None) == (document is None):
        raise typer.BadParameter("give exactly one of --document-hash and --document", param_hint="--document")
    if document is not None:
        return "0x" + hashlib.sha256(document.read_bytes()).hexdigest()
    assert document_hash is not None
    if not HASH_PATTERN.match(document_hash.strip()):
        raise typer.BadParameter(
            f"{document_hash!r} is not a SHA-256 hash (0x and 64 hex digits)", param_hint="--document-hash"
        )
    return document_hash.strip().lower()


@cert_app.command("issue")
def cert_issue(
    obligor: Annotated[str, typer.Option("--from", help="The issuing core enterprise; its key signs.")],
    holder: Annotated[str, typer.Option("--to", help="The supplier who receives the certificate.")],
    amount: Annotated[str, typer.Option("--amount", help="Face value in CNY, at most two decimals.")],
    maturity: Annotated[str, typer.Option("--maturity", help="Maturity date, YYYY-MM-DD (UTC).")],
    invoice_number: Annotated[
        str, typer.Option("--invoice", help="The invoice's number; an obligor issues against it once.")
    ],
    document_hash: Annotated[
        str | None, typer.Option("--document-hash", help="SHA-256 of the invoice or contract, 0x-prefixed.")
    ] = None,
    document: Annotated[
        Path | None,
        typer.Option(
            "--document",
            help="The invoice or contract file; its SHA-256 is anchored.",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ] = None,
) -> None:
    """Issue a certificate against an invoice; it is pending until the supplier accepts it."""
    face_value = _amount(amount)
    maturity_date = _maturity(maturity)
    anchor = _document_hash(document_hash, document)
    runtime = _open()
    directory = Directory(runtime)
    signer = directory.signer(obligor)
    to = directory.address(holder)
    result = runtime.ledger.issue(signer, to, face_value, maturity_date, anchor, invoice_number=invoice_number)
    _console().print(
        f"issued certificate #{result.certificate_id}: {_money(face_value)} from "
        f"{directory.name(signer.address)} to {directory.name(to)}, maturing {maturity_date}, "
        f"document {anchor}; pending acceptance ({_tx(result)})"
    )


@cert_app.command("accept")
def cert_accept(certificate_id: Annotated[int, typer.Argument(help="Certificate id.")], as_: AsOption) -> None:
    """Accept a pending certificate, as its receiver."""
    runtime = _open()
    directory = Directory(runtime)
    signer = directory.signer(as_)
    result = runtime.ledger.accept(signer, certificate_id)
    _console().print(f"{directory.name(signer.address)} accepted certificate #{certificate_id} ({_tx(result)})")


@cert_app.command("reject")
def cert_reject(certificate_id: Annotated[int, typer.Argument(help="Certificate id.")], as_: AsOption) -> None:
    """Reject a pending certificate, as its receiver; the obligor's credit is released."""
    runtime = _open()
    directory = Directory(runtime)
    signer = directory.signer(as_)
    result = runtime.ledger.reject(signer, certificate_id)
    _console().print(f"{directory.name(signer.address)} rejected certificate #{certificate_id} ({_tx(result)})")


def _part(text: str, directory: Directory) -> tuple[str, Decimal]:
    receiver, separator, amount = text.rpartition(":")
    if not separator or not receiver.strip() or not amount.strip():
        raise typer.BadParameter(f"{text!r} is not TO:AMOUNT", param_hint="--part")
    return directory.address(receiver), _amount(amount)


@cert_app.command("split")
def cert_split(
    certificate_id: Annotated[int, typer.Argument(help="Certificate id.")],
    as_: AsOption,
    part: Annotated[list[str], typer.Option("--part", help="TO:AMOUNT, once per part; they sum to the face value.")],
) -> None:
    """Split a certificate into parts, each for a member (the holder may keep some)."""
    runtime = _open()
    directory = Directory(runtime)
    signer = directory.signer(as_)
    parts = [_part(p, directory) for p in part]
    result = runtime.ledger.split(signer, certificate_id, parts)
    made = ", ".join(
        f"#{new_id} ({directory.name(to)}, {_money(amount)})"
        for new_id, (to, amount) in zip(result.certificate_ids, parts, strict=True)
    )
    _console().print(
        f"{directory.name(signer.address)} split certificate #{certificate_id} into {made} ({_tx(result)})"
    )


@cert_app.command("transfer")
def cert_transfer(
    certificate_id: Annotated[int, typer.Argument(help="Certificate id.")],
    as_: AsOption,
    to: Annotated[str, typer.Option("--to", help="The receiving member.")],
    amount: Annotated[
        str | None, typer.Option("--amount", help="Pay only this part; the holder keeps the remainder.")
    ] = None,
) -> None:
    """Pass a certificate on whole, or pay a part of it (--amount)."""
    part = None if amount is None else _amount(amount)
    runtime = _open()
    directory = Directory(runtime)
    signer = directory.signer(as_)
    receiver = directory.address(to)
    payer, payee = directory.name(signer.address), directory.name(receiver)
    if part is None:
        result = runtime.ledger.transfer(signer, certificate_id, receiver)
        _console().print(f"{payer} passed certificate #{certificate_id} whole to {payee} ({_tx(result)})")
        return
    split = runtime.ledger.transfer_part(signer, certificate_id, receiver, part)
    remainder_id, part_id = split.certificate_ids
    _console().print(
        f"{payer} paid {payee} {_money(part)} out of certificate #{certificate_id}: "
        f"#{part_id} is held by {payee}, the remainder #{remainder_id} by {payer} ({_tx(split)})"
    )


def _recourse(directory: Directory, certificate_id: int) -> str:
    recourse = directory.runtime.ledger.recourse(certificate_id)
    if recourse is None:
        return "none"
    return f"sold with recourse by {directory.label(recourse.seller)}; claim {recourse.claim.label}"


@cert_app.command("show")
def cert_show(certificate_id: Annotated[int, typer.Argument(help="Certificate id.")]) -> None:
    """Every field of a certificate, its ancestry and its children."""
    runtime = _open()
    directory = Directory(runtime)
    ledger = runtime.ledger
    c = ledger.certificate(certificate_id)
    ancestry = ledger.ancestry(certificate_id)
    children = [ledger.certificate(child) for child in c.child_ids]
    if c.holder is not None:
        holder = directory.label(c.holder)
    else:
        holder = f"none, retired; last held by {directory.label(c.last_holder)}"
    fields = Table(show_header=False, box=None, title=f"certificate #{c.id}", title_justify="left")
    for key, value in [
        ("id", f"#{c.id}"),
        ("status", c.status.label + (", frozen by the operator" if c.frozen else "")),
        ("face value", _money(c.face_value)),
        ("obligor", directory.label(c.obligor)),
        ("holder", holder),
        ("maturity", c.maturity_date.isoformat()),
        ("issuance", f"#{c.root_id}" + (" (this certificate)" if c.root_id == c.id else "")),
        ("parent", f"#{c.parent_id}" if c.parent_id else "none"),
        ("hops", str(c.hops)),
        ("document hash", c.document_hash),
        ("recourse", _recourse(directory, certificate_id)),
        ("ancestry", " <- ".join(f"#{i}" for i in [c.id, *ancestry]) if ancestry else "none (an issuance)"),
        ("children", ", ".join(f"#{child.id}" for child in children) or "none"),
    ]:
        fields.add_row(key, value)
    console = _console()
    console.print(fields)
    if children:
        table = Table("child", "holder", "face value", "status")
        for child in children:
            table.add_row(
                f"#{child.id}",
                directory.name(child.holder or child.last_holder),
                _money(child.face_value),
                child.status.label,
            )
        console.print(table)


# scf gas, scf demo, scf run


@app.command()
def gas() -> None:
    """Gas of every ledger operation beside token baselines, on a throwaway chain of its own."""
    from tools.gas import gas_report

    typer.echo(gas_report())


@app.command()
def bench(
    quick: Annotated[bool, typer.Option("--quick", help="A small run, under a minute, into bench/quick/.")] = False,
    smoke: Annotated[bool, typer.Option("--smoke", hidden=True, help="The test suite's tiniest run.")] = False,
) -> None:
    """Benchmark everything on a fresh chain and gateway: bench/results.json, bench/REPORT.md and plots."""
    from tools.bench import README_PATH, default_output_dir, run

    mode = "smoke" if smoke else "quick" if quick else "full"
    results = run(mode, readme=README_PATH if mode == "full" else None, console=_console())
    console = _console()
    for verdict in results["verdicts"]:
        console.print(f"{'met   ' if verdict['met'] else 'MISSED'}  {verdict['target']}: {verdict['measured']}")
    console.print(f"results in {default_output_dir(mode)} (REPORT.md, results.json); {results['duration_s']:.0f} s")
    if results["errors"]:
        raise ScfError("benchmark sections failed: " + ", ".join(e["section"] for e in results["errors"]))


def _require_dev_mode(settings: Settings) -> None:
    if not settings.dev_mode:
        raise ScfError("the demo registers made-up companies; it runs only in development mode (SCF_DEV_MODE=true)")


@app.command()
def demo() -> None:
    """Play the demo story: an invoice's certificate paid down a four-tier supply chain, discounted and settled.

    On the embedded chain the whole story plays on a throwaway chain of its own, since it moves the clock to
    maturity; the chain of the data folder keeps today's date. On an external chain it stops before maturity.
    """
    from tools import demo as story

    settings = _settings()
    _require_dev_mode(settings)
    if settings.rpc_url:
        story.play(_open(settings), _console())
    else:
        story.play_on_throwaway_chain(settings, _console())


def _seed(runtime: Runtime, console: Console) -> None:
    """Seeds the demo consortium into an empty ledger, up to before maturity; a ledger with members is left as it is.

    The seed leaves the clock alone: the ledger's date stays today's (``scf chain advance`` moves it).
    """
    from tools import demo as story

    members = len(runtime.ledger.members())
    if members:
        console.print(f"the ledger has {members} members already; not seeding the demo (`scf demo` tells it whole)")
        return
    story.play(runtime, console)


def run_main_service(runtime: Runtime, console: Console) -> None:
    """The main service of ``scf run``: the HTTP gateway, in the foreground until Ctrl-C.

    Before serving, it lists the operator and every member whose signing key this
    gateway keeps, with an API key for those that have none yet, so that the demo can be
    driven at once. A member with a key keeps it: a restart mints no second key.
    """
    from api.serve import create_api_key, members_with_api_keys, serve
    from scf_chain.runtime import rpc_url

    settings = runtime.settings
    console.rule("Members and API keys (a key is shown once; only its hash is kept)")
    members: list[tuple[str, str, str]] = [(OPERATOR, "operator", runtime.operator.address)]
    members += [
        (member.name, member.role.label, member.address)
        for member in runtime.ledger.members()
        if member.address in runtime.keystore and not member.frozen
    ]
    with_keys = members_with_api_keys(settings)
    for name, role, address in members:
        key = "has a key" if address in with_keys else create_api_key(settings, address)
        # One unwrapped line per member, so that a key can be copied whole.
        console.print(f"{name:<28} {role:<16} {address}  {key}", soft_wrap=True, markup=False, highlight=False)
    if any(address in with_keys for _, _, address in members):
        console.print(
            "Keys made earlier still work. For a new one: scf keys create NAME (or operator); "
            "DELETE /v1/members/{address}/api-keys revokes a member's keys."
        )
    url = f"http://{settings.api_host}:{settings.api_port}"
    console.rule("ready")
    console.print(f"gateway: {url}  (interactive docs: {url}/docs, explorer: {url}/explorer)")
    console.print(f"chain:   {rpc_url(runtime.settings)}")
    console.print(f"ledger:  {runtime.deployment.ledger}")
    console.print("press Ctrl-C to stop")
    serve(settings)


@app.command("index")
def index_events(
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Drop the index and rebuild it from block 0.")] = False,
) -> None:
    """Bring the event index in the data folder up to date with the chain, or rebuild it."""
    from scf_chain.index.indexer import LedgerIndex
    from scf_chain.runtime import event_indexer

    runtime = _open()
    with LedgerIndex(runtime.settings.index_db_path) as index:
        indexer = event_indexer(runtime, index)
        block = indexer.rebuild() if rebuild else indexer.sync()
        typer.echo(f"indexed to block {block}: {index.event_count()} events")


@app.command("serve")
def serve_gateway() -> None:
    """Serve the HTTP gateway on the configured chain (it must be up and, outside development, deployed)."""
    from api.serve import serve

    serve(_settings())


@keys_app.command("create")
def keys_create(member: Annotated[str, typer.Argument(help="Name or address of the member, or `operator`.")]) -> None:
    """Print a new API key for a member, and nothing else, so that scripts can use it."""
    from api.serve import create_api_key

    runtime = _open()
    address = Directory(runtime).address(member)
    if address != runtime.operator.address and runtime.ledger.member(address).role is MemberRole.NONE:
        raise UnknownMember(f"{address} is not a member of the consortium")
    typer.echo(create_api_key(runtime.settings, address))


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@app.command()
def run(
    seed: Annotated[
        bool, typer.Option("--seed/--no-seed", help="Seed the demo consortium into an empty ledger.")
    ] = True,
) -> None:
    """Start the local chain, deploy, seed the demo, and serve until Ctrl-C; then stop the chain."""
    from scf_chain.runtime import local_chain

    settings = _settings()
    console = _console()
    started = None
    if not settings.rpc_url:
        chain = local_chain(settings)
        running = chain.record()
        if running is None:
            record = chain.start()
            started = chain
            console.print(f"local chain started at {record.url} (state in {chain.directory})")
        else:
            console.print(f"using the local chain already running at {running.url}; it is left running at the end")
    previous = signal.signal(signal.SIGTERM, _interrupt)  # stop as cleanly on SIGTERM as on Ctrl-C
    try:
        runtime, new = _deploy(settings)
        d = runtime.deployment
        console.print(f"{'deployed a new' if new else 'reusing the'} ledger at {d.ledger} (block {d.block})")
        if seed and settings.dev_mode:
            _seed(runtime, console)
        elif seed:
            console.print("not seeding the demo outside development mode")
        run_main_service(runtime, console)
    except KeyboardInterrupt:
        console.print("stopping")
    finally:
        signal.signal(signal.SIGTERM, previous)
        if started is not None:
            started.stop()
            console.print(f"local chain stopped; its state is saved in {started.state_path}")


# Cash, financing and settlement: deposit, withdraw, balance, offer, settle (they use the helpers above).
from scf_chain.cli.financing import register as _register_financing  # noqa: E402

_register_financing(app)

if __name__ == "__main__":
    main()
