"""The audit export: every ledger event in a range, as JSON lines or CSV, for auditors and the operator."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from api.deps import GatewayDep, require_role
from api.gateway import Caller
from api.index_reader import reader_for
from api.problems import Problem
from api.responses import problem_responses
from api.schemas import AuditEvent
from scf_chain.index_store import EventRange
from scf_chain.indexer import EventRecord, LedgerIndex

router = APIRouter(prefix="/v1/audit", tags=["audit"])

Auditor = Annotated[Caller, Depends(require_role("auditor", "operator"))]

DEFAULT_LIMIT = 10_000
MAX_LIMIT = 100_000
CHUNK = 1_000
CURSOR = re.compile(r"^(\d{1,18})\.(\d{1,9})$")
CSV_COLUMNS = ("block_number", "log_index", "timestamp", "tx_hash", "block_hash", "contract", "name", "args", "cursor")

BOUND = (
    "A block number (`1200`) or an ISO 8601 time (`2026-01-31T09:00:00Z`; a date alone means the whole day). Inclusive."
)


def _bound(value: str | None, name: str, *, end: bool) -> tuple[int | None, datetime | None]:
    """A block number or a time, from a query parameter."""
    if value is None or not value.strip():
        return None, None
    value = value.strip()
    if value.isdigit():
        return int(value), None
    try:
        if len(value) == 10:  # a date alone: from its start, or to its end
            day = date.fromisoformat(value)
            moment = datetime.combine(day, time.max if end else time.min, UTC)
        else:
            moment = datetime.fromisoformat(value)
    except ValueError:
        raise Problem(
            422, "validation_error", f"{name} must be a block number or an ISO 8601 date or time.", field=name
        ) from None
    return None, moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _cursor(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    match = CURSOR.match(value.strip())
    if match is None:
        raise Problem(
            422, "validation_error", "after must be a cursor such as 1200.3 (block.log index).", field="after"
        )
    return int(match[1]), int(match[2])


def _key(event: EventRecord) -> str:
    return f"{event.block_number}.{event.log_index}"


def _line(event: EventRecord) -> dict[str, Any]:
    return {
        "block_number": event.block_number,
        "log_index": event.log_index,
        "block_hash": event.block_hash,
        "tx_hash": event.tx_hash,
        "contract": event.contract,
        "timestamp": event.timestamp.isoformat().replace("+00:00", "Z"),
        "name": event.name,
        "args": event.args,
        "cursor": _key(event),
    }


def _events(
    index: LedgerIndex, scope: EventRange, last: tuple[int, int] | None, limit: int
) -> Iterator[list[EventRecord]]:
    """At most ``limit`` events of ``scope``, up to ``last`` (inclusive) if given, in chunks, in chain order."""
    after = scope.after
    left = limit
    while left > 0:
        chunk = index.events(
            from_block=scope.from_block,
            to_block=scope.to_block,
            from_time=scope.from_time,
            to_time=scope.to_time,
            after=after,
            limit=min(CHUNK, left),
        )
        if last is not None:
            chunk = [e for e in chunk if (e.block_number, e.log_index) <= last]
        if not chunk:
            return
        yield chunk
        left -= len(chunk)
        after = (chunk[-1].block_number, chunk[-1].log_index)
        if after == last:
            return


def _jsonl(chunks: Iterator[list[EventRecord]]) -> Iterator[str]:
    for chunk in chunks:
        yield "".join(json.dumps(_line(e), separators=(",", ":"), ensure_ascii=False) + "\n" for e in chunk)


def _csv(chunks: Iterator[list[EventRecord]]) -> Iterator[str]:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for chunk in chunks:
        for event in chunk:
            line = _line(event)
            line["args"] = json.dumps(event.args, separators=(",", ":"), ensure_ascii=False)
            writer.writerow([line[column] for column in CSV_COLUMNS])
        yield out.getvalue()
        out.seek(0)
        out.truncate()
    if out.tell():
        yield out.getvalue()


EXPORT_DESCRIPTION = f"""
Every event the index holds in the range, in chain order (block, then log index),
with its arguments as decoded: the audit trail. For auditors and the operator.
`contract` says which contract emitted it: `ledger` (certificates, members, credit
lines, settlement) or `desk` (offers accepted, with the price paid; recourse claims).

`from` and `to` are inclusive bounds, each a block number or an ISO 8601 time (a date
alone covers the whole day); without `to` the range ends at the block indexed when the
first page was asked for. One response holds at most `limit` events (default
{DEFAULT_LIMIT}, at most {MAX_LIMIT}) and is streamed. When more follow, the
`Link: <...>; rel="next"` header gives the next page's URL and `X-Next-Cursor` the
cursor to pass as `after` (each event also carries its own `cursor`).

`format=jsonl` (default) gives `application/x-ndjson`, one event per line;
`format=csv` gives CSV with the arguments as JSON in one column.
"""


@router.get(
    "/events",
    summary="Export ledger events (auditors and the operator)",
    description=EXPORT_DESCRIPTION,
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The events, one per line.",
            "content": {
                "application/x-ndjson": {"schema": AuditEvent.model_json_schema()},
                "text/csv": {"schema": {"type": "string"}},
            },
            "headers": {
                "X-Next-Cursor": {"description": "Pass as `after` for the next page; absent on the last page."},
                "Link": {"description": 'The next page, as rel="next".'},
                "X-Indexed-Block": {"description": "The last block the index held when the page was read."},
            },
        },
        **problem_responses(401, 403, 422, 429),
    },
)
def export_events(
    request: Request,
    caller: Auditor,
    gateway: GatewayDep,
    from_: Annotated[str | None, Query(alias="from", description=BOUND, max_length=40)] = None,
    to: Annotated[str | None, Query(description=BOUND, max_length=40)] = None,
    after: Annotated[
        str | None, Query(description="Continue after this cursor (block.log index).", max_length=30)
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    format: Annotated[Literal["jsonl", "csv"], Query(description="jsonl (default) or csv")] = "jsonl",
) -> StreamingResponse:
    from_block, from_time = _bound(from_, "from", end=False)
    to_block, to_time = _bound(to, "to", end=True)
    cursor = _cursor(after)
    with reader_for(gateway.index.path).snapshot() as snapshot:
        indexed_block = snapshot.indexed_block()
        pinned_to = to is None or not to.strip()
        if pinned_to:
            to_block = indexed_block
        scope = EventRange(from_block, to_block, from_time, to_time, cursor)
        last = snapshot.event_key_at(scope, limit - 1)
        more = last is not None and snapshot.event_key_at(scope._replace(after=last), 0) is not None
    headers = {"X-Indexed-Block": str(indexed_block)}
    if more and last is not None:
        next_cursor = f"{last[0]}.{last[1]}"
        params: dict[str, Any] = {"after": next_cursor}
        if pinned_to:
            params["to"] = str(to_block)
        next_url = request.url.include_query_params(**params)
        headers["X-Next-Cursor"] = next_cursor
        headers["Link"] = f'<{next_url.path}?{next_url.query}>; rel="next"'
    chunks = _events(gateway.index, scope, last, limit)
    if format == "csv":
        headers["Content-Disposition"] = 'attachment; filename="ledger-events.csv"'
        return StreamingResponse(_csv(chunks), media_type="text/csv; charset=utf-8", headers=headers)
    return StreamingResponse(_jsonl(chunks), media_type="application/x-ndjson", headers=headers)
