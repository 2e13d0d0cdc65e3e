"""JSON request bodies are read as JSON whatever their declared content type.

curl's ``-d`` sends ``application/x-www-form-urlencoded`` unless told otherwise, and a route
given such a body would see raw bytes ("Input should be a valid dictionary"). Every operation
whose body is JSON therefore reads it as JSON, with or without the header; malformed JSON is
then the usual problem that names its line and column. Uploads (multipart forms) are left alone.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")
JSON = b"application/json"


def _is_json(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


def json_operations(openapi: dict[str, Any]) -> list[tuple[str, re.Pattern[str]]]:
    """The method and path of every operation whose request body is JSON, as the published OpenAPI says."""
    operations = []
    for path, item in openapi.get("paths", {}).items():
        # A path parameter is one segment; the rest of the path is literal.
        pattern = re.compile(
            "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in re.split(r"(\{[^}]*\})", path))
        )
        for method, operation in item.items():
            if "application/json" in operation.get("requestBody", {}).get("content", {}):
                operations.append((method.upper(), pattern))
    return operations


class JsonBody:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._json_operations: list[tuple[str, re.Pattern[str]]] | None = None

    def _takes_json(self, scope: Scope) -> bool:
        if self._json_operations is None:  # read once the routes are all in place, on the first such request
            self._json_operations = json_operations(scope["app"].openapi())
        method, path = scope["method"], scope["path"]
        return any(method == m and pattern.fullmatch(path) for m, pattern in self._json_operations)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in BODY_METHODS:
            content_type = Headers(scope=scope).get("content-type", "")
            if not _is_json(content_type) and self._takes_json(scope):
                headers = [(name, value) for name, value in scope["headers"] if name != b"content-type"]
                scope = {**scope, "headers": [*headers, (b"content-type", JSON)]}
        await self.app(scope, receive, send)
