"""RFC 9457 problem details: every error the gateway returns, with a stable ``code``.

Handlers turn library errors, decoded ledger reverts and validation failures into
``application/problem+json``. Nothing reaches a client as a stack trace or a 500
with internals: an unexpected error is logged and answered with a plain sentence.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from requests import RequestException
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException
from web3.exceptions import Web3Exception

from scf_chain.domain.errors import (
    ChainUnavailable,
    DatabaseUnavailable,
    InvalidAmount,
    KeyNotFound,
    NotDeployed,
    ScfError,
    SignerBusy,
    TransactionFailed,
)
from scf_chain.domain.ledger_errors import LedgerError

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
CHAIN_RETRY_AFTER_S = 5
# A database server that restarts is back within seconds, and replicas' pools reconnect on the next request.
DATABASE_RETRY_AFTER_S = 2

# HTTP status of each ledger revert, by its code. Unlisted ones are 409: the request
# was well formed but the ledger's state does not allow it.
LEDGER_ERROR_STATUS: dict[str, int] = {
    "credit_line_exceeded": 409,
    "document_already_used": 409,
    "invoice_already_used": 409,
    "empty_invoice_number": 422,
    "member_name_taken": 409,
    "transfer_to_holder": 422,
    "transfer_to_obligor": 422,
    "split_sum_mismatch": 422,
    "invalid_part_count": 422,
    "zero_part_amount": 422,
    "part_not_less_than_face": 422,
    "finance_amount_above_offer": 422,
    "zero_face_value": 422,
    "face_value_too_large": 422,
    "maturity_in_past": 422,
    "maturity_too_far": 422,
    "empty_document_hash": 422,
    "empty_member_name": 422,
    "invalid_member_address": 422,
    "member_is_frozen": 409,
    "not_a_member": 422,
    "wrong_member_role": 422,
    "receiver_not_eligible": 422,
    "not_certificate_holder": 403,
    "not_certificate_obligor": 403,
    "access_control_unauthorized_account": 403,
    "certificate_not_found": 404,
    "ledger_paused": 503,
}


class Problem(Exception):
    """An error answered as problem details."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
        title: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.field = field
        self.headers = headers or {}
        self.extra = extra or {}
        # A title of its own where the status's usual one would mislead (a 409 not about the ledger).
        self.title = title or TITLES.get(status, "Request failed")

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"https://scf-chain.dev/problems/{self.code.replace('_', '-')}",
            "title": self.title,
            "status": self.status,
            "code": self.code,
            "detail": self.detail,
        }
        if self.field:
            body["field"] = self.field
        body.update(self.extra)
        return body

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers, media_type=PROBLEM_JSON)


TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict with the ledger's state",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Invalid request",
    429: "Too many requests",
    500: "Internal error",
    503: "Service unavailable",
}


def not_found(what: str = "resource") -> Problem:
    # One answer for "missing" and "not yours", so that ids leak nothing.
    return Problem(404, "not_found", f"No such {what}, or it is not visible to you.")


def forbidden(detail: str) -> Problem:
    return Problem(403, "forbidden", detail)


def from_library_error(error: ScfError) -> Problem:
    if isinstance(error, LedgerError):
        status = LEDGER_ERROR_STATUS.get(error.code, 409)
        return Problem(status, error.code, _sentence(error.reason), extra={"ledger_error": error.error_name})
    if isinstance(error, InvalidAmount):
        return Problem(422, "invalid_amount", _sentence(str(error)))
    if isinstance(error, ChainUnavailable | NotDeployed):
        return chain_unavailable()
    if isinstance(error, SignerBusy):
        return Problem(
            503,
            "signer_busy",
            "Another gateway process is signing for this member; retry shortly. Nothing was sent.",
            headers={"Retry-After": "1"},
        )
    if isinstance(error, DatabaseUnavailable):
        return database_unavailable()
    if isinstance(error, KeyNotFound):
        return Problem(409, "no_signing_key", "The gateway keeps no signing key for this member, so it cannot act.")
    if isinstance(error, TransactionFailed):
        return Problem(409, "transaction_failed", _sentence(str(error)))
    return Problem(422, "invalid_request", _sentence(str(error)))


def chain_unavailable() -> Problem:
    return Problem(
        503,
        "chain_unavailable",
        "The ledger's chain does not answer right now; retry shortly.",
        headers={"Retry-After": str(CHAIN_RETRY_AFTER_S)},
    )


def database_unavailable() -> Problem:
    return Problem(
        503,
        "database_unavailable",
        "The gateway's database does not answer right now; retry shortly. A write retried with the same "
        "Idempotency-Key is not done twice.",
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)},
    )


def _sentence(text: str) -> str:
    text = text.strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith(".") else text + "."


