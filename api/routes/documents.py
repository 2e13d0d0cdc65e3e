"""Invoices and contracts: upload, check a file against a certificate's anchor, download."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, NoReturn

from fastapi import APIRouter, Form, Path, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import FileResponse, JSONResponse

from api.deps import CurrentCaller, GatewayDep, requested_lookup, visible_provenance
from api.gateway import Caller, Gateway
from api.render.problems import Problem, method_not_allowed, not_found
from api.render.responses import problem_responses
from api.schemas import DocumentCheck, DocumentCheckForm, DocumentOut, DocumentUploadForm
from api.services.documents import (
    clean_content_type,
    clean_filename,
    document_hash,
    document_path,
    normalize_hash,
    save_document,
    served_content_type,
)
from api.store import DocumentUpload

router = APIRouter(prefix="/v1/documents", tags=["documents"])

MULTIPART = "multipart/form-data"
HASH_PATTERN = r"^(0x)?[0-9a-fA-F]{64}$"


def _read(gateway: Gateway, upload: DocumentUploadForm | DocumentCheckForm) -> bytes:
    limit = gateway.settings.max_document_bytes
    content = upload.file.file.read(limit + 1)
    if len(content) > limit:
        raise Problem(413, "document_too_large", f"A document may be at most {limit} bytes.", field="file")
    if not content:
        raise Problem(422, "empty_document", "The file is empty.", field="file")
    return content


def document_out(upload: DocumentUpload) -> DocumentOut:
    return DocumentOut(
        document_hash=upload.document_hash,
        size=upload.size,
        content_type=upload.content_type,
        filename=upload.filename,
        uploaded_at=datetime.fromtimestamp(upload.uploaded_at, UTC),
    )


@router.post(
    "",
    summary="Upload an invoice or contract",
    description="Stores the file, content-addressed, and answers with its `document_hash`: the SHA-256 of its "
    "bytes, `0x` and 64 hex digits (the same hash `scf issue --document FILE` anchors). Issue a certificate "
    "against it with `document_id` set to that hash. Multipart form with one field, `file`; at most "
    "10 MiB unless the operator configured otherwise (`SCF_MAX_DOCUMENT_BYTES`). Uploading the same bytes "
    "again changes nothing but the recorded name and type.",
    status_code=201,
    response_model=DocumentOut,
    responses=problem_responses(401, 413, 422, 429),
)
def upload_document(
    form: Annotated[DocumentUploadForm, Form(media_type=MULTIPART)], caller: CurrentCaller, gateway: GatewayDep
) -> JSONResponse:
    content = _read(gateway, form)
    hash_ = save_document(gateway, content)
    upload = gateway.store.record_document_upload(
        hash_,
        caller.address,
        clean_filename(form.file.filename),
        clean_content_type(form.file.content_type),
        len(content),
    )
    return JSONResponse(
        jsonable_encoder(document_out(upload)), status_code=201, headers={"Location": f"/v1/documents/{hash_}"}
    )


@router.post(
    "/verify",
    summary="Check a file against the document a certificate's tree is anchored on",
    description="Hashes the file (SHA-256) and compares it with the document hash the ledger holds for the "
    "issuance at the root of the certificate's tree, read from the chain at the index's block. Multipart form "
    "with `file` and `certificate_id`. Visible to those who may see the certificate's provenance.",
    response_model=DocumentCheck,
    responses=problem_responses(401, 404, 413, 422, 429, 503),
)
def verify_document(
    form: Annotated[DocumentCheckForm, Form(media_type=MULTIPART)], caller: CurrentCaller, gateway: GatewayDep
) -> DocumentCheck:
    provenance = visible_provenance(gateway, caller, form.certificate_id)
    content = _read(gateway, form)
    root = provenance.root.id
    anchored = gateway.runtime.ledger.certificate(root, block=provenance.indexed_block).document_hash
    hash_ = document_hash(content)
    return DocumentCheck(
        matches=hash_ == anchored.lower(),
        document_hash=hash_,
        anchored_hash=anchored,
        root_id=root,
        certificate_id=form.certificate_id,
        indexed_block=provenance.indexed_block,
    )


def _may_download(gateway: Gateway, caller: Caller, hash_: str) -> bool:
    """Whether the caller may see a tree anchored on the document."""
    if caller.sees_everything:
        return True
    root = gateway.runtime.ledger.issuance_of(hash_)
    if root is None:
        return False
    with gateway.index.snapshot() as snapshot:
        record = snapshot.certificate(root)
        if record is None or record.document_hash.lower() != hash_:
            return False  # not indexed yet
        if caller.address == record.obligor or snapshot.held_in_tree(caller.address, root):
            return True
    if requested_lookup(gateway, caller) is None:
        return False
    try:  # a financier asked to finance part of the tree
        visible_provenance(gateway, caller, root)
    except Problem:
        return False
    return True


@router.api_route("/verify", methods=["GET", "HEAD"], include_in_schema=False, response_model=None)
def verify_takes_a_post(request: Request) -> NoReturn:
    """405: /verify also fits /{document_hash}, and OpenAPI reads a concrete path before a template, so
    GET /v1/documents/verify is not a download of a document named "verify" (which answered 422)."""
    raise method_not_allowed(request)


@router.get(
    "/{document_hash}",
    summary="Download a document",
    description="The file as uploaded. For its uploaders, and for members who may see a certificate tree "
    "anchored on it (its obligor, those who held part of it, auditors and the operator); 404 for anyone else.",
    response_class=FileResponse,
    responses={200: {"content": {"application/octet-stream": {}}}, **problem_responses(401, 404, 422)},
)
def download_document(
    document_hash: Annotated[str, Path(pattern=HASH_PATTERN, description="The document's SHA-256.")],
    caller: CurrentCaller,
    gateway: GatewayDep,
) -> FileResponse:
    hash_ = normalize_hash(document_hash)
    path = document_path(gateway, hash_)
    own = gateway.store.document_upload(hash_, caller.address)
    if not path.is_file() or (own is None and not _may_download(gateway, caller, hash_)):
        raise not_found("document")
    uploads = gateway.store.document_uploads(hash_)
    meta = own or (uploads[0] if uploads else None)
    filename = (meta.filename if meta else None) or f"{hash_}.bin"
    content_type = served_content_type(meta.content_type) if meta else "application/octet-stream"
    return FileResponse(
        path,
        media_type=content_type,
        filename=filename,
        headers={"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'; sandbox"},
    )
