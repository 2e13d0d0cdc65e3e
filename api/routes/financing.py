"""Discounting: financing requests, financiers' signed offers, and delivery versus payment.

A holder asks for financing on a certificate it holds (the request lives in the
gateway's database). Financiers it asked, or every financier when it named none, see
the request and quote: the gateway signs each offer (EIP-712) with the financier's
custodial key, naming the holder who asked as the only member who may accept it, and
keeps it. The holder compares the offers, priced exactly as the settlement desk will
price them, and accepts one: in one transaction the desk prices the certificate, the
financier pays the holder and the certificate (or the part sold) passes to the
financier as financed. An offer is signed for the amount it was priced for, and no
acceptance can sell the financier more.

Allowances: the gateway keeps each financier's allowance to the desk at what its open
offers may cost, raising it by an offer's price when the offer is made and lowering it
again when the offer is withdrawn, used or lapses (see ``api.services.financing``). The
balance is the financier's business: listings say whether it covers an offer's price
(``funded``), and an offer accepted against a balance that is short is refused with
409 and nothing moves.

Accepting part of a certificate leaves the remainder open for financing: a new request
for it, to the same financiers, and the other offers on the certificate sold from are
withdrawn with the reason.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any

from eth_utils import to_checksum_address
from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.responses import JSONResponse

from api.deps import CertificateId, CurrentCaller, GatewayDep, require_role, visible_certificate
from api.gateway import Caller, Gateway
from api.render.problems import Problem, not_found
from api.render.responses import WRITE_RESPONSES, problem_responses
from api.schemas import (
    FinancingRequestCreate,
    FinancingRequestOut,
    FinancingResult,
    OfferAccept,
    OfferCreate,
    OfferOut,
    OperationOut,
)
from api.services.financing import finance, make_offer, not_financeable, offer_status, request_status, withdraw
from api.services.payments import certificates_out
from api.services.writes import Report, respond, signer_for
from api.store import FinancingRequest, StoredOffer
from scf_chain.client.clock import SECONDS_PER_DAY, ledger_now, ledger_today
from scf_chain.domain.money import to_day
from scf_chain.domain.pricing import InvalidTerms, financing_price
from scf_chain.domain.types import Role

router = APIRouter(tags=["financing"])

Financier = Annotated[Caller, Depends(require_role(Role.FINANCIER))]
RequestId = Annotated[int, Path(ge=1, le=2**62, description="The financing request's id.")]
OfferId = Annotated[int, Path(ge=1, le=2**62, description="The offer's id.")]

# Bodies that may be left out altogether.
_WHOLE_CERTIFICATE = FinancingRequestCreate()
_AS_OFFERED = OfferAccept()

REQUEST_STATUSES = "^(open|financed|cancelled|replaced|closed)$"


def _name(gateway: Gateway, address: str) -> str | None:
    member = gateway.index.member(address)
    return member.name if member else None


def _request_out(gateway: Gateway, request: FinancingRequest, today: date) -> FinancingRequestOut:
    record = gateway.index.certificate(request.certificate_id)
    assert record is not None  # a request is made only for an indexed certificate
    return FinancingRequestOut(
        id=request.id,
        certificate_id=request.certificate_id,
        holder=request.holder,
        holder_name=_name(gateway, request.holder),
        obligor=record.obligor,
        obligor_name=_name(gateway, record.obligor),
        face_value=record.face_value,
        amount=request.amount if request.amount is not None else record.face_value,
        maturity_date=record.maturity_date,
        financiers=None if request.financiers is None else list(request.financiers),
        status=request_status(request, record, today),
        created_at=datetime.fromtimestamp(request.created_at, UTC),
    )


Funds = dict[str, tuple[Decimal, Decimal]]


def _funded(gateway: Gateway, financier: str, price: Decimal, funds: Funds) -> bool:
    """Whether ``financier``'s balance and allowance to the desk both cover ``price`` now (read once per listing)."""
    if financier not in funds:
        ledger = gateway.runtime.ledger
        funds[financier] = (ledger.balance_of(financier), ledger.allowance(financier))
    balance, allowance = funds[financier]
    return balance >= price and allowance >= price


