"""The JSON-RPC transport: web3's provider interface over one urllib3 connection pool.

web3's HTTPProvider posts through requests, whose per-call machinery (settings merged
from the environment, hooks, cookies, adapters) costs as much again as a local node's
answer; the gateway, whose every write makes several calls under one interpreter lock,
spends most of its time there. This provider posts straight through a urllib3 pool of
keep-alive connections. The environment's proxy and CA bundle are read once, here.
"""

from __future__ import annotations

import os
import threading
import urllib.request
from typing import Any, cast
from urllib.parse import urlsplit

import urllib3
from web3.providers.base import JSONBaseProvider
from web3.types import RPCEndpoint, RPCResponse

from scf_chain.domain.errors import ChainUnavailable

_HEADERS = {"Content-Type": "application/json"}
# Only a connection that could not be opened is tried again: nothing was sent on it. A call that may have
# reached the node is never repeated (a transaction sent twice is for its sender's journal to sort out).
_RETRIES = urllib3.Retry(total=2, connect=2, read=0, status=0, other=0, redirect=0, raise_on_status=False)
# Answers that never change on one chain: asked once, then kept.
_CONSTANT_METHODS = frozenset({"eth_chainId", "net_version"})


class PooledHTTPProvider(JSONBaseProvider):
    """JSON-RPC over HTTP(S) through a pool of ``max_connections`` keep-alive connections."""

    def __init__(self, endpoint_uri: str, *, timeout: float = 30.0, max_connections: int = 32) -> None:
        super().__init__()
        self.endpoint_uri = endpoint_uri
        self.timeout = urllib3.Timeout(total=timeout)
        self._pool = _pool_for(endpoint_uri, max_connections)
        self._constants: dict[str, RPCResponse] = {}
        self._constants_lock = threading.Lock()

    def __str__(self) -> str:
        return f"RPC connection {self.endpoint_uri}"

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        if method in _CONSTANT_METHODS and method in self._constants:
            return self._constants[method]
        response = self.decode_rpc_response(self._post(self.encode_rpc_request(method, params)))
        if method in _CONSTANT_METHODS and "result" in response:
            with self._constants_lock:
                self._constants[method] = response
        return response

    def make_batch_request(self, requests: list[tuple[RPCEndpoint, Any]]) -> list[RPCResponse] | RPCResponse:
        response: Any = self.decode_rpc_response(self._post(self.encode_batch_rpc_request(requests)))
        if not isinstance(response, list):  # the whole batch refused: one error object
            return cast(RPCResponse, response)
        return sorted(response, key=lambda answer: int(answer.get("id", 0)))

    def _post(self, body: bytes) -> bytes:
        try:
            response = self._pool.request(
                "POST", self.endpoint_uri, body=body, headers=_HEADERS, timeout=self.timeout, retries=_RETRIES
            )
        except urllib3.exceptions.HTTPError as exc:
            raise ChainUnavailable(
                f"the chain at {shown_url(self.endpoint_uri)} did not answer: {type(exc).__name__}"
            ) from exc
        if response.status >= 400:
            raise ChainUnavailable(f"the chain at {shown_url(self.endpoint_uri)} answered HTTP {response.status}")
        return bytes(response.data)


def _pool_for(url: str, max_connections: int) -> urllib3.PoolManager:
    """A pool for ``url``, through the environment's proxy unless it exempts the host; its CA bundle if set."""
    options: dict[str, Any] = {"maxsize": max_connections, "block": False}
    ca_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("SSL_CERT_FILE")
    if ca_bundle:
        options["ca_certs"] = ca_bundle
    parts = urlsplit(url)
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy and not urllib.request.proxy_bypass(parts.hostname or ""):
        return urllib3.ProxyManager(proxy, **options)
    return urllib3.PoolManager(**options)


def shown_url(url: str) -> str:
    """The URL without any credentials in it, for messages."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}{parts.path}"
