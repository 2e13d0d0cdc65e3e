"""``scf offer``: financing offers, signed off chain by a financier and kept as JSON files in the data folder."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from scf_chain.cli.common import (
    SECONDS_PER_DAY,
    AsOption,
    Directory,
    console,
    echo_table,
    money,
    open_runtime,
    parse_amount,
    tx,
)
from scf_chain.domain.errors import ScfError
from scf_chain.domain.types import Offer, SignedOffer

if TYPE_CHECKING:
    from scf_chain.runtime import Runtime

# Offers made here are numbered from here on, one more for each: the gateway numbers a financier's offers
# from 0 with its own counter, so the two never hand out the same nonce of one financier.
FIRST_CLI_NONCE = 2**40
OFFERS_HELP = (
    "Discount offers: a financier's signed quote to buy a certificate from its seller.\n\n"
    "An offer is signed off chain (EIP-712) and needs no gateway: `scf offer create` writes it as a JSON file, "
    "OFFER_ID.json, into the folder `offers` of the data folder (SCF_DATA_DIR), where `scf offer list` finds it "
    "and `scf offer accept OFFER_ID` reads it. To pass an offer to a seller who works from another data folder, "
    "send the file: `scf offer accept` also takes its path. Offers made here take nonces from "
    f"{FIRST_CLI_NONCE} on, apart from the gateway's."
)

offer_app = typer.Typer(help=OFFERS_HELP, no_args_is_help=True)


class OfferNotFound(ScfError):
    """No offer of that id is kept in the data folder."""


@dataclass(frozen=True)
class KeptOffer:
    """A signed offer as kept in the data folder, with the chain and desk it was signed for."""

    id: str
    signed: SignedOffer
    chain_id: int
    desk: str


def _offers_dir(runtime: Runtime) -> Path:
    return runtime.settings.data_dir / "offers"


def _offer_id(signed: SignedOffer, runtime: Runtime) -> str:
    from scf_chain.domain.offers import offer_digest

    digest = offer_digest(signed.offer, chain_id=runtime.ledger.chain_id, desk=runtime.ledger.desk.address)
    return digest.hex()[:12]  # the first digits of what the financier signed: the same wherever it is read


def _to_json(kept: KeptOffer) -> dict[str, Any]:
    offer = kept.signed.offer
    return {
        "id": kept.id,
        "chain_id": kept.chain_id,
        "desk": kept.desk,
        "offer": {
            "certificate_id": offer.certificate_id,
            "amount": f"{offer.amount:.2f}",
            "financier": offer.financier,
            "seller": offer.seller,
            "annual_rate": str(offer.annual_rate),
            "day_count": offer.day_count,
            "expires_at": offer.expires_at,
            "recourse": offer.recourse,
            "nonce": offer.nonce,
        },
        "signature": "0x" + kept.signed.signature.hex(),
    }


def _from_json(data: dict[str, Any], source: str) -> KeptOffer:
    try:
        fields = data["offer"]
        offer = Offer(
            certificate_id=int(fields["certificate_id"]),
            amount=Decimal(fields["amount"]),
            financier=str(fields["financier"]),
            seller=str(fields["seller"]),
            annual_rate=Decimal(fields["annual_rate"]),
            day_count=int(fields["day_count"]),
            expires_at=int(fields["expires_at"]),
            recourse=bool(fields["recourse"]),
            nonce=int(fields["nonce"]),
        )
        signature = bytes.fromhex(str(data["signature"]).removeprefix("0x"))
        return KeptOffer(str(data["id"]), SignedOffer(offer, signature), int(data["chain_id"]), str(data["desk"]))
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise ScfError(f"{source} is not an offer written by `scf offer create` ({exc})") from None


def _read_offer(path: Path) -> KeptOffer:
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ScfError(f"{path} cannot be read as an offer ({exc})") from None
    if not isinstance(data, dict):
        raise ScfError(f"{path} is not an offer written by `scf offer create`")
    return _from_json(data, str(path))


def _kept_offers(runtime: Runtime) -> list[KeptOffer]:
    folder = _offers_dir(runtime)
    if not folder.is_dir():
        return []
    kept = [_read_offer(path) for path in sorted(folder.glob("*.json"))]
    return sorted(kept, key=lambda k: (k.signed.offer.certificate_id, k.signed.offer.nonce))


def _find_offer(runtime: Runtime, reference: str) -> KeptOffer:
    path = Path(reference)
    if path.suffix == ".json" and path.is_file():
        return _read_offer(path)
    matching = [k for k in _kept_offers(runtime) if k.id.startswith(reference.strip().lower())] if reference else []
    if len(matching) != 1:
        found = "no offer" if not matching else f"{len(matching)} offers"
        raise OfferNotFound(f"{found} in {_offers_dir(runtime)} has the id {reference!r}; see `scf offer list`")
    return matching[0]


def _ledger_now(runtime: Runtime) -> int:
    return int(runtime.w3.eth.get_block("latest")["timestamp"])


def _state(runtime: Runtime, kept: KeptOffer, now: int) -> str:
    offer = kept.signed.offer
    if kept.chain_id != runtime.ledger.chain_id or kept.desk.lower() != runtime.ledger.desk.address.lower():
        return "for another ledger"
    if runtime.ledger.offer_nonce_used(offer.financier, offer.nonce):
        return "used (accepted or withdrawn)"
    return "expired" if offer.expires_at < now else "open"


def _rate(rate: Decimal) -> str:
    return f"{rate * 100:f}".rstrip("0").rstrip(".") + "%"


@offer_app.command("create")
def offer_create(
    certificate_id: Annotated[int, typer.Argument(help="The certificate to buy (or to buy a part of).", min=1)],
    as_: AsOption,
    rate: Annotated[str, typer.Option("--rate", help="Annual discount rate as a fraction, e.g. 0.0385 for 3.85%.")],
    seller: Annotated[
        str | None, typer.Option("--seller", help="Who may accept it: by default the certificate's holder.")
    ] = None,
    amount: Annotated[
        str | None, typer.Option("--amount", help="The most face value it buys, in CNY; by default the whole.")
    ] = None,
    days: Annotated[int, typer.Option("--days", help="Days it stays open, on the ledger's clock.", min=1)] = 7,
    day_count: Annotated[int, typer.Option("--day-count", help="Day-count basis: 365 or 360.")] = 365,
    recourse: Annotated[bool, typer.Option("--recourse", help="With recourse to the seller if unpaid.")] = False,
) -> None:
    """Sign, as a financier, an offer to buy a certificate from its seller; it is saved in the data folder.

    The settlement desk is approved for the offer's price, on top of what the financier allowed already, so
    that the seller can accept it at once.
    """
    if day_count not in (360, 365):
        raise typer.BadParameter("the day-count basis is 365 or 360", param_hint="--day-count")
    runtime = open_runtime()
    directory = Directory(runtime)
    ledger = runtime.ledger
    financier = directory.signer(as_)
    certificate = ledger.certificate(certificate_id)
    sold_by = directory.address(seller) if seller else certificate.holder
    if sold_by is None:
        raise ScfError(f"certificate {certificate_id} is {certificate.status.label}; nobody holds it to sell it")
    mine = [k.signed.offer.nonce for k in _kept_offers(runtime) if k.signed.offer.financier == financier.address]
    nonce = max([FIRST_CLI_NONCE - 1, *mine]) + 1
    signed = ledger.make_offer(
        financier,
        certificate_id,
        Decimal(rate.strip()),
        seller=sold_by,
        expires_at=_ledger_now(runtime) + days * SECONDS_PER_DAY,
        nonce=nonce,
        day_count=day_count,
        recourse=recourse,
        amount=None if amount is None else parse_amount(amount),
    )
    offer = signed.offer
    interest, price, to_maturity = ledger.price_offer(offer, offer.amount)
    approval = ledger.approve_desk(financier, ledger.allowance(financier.address) + price)
    kept = KeptOffer(_offer_id(signed, runtime), signed, ledger.chain_id, ledger.desk.address)
    folder = _offers_dir(runtime)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / f"{kept.id}.json"
    path.write_text(json.dumps(_to_json(kept), indent=2) + "\n")
    path.chmod(0o600)
    expires = datetime.fromtimestamp(offer.expires_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
    console().print(
        f"offer {kept.id}: {directory.name(financier.address)} buys up to {money(offer.amount)} of certificate "
        f"#{certificate_id} from {directory.name(sold_by)} at {_rate(offer.annual_rate)} a year "
        f"({offer.day_count}-day basis{', with recourse' if recourse else ''}), open until {expires}; accepted "
        f"today it pays {money(price)} ({money(interest)} interest, {to_maturity} days). Saved in {path}; the "
        f"desk may draw {money(ledger.allowance(financier.address))} ({tx(approval)})"
    )


@offer_app.command("list")
def offer_list(
    certificate_id: Annotated[int | None, typer.Option("--certificate", help="Only the offers for it.")] = None,
    every: Annotated[bool, typer.Option("--all", help="Used and expired offers too.")] = False,
) -> None:
    """The offers saved in the data folder (`offers/`), open ones by default, with what each would pay today."""
    runtime = open_runtime()
    directory = Directory(runtime)
    now = _ledger_now(runtime)
    table = Table(box=None, pad_edge=False)
    for column in ("offer", "certificate", "financier", "seller", "up to", "rate", "expires", "state"):
        table.add_column(column, overflow="fold")
    shown = 0
    for kept in _kept_offers(runtime):
        offer = kept.signed.offer
        if certificate_id is not None and offer.certificate_id != certificate_id:
            continue
        state = _state(runtime, kept, now)
        if state != "open" and not every:
            continue
        shown += 1
        table.add_row(
            kept.id,
            f"#{offer.certificate_id}",
            directory.name(offer.financier),
            directory.name(offer.seller),
            money(offer.amount),
            _rate(offer.annual_rate),
            datetime.fromtimestamp(offer.expires_at, UTC).date().isoformat(),
            state,
        )
    if not shown:
        console().print(f"no {'' if every else 'open '}offers in {_offers_dir(runtime)}")
        return
    echo_table(table)


@offer_app.command("accept")
def offer_accept(
    offer_id: Annotated[str, typer.Argument(help="The offer's id (from `scf offer list`), or its JSON file.")],
    as_: AsOption,
    amount: Annotated[
        str | None, typer.Option("--amount", help="Sell only this part, in CNY; by default all the offer buys.")
    ] = None,
) -> None:
    """Accept an offer as its seller: in one transaction the financier pays and the certificate passes to it."""
    runtime = open_runtime()
    directory = Directory(runtime)
    kept = _find_offer(runtime, offer_id)
    if kept.chain_id != runtime.ledger.chain_id or kept.desk.lower() != runtime.ledger.desk.address.lower():
        raise ScfError(f"offer {kept.id} was signed for another ledger (chain {kept.chain_id}, desk {kept.desk})")
    seller = directory.signer(as_)
    offer = kept.signed.offer
    whole = runtime.ledger.certificate(offer.certificate_id).face_value
    part = offer.amount if amount is None else parse_amount(amount)
    result = runtime.ledger.accept_offer(seller, kept.signed, None if part == whole else part)
    remainder = f"; the remainder #{result.remainder_id} stays with the seller" if result.remainder_id else ""
    console().print(
        f"{directory.name(seller.address)} sold certificate #{result.certificate_id} ({money(result.face_value)}) "
        f"to {directory.name(result.financier)} for {money(result.price)} ({money(result.interest)} interest, "
        f"{result.days} days to maturity){remainder} ({tx(result)})"
    )


def register(app: typer.Typer) -> None:
    """Adds ``scf offer`` to the command line."""
    app.add_typer(offer_app, name="offer")