def offer_out(gateway: Gateway, offer: StoredOffer, now: int, funds: Funds | None = None) -> OfferOut:
    record = gateway.index.certificate(offer.certificate_id)
    interest: Decimal | None
    price: Decimal | None
    if offer.status == "accepted" and offer.accepted_amount is not None:
        amount, interest, price, days = offer.accepted_amount, offer.interest, offer.price, offer.days or 0
    else:
        amount = offer.amount
        days = max(to_day(record.maturity_date) - now // SECONDS_PER_DAY, 0) if record else 0
        try:
            interest, price = financing_price(amount, offer.annual_rate, offer.day_count, days)
        except InvalidTerms:
            interest = price = None
    status = offer_status(offer, record, now)
    funded = None
    if status == "open" and price is not None:
        funded = _funded(gateway, offer.financier, price, {} if funds is None else funds)
    return OfferOut(
        id=offer.id,
        request_id=offer.request_id,
        certificate_id=offer.certificate_id,
        seller=offer.seller,
        financier=offer.financier,
        financier_name=_name(gateway, offer.financier),
        annual_rate=offer.annual_rate,
        day_count=offer.day_count,
        recourse=offer.recourse,
        amount=amount,
        days=days,
        interest=interest,
        price=price,
        expires_at=datetime.fromtimestamp(offer.expires_at, UTC),
        status=status,
        withdrawn_because=offer.withdrawn_because,
        funded=funded,
        nonce=offer.nonce,
        signature=offer.signature,
        created_at=datetime.fromtimestamp(offer.created_at, UTC),
        financed_certificate_id=offer.financed_id,
        tx_hash=offer.tx_hash,
    )


def _open_request_for(gateway: Gateway, certificate_id: int, financier: str) -> FinancingRequest | None:
    """The newest open request on the certificate addressed to ``financier`` (or to every financier)."""
    for request in gateway.store.financing_requests(certificate_id=certificate_id, status="open"):
        if request.addressed_to(financier):
            return request
    return None


def _visible_offer(gateway: Gateway, caller: Caller, offer_id: int) -> StoredOffer:
    offer = gateway.store.offer(offer_id)
    if offer is None or not (caller.sees_everything or caller.address in (offer.seller, offer.financier)):
        raise not_found("offer")
    return offer


WRITE: dict[int | str, dict[str, Any]] = {200: {"model": OfferOut}, 202: {"model": OperationOut}, **WRITE_RESPONSES}


# Financing requests


@router.post(
    "/v1/certificates/{certificate_id}/financing-requests",
    summary="Ask financiers to quote for financing a certificate",
    description="The holder of an active certificate asks the financiers it names (or every financier, when it "
    "names none) for offers, for the whole certificate or a part (`amount`). A new request replaces the "
    "holder's open one on the same certificate. Certificates that cannot be financed (pending, financed, settled, "
    "overdue, frozen, matured) get 409 with the ledger's code.",
    status_code=201,
    response_model=FinancingRequestOut,
    responses={
        201: {"model": FinancingRequestOut},
        202: {"model": OperationOut},
        **problem_responses(401, 403, 404, 409, 413, 422, 429),
    },
)
def create_financing_request(
    certificate_id: CertificateId,
    caller: CurrentCaller,
    gateway: GatewayDep,
    request: Request,
    body: Annotated[FinancingRequestCreate, Body()] = _WHOLE_CERTIFICATE,
) -> JSONResponse:
    record = visible_certificate(gateway, caller, certificate_id)
    if record.holder != caller.address:
        raise Problem(403, "not_certificate_holder", "Only the certificate's holder may ask for financing.")
    today = ledger_today()
    problem = not_financeable(record, today)
    if problem is not None:
        raise problem
    if body.amount is not None and body.amount > record.face_value:
        raise Problem(
            422,
            "finance_amount_above_face",
            f"{body.amount:,.2f} is more than the face value {record.face_value:,.2f} of certificate {record.id}.",
            field="amount",
        )
    financiers: tuple[str, ...] | None = None
    if body.financiers is not None:
        financiers = tuple(dict.fromkeys(body.financiers))
        for address in financiers:
            member = gateway.index.member(address)
            if member is None or member.role != Role.FINANCIER or member.frozen:
                raise Problem(
                    422,
                    "not_a_financier",
                    f"{address} is not an active financier of the consortium.",
                    field="financiers",
                )
    amount = None if body.amount is None or body.amount == record.face_value else body.amount

    def action(report: Report) -> FinancingRequestOut:
        created = gateway.store.create_financing_request(certificate_id, caller.address, amount, financiers)
        return _request_out(gateway, created, today)

    return respond(gateway, caller, request, "financing_request", action, status_code=201)


@router.get(
    "/v1/financing-requests",
    summary="List financing requests",
    description="A financier sees the open requests addressed to it or to every financier; a holder sees its "
    "own requests; auditors and the operator see all.",
    response_model=list[FinancingRequestOut],
    responses=problem_responses(401, 422),
)
def list_financing_requests(
    caller: CurrentCaller,
    gateway: GatewayDep,
    status: Annotated[str | None, Query(pattern=REQUEST_STATUSES)] = None,
    certificate_id: Annotated[int | None, Query(ge=1, le=2**40 - 1)] = None,
) -> list[FinancingRequestOut]:
    today = ledger_today()
    store = gateway.store
    if caller.sees_everything:
        requests = store.financing_requests(certificate_id=certificate_id)
    else:
        requests = store.financing_requests(holder=caller.address, certificate_id=certificate_id)
        if caller.role == Role.FINANCIER:
            addressed = [
                r
                for r in store.financing_requests(certificate_id=certificate_id, status="open")
                if r.addressed_to(caller.address) and r.holder != caller.address
            ]
            requests = sorted([*requests, *addressed], key=lambda r: -r.id)
    out = [_request_out(gateway, request, today) for request in requests]
    if caller.role == Role.FINANCIER:
        # Addressed requests are shown while they are open; a financier's own requests always.
        out = [r for r in out if r.holder == caller.address or r.status == "open"]
    if status is not None:
        out = [r for r in out if r.status == status]
    return out


@router.post(
    "/v1/financing-requests/{request_id}/cancel",
    summary="Cancel a financing request",
    description="The holder stops asking for offers. Offers made already stay open until they expire, are "
    "withdrawn or the holder accepts one.",
    response_model=FinancingRequestOut,
    responses={
        200: {"model": FinancingRequestOut},
        202: {"model": OperationOut},
        **problem_responses(401, 404, 409, 429),
    },
)
def cancel_financing_request(
    request_id: RequestId, caller: CurrentCaller, gateway: GatewayDep, request: Request
) -> JSONResponse:
    asked = gateway.store.financing_request(request_id)
    if asked is None or asked.holder != caller.address:
        raise not_found("financing request")

    def action(report: Report) -> FinancingRequestOut:
        if not gateway.store.set_financing_request_status(request_id, "cancelled", only_if="open"):
            raise Problem(409, "financing_request_not_open", f"Financing request {request_id} is {asked.status}.")
        refreshed = gateway.store.financing_request(request_id)
        assert refreshed is not None
        return _request_out(gateway, refreshed, ledger_today())

    return respond(gateway, caller, request, "cancel_financing_request", action)


# Offers


@router.post(
    "/v1/offers",
    summary="Make a financing offer (financier)",
    description="A financier with an open financing request on the certificate quotes a simple discount rate a "
    "year on a 360 or 365 day-count basis, until `expires_at`, with or without recourse to the seller. The "
    "gateway signs the offer (EIP-712) with the financier's key for the amount requested, made to the member who "
    "asked: only that member can accept it, even if the certificate changes hands, and for no more than that "
    "amount. The gateway keeps the financier's allowance to the settlement desk at what its open offers may cost: "
    "this offer raises it by its price (on the offer's last day, if it runs past today), and withdrawing, using "
    "or letting the offer lapse lowers it again. The financier must still hold the tokens (`funded`).",
    status_code=201,
    response_model=OfferOut,
    responses={201: {"model": OfferOut}, 202: {"model": OperationOut}, **WRITE_RESPONSES},
)
def create_offer(body: OfferCreate, caller: Financier, gateway: GatewayDep, request: Request) -> JSONResponse:
    financing = _open_request_for(gateway, body.certificate_id, caller.address)
    record = gateway.index.certificate(body.certificate_id)
    if financing is None or record is None:
        raise not_found("certificate")
    now = ledger_now()
    if record.holder != financing.holder:
        raise Problem(
            409, "financing_request_closed", f"Certificate {record.id} changed hands since financing was requested."
        )
    problem = not_financeable(record, ledger_today())
    if problem is not None:
        raise problem
    expires_at = int(body.expires_at.timestamp())
    if expires_at <= now:
        raise Problem(
            422,
            "offer_expiry_in_past",
            f"expires_at {body.expires_at.isoformat()} is not after the ledger's time now, "
            f"{datetime.fromtimestamp(now, UTC).isoformat()}.",
            field="expires_at",
        )
    amount = financing.amount if financing.amount is not None else record.face_value
    days = to_day(record.maturity_date) - now // SECONDS_PER_DAY
    try:
        financing_price(amount, body.annual_rate, body.day_count, days)
    except InvalidTerms as exc:
        text = str(exc)
        raise Problem(422, "interest_not_below_face", f"{text[:1].upper()}{text[1:]}.", field="annual_rate") from None
    signer = signer_for(gateway, caller)

    def action(report: Report) -> OfferOut:
        stored = make_offer(
            gateway,
            signer,
            financing,
            record,
            amount=amount,
            annual_rate=body.annual_rate,
            day_count=body.day_count,
            expires_at=expires_at,
            recourse=body.recourse,
        )
        return offer_out(gateway, stored, ledger_now())

    return respond(gateway, caller, request, "offer", action, status_code=201)


@router.get(
    "/v1/certificates/{certificate_id}/offers",
    summary="List the offers on a certificate",
    description="The holder who asked for financing sees every offer made to it, best price first; a financier "
    "sees its own (an empty list while a request asks it and it has not offered); auditors and the operator see "
    "all. Anyone else gets the same 404 as for a missing certificate. Prices are the desk's, for acceptance today, "
    "and each open offer says whether its financier's balance and allowance cover the price today (`funded`).",
    response_model=list[OfferOut],
    responses=problem_responses(401, 404, 422, 503),
)
def list_offers(certificate_id: CertificateId, caller: CurrentCaller, gateway: GatewayDep) -> list[OfferOut]:
    record = gateway.index.certificate(certificate_id)
    if record is None:
        raise not_found("certificate")
    offers = gateway.store.offers(certificate_id=certificate_id)
    if not caller.sees_everything:
        offers = [o for o in offers if caller.address in (o.seller, o.financier)]
        # Only a financier can be among those a request asks; anyone else must see the certificate itself.
        asked = caller.role == Role.FINANCIER and _open_request_for(gateway, certificate_id, caller.address) is not None
        if not offers and not asked:
            visible_certificate(gateway, caller, certificate_id)  # the same 404 for what the caller cannot see
    now = ledger_now()
    funds: Funds = {}
    out = [offer_out(gateway, offer, now, funds) for offer in offers]
    out.sort(key=lambda o: (o.status != "open", -(o.price or Decimal(0)), o.id))
    return out


@router.get(
    "/v1/offers/{offer_id}",
    summary="Read an offer",
    description="Visible to its financier, to the holder it was made to, to auditors and the operator.",
    response_model=OfferOut,
    responses=problem_responses(401, 404, 422, 503),
)
def get_offer(offer_id: OfferId, caller: CurrentCaller, gateway: GatewayDep) -> OfferOut:
    return offer_out(gateway, _visible_offer(gateway, caller, offer_id), ledger_now())


@router.post(
    "/v1/offers/{offer_id}/withdraw",
    summary="Withdraw an offer (financier)",
    description="The financier withdraws its offer on the ledger too: its nonce is spent, so the signed offer "
    "can never be accepted. An offer accepted or withdrawn already gets 409 `offer_nonce_used`.",
    response_model=OfferOut,
    responses=WRITE,
)
def withdraw_offer(offer_id: OfferId, caller: Financier, gateway: GatewayDep, request: Request) -> JSONResponse:
    offer = _visible_offer(gateway, caller, offer_id)
    if offer.financier != caller.address:
        raise not_found("offer")
    signer = signer_for(gateway, caller)

    def action(report: Report) -> OfferOut:
        return offer_out(gateway, withdraw(gateway, signer, offer), ledger_now())

    return respond(gateway, caller, request, "withdraw_offer", action)


@router.post(
    "/v1/offers/{offer_id}/accept",
    summary="Accept an offer: sell the certificate, delivery versus payment",
    description="The holder who asked for financing accepts an offer. In one ledger transaction the desk prices "
    "what is sold, the financier pays the price to the holder and the certificate passes to the financier as "
    "financed; all of it or nothing. Without `amount`, the amount the offer was made for is sold (the requested "
    "part, else the whole certificate); an `amount` above it gets 422 `finance_amount_above_offer`. A part is "
    "split off and the remainder stays with the holder, open for financing under a new request to the same "
    "financiers; the other offers on the certificate sold from are withdrawn, with the reason. An expired, "
    "withdrawn or already accepted offer, a certificate that cannot be financed, or a financier short of "
    "tokens or allowance get 409 with the ledger's code.",
    response_model=FinancingResult,
    responses={200: {"model": FinancingResult}, 202: {"model": OperationOut}, **WRITE_RESPONSES},
)
def accept_offer(
    offer_id: OfferId,
    caller: CurrentCaller,
    gateway: GatewayDep,
    request: Request,
    body: Annotated[OfferAccept, Body()] = _AS_OFFERED,
) -> JSONResponse:
    offer = _visible_offer(gateway, caller, offer_id)
    if offer.seller != caller.address:
        raise Problem(403, "not_certificate_holder", "Only the holder the offer was made to may accept it.")
    record = gateway.index.certificate(offer.certificate_id)
    assert record is not None
    amount = body.amount if body.amount is not None else offer.amount
    if amount > offer.amount:
        raise Problem(
            422,
            "finance_amount_above_offer",
            f"{amount:,.2f} is more than the {offer.amount:,.2f} that "
            f"{_name(gateway, offer.financier) or offer.financier} offered to buy in offer {offer.id}; "
            "ask for a new offer to sell more.",
            field="amount",
        )
    if amount > record.face_value:
        raise Problem(
            422,
            "finance_amount_above_face",
            f"{amount:,.2f} is more than the face value {record.face_value:,.2f} of certificate {record.id}.",
            field="amount",
        )
    signer = signer_for(gateway, caller)

    def action(report: Report) -> FinancingResult:
        sold = finance(gateway, signer, offer, amount)
        result = sold.result
        ids = [result.certificate_id] + ([result.remainder_id] if result.remainder_id is not None else [])
        return FinancingResult(
            offer=offer_out(gateway, sold.offer, ledger_now()),
            tx_hash=result.tx_hash,
            block_number=result.block_number,
            certificate_id=result.certificate_id,
            remainder_id=result.remainder_id,
            remainder_request_id=sold.remainder_request.id if sold.remainder_request else None,
            seller=to_checksum_address(result.seller),
            financier=to_checksum_address(result.financier),
            face_value=result.face_value,
            interest=result.interest,
            price=result.price,
            days=result.days,
            certificates=certificates_out(gateway, ids),
            indexed_block=sold.indexed_block,
        )

    return respond(gateway, caller, request, "accept_offer", action)
