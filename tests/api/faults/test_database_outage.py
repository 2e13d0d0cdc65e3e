"""PostgreSQL goes away for a few seconds under load, and comes back on the same port.

A gateway process keeps its store and its index in a PostgreSQL server of this test's own. Several
members send a bounded stream of writes (issue a certificate, accept it), each with its own
``Idempotency-Key``, and the server is stopped (``pg_ctl stop -m fast``: every session is ended)
in the middle of it and started again after a few seconds. While it is away a request is answered
``503`` problem+json ``database_unavailable`` with ``Retry-After``, never 500; afterwards the gateway
carries on by itself, without a restart. Every request is then sent again with its key until it has
a final answer, and the chain is counted: the certificates on it are exactly those the 201 answers
named, each once, and every accepted one is active; no idempotency record is left in progress, and
none claims a transaction that the journal does not hold as mined.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from api.store.idempotency import idempotency
from api.store.journal import journal
from api.store.operations import operation_transactions
from tests import databases
from tests.api.conftest import ApiMember, new_document_hash, new_invoice_number
from tests.api.faults.chain_view import ChainView
from tests.api.financing_harness import Harness, own_gateway
from tests.gauntlet import record, strength
from tools.postgres import LocalPostgres

# On a PostgreSQL server of its own whatever --database says: run once, in the PostgreSQL pass of make test.
pytestmark = [pytest.mark.gauntlet, pytest.mark.postgres_only]

AWAY_S = 3.0
# A write is sent again with its key until it has a final answer, for at most this long.
FINAL_WITHIN_S = 60.0
NOT_FINAL = ("idempotency_request_in_progress", "idempotency_request_unconfirmed")
ACTIVE = 2  # the ledger's status of an accepted certificate (CertificateStatus.Active)


@pytest.fixture
def server() -> Iterator[LocalPostgres]:
    """A PostgreSQL server of this test's own: it stops it, which the run's other databases must not see."""
    missing = databases.missing_postgres()
    if missing:
        pytest.skip(missing)
    # Not under pytest's temporary folder: as root, the server's user must reach the folder.
    folder = Path(tempfile.mkdtemp(prefix="scf-outage-postgres-"))
    local = LocalPostgres(folder / "cluster", durable=False)
    local.start()
    try:
        yield local
    finally:
        local.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def harness(tmp_path: Path, server: LocalPostgres) -> Iterator[Harness]:
    with own_gateway(tmp_path, database_url=server.create_database("scf")) as harness:
        yield harness


@dataclass
class Attempt:
    status: int
    code: str | None
    retry_after: str | None
    content_type: str
    during_outage: bool


@dataclass
class Write:
    member: ApiMember
    path: str
    body: dict[str, Any] | None
    key: str = field(default_factory=lambda: str(uuid.uuid4()))
    final: httpx.Response | None = None


@dataclass
class Tally:
    attempts: list[Attempt] = field(default_factory=list)
    writes: list[Write] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    stuck: list[Write] = field(default_factory=list)  # whose record keeps a 503 for good
    lock: threading.Lock = field(default_factory=threading.Lock)


def _final(response: httpx.Response | None) -> bool:
    if response is None or response.status_code == 503:
        return False
    return not (response.status_code == 409 and response.json().get("code") in NOT_FINAL)


def _send(write: Write, away: threading.Event, tally: Tally) -> httpx.Response | None:
    """Sends ``write`` once with its key; a final answer is kept on it."""
    during = away.is_set()
    try:
        response = write.member.api.post(write.path, write.body, headers={"Idempotency-Key": write.key})
    except httpx.HTTPError as exc:
        with tally.lock:
            tally.errors.append(f"{write.path}: {type(exc).__name__}")
        return None
    is_problem = response.headers.get("content-type", "").startswith("application/problem+json")
    attempt = Attempt(
        response.status_code,
        response.json().get("code") if is_problem else None,
        response.headers.get("retry-after"),
        response.headers.get("content-type", ""),
        during or away.is_set(),
    )
    with tally.lock:
        tally.attempts.append(attempt)
    if _final(response):
        write.final = response
    return response


def _stream(
    core: ApiMember, supplier: ApiMember, maturity: str, writes: int, away: threading.Event, tally: Tally
) -> None:
    """One member's bounded stream: an issue to its supplier, then the supplier's accept, each sent once."""
    try:
        for _ in range(writes):
            body = {
                "to": supplier.address,
                "amount": "1000.00",
                "maturity_date": maturity,
                "document_hash": new_document_hash(),
                "invoice_number": new_invoice_number(),
            }
            issue = Write(core, "/v1/certificates", body)
            with tally.lock:
                tally.writes.append(issue)
            response = _send(issue, away, tally)
            if response is None or response.status_code != 201:
                time.sleep(0.2)  # as a client does after a 503: not at once
                continue
            certificate_id = response.json()["certificates"][0]["id"]
            accept = Write(supplier, f"/v1/certificates/{certificate_id}/accept", None)
            with tally.lock:
                tally.writes.append(accept)
            _send(accept, away, tally)
    except Exception as exc:  # the test fails on it below, with the others' tally intact
        with tally.lock:
            tally.errors.append(f"{type(exc).__name__}: {exc}")


def _replay(write: Write, away: threading.Event, tally: Tally) -> None:
    """Sends ``write`` again with its key, after Retry-After, until it has a final answer."""
    deadline = time.monotonic() + FINAL_WITHIN_S
    while write.final is None and time.monotonic() < deadline:
        response = _send(write, away, tally)
        if response is not None and response.status_code == 503 and response.headers.get("idempotent-replayed"):
            # The record itself holds the 503: it answers the same however often it is asked.
            with tally.lock:
                tally.stuck.append(write)
            return
        if write.final is None:
            retry_after = response.headers.get("retry-after") if response is not None else None
            time.sleep(min(float(retry_after or 1), 1.0))


def test_writes_through_a_database_outage_are_answered_503_and_none_is_lost_or_made_twice(
    harness: Harness, server: LocalPostgres
) -> None:
    h = harness
    members = strength(4, 8)
    writes_each = strength(12, 40)
    pairs = [(h.core(), h.onboard("supplier")) for _ in range(members)]
    maturity = h.date_in(90).isoformat()
    away, tally = threading.Event(), Tally()
    streams = [
        threading.Thread(target=_stream, args=(core, supplier, maturity, writes_each, away, tally))
        for core, supplier in pairs
    ]
    for stream in streams:
        stream.start()
    time.sleep(1.0)  # mid-stream
    away.set()
    server.stop()
    # A write sent while the server is away must meet the outage, whatever the streams are doing.
    probe_core, probe_supplier = pairs[0]
    probe_body = {
        "to": probe_supplier.address,
        "amount": "5.00",
        "maturity_date": maturity,
        "document_hash": new_document_hash(),
        "invoice_number": new_invoice_number(),
    }
    probe = Write(probe_core, "/v1/certificates", probe_body)
    tally.writes.append(probe)
    probe_answer = _send(probe, away, tally)
    time.sleep(AWAY_S)
    server.start()
    away.clear()
    for stream in streams:
        stream.join(timeout=FINAL_WITHIN_S + 60)
    assert not any(stream.is_alive() for stream in streams), "a stream did not end"

    # Every request is sent again with its key until it has a final answer.
    not_final_at_first = [write for write in tally.writes if write.final is None]
    for write in not_final_at_first:
        _replay(write, away, tally)

    attempts = tally.attempts
    statuses = sorted({attempt.status for attempt in attempts})
    unavailable = [attempt for attempt in attempts if attempt.status == 503]
    chain = ChainView(h.gateway.data_dir, h.gateway.env["SCF_RPC_URL"])
    on_chain = set(range(1, chain.certificate_count() + 1))
    issued = [
        certificate["id"]
        for write in tally.writes
        if write.path == "/v1/certificates" and write.final is not None and write.final.status_code == 201
        for certificate in write.final.json()["certificates"]
    ]
    accepted = [
        write.final.json()["certificates"][0]["id"]
        for write in tally.writes
        if write.path.endswith("/accept") and write.final is not None and write.final.status_code == 200
    ]
    figures = {
        "members": members,
        "requests": len(attempts),
        "writes": len(tally.writes),
        "answered_503": len(unavailable),
        "answered_500": sum(1 for attempt in attempts if attempt.status == 500),
        "statuses": statuses,
        "sent_again_after_outage": len(not_final_at_first),
        "never_final": sum(1 for write in tally.writes if write.final is None),
        "certificates_on_chain": len(on_chain),
        "lost": len(on_chain - set(issued)),
        "duplicated": len(issued) - len(set(issued)) + len(set(issued) - on_chain),
        "transport_errors": len(tally.errors),
        "stuck_at_503": len(tally.stuck),
    }
    record("fault-database-outage", figures)

    assert not tally.errors, tally.errors
    assert not tally.stuck, [(write.path, write.key) for write in tally.stuck]
    assert probe_answer is not None and probe_answer.status_code == 503, probe_answer and probe_answer.text
    assert 500 not in statuses, figures
    assert all(attempt.status < 500 or attempt.status == 503 for attempt in attempts), statuses
    assert unavailable, "no request met the outage"
    for attempt in unavailable:
        assert attempt.content_type.startswith("application/problem+json") and attempt.code, attempt
        assert attempt.retry_after is not None and int(attempt.retry_after) > 0, attempt
    assert any(attempt.code == "database_unavailable" for attempt in unavailable), unavailable
    assert figures["never_final"] == 0, [(w.path, w.key) for w in tally.writes if w.final is None]
    finals = [write.final.status_code for write in tally.writes if write.final is not None]
    assert set(finals) <= {200, 201}, [w.final.text for w in tally.writes if w.final and w.final.status_code >= 300]
    # Nothing lost, nothing made twice: the certificates on the chain are exactly the ones answered 201, each once.
    assert len(issued) == len(set(issued)), "a certificate was answered twice"
    assert on_chain == set(issued), (sorted(on_chain - set(issued)), sorted(set(issued) - on_chain))
    for certificate_id in accepted:
        assert chain.status_code(certificate_id) == ACTIVE, certificate_id
    # The gateway carried on by itself: a new write succeeds, and the index has every certificate answered.
    after = Write(probe_core, "/v1/certificates", {**probe_body, "document_hash": new_document_hash(),
                                                    "invoice_number": new_invoice_number()})  # fmt: skip
    _replay(after, away, tally)
    assert after.final is not None and after.final.status_code == 201, after.final and after.final.text
    for certificate_id in sorted(on_chain):
        assert h.operator.get(f"/v1/certificates/{certificate_id}").status_code == 200, certificate_id
    _assert_records_hold_only_journalled_transactions(h.gateway.gateway_database)


def _assert_records_hold_only_journalled_transactions(location: Path | str) -> None:
    """No record is left in progress, and every transaction a record or its operation names was journalled and
    mined."""
    engine = databases.engine(location)
    try:
        with engine.connect() as db:
            records = db.execute(
                sa.select(idempotency.c.key, idempotency.c.response_status, idempotency.c.response_body,
                          idempotency.c.operation_id)
            ).all()  # fmt: skip
            journalled = {row.tx_hash: row.status for row in db.execute(sa.select(journal.c.tx_hash, journal.c.status))}
            of_operations = db.execute(
                sa.select(operation_transactions.c.operation_id, operation_transactions.c.tx_hash)
            ).all()
    finally:
        engine.dispose()
    assert records, "no idempotency record was kept"
    assert [row.key for row in records if row.response_status is None] == []
    sent_by = {operation: tx_hash for operation, tx_hash in of_operations}
    for row in records:
        answer = json.loads(row.response_body)
        claimed = {answer["tx_hash"]} if row.response_status < 300 and "tx_hash" in answer else set()
        if row.operation_id in sent_by and row.response_status < 300:
            claimed.add(sent_by[row.operation_id])
        for tx_hash in claimed:
            assert journalled.get(tx_hash) == "mined", (row.key, tx_hash, journalled.get(tx_hash))
