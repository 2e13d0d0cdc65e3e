"""The error responses each operation documents in the OpenAPI schema.

Every error is ``application/problem+json`` with one schema, the ``Problem`` component
(``api.schemas.Problem``). Routes name the statuses their own logic can give; the
statuses every route of a kind can give (authentication, validation, idempotency) are
added to each operation by ``api.openapi``.
"""

from __future__ import annotations

from typing import Any

PROBLEM_SCHEMA_REF = "#/components/schemas/Problem"

DESCRIPTIONS = {
    400: "The multipart body cannot be parsed.",
    401: "Missing, unknown or revoked API key, or a frozen member.",
    403: "The caller's role may not do this.",
    404: "No such object, or it is not visible to the caller.",
    409: "The ledger's state does not allow this (for example credit_line_exceeded, document_already_used), "
    "or an Idempotency-Key was reused with another body or is still in progress.",
    413: "The request body is too large.",
    415: "The request body is not of a media type this operation takes.",
    422: "The request is malformed (validation_error, invalid_idempotency_key, split_sum_mismatch, ...).",
    429: "Rate limit exceeded; see Retry-After.",
    503: "The chain does not answer; see Retry-After.",
}

# Statuses whose answers say when to come back.
RETRY_AFTER_STATUSES = (409, 429, 503)


def problem_response(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": DESCRIPTIONS[status],
        "content": {"application/problem+json": {"schema": {"$ref": PROBLEM_SCHEMA_REF}}},
    }
    if status in RETRY_AFTER_STATUSES:
        response["headers"] = {
            "Retry-After": {
                "description": "Seconds to wait before trying again, where waiting helps.",
                "schema": {"type": "integer", "minimum": 1},
            }
        }
    return response


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: problem_response(status) for status in statuses}


WRITE_RESPONSES = problem_responses(401, 403, 404, 409, 413, 422, 429, 503)
