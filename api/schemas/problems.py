"""The one error body, `application/problem+json`."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ProblemFieldError(BaseModel):
    field: str | None = Field(description="The invalid field, dotted (`parts.0.amount`); null for the whole body.")
    message: str


class Problem(BaseModel):
    """The body of every error: RFC 9457 problem details, with a stable `code`."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="A URI naming the kind of problem.")
    title: str
    status: int = Field(description="The HTTP status.")
    code: str = Field(description="Stable, machine-readable error code.")
    detail: str = Field(description="A sentence a person can act on.")
    field: str | None = Field(default=None, description="The offending field, where there is one.")
    errors: list[ProblemFieldError] | None = Field(
        default=None, description="Every invalid field, for `validation_error`."
    )
    ledger_error: str | None = Field(default=None, description="The ledger contract's custom error, when it refused.")
