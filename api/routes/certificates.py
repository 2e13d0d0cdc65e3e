"""Certificates: issue, accept, reject, cancel, split, transfer, freeze, and reads."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from eth_account.signers.local import LocalAccount
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from api.deps import (
    CertificateId,
    CurrentCaller,
    GatewayDep,
    OperatorCaller,
    VisibleCertificate,
    require_role,
    visible_certificate,
)
from api.gateway import Caller, Gateway
from api.render.problems import Problem
from api.render.responses import WRITE_RESPONSES, problem_responses
from api.schemas import (
    Address,
    CertificateIssue,
    CertificateOut,
    CertificatePage,
    CertificateSplitRequest,
    CertificateStatus,
    CertificateTransfer,
    OperationOut,
    WriteResult,
)
from api.services.documents import document_to_anchor
from api.services.writes import ActionResult, certificate_out, perform, signer_for
from scf_chain.domain.types import Role, TxResult

router = APIRouter(prefix="/v1/certificates", tags=["certificates"])

CoreEnterprise = Annotated[Caller, Depends(require_role(Role.CORE_ENTERPRISE))]


def _change_certificate(
    gateway: Gateway,
    caller: Caller,
    request: Request,
    certificate_id: int,
    kind: str,
    change: Callable[[LocalAccount, int], TxResult],
) -> JSONResponse:
    """A write that changes one visible certificate in place, signed by the caller."""
    visible_certificate(gateway, caller, certificate_id)
    signer = signer_for(gateway, caller)

    def action() -> ActionResult:
        return change(signer, certificate_id), [certificate_id]

    return perform(gateway, caller, request, kind, action, creates=False)


WRITE: dict[int | str, dict[str, Any]] = {200: {"model": WriteResult}, 202: {"model": OperationOut}, **WRITE_RESPONSES}
CREATE: dict[int | str, dict[str, Any]] = {201: {"model": WriteResult}, 202: {"model": OperationOut}, **WRITE_RESPONSES}


@router.post(
    "",
    summary="Issue a certificate against an invoice",
    description="A core enterprise issues a payable certificate to a supplier, within its credit line. "
    "The certificate is pending until the supplier accepts it. The invoice or contract is anchored by its "
    "SHA-256: give `document_hash`, or `document_id` for a document you uploaded to `POST /v1/documents`. "
    "One invoice number backs one issuance of an obligor (409 `invoice_already_used`).",
    status_code=201,
    responses=CREATE,
    response_model=WriteResult,
)
def issue_certificate(
    body: CertificateIssue, caller: CoreEnterprise, gateway: GatewayDep, request: Request
) -> JSONResponse:
    ledger = gateway.runtime.ledger
    signer = signer_for(gateway, caller)
    document_hash = document_to_anchor(gateway, caller, body)

    def action() -> ActionResult:
        result = ledger.issue(
            signer, body.to, body.amount, body.maturity_date, document_hash, invoice_number=body.invoice_number
        )
        gateway.store.set_invoice_number(result.certificate_id, body.invoice_number)
        return result, [result.certificate_id]

    return perform(gateway, caller, request, "issue", action, creates=True)


@router.get(
    "",
    summary="List certificates",
    description="Members see the certificates they hold or owe; auditors and the operator see all.",
    response_model=CertificatePage,
    responses=problem_responses(401, 422),
)
def list_certificates(
    caller: CurrentCaller,
    gateway: GatewayDep,
    status: CertificateStatus | None = None,
    holder: Annotated[Address | None, Query()] = None,
    obligor: Annotated[Address | None, Query()] = None,
    maturity_from: date | None = None,
    maturity_to: date | None = None,
    invoice_number: Annotated[
        str | None,
        Query(min_length=1, max_length=100, description="Only the certificates of issuances against this invoice."),
    ] = None,
    issuances_only: Annotated[
        bool, Query(description="Only issued certificates (the roots of their trees), not the parts split from them.")
    ] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    # Bounded so that no offset overflows the index's 64-bit integers.
    offset: Annotated[int, Query(ge=0, le=2**40 - 1)] = 0,
) -> CertificatePage:
    records, total = gateway.index.certificates(
        party=None if caller.sees_everything else caller.address,
        status=None if status is None else status.value,
        holder=holder,
        obligor=obligor,
        maturity_from=maturity_from,
        maturity_to=maturity_to,
        root_ids=None if invoice_number is None else gateway.store.roots_with_invoice_number(invoice_number),
        issuances_only=issuances_only,
        limit=limit,
        offset=offset,
    )
    return CertificatePage(
        items=[certificate_out(gateway, record) for record in records],
        total=total,
        limit=limit,
        offset=offset,
        indexed_block=gateway.index.indexed_block,
    )


@router.get(
    "/{certificate_id}",
    summary="Read a certificate",
    response_model=CertificateOut,
    responses=problem_responses(401, 404, 422),
)
def get_certificate(certificate: VisibleCertificate, gateway: GatewayDep) -> CertificateOut:
    return certificate_out(gateway, certificate)


@router.post(
    "/{certificate_id}/accept",
    summary="Accept a pending certificate",
    description="The receiving supplier accepts a pending certificate, which makes it active.",
    responses=WRITE,
    response_model=WriteResult,
)
def accept_certificate(
    certificate_id: CertificateId, caller: CurrentCaller, gateway: GatewayDep, request: Request
) -> JSONResponse:
    return _change_certificate(gateway, caller, request, certificate_id, "accept", gateway.runtime.ledger.accept)


@router.post(
    "/{certificate_id}/reject",
    summary="Reject a pending certificate",
    description="The receiving supplier rejects a pending certificate: it is cancelled and the credit given back.",
    responses=WRITE,
    response_model=WriteResult,
)
def reject_certificate(
    certificate_id: CertificateId, caller: CurrentCaller, gateway: GatewayDep, request: Request
) -> JSONResponse:
    return _change_certificate(gateway, caller, request, certificate_id, "reject", gateway.runtime.ledger.reject)


@router.post(
    "/{certificate_id}/cancel",
    summary="Cancel a pending certificate",
    description="The obligor cancels a certificate it issued while it is still pending; the credit is given back.",
    responses=WRITE,
    response_model=WriteResult,
)
def cancel_certificate(
    certificate_id: CertificateId, caller: CurrentCaller, gateway: GatewayDep, request: Request
) -> JSONResponse:
    return _change_certificate(gateway, caller, request, certificate_id, "cancel", gateway.runtime.ledger.cancel)


@router.post(
    "/{certificate_id}/split",
    summary="Split a certificate into parts",
    description="The holder splits a certificate into 2 to 100 new certificates whose amounts sum exactly to its "
    "face value. Parts may go back to the holder. The parent is retired.",
    status_code=201,
    responses=CREATE,
    response_model=WriteResult,
)
def split_certificate(
    certificate_id: CertificateId,
    body: CertificateSplitRequest,
    caller: CurrentCaller,
    gateway: GatewayDep,
    request: Request,
) -> JSONResponse:
    visible_certificate(gateway, caller, certificate_id)
    signer = signer_for(gateway, caller)
    parts = [(part.to, part.amount) for part in body.parts]

    def action() -> ActionResult:
        result = gateway.runtime.ledger.split(signer, certificate_id, parts)
        return result, result.certificate_ids

    return perform(gateway, caller, request, "split", action, creates=True)


@router.post(
    "/{certificate_id}/transfer",
    summary="Transfer a certificate, whole or in part",
    description="Without an amount, the whole certificate moves to `to`. With an amount, that part moves and the "
    "remainder stays with the holder as a new certificate (201, remainder first).",
    responses={**WRITE, 201: {"model": WriteResult}},
    response_model=WriteResult,
)
def transfer_certificate(
    certificate_id: CertificateId,
    body: CertificateTransfer,
    caller: CurrentCaller,
    gateway: GatewayDep,
    request: Request,
) -> JSONResponse:
    record = visible_certificate(gateway, caller, certificate_id)
    signer = signer_for(gateway, caller)
    ledger = gateway.runtime.ledger
    whole = body.amount is None or body.amount == record.face_value

    def action() -> ActionResult:
        if whole:
            return ledger.transfer(signer, certificate_id, body.to), [certificate_id]
        assert body.amount is not None
        result = ledger.transfer_part(signer, certificate_id, body.to, body.amount)
        return result, result.certificate_ids

    return perform(gateway, caller, request, "transfer", action, creates=not whole)


@router.post(
    "/{certificate_id}/freeze",
    summary="Freeze a certificate (operator)",
    description="For example under a court order: a frozen certificate cannot move or change.",
    responses=WRITE,
    response_model=WriteResult,
)
def freeze_certificate(
    certificate_id: CertificateId, caller: OperatorCaller, gateway: GatewayDep, request: Request
) -> JSONResponse:
    _refuse_unchanged_freeze(gateway, caller, certificate_id, frozen=True)
    # signer_for gives the operator's key to the operator.
    return _change_certificate(
        gateway, caller, request, certificate_id, "freeze", gateway.runtime.ledger.freeze_certificate
    )


@router.post(
    "/{certificate_id}/unfreeze",
    summary="Unfreeze a certificate (operator)",
    responses=WRITE,
    response_model=WriteResult,
)
def unfreeze_certificate(
    certificate_id: CertificateId, caller: OperatorCaller, gateway: GatewayDep, request: Request
) -> JSONResponse:
    _refuse_unchanged_freeze(gateway, caller, certificate_id, frozen=False)
    # signer_for gives the operator's key to the operator.
    return _change_certificate(
        gateway, caller, request, certificate_id, "unfreeze", gateway.runtime.ledger.unfreeze_certificate
    )


def _refuse_unchanged_freeze(gateway: Gateway, caller: Caller, certificate_id: int, *, frozen: bool) -> None:
    """409 and no transaction when the certificate is already as asked; judged by the ledger, not the index."""
    visible_certificate(gateway, caller, certificate_id)
    if gateway.runtime.ledger.certificate(certificate_id).frozen == frozen:
        if frozen:
            raise Problem(
                409, "certificate_already_frozen", f"Certificate {certificate_id} is frozen already; nothing was sent."
            )
        raise Problem(409, "certificate_not_frozen", f"Certificate {certificate_id} is not frozen; nothing was sent.")
