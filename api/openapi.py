"""The published OpenAPI document, shaped for people and for code generators.

FastAPI's defaults are reshaped here, in one place:

- operation ids are the route functions' names (``transfer_certificate``);
- every error response of every operation is ``application/problem+json`` with the one
  ``Problem`` schema, for the statuses the route names plus those its guards can give
  (authentication and rate limit, role checks, validation, idempotency, body size).
  FastAPI's ``HTTPValidationError``, which the gateway never sends, is not published;
- the headers the request guard and writes honour are declared: ``Idempotency-Key`` on
  every POST and PUT, ``Prefer`` on every operation that can answer 202;
- every success response links to the operations that take an id it carries (a certificate's
  id to ``get_certificate``, ``accept_certificate``, ...; an operation's id to ``get_operation``),
  so that clients and stateful fuzzers can follow one answer to the next request;
- the document is built again on each new ledger day, so that the dates in its examples
  (maturities, offer expiries) are valid on the day it is read.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic.json_schema import models_json_schema

from api.deps import current_caller, require_role
from api.middleware import IDEMPOTENT_METHODS, MAX_IDEMPOTENCY_KEY_LENGTH
from api.render.responses import problem_response
from api.schemas import Problem
from scf_chain.client.clock import ledger_today
from scf_chain.domain.types import Role

# Every role check that require_role() makes is the same function, closed over other roles.
_ROLE_CHECK_CODE = require_role(Role.OPERATOR).__code__
# FastAPI's own validation error schemas: the gateway answers problem details instead.
_UNUSED_COMPONENTS = ("HTTPValidationError", "ValidationError")

IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Any unique string (1 to 255 printable characters). A repeat with the same key and body gets "
    "the first response again and sends no new transaction; the same key with another body gets 409. A request "
    "refused before it did anything does not use the key up.",
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_IDEMPOTENCY_KEY_LENGTH},
    "example": "pay-0001",
}
PREFER = {
    "name": "Prefer",
    "in": "header",
    "required": False,
    "description": "`respond-async` to answer 202 at once with an operation to poll at "
    "`/v1/operations/{operation_id}`; without it the write waits for the ledger and answers its result.",
    "schema": {"type": "string"},
    "example": "respond-async",
}


# Which objects carry the id a path parameter names, besides a field of the parameter's own name anywhere in a
# response (a financing request's certificate_id, a settlement's root_id): the ``id`` of these schemas, and for
# member addresses the fields that name a member.
ID_OF = {
    "certificate_id": ("CertificateOut", "ObligationItem", "ProvenanceNode"),
    "request_id": ("FinancingRequestOut",),
    "offer_id": ("OfferOut",),
    "operation_id": ("OperationOut",),
}
MEMBER_FIELDS = {"address": ("address", "member"), "obligor": ("obligor",)}
# How deep into a response to look for ids: far enough for a page's items and a result's certificates, not into
# the provenance tree's recursion.
_LINK_DEPTH = 4


def operation_id(route: APIRoute) -> str:
    """The route function's name: short, and stable while the function keeps its name."""
    return route.name


def install_openapi(app: FastAPI, routers: Iterable[APIRouter]) -> None:
    """Makes ``app.openapi()`` (and so ``/openapi.json``) serve the reshaped document of ``routers``' routes."""
    routes = {route.name: route for router in routers for route in router.routes if isinstance(route, APIRoute)}
    lock = threading.Lock()
    built: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        day = ledger_today()
        with lock:
            if built.get("day") != day:
                app.openapi_schema = None  # FastAPI's own builder caches here
                document = FastAPI.openapi(app)
                reshape(document, routes)
                built.update(day=day, document=document)
            document_today: dict[str, Any] = built["document"]
            return document_today

    app.openapi = openapi  # type: ignore[method-assign]


def reshape(document: dict[str, Any], routes: dict[str, APIRoute]) -> None:
    """Reshapes FastAPI's document in place; ``routes`` are the routes by name, which is their operation id."""
    for operations in document.get("paths", {}).values():
        for method, operation in operations.items():
            route = routes[operation["operationId"]]
            _document_errors(operation, guard_statuses(route, method, operation))
            _declare_headers(operation, method)
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in _UNUSED_COMPONENTS:
        schemas.pop(name, None)
    link_operations(document)
    _, definitions = models_json_schema([(Problem, "serialization")], ref_template="#/components/schemas/{model}")
    for name, schema in definitions.get("$defs", {}).items():
        schemas.setdefault(name, schema)


