"""Settlement at maturity, presentment, overdue marking and recourse.

- A core enterprise reads what it owes (``GET /v1/obligations``) and, from the maturity
  day, settles an issuance (``POST /v1/settlements``): the gateway pays every unpaid
  certificate of it, in batches of at most 200 per transaction, each holder its face
  value. It first approves the settlement desk on the obligor's behalf for exactly the
  amount to pay, on top of what the obligor allowed already (see below), so that a
  standing allowance for presentment is kept.
- A holder may instead present a matured certificate (``POST .../present``): it is paid
  from the obligor's allowance to the desk, which the obligor sets beforehand with
  ``PUT /v1/allowance`` (for example to what it owes, from ``GET /v1/obligations``).
- After maturity and the grace period anyone who can see a certificate marks it, or a
  whole issuance, overdue. A financier who bought with recourse then records a claim on
  the seller, who pays it (the gateway approves the face value on the seller's behalf)
  and takes the certificate back.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse

from api.deps import (
    CertificateId,
    CurrentCaller,
    GatewayDep,
    VisibleCertificate,
    require_role,
    visible_certificate,
    visible_member,
)
from api.gateway import Caller, Gateway
from api.render.problems import Problem, not_found
from api.render.responses import WRITE_RESPONSES, problem_responses
from api.schemas import (
    CertificateStatus,
    HolderTotal,
    MaturityTotal,
    ObligationItem,
    ObligationsOut,
    OperationOut,
    OverdueOut,
    PresentmentOut,
    RecourseClaimOut,
    SettlementCreate,
    SettlementOut,
    SettlementStatusOut,
)
from api.services import overdue
from api.services.payments import certificates_out
from api.services.settlement import financier_paid, pay_recourse, settle, settlement_status
from api.services.writes import Report, respond, signer_for
from scf_chain.client.clock import ledger_today
from scf_chain.domain.types import RecourseClaimStatus, Role
from scf_chain.index.indexer import CertificateRecord

router = APIRouter(tags=["settlement"])

PAGE = 500

CoreEnterprise = Annotated[Caller, Depends(require_role(Role.CORE_ENTERPRISE))]
Financier = Annotated[Caller, Depends(require_role(Role.FINANCIER))]
ObligationsReader = Annotated[Caller, Depends(require_role(Role.CORE_ENTERPRISE, Role.OPERATOR, Role.AUDITOR))]
RootId = Annotated[int, Path(ge=1, le=2**40 - 1, description="The issuance: the id of its first certificate.")]


def _write(model: type[Any], status: int = 200) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": model}, 202: {"model": OperationOut}, **WRITE_RESPONSES}


def _name(gateway: Gateway, address: str) -> str | None:
    member = gateway.index.member(address)
    return member.name if member else None


# What is owed


def _owed(gateway: Gateway, obligor: str) -> list[CertificateRecord]:
    owed: list[CertificateRecord] = []
    for status in overdue.UNSETTLED:
        offset = 0
        while True:
            records, total = gateway.index.certificates(obligor=obligor, status=status, limit=PAGE, offset=offset)
            owed += records
            offset += len(records)
            if not records or offset >= total:
                break
    return sorted(owed, key=lambda c: (c.maturity_date, c.id))


@router.get(
    "/v1/obligations",
    summary="What a core enterprise owes, by maturity date and by holder",
    description="The active, financed and overdue certificates the caller is obligor of, grouped by maturity "
    "date (with the issuances to settle) and by holder, with totals, the caller's token balance and its "
    "allowance to the settlement desk. The operator and auditors name an obligor with `obligor`.",
    response_model=ObligationsOut,
    responses=problem_responses(401, 403, 404, 422, 503),
)
def get_obligations(
    caller: ObligationsReader,
    gateway: GatewayDep,
    obligor: Annotated[str | None, Query(description="The core enterprise (operator and auditors).")] = None,
) -> ObligationsOut:
    address = caller.address
    if caller.sees_everything:
        if obligor is None:
            raise Problem(422, "validation_error", "Obligor: name the core enterprise.", field="obligor")
        record = visible_member(gateway, caller, obligor)
        if record.role != Role.CORE_ENTERPRISE:
            raise not_found("core enterprise")
        address = record.address
    elif obligor is not None and obligor.lower() != caller.address.lower():
        raise not_found("core enterprise")
    indexed_block = gateway.index.indexed_block
    owed = _owed(gateway, address)
    today = ledger_today()
    names: dict[str, str | None] = {}

    def name(holder: str) -> str | None:
        if holder not in names:
            names[holder] = _name(gateway, holder)
        return names[holder]

    by_date: dict[date, list[CertificateRecord]] = defaultdict(list)
    by_holder: dict[str, list[CertificateRecord]] = defaultdict(list)
    for certificate in owed:
        by_date[certificate.maturity_date].append(certificate)
        by_holder[certificate.holder or certificate.last_holder].append(certificate)
    ledger = gateway.runtime.ledger
    return ObligationsOut(
        obligor=address,
        as_of=today,
        total=sum((c.face_value for c in owed), Decimal("0.00")),
        certificate_count=len(owed),
        by_maturity=[
            MaturityTotal(
                maturity_date=day,
                total=sum((c.face_value for c in items), Decimal("0.00")),
                due=day <= today,
                root_ids=sorted({c.root_id for c in items}),
                certificates=[
                    ObligationItem(
                        id=c.id,
                        root_id=c.root_id,
                        holder=c.holder or c.last_holder,
                        holder_name=name(c.holder or c.last_holder),
                        amount=c.face_value,
                        status=CertificateStatus(c.status),
                        maturity_date=c.maturity_date,
                    )
                    for c in items
                ],
            )
            for day, items in sorted(by_date.items())
        ],
        by_holder=[
            HolderTotal(
                holder=holder,
                holder_name=name(holder),
                total=sum((c.face_value for c in items), Decimal("0.00")),
                certificate_count=len(items),
            )
            for holder, items in sorted(by_holder.items(), key=lambda item: -sum(c.face_value for c in item[1]))
        ],
        balance=ledger.balance_of(address),
        allowance=ledger.allowance(address),
        indexed_block=indexed_block,
    )


# Settlement


def _issuance_root(gateway: Gateway, caller: Caller, root_id: int) -> CertificateRecord:
    record = visible_certificate(gateway, caller, root_id)
    if record.root_id != record.id:
        raise Problem(
            422,
            "not_an_issuance_root",
            f"Certificate {record.id} is part of issuance {record.root_id}; name the issuance by its first "
            "certificate.",
            field="root_id",
        )
    return record


@router.post(
    "/v1/settlements",
    summary="Settle an issuance at maturity (obligor)",
    description="From the maturity day, the obligor pays every unpaid certificate of the issuance its face value, "
    "to whoever holds it (suppliers and financiers alike). The gateway lists the certificates from the index, "
    "approves the settlement desk on the obligor's behalf for exactly the total (added to any allowance the "
    "obligor set), and pays them in batches of at most 200 certificates per transaction. The response lists "
    "every batch and payment; with `Prefer: respond-async` the operation shows the batches done so far. "
    "Certificates settled already are skipped, so settling again pays nothing; frozen certificates, and those "
    "held by a frozen member, are left unpaid (`skipped_frozen`) until unfrozen. Before maturity: 409 "
    "`not_yet_matured`; too few tokens: 409 `erc20_insufficient_balance`, before anything is paid.",
    response_model=SettlementOut,
    responses=_write(SettlementOut),
)
def create_settlement(
    body: SettlementCreate, caller: CoreEnterprise, gateway: GatewayDep, request: Request
) -> JSONResponse:
    record = gateway.index.certificate(body.root_id)
    if record is None or record.obligor != caller.address:
        raise not_found("certificate")
    root = _issuance_root(gateway, caller, body.root_id)
    signer = signer_for(gateway, caller)

    def action(report: Report) -> SettlementOut:
        return settle(gateway, signer, root, report)

    return respond(gateway, caller, request, "settlement", action)


@router.get(
    "/v1/settlements/{root_id}",
    summary="How far an issuance is settled",
    description="What the issuance has been paid and what is outstanding, from the index. Visible to whoever "
    "can see the issuance's first certificate.",
    response_model=SettlementStatusOut,
    responses=problem_responses(401, 404, 422),
)
def get_settlement(root_id: RootId, caller: CurrentCaller, gateway: GatewayDep) -> SettlementStatusOut:
    return settlement_status(gateway, _issuance_root(gateway, caller, root_id), ledger_today())


@router.post(
    "/v1/certificates/{certificate_id}/present",
    summary="Present a matured certificate for payment (holder)",
    description="The holder of a matured certificate is paid its face value from the obligor's allowance to the "
    "settlement desk (the obligor sets it with `PUT /v1/allowance`). Without enough allowance: 409 "
    "`erc20_insufficient_allowance`; before maturity: 409 `not_yet_matured`.",
    response_model=PresentmentOut,
    responses=_write(PresentmentOut),
)
def present_certificate(
    certificate_id: CertificateId, caller: CurrentCaller, gateway: GatewayDep, request: Request
) -> JSONResponse:
    record = visible_certificate(gateway, caller, certificate_id)
    if record.holder is None:
        raise Problem(
            409, "certificate_wrong_status", f"Certificate {record.id} is {record.status}; there is nothing to present."
        )
    if record.holder != caller.address:
        raise Problem(403, "not_certificate_holder", "Only the certificate's holder may present it for payment.")
    ledger = gateway.runtime.ledger
    signer = signer_for(gateway, caller)

    def action(report: Report) -> PresentmentOut:
        result = ledger.present(signer, certificate_id)
        indexed_block = gateway.wait_indexed(result.block_number)
        paid_id, holder, amount, late = result.payments[0]
        return PresentmentOut(
            certificate_id=paid_id,
            root_id=result.root_id,
            holder=holder,
            amount=amount,
            late=late,
            tx_hash=result.tx_hash,
            block_number=result.block_number,
            certificates=certificates_out(gateway, [paid_id]),
            indexed_block=indexed_block,
        )

    return respond(gateway, caller, request, "present", action)


@router.post(
    "/v1/certificates/{certificate_id}/mark-overdue",
    summary="Mark unpaid certificates overdue after the grace period",
    description="Anyone who can see the certificate may mark it overdue once its maturity and the grace period "
    "(3 days by default) have passed unpaid. Given an issuance's first certificate, every unpaid certificate of "
    "the issuance is marked, in batches of at most 200. Before then: 409 `grace_period_not_over`.",
    response_model=OverdueOut,
    responses=_write(OverdueOut),
)
def mark_overdue(
    certificate_id: CertificateId, caller: CurrentCaller, gateway: GatewayDep, request: Request
) -> JSONResponse:
    record = visible_certificate(gateway, caller, certificate_id)
    signer = signer_for(gateway, caller)
    root_id = record.root_id

    def action(report: Report) -> OverdueOut:
        marked = overdue.mark_overdue(gateway, signer, root_id, certificate_id)
        return OverdueOut(
            root_id=root_id,
            certificates_marked=len(marked.certificate_ids),
            certificate_ids=marked.certificate_ids,
            batches=marked.tx_hashes,
            certificates=certificates_out(gateway, marked.certificate_ids),
            indexed_block=marked.indexed_block,
        )

    return respond(gateway, caller, request, "mark_overdue", action)


# Recourse


def _claim_out(
    gateway: Gateway, record: CertificateRecord, seller: str, financier: str, status: RecourseClaimStatus
) -> RecourseClaimOut:
    return RecourseClaimOut(
        certificate_id=record.id, seller=seller, financier=financier, amount=record.face_value, status=status.label
    )


@router.post(
    "/v1/certificates/{certificate_id}/recourse-claims",
    summary="Record a recourse claim on the seller (financier)",
    description="The financier holding an overdue certificate it bought with recourse records its claim for the "
    "face value on the member who sold it. Without recourse: 409 `not_financed_with_recourse`; not overdue: 409 "
    "`certificate_wrong_status`.",
    status_code=201,
    response_model=RecourseClaimOut,
    responses=_write(RecourseClaimOut, 201),
)
def record_recourse_claim(
    certificate_id: CertificateId, caller: Financier, gateway: GatewayDep, request: Request
) -> JSONResponse:
    record = visible_certificate(gateway, caller, certificate_id)
    if record.holder != caller.address:
        raise Problem(403, "not_certificate_holder", "Only the financier holding the certificate may claim recourse.")
    ledger = gateway.runtime.ledger
    signer = signer_for(gateway, caller)

    def action(report: Report) -> RecourseClaimOut:
        result = ledger.record_recourse_claim(signer, certificate_id)
        recourse = ledger.recourse(certificate_id)
        assert recourse is not None
        indexed_block = gateway.wait_indexed(result.block_number)
        out = _claim_out(gateway, record, recourse.seller, caller.address, recourse.claim)
        return out.model_copy(
            update={
                "tx_hash": result.tx_hash,
                "block_number": result.block_number,
                "certificates": certificates_out(gateway, [certificate_id]),
                "indexed_block": indexed_block,
            }
        )

    return respond(gateway, caller, request, "recourse_claim", action, status_code=201)


@router.get(
    "/v1/certificates/{certificate_id}/recourse-claims",
    summary="The recourse claim on a certificate",
    description="The claim recorded on a certificate financed with recourse (at most one): its seller, financier, "
    "amount and status (recorded or paid). Empty when none was recorded.",
    response_model=list[RecourseClaimOut],
    responses=problem_responses(401, 404, 422, 503),
)
def list_recourse_claims(record: VisibleCertificate, gateway: GatewayDep) -> list[RecourseClaimOut]:
    recourse = gateway.runtime.ledger.recourse(record.id)
    if recourse is None or recourse.claim is RecourseClaimStatus.NONE:
        return []
    if recourse.claim is RecourseClaimStatus.PAID:
        financier = financier_paid(gateway, record) or record.last_holder
    else:
        financier = record.holder or record.last_holder
    return [_claim_out(gateway, record, recourse.seller, financier, recourse.claim)]


@router.post(
    "/v1/certificates/{certificate_id}/recourse-claims/pay",
    summary="Pay a recourse claim (seller)",
    description="The seller pays the financier the certificate's face value and takes the overdue certificate "
    "back, with the claim on the obligor. The gateway approves the settlement desk on the seller's behalf for "
    "the face value (added to any allowance it set). Too few tokens: 409 `erc20_insufficient_balance`; no claim "
    "recorded: 409 `recourse_claim_wrong_status`.",
    response_model=RecourseClaimOut,
    responses=_write(RecourseClaimOut),
)
def pay_recourse_claim(
    certificate_id: CertificateId, caller: CurrentCaller, gateway: GatewayDep, request: Request
) -> JSONResponse:
    record = visible_certificate(gateway, caller, certificate_id)
    recourse = gateway.runtime.ledger.recourse(certificate_id)
    if recourse is None:
        raise Problem(
            409, "not_financed_with_recourse", f"Certificate {certificate_id} was not financed with recourse."
        )
    if recourse.seller != caller.address:
        raise Problem(403, "not_recourse_seller", "Only the seller that recourse runs against may pay the claim.")
    signer = signer_for(gateway, caller)

    def action(report: Report) -> RecourseClaimOut:
        result, financier = pay_recourse(gateway, signer, record)
        indexed_block = gateway.wait_indexed(result.block_number)
        out = _claim_out(gateway, record, caller.address, financier, RecourseClaimStatus.PAID)
        return out.model_copy(
            update={
                "tx_hash": result.tx_hash,
                "block_number": result.block_number,
                "certificates": certificates_out(gateway, [certificate_id]),
                "indexed_block": indexed_block,
            }
        )

    return respond(gateway, caller, request, "recourse_payment", action)
