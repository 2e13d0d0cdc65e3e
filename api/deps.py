"""Shared dependencies: the gateway, the authenticated caller, role checks."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.gateway import Caller, Gateway
from api.problems import Problem

bearer = HTTPBearer(auto_error=False, description="The API key the operator issued to your member.")


def get_gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


GatewayDep = Annotated[Gateway, Depends(get_gateway)]


def _unauthorized(detail: str) -> Problem:
    return Problem(401, "unauthorized", detail, headers={"WWW-Authenticate": "Bearer"})


def current_caller(
    gateway: GatewayDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise _unauthorized("Send your API key as 'Authorization: Bearer <key>'.")
    address = gateway.store.member_for_key(credentials.credentials)
    caller = gateway.caller_for(address) if address else None
    if caller is None:
        raise _unauthorized("The API key is unknown or revoked.")
    if caller.frozen:
        raise _unauthorized("This member is frozen by the consortium operator.")
    wait = gateway.rate_limiter.acquire(address or "")
    if wait > 0:
        raise Problem(
            429,
            "rate_limited",
            "Too many requests for this API key; slow down and retry.",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
    return caller


CurrentCaller = Annotated[Caller, Depends(current_caller)]


def require_role(*roles: str) -> Callable[[Caller], Caller]:
    """A dependency that lets only callers in ``roles`` through, with 403 for the others."""
    allowed = ", ".join(role.replace("_", " ") for role in roles)

    def check(caller: CurrentCaller) -> Caller:
        if caller.role not in roles:
            raise Problem(403, "forbidden_role", f"Only a member acting as {allowed} may do this.")
        return caller

    return check


OperatorCaller = Annotated[Caller, Depends(require_role("operator"))]
