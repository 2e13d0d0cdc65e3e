"""Request guards that run before any route: a body size limit, and idempotent writes.

A POST or PUT with an ``Idempotency-Key`` header is first authenticated and rate-limited,
as every request is, and then recorded under the caller's member. A repeat with the same
key and body gets the first response again and sends no new transaction; the same key
with another body gets 409. A request refused before it sent a transaction leaves no
record, so that the corrected request can use the key. A ledger write's record names its operation,
so that after a crash it is settled from the chain (``api.services.recovery``). Records live in the gateway's
database, so they survive a restart; secrets a response showed (API keys) are not kept. A database that does
not answer is answered 503 (``database_unavailable``); a record whose request ended while it did not answer is
written, or released, once it answers again (:class:`RecordsToWrite`), so that no key is left in progress.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import CALLER_SCOPE_KEY, SHOWN_ONCE_SCOPE_KEY, authenticate
from api.gateway import Gateway
from api.render.problems import PROBLEM_JSON, Problem, database_unavailable
from api.services.writes import OPERATION_HEADER, OUTCOME_UNKNOWN_SCOPE_KEY
from api.store import IDEMPOTENCY_SCOPE_KEY, watch_signed_transactions
from scf_chain.domain.errors import DatabaseUnavailable

log = logging.getLogger(__name__)

IDEMPOTENT_METHODS = ("POST", "PUT")
MAX_IDEMPOTENCY_KEY_LENGTH = 255
# How often records the database could not take are tried again, while it does not answer.
RECORD_RETRY_S = 1.0


class RecordsToWrite:
    """Idempotency records whose request ended while the database did not answer: their answer (or their
    release) is written once it answers again, before the next idempotent request and every second until then."""

    def __init__(self) -> None:
        self._pending: dict[tuple[str, str], Callable[[], object]] = {}
        self._lock = threading.Lock()
        self._retrying: threading.Thread | None = None

    def __bool__(self) -> bool:
        return bool(self._pending)

    def add(self, member: str, key: str, write: Callable[[], object]) -> None:
        log.warning("the idempotency record of a request is written once the database answers again")
        with self._lock:
            self._pending[(member, key)] = write
            if self._retrying is None or not self._retrying.is_alive():
                self._retrying = threading.Thread(target=self._retry, name="idempotency-records", daemon=True)
                self._retrying.start()

    def write(self) -> None:
        """Writes every pending record, until the database does not answer."""
        with self._lock:
            pending = list(self._pending.items())
        for record, write in pending:
            try:
                write()
            except DatabaseUnavailable:
                return
            with self._lock:
                if self._pending.get(record) is write:
                    del self._pending[record]

    def _retry(self) -> None:
        while self:  # until nothing is left
            time.sleep(RECORD_RETRY_S)
            try:
                self.write()
            except Exception:  # a store closed under it, as the gateway stops: the next start settles the record
                log.exception("idempotency records could not be written")
                return


async def _send_problem(send: Send, problem: Problem) -> None:
    body = json.dumps(problem.body()).encode()
    headers = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in problem.headers.items()]
    await send({"type": "http.response.start", "status": problem.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class RequestGuard:
    """``body_limits`` raises the limit for the exact paths named (file uploads); others get ``max_body_bytes``."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, body_limits: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_limits = dict(body_limits or {})
        self.records_to_write = RecordsToWrite()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH", "DELETE"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        limit = self.body_limits.get(scope["path"], self.max_body_bytes)
        too_large = Problem(413, "body_too_large", f"The request body is larger than {limit} bytes.")
        declared = headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            await _send_problem(send, too_large)
            return
        received = bytearray()  # not bytes +=, which copies the body so far for every chunk of an upload
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            received += message.get("body", b"")
            if len(received) > limit:
                await _send_problem(send, too_large)
                return
            more = message.get("more_body", False)
        body = bytes(received)

        async def replay() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        key = headers.get("idempotency-key")
        if key is None or scope["method"] not in IDEMPOTENT_METHODS:
            await self.app(scope, replay, send)
            return
        gateway: Gateway = scope["app"].state.gateway
        try:
            # Before anything is recorded: a record must belong to a member that may act now.
            caller = await run_in_threadpool(authenticate, gateway, headers.get("authorization"))
        except Problem as refusal:
            await _send_problem(send, refusal)
            return
        except DatabaseUnavailable:
            await _send_problem(send, database_unavailable())
            return
        scope[CALLER_SCOPE_KEY] = caller  # the route's dependency takes it as is, without a second rate-limit token
        if not key or len(key) > MAX_IDEMPOTENCY_KEY_LENGTH or not key.isprintable():
            await _send_problem(
                send,
                Problem(
                    422,
                    "invalid_idempotency_key",
                    "Idempotency-Key must be 1 to 255 printable characters.",
                    field="Idempotency-Key",
                ),
            )
            return
        await self._idempotent(gateway, caller.address, scope, replay, send, key, body)

    async def _idempotent(
        self, gateway: Gateway, member: str, scope: Scope, receive: Receive, send: Send, key: str, body: bytes
    ) -> None:
        store = gateway.store
        request_line = f"{scope['method']} {scope['path']}?{scope.get('query_string', b'').decode()}"
        fingerprint = hashlib.sha256(request_line.encode() + b"\n" + body).hexdigest()
        try:
            if self.records_to_write:  # first: a replay of a request that ended with the database away finds it
                await run_in_threadpool(self.records_to_write.write)
            state, stored = await run_in_threadpool(store.claim_idempotency_key, member, key, fingerprint)
        except DatabaseUnavailable:  # nothing claimed: the key stays free
            await _send_problem(send, database_unavailable())
            return
        if state == "conflict":
            await _send_problem(
                send,
                Problem(
                    409,
                    "idempotency_key_reused",
                    "This Idempotency-Key was already used with a different request; use a new key.",
                    title=IDEMPOTENCY_TITLE,
                ),
            )
            return
        if state == "unconfirmed":
            await _send_problem(
                send,
                Problem(
                    409,
                    "idempotency_request_unconfirmed",
                    "The chain lost the block this request's transaction was in; the gateway is sending it again. "
                    "Retry shortly for its outcome.",
                    headers={"Retry-After": "1"},
                    title=IDEMPOTENCY_TITLE,
                ),
            )
            return
        if state == "in_progress":
            await _send_problem(
                send,
                Problem(
                    409,
                    "idempotency_request_in_progress",
                    "A request with this Idempotency-Key is still being processed; retry shortly.",
                    headers={"Retry-After": "1"},
                    title=IDEMPOTENCY_TITLE,
                ),
            )
            return
        if state == "done":
            status, content, content_type, operation_id = stored
            headers = [
                (b"content-type", content_type.encode()),
                (b"content-length", str(len(content)).encode()),
                (b"idempotent-replayed", b"true"),
            ]
            if operation_id is not None:  # as the first answer named it
                location = f"/v1/operations/{operation_id}".encode()
                headers.append((OPERATION_HEADER.lower().encode(), location))
                if status == 202:
                    headers.append((b"location", location))
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": content})
            return

        captured: dict[str, Any] = {"status": None, "content_type": "application/json", "body": b""}
        held: list[Message] = []
        secret_fields: set[str] = set()  # filled by routes through api.deps.shown_once
        scope[SHOWN_ONCE_SCOPE_KEY] = secret_fields
        scope[IDEMPOTENCY_SCOPE_KEY] = (member, key)  # a ledger write names its operation on the record

        async def capture(message: Message) -> None:
            # Held back until the record is written, so that a replay can never find it unfinished.
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                for name, value in message.get("headers", []):
                    if name.lower() == b"content-type":
                        captured["content_type"] = value.decode()
            elif message["type"] == "http.response.body":
                captured["body"] += message.get("body", b"")
            held.append(message)

        with watch_signed_transactions() as signed:
            try:
                await self.app(scope, receive, capture)
            finally:
                status = captured["status"]
                content = captured["body"]
                if status is None:  # the handler raised: the outer handler answers 500
                    status, content = 500, json.dumps(_FAILED_AFTER_SENDING.body()).encode()
                    captured["content_type"] = PROBLEM_JSON
                if scope.get(OUTCOME_UNKNOWN_SCOPE_KEY):
                    # Signed, and not known to be mined: the record is settled with its operation, from the chain
                    # (api.services.recovery); until then a replay is told the request is in progress.
                    pass
                elif status < 400 or signed:
                    # Done, or a transaction is on its way: a retry must see this answer, never send again.
                    answer = (status, content, captured["content_type"])
                    await self._write_record(
                        member,
                        key,
                        lambda: store.complete_idempotency_key(member, key, *answer, secret_fields=secret_fields),
                    )
                else:
                    # Refused (validation, role, rate, ledger rules) or failed before sending: the key is still free.
                    await self._write_record(member, key, lambda: store.release_idempotency_key(member, key))
        for message in held:
            await send(message)

    async def _write_record(self, member: str, key: str, write: Callable[[], object]) -> None:
        try:
            await run_in_threadpool(write)
        except DatabaseUnavailable:  # the answer below is sent all the same; the record follows it
            self.records_to_write.add(member, key, write)


IDEMPOTENCY_TITLE = "Idempotency-Key already used"
_FAILED_AFTER_SENDING = Problem(
    500,
    "internal_error",
    "Something went wrong on our side after a transaction was sent; read the ledger before trying again.",
)