def guard_statuses(route: APIRoute, method: str, operation: dict[str, Any]) -> set[int]:
    """The error statuses that the guards in front of a route can answer, whatever the route itself does."""
    statuses: set[int] = set()
    calls = set(_dependency_calls(route.dependant))
    if current_caller in calls:
        statuses |= {401, 429}
    if any(getattr(call, "__code__", None) is _ROLE_CHECK_CODE for call in calls):
        statuses.add(403)
    parameters = operation.get("parameters", [])
    if any(parameter.get("in") == "path" for parameter in parameters):
        statuses |= {404, 422}  # every path names an object, which may be missing or not the caller's
    if parameters or "requestBody" in operation:
        statuses.add(422)
    if "requestBody" in operation:
        statuses |= {400, 413}  # a body that cannot be parsed at all, or is too large
    if method.upper() in IDEMPOTENT_METHODS:
        statuses |= {409, 413, 422}  # a reused or busy Idempotency-Key, or one that is malformed
    elif method.upper() in ("PATCH", "DELETE"):
        statuses.add(413)
    return statuses


def _dependency_calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from _dependency_calls(dependency)


def _is_problem(response: dict[str, Any]) -> bool:
    content = response.get("content", {})
    if "application/problem+json" in content:
        return True
    # FastAPI's default answer for a validation error, which the gateway never sends.
    schema = content.get("application/json", {}).get("schema", {})
    return bool(schema.get("$ref", "").endswith("/HTTPValidationError"))


def _document_errors(operation: dict[str, Any], guarded: set[int]) -> None:
    responses: dict[str, Any] = operation["responses"]
    for key, response in list(responses.items()):
        if key.isdigit() and int(key) >= 400 and _is_problem(response):
            responses[key] = problem_response(int(key))
    for status in guarded:
        responses.setdefault(str(status), problem_response(status))
    operation["responses"] = dict(sorted(responses.items()))


def _declare_headers(operation: dict[str, Any], method: str) -> None:
    parameters: list[dict[str, Any]] = operation.setdefault("parameters", [])
    if method.upper() in IDEMPOTENT_METHODS:
        parameters.append(IDEMPOTENCY_KEY)
    if "202" in operation["responses"]:
        parameters.append(PREFER)
    if not parameters:
        del operation["parameters"]


def link_operations(document: dict[str, Any]) -> None:
    """Adds OpenAPI ``links`` from each success response to every operation whose path parameters it carries.

    One link per target operation and response, from the shallowest field that carries each parameter
    (``$response.body#/certificates/0/id`` for a write, ``#/items/0/id`` for a page).
    """
    schemas: dict[str, Any] = document.get("components", {}).get("schemas", {})
    targets = []
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            names = [p["name"] for p in operation.get("parameters", []) if p.get("in") == "path"]
            if names:
                targets.append((operation["operationId"], names))
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            for status, response in operation["responses"].items():
                schema = response.get("content", {}).get("application/json", {}).get("schema")
                if not status.startswith("2") or schema is None:
                    continue
                carried = _carried_parameters(schemas, schema)
                links = {
                    target: {
                        "operationId": target,
                        "parameters": {name: f"$response.body#{carried[name]}" for name in names},
                    }
                    for target, names in targets
                    if all(name in carried for name in names)
                }
                if links:
                    response["links"] = links


def _carried_parameters(schemas: dict[str, Any], schema: dict[str, Any]) -> dict[str, str]:
    """The JSON pointer, within a response of ``schema``, of the shallowest field carrying each path parameter."""
    carried: dict[str, str] = {}
    # Breadth first, so that the first pointer found for a parameter is the shallowest.
    queue: list[tuple[dict[str, Any], str, str | None, int]] = [(schema, "", None, 0)]
    while queue:
        node, pointer, component, depth = queue.pop(0)
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[1]
            queue.append((schemas.get(name, {}), pointer, name, depth))
            continue
        options = [option for option in node.get("anyOf", []) if option.get("type") != "null"]
        if len(options) == 1:  # an optional field; a union (an operation's result) says nothing until it is read
            queue.append((options[0], pointer, None, depth))
        if node.get("type") == "array" and "items" in node and depth < _LINK_DEPTH:
            queue.append((node["items"], f"{pointer}/0", None, depth + 1))
        for field, value in node.get("properties", {}).items():
            for parameter in _parameters_carried_by(component, field, value):
                carried.setdefault(parameter, f"{pointer}/{field}")
            if depth < _LINK_DEPTH:
                queue.append((value, f"{pointer}/{field}", None, depth + 1))
    return carried


def _parameters_carried_by(component: str | None, field: str, schema: dict[str, Any]) -> Iterator[str]:
    kinds = {option.get("type") for option in schema.get("anyOf", [schema])} - {"null"}
    if kinds not in ({"integer"}, {"string"}):
        return  # an object or an array holds ids deeper down
    if field == "id":
        yield from (parameter for parameter, owners in ID_OF.items() if component in owners)
        return
    if field in ID_OF:
        yield field
    yield from (parameter for parameter, fields in MEMBER_FIELDS.items() if field in fields)
    if field in ("root_id", "document_hash"):
        yield field
