"""Shared dependencies: the gateway, the authenticated caller, role checks, secrets shown once, and the
visibility checks every resource shares (a certificate, a member, a provenance).

A visibility check answers the same 404 whether the thing is missing or only not the caller's, so that
an id leaks nothing. Routes use these and never each other's helpers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param

from api.gateway import Caller, Gateway
from api.render.problems import Problem, not_found
from api.schemas import parse_address
from api.services.provenance import Provenance, load
from scf_chain.domain.types import Role
from scf_chain.index.indexer import CertificateRecord, MemberRecord

bearer = HTTPBearer(auto_error=False, description="The API key the operator issued to your member.")

# Set by the request guard when it has already authenticated (and rate-limited) the request.
CALLER_SCOPE_KEY = "scf.caller"
# The response fields a route declares secret; the request guard never stores them for a replay.
SHOWN_ONCE_SCOPE_KEY = "scf.secret_fields"
# A bucket that never refills (0 per minute) says "an hour", not an infinite wait.
MAX_RETRY_AFTER_S = 3600


def get_gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


GatewayDep = Annotated[Gateway, Depends(get_gateway)]


def _unauthorized(detail: str) -> Problem:
    return Problem(401, "unauthorized", detail, headers={"WWW-Authenticate": "Bearer"})


def authenticate(gateway: Gateway, authorization: str | None) -> Caller:
    """The caller an ``Authorization`` header names, after the rate limit of its member; else a 401 or 429.

    The one place a request is authenticated: the request guard (for idempotent writes) and
    :func:`current_caller` both come here, and a request passes here once.
    """
    scheme, api_key = get_authorization_scheme_param(authorization)
    if scheme.lower() != "bearer" or not api_key:
        raise _unauthorized("Send your API key as 'Authorization: Bearer <key>'.")
    address = gateway.store.member_for_key(api_key)
    caller = gateway.caller_for(address) if address else None
    if caller is None:
        raise _unauthorized("The API key is unknown or revoked.")
    if caller.frozen:
        raise _unauthorized("This member is frozen by the consortium operator.")
    wait = gateway.rate_limiter.acquire(caller.address)
    if wait > 0:
        raise Problem(
            429,
            "rate_limited",
            "Too many requests for this API key; slow down and retry.",
            headers={"Retry-After": str(max(1, math.ceil(min(wait, MAX_RETRY_AFTER_S))))},
        )
    return caller


def current_caller(
    request: Request,
    gateway: GatewayDep,
    # Declared for the OpenAPI security scheme; the header itself is read by authenticate().
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    authenticated = request.scope.get(CALLER_SCOPE_KEY)
    if isinstance(authenticated, Caller):
        return authenticated
    return authenticate(gateway, request.headers.get("authorization"))


CurrentCaller = Annotated[Caller, Depends(current_caller)]


def require_role(*roles: Role) -> Callable[[Caller], Caller]:
    """A dependency that lets only callers in ``roles`` through, with 403 for the others."""
    allowed = ", ".join(role.replace("_", " ") for role in roles)

    def check(caller: CurrentCaller) -> Caller:
        if caller.role not in roles:
            raise Problem(403, "forbidden_role", f"Only a member acting as {allowed} may do this.")
        return caller

    return check


OperatorCaller = Annotated[Caller, Depends(require_role(Role.OPERATOR))]


def shown_once(*fields: str) -> Any:
    """A route dependency declaring top-level response fields that hold a secret (an API key).

    The response shows them this once; a replay of the request under its ``Idempotency-Key``
    gets the response without them, and the gateway's database never holds them.
    """

    def declare(request: Request) -> None:
        declared = request.scope.get(SHOWN_ONCE_SCOPE_KEY)
        if isinstance(declared, set):
            declared.update(fields)

    return Depends(declare)


# Visibility


CertificateId = Annotated[int, Path(ge=1, le=2**40 - 1, description="The certificate's id.")]

# Members a non-privileged caller may look up: those it can pay.
PAYABLE_ROLES = (Role.CORE_ENTERPRISE, Role.SUPPLIER, Role.FINANCIER)
FINANCIER_ROLE = Role.FINANCIER


def visible_certificate(gateway: Gateway, caller: Caller, certificate_id: int) -> CertificateRecord:
    """The certificate if the caller may see it; the same 404 whether it is missing or not theirs."""
    record = gateway.index.certificate(certificate_id)
    if record is None:
        raise not_found("certificate")
    if caller.sees_everything or caller.address in (record.holder, record.obligor):
        return record
    if gateway.index.has_held(caller.address, certificate_id):
        return record
    raise not_found("certificate")


def _visible_certificate(
    certificate_id: CertificateId, caller: CurrentCaller, gateway: GatewayDep
) -> CertificateRecord:
    return visible_certificate(gateway, caller, certificate_id)


# For handlers whose only other inputs are the caller and the gateway: as a dependency the check runs before
# the handler's own query and body are validated, so a handler with those calls visible_certificate itself.
VisibleCertificate = Annotated[CertificateRecord, Depends(_visible_certificate)]


def visible_member(gateway: Gateway, caller: Caller, address: str) -> MemberRecord:
    """The member if the caller may look it up (itself, or a member it can pay); else 404, as for an unknown one."""
    checksummed = parse_address(address)
    record = gateway.index.member(checksummed) if checksummed else None
    if record is None:
        raise not_found("member")
    if caller.sees_everything or record.address == caller.address:
        return record
    if record.role in PAYABLE_ROLES and not record.frozen:
        return record
    raise not_found("member")


def requested_lookup(gateway: Gateway, caller: Caller) -> Callable[[int, int], set[int]] | None:
    """For a financier, the certificates (by id range) it was asked to finance; None for anyone else."""
    if caller.role != FINANCIER_ROLE:
        return None

    def requested(low: int, high: int) -> set[int]:
        return gateway.store.requested_certificates(caller.address, low, high)

    return requested


def visible_provenance(gateway: Gateway, caller: Caller, certificate_id: int) -> Provenance:
    """The part of the certificate's provenance the caller may see, in one snapshot of the index; else 404."""
    with gateway.index.snapshot() as snapshot:
        return load(
            snapshot,
            caller,
            certificate_id,
            requested=requested_lookup(gateway, caller),
            cache=gateway.provenance_cache,
        )
