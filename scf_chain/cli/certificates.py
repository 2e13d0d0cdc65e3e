"""``scf cert``: payable certificates are issued, accepted or rejected, split, passed on, and shown."""

from __future__ import annotations

import hashlib
import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from scf_chain.cli.common import AsOption, Directory, console, money, open_runtime, parse_amount, tx

HASH_PATTERN = re.compile(r"^0x[0-9a-fA-F]{64}$")
DATE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")

cert_app = typer.Typer(help="Payable certificates: issue, accept, split, pass on, show.", no_args_is_help=True)


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
    face_value = parse_amount(amount)
    maturity_date = _maturity(maturity)
    anchor = _document_hash(document_hash, document)
    runtime = open_runtime()
    directory = Directory(runtime)
    signer = directory.signer(obligor)
    to = directory.address(holder)
    result = runtime.ledger.issue(signer, to, face_value, maturity_date, anchor, invoice_number=invoice_number)
    console().print(
        f"issued certificate #{result.certificate_id}: {money(face_value)} from "
        f"{directory.name(signer.address)} to {directory.name(to)}, maturing {maturity_date}, "
        f"document {anchor}; pending acceptance ({tx(result)})"
    )


def _answer(certificate_id: int, as_: str, accept: bool) -> None:
    runtime = open_runtime()
    directory = Directory(runtime)
    signer = directory.signer(as_)
    result = (runtime.ledger.accept if accept else runtime.ledger.reject)(signer, certificate_id)
    verb = "accepted" if accept else "rejected"
    console().print(f"{directory.name(signer.address)} {verb} certificate #{certificate_id} ({tx(result)})")


@cert_app.command("accept")
def cert_accept(certificate_id: Annotated[int, typer.Argument(help="Certificate id.")], as_: AsOption) -> None:
    """Accept a pending certificate, as its receiver."""
    _answer(certificate_id, as_, True)


@cert_app.command("reject")
def cert_reject(certificate_id: Annotated[int, typer.Argument(help="Certificate id.")], as_: AsOption) -> None:
    """Reject a pending certificate, as its receiver; the obligor's credit is released."""
    _answer(certificate_id, as_, False)


def _part(text: str, directory: Directory) -> tuple[str, Decimal]:
    receiver, separator, amount = text.rpartition(":")
    if not separator or not receiver.strip() or not amount.strip():
        raise typer.BadParameter(f"{text!r} is not TO:AMOUNT", param_hint="--part")
    return directory.address(receiver), parse_amount(amount)


@cert_app.command("split")
def cert_split(
    certificate_id: Annotated[int, typer.Argument(help="Certificate id.")],
    as_: AsOption,
    part: Annotated[list[str], typer.Option("--part", help="TO:AMOUNT, once per part; they sum to the face value.")],
) -> None:
    """Split a certificate into parts, each for a member (the holder may keep some)."""
    runtime = open_runtime()
    directory = Directory(runtime)
    signer = directory.signer(as_)
    parts = [_part(p, directory) for p in part]
    result = runtime.ledger.split(signer, certificate_id, parts)
    made = ", ".join(
        f"#{new_id} ({directory.name(to)}, {money(amount)})"
        for new_id, (to, amount) in zip(result.certificate_ids, parts, strict=True)
    )
    console().print(f"{directory.name(signer.address)} split certificate #{certificate_id} into {made} ({tx(result)})")


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
    part = None if amount is None else parse_amount(amount)
    runtime = open_runtime()
    directory = Directory(runtime)
    signer = directory.signer(as_)
    receiver = directory.address(to)
    payer, payee = directory.name(signer.address), directory.name(receiver)
    if part is None:
        result = runtime.ledger.transfer(signer, certificate_id, receiver)
        console().print(f"{payer} passed certificate #{certificate_id} whole to {payee} ({tx(result)})")
        return
    split = runtime.ledger.transfer_part(signer, certificate_id, receiver, part)
    remainder_id, part_id = split.certificate_ids
    console().print(
        f"{payer} paid {payee} {money(part)} out of certificate #{certificate_id}: "
        f"#{part_id} is held by {payee}, the remainder #{remainder_id} by {payer} ({tx(split)})"
    )


def _recourse(directory: Directory, certificate_id: int) -> str:
    recourse = directory.runtime.ledger.recourse(certificate_id)
    if recourse is None:
        return "none"
    return f"sold with recourse by {directory.label(recourse.seller)}; claim {recourse.claim.label}"


@cert_app.command("show")
def cert_show(certificate_id: Annotated[int, typer.Argument(help="Certificate id.")]) -> None:
    """Every field of a certificate, its ancestry and its children."""
    runtime = open_runtime()
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
        ("face value", money(c.face_value)),
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
    output = console()
    output.print(fields)
    if children:
        table = Table("child", "holder", "face value", "status")
        for child in children:
            table.add_row(
                f"#{child.id}",
                directory.name(child.holder or child.last_holder),
                money(child.face_value),
                child.status.label,
            )
        output.print(table)


def register(app: typer.Typer) -> None:
    """Adds ``scf cert`` to the command line."""
    app.add_typer(cert_app, name="cert")
