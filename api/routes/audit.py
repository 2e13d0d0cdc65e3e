"""The audit export: every event of the ledger, the desk and the settlement token in a range, as JSON lines or
CSV, for auditors and the operator."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Literal

from eth_utils import keccak
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from api.deps import GatewayDep, require_role
from api.gateway import Caller
from api.render.problems import Problem
from api.render.responses import problem_responses
from api.schemas import AuditEvent
from scf_chain.domain.money import from_day
from scf_chain.domain.pricing import from_rate_units
from scf_chain.domain.types import Role
from scf_chain.index.indexer import EventRecord, LedgerIndex
from scf_chain.index.store import TOKEN, ZERO_ADDRESS, EventRange, role_label

router = APIRouter(prefix="/v1/audit", tags=["audit"])

Auditor = Annotated[Caller, Depends(require_role(Role.AUDITOR, Role.OPERATOR))]

DEFAULT_LIMIT = 10_000
MAX_LIMIT = 100_000
CHUNK = 1_000
CURSOR = re.compile(r"^(\d{1,18})\.(\d{1,9})$")
BLOCK_NUMBER = re.compile(r"[0-9]+")
MAX_BLOCK = 2**63 - 1
CSV_COLUMNS = (
    "block_number",
    "log_index",
    "timestamp",
    "date",
    "tx_hash",
    "block_hash",
    "contract",
    "name",
    "details",
    "args",
    "cursor",
)

BOUND = (
    "A block number (`1200`) or an ISO 8601 time (`2026-01-31T09:00:00Z`; a date alone means the whole day). Inclusive."
)


def _bound(value: str | None, name: str, *, end: bool) -> tuple[int | None, datetime | None]:
    """A block number or a time, from a query parameter."""
    if value is None or not value.strip():
        return None, None
    value = value.strip()
    if BLOCK_NUMBER.fullmatch(value):
        # The index stores block numbers as SQLite's 64-bit integers; a larger one would overflow the query.
        if len(value) > len(str(MAX_BLOCK)) or int(value) > MAX_BLOCK:
            raise Problem(422, "validation_error", f"{name} must be a block number up to {MAX_BLOCK}.", field=name)
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


# Event arguments in minor units of CNY (1 = CNY 0.01), by their name in the contracts.
_MONEY = frozenset({"faceValue", "amount", "amounts", "price", "limit", "value"})
# The API's names of arguments that the contracts name otherwise.
_RENAMED = {("token", "value"): "amount"}
# The contracts' access-control roles (bytes32 ids in RoleGranted and RoleRevoked), as words.
_ACCESS_ROLES = {
    "0x" + "00" * 32: "admin",
    **{"0x" + keccak(text=name).hex(): name.removesuffix("_ROLE").lower() for name in (
        "OPERATOR_ROLE", "SETTLEMENT_ROLE", "MINTER_ROLE"
    )},
}  # fmt: skip


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _cny(minor: int) -> str:
    """Minor units as a decimal CNY string, exactly, whatever the size (``125050`` is ``"1250.50"``)."""
    sign, minor = ("-", -minor) if minor < 0 else ("", minor)
    return f"{sign}{minor // 100}.{minor % 100:02d}"


def _details(event: EventRecord) -> dict[str, Any]:
    """The event's arguments in the API's language, each beside its raw on-chain value where they differ:
    amounts as decimal CNY (``amount`` and ``amount_minor``), days as ISO dates (``maturity_date`` and
    ``maturity_day``), roles as words (``role`` and ``role_code``), rates as fractions a year
    (``annual_rate`` and ``annual_rate_units``)."""
    details: dict[str, Any] = {}
    for name, value in event.args.items():
        key = _RENAMED.get((event.contract, name)) or _snake(name)
        number = isinstance(value, int) and not isinstance(value, bool)
        if name in _MONEY and number:
            details[key], details[f"{key}_minor"] = _cny(value), value
        elif name in _MONEY and isinstance(value, list) and all(isinstance(v, int) for v in value):
            details[key], details[f"{key}_minor"] = [_cny(v) for v in value], value
        elif name == "maturityDay" and number:
            details["maturity_date"], details["maturity_day"] = from_day(value).isoformat(), value
        elif name == "role" and number:  # a member's role
            details["role"], details["role_code"] = role_label(value), value
        elif "role" in name.lower() and isinstance(value, str) and value in _ACCESS_ROLES:  # an access-control role
            details[key], details[f"{key}_id"] = _ACCESS_ROLES[value], value
        elif name == "annualRate" and number:
            details["annual_rate"], details["annual_rate_units"] = f"{from_rate_units(value):f}", value
        else:
            details[key] = value
    if event.contract == TOKEN and event.name == "Transfer":
        # A mint is money paid in at the deposit bank, a burn money paid out; anything else moves between members.
        sender, receiver = event.args.get("from"), event.args.get("to")
        details["movement"] = (
            "deposit" if sender == ZERO_ADDRESS else "withdrawal" if receiver == ZERO_ADDRESS else ("transfer")
        )
    if event.name == "OfferAccepted" and {"faceValue", "price"} <= event.args.keys():
        interest = int(event.args["faceValue"]) - int(event.args["price"])
        details["interest"], details["interest_minor"] = _cny(interest), interest
    return details


def _line(event: EventRecord) -> dict[str, Any]:
    return {
        "block_number": event.block_number,
        "log_index": event.log_index,
        "block_hash": event.block_hash,
        "tx_hash": event.tx_hash,
        "contract": event.contract,
        "timestamp": event.timestamp.isoformat().replace("+00:00", "Z"),
        "date": event.timestamp.date().isoformat(),
        "name": event.name,
        "details": _details(event),
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
            line["details"] = json.dumps(line["details"], separators=(",", ":"), ensure_ascii=False)
            writer.writerow([line[column] for column in CSV_COLUMNS])
        yield out.getvalue()
        out.seek(0)
        out.truncate()
    if out.tell():
        yield out.getvalue()


EXPORT_DESCRIPTION = f"""
Every event the index holds in the range, in chain order (block, then log index): the
audit trail of certificates and of cash. For auditors and the operator.
`contract` says which contract emitted it: `ledger` (certificates, members, credit
lines, settlement), `desk` (offers accepted, with the price paid; recourse claims) or
`token` (every movement of the settlement token, the tokenized CNY deposit, as its
ERC-20 `Transfer`: `details.movement` is `deposit` for money paid in, `withdrawal` for
money paid out, `transfer` for a payment between members or through the desk).

