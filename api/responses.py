"""The error responses each operation documents in the OpenAPI schema."""

from __future__ import annotations

from typing import Any

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "code", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "code": {"type": "string", "description": "Stable, machine-readable error code."},
        "detail": {"type": "string", "description": "A sentence a person can act on."},
        "field": {"type": "string", "description": "The offending field, where there is one."},
    },
}

DESCRIPTIONS = {
    401: "Missing, unknown or revoked API key, or a frozen member.",
    403: "The caller's role may not do this.",
    404: "No such object, or it is not visible to the caller.",
    409: "The ledger's state does not allow this (for example credit_line_exceeded, document_already_used), "
    "or an Idempotency-Key was reused with another body.",
    413: "The request body is too large.",
    422: "The request is malformed (validation_error, split_sum_mismatch, ...).",
    429: "Rate limit exceeded; see Retry-After.",
    503: "The chain does not answer; see Retry-After.",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        status: {
            "description": DESCRIPTIONS[status],
            "content": {"application/problem+json": {"schema": PROBLEM_SCHEMA}},
        }
        for status in statuses
    }


WRITE_RESPONSES = problem_responses(401, 403, 404, 409, 413, 422, 429, 503)