def _json_problem(text: str | bytes, position: int, reason: str) -> Problem:
    """Where a body that is not JSON went wrong, as a person finds it in an editor: line and column, from 1."""
    before = text[:position]
    if isinstance(before, bytes):
        before = before.decode("utf-8", "replace")  # the text before the first byte that is not UTF-8
    line = before.count("\n") + 1
    column = len(before) - (before.rfind("\n") + 1) + 1
    return Problem(
        422,
        "invalid_json",
        f"The request body is not valid JSON: {reason} at line {line}, column {column}.",
        extra={"line": line, "column": column},
    )


def _validation_problem(exc: RequestValidationError) -> Problem:
    json_errors = [error for error in exc.errors() if error.get("type") == "json_invalid"]
    if json_errors:
        loc = json_errors[0].get("loc", ())
        position = loc[-1] if loc and isinstance(loc[-1], int) else 0
        reason = (json_errors[0].get("ctx") or {}).get("error") or "JSON decode error"
        return _json_problem(exc.body if isinstance(exc.body, str) else "", position, str(reason))
    errors = []
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path", "header")]
        message = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
        errors.append({"field": ".".join(location) or None, "message": message})
    first = errors[0] if errors else {"field": None, "message": "the request is invalid"}
    where = f"{first['field']}: " if first["field"] else ""
    return Problem(
        422, "validation_error", _sentence(f"{where}{first['message']}"), field=first["field"], extra={"errors": errors}
    )


def allowed_methods(request: Request, routed: str = "") -> list[str]:
    """The methods answered at the request's path: those the published document names for it, or for a page
    outside the document ``routed``, the ``Allow`` of the route that matched."""
    # Starlette's own Allow names only the first route that matched the path, and GET /v1/members and
    # POST /v1/members are two routes.
    paths: dict[str, dict[str, Any]] = request.app.openapi().get("paths", {})
    path = request.url.path
    if path in paths:
        # As OpenAPI reads paths, a concrete one comes before the templates it also fits:
        # /v1/documents/verify is not a /v1/documents/{document_hash}.
        methods = {method.upper() for method in paths[path]}
    else:
        methods = {
            method.upper()
            for template, operations in paths.items()
            if re.fullmatch(re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template)), path)
            for method in operations
        }
    if not methods:
        methods = {method.strip() for method in routed.split(",") if method.strip()}
    if "GET" in methods:
        methods.add("HEAD")  # Starlette answers HEAD wherever it answers GET
    return sorted(methods)


def method_not_allowed(request: Request, routed: str = "") -> Problem:
    allowed = ", ".join(allowed_methods(request, routed))
    return Problem(
        405,
        "method_not_allowed",
        f"{request.method} is not allowed on {request.url.path}; it answers {allowed}.",
        headers={"Allow": allowed},
    )


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(_: Request, exc: Problem) -> JSONResponse:
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return _validation_problem(exc).response()

    @app.exception_handler(ScfError)
    async def _library(_: Request, exc: ScfError) -> JSONResponse:
        return from_library_error(exc).response()

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # FastAPI answers 400 for a JSON body that fails to decode other than as a JSONDecodeError; that is
        # malformed JSON too.
        if isinstance(exc.__cause__, UnicodeDecodeError):  # not text
            cause = exc.__cause__
            return _json_problem(cause.object, cause.start, "bytes that are not UTF-8").response()
        if exc.status_code == 400 and isinstance(exc.__cause__, ValueError):  # a number of thousands of digits
            detail = "The request body is not valid JSON: it holds a number too long to read."
            return Problem(422, "invalid_json", detail).response()
        form_error = exc.__cause__ or exc.__context__  # Starlette raises its 400 inside the handler, not from it
        if isinstance(form_error, MultiPartException):  # an upload whose form cannot be read
            detail = f"The request body is not a readable multipart form: {form_error.message}"
            return Problem(422, "invalid_form", _sentence(detail)).response()
        if exc.status_code == 405:
            return method_not_allowed(request, (exc.headers or {}).get("Allow", "")).response()
        code = {404: "not_found"}.get(exc.status_code, "http_error")
        detail = "No such resource." if exc.status_code == 404 else str(exc.detail)
        return Problem(exc.status_code, code, _sentence(detail), headers=dict(exc.headers or {})).response()

    @app.exception_handler(RequestException)
    async def _chain_down(_: Request, exc: RequestException) -> JSONResponse:
        log.warning("chain request failed: %s", type(exc).__name__)
        return chain_unavailable().response()

    @app.exception_handler(Web3Exception)
    async def _web3(_: Request, exc: Web3Exception) -> JSONResponse:
        log.exception("unexpected chain error")
        return Problem(502, "chain_error", "The chain answered with an error; the request was not applied.").response()

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return Problem(500, "internal_error", "Something went wrong on our side; nothing was changed.").response()