`details` gives the event's arguments in the API's language, with the raw on-chain
value beside each one converted, for those who re-verify against the chain:

| in `details` | raw value beside it | meaning |
| --- | --- | --- |
| `amount: "1250.50"` | `amount_minor: 125050` | CNY as a decimal string; raw in fen (0.01) |
| `maturity_date: "2027-03-01"` | `maturity_day: 20878` | ISO date (UTC); raw in days since 1970-01-01 |
| `role: "supplier"` | `role_code: 2` | the member's role as a word |
| `annual_rate: "0.0385"` | `annual_rate_units: 3850000` | a fraction a year; raw in units of 1e-8 |

Every amount takes that form: `face_value`, `price`, `limit`, `interest` (an offer's
face value less its price), and `amounts` (a list). Other arguments (ids, addresses,
hashes, flags) appear under their snake_case names as they are. `args` holds the
arguments exactly as decoded from the log, with the contracts' names and units;
`date` is the ISO date (UTC) of `timestamp`.

`from` and `to` are inclusive bounds, each a block number or an ISO 8601 time (a date
alone covers the whole day); without `to` the range ends at the block indexed when the
first page was asked for. One response holds at most `limit` events (default
{DEFAULT_LIMIT}, at most {MAX_LIMIT}) and is streamed. When more follow, the
`Link: <...>; rel="next"` header gives the next page's URL and `X-Next-Cursor` the
cursor to pass as `after` (each event also carries its own `cursor`).

`format=jsonl` (default) gives `application/x-ndjson`, one event per line;
`format=csv` gives CSV with `details` and `args` each as JSON in one column.
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
    with gateway.index.snapshot() as snapshot:
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
