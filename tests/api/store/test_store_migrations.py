"""Alembic brings a database of the previous main to the newest schema, keeping every row, and makes a new one alike.

The fixture was written by the previous main's own store: see fixtures/README.md.
"""

import shutil
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from api.store import GatewayStore, SqliteJournal, recording_operation
from api.store.db import MIGRATIONS, metadata
from scf_chain.chain.transactions import SignedSend

FIXTURE = Path(__file__).parent / "fixtures" / "gateway-previous-main.db"
MEMBER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
FINANCIER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
# What make_previous_main_db.py printed when it wrote the fixture.
FIXTURE_API_KEY = "scf_NEopZGNO4R_TDwvIUetIxAHzg7NvZhqFXDuMa9HnfTU"
FIXTURE_OPERATION = "89935723-6979-4e66-842c-8224730241d7"
CLOCK = 1_760_000_000.0


def _head() -> str:
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None
    return head


def _version(path: Path) -> list[str]:
    db = sqlite3.connect(path)
    try:
        return [row[0] for row in db.execute("SELECT version_num FROM alembic_version")]
    finally:
        db.close()


def _schema(path: Path) -> dict[str, object]:
    """Each table's columns (name, type, nullable, key), indexes and unique constraints, as SQLAlchemy reflects them."""
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        inspector = sa.inspect(engine)
        return {
            table: {
                "columns": [
                    (column["name"], str(column["type"]), column["nullable"], column["primary_key"])
                    for column in inspector.get_columns(table)
                ],
                "indexes": sorted(
                    (index["name"], tuple(index["column_names"])) for index in inspector.get_indexes(table)
                ),
                "unique": sorted(tuple(unique["column_names"]) for unique in inspector.get_unique_constraints(table)),
            }
            for table in inspector.get_table_names()
        }
    finally:
        engine.dispose()


@pytest.fixture
def previous_main_db(tmp_path: Path) -> Path:
    path = tmp_path / "gateway.db"
    shutil.copyfile(FIXTURE, path)
    path.chmod(0o600)
    return path


@pytest.mark.sqlite_only
def test_a_database_of_the_previous_main_is_upgraded_with_every_row_kept(previous_main_db):
    assert "alembic_version" not in _schema(previous_main_db)
    store = GatewayStore(previous_main_db, clock=lambda: CLOCK)
    journal = SqliteJournal(store)
    try:
        assert _version(previous_main_db) == [_head()]

        assert store.member_for_key(FIXTURE_API_KEY) == MEMBER
        assert store.members_with_api_keys() == {MEMBER}
        status, stored = store.claim_idempotency_key(f"member:{MEMBER}", "issue-1", "fingerprint-1")
        assert (status, stored) == ("done", (201, b'{"certificate_id": 1}', "application/json", None))

        operation = store.operation(FIXTURE_OPERATION)
        assert operation is not None
        assert (operation.member, operation.kind, operation.status) == (MEMBER, "issue", "confirmed")
        assert operation.result == {"certificate_id": 1} and operation.tx_hashes == ()
        assert store.unfinished_operations() == []

        assert journal.count() == 2
        assert journal.senders_with_unconfirmed() == [MEMBER]
        assert journal.unconfirmed(MEMBER) == [SignedSend(MEMBER, 1, "0x" + "22" * 32, b"\x02signed-1")]
        assert store.transaction_status("0x" + "11" * 32) == ("mined", 7)

        assert store.invoice_number(1) == "INV-2025-001"
        assert store.roots_with_invoice_number("inv-2025-001") == [1]
        upload = store.document_upload("ab" * 32, MEMBER)
        assert upload is not None
        assert (upload.filename, upload.content_type, upload.size, upload.uploaded_at) == (
            "invoice.pdf",
            "application/pdf",
            1234,
            CLOCK,
        )

        (request,) = store.financing_requests(holder=MEMBER)
        assert (request.certificate_id, request.amount, request.financiers, request.status) == (
            1,
            Decimal("600.00"),
            (FINANCIER,),
            "financed",
        )
        assert store.requested_certificates(FINANCIER, 0, 10) == {1}
        accepted, withdrawn = store.offers(certificate_id=1)
        assert (accepted.status, accepted.nonce, accepted.financed_id, accepted.price) == (
            "accepted",
            0,
            2,
            Decimal("597.50"),
        )
        assert (accepted.annual_rate, accepted.recourse, accepted.tx_hash) == (Decimal("0.05"), False, "0x" + "33" * 32)
        assert (withdrawn.status, withdrawn.withdrawn_because) == ("withdrawn", "the certificate was financed")
        assert store.next_offer_nonce(FINANCIER) == 2
        assert store.offer_allowance(FINANCIER) == Decimal("1000.00")
        assert store.financiers_with_offer_allowance() == [FINANCIER]

        # What the new revision adds works on the old rows.
        new = store.create_operation(MEMBER, "transfer")
        with recording_operation(new.id):
            journal.record(SignedSend(MEMBER, 2, "0x" + "44" * 32, b"\x02signed-2"))
        operation = store.operation(new.id)
        assert operation is not None and operation.tx_hashes == ("0x" + "44" * 32,)
        assert store.unfinished_operations() == [operation]
    finally:
        store.close()

    reopened = GatewayStore(previous_main_db)  # at head already: nothing to do, nothing lost
    try:
        assert _version(previous_main_db) == [_head()]
        assert reopened.member_for_key(FIXTURE_API_KEY) == MEMBER
    finally:
        reopened.close()


@pytest.mark.sqlite_only
def test_a_new_database_gets_the_schema_an_upgraded_one_has(previous_main_db, tmp_path):
    GatewayStore(previous_main_db).close()
    fresh = tmp_path / "fresh" / "gateway.db"
    GatewayStore(fresh).close()

    upgraded = _schema(previous_main_db)
    assert _schema(fresh) == upgraded
    assert _version(fresh) == [_head()]
    assert set(upgraded) == {*metadata.tables, "alembic_version"}
    # The tables the store's modules query are the ones the migrations made, column for column.
    for name, table in metadata.tables.items():
        assert [column[0] for column in upgraded[name]["columns"]] == [column.name for column in table.columns]


@pytest.mark.sqlite_only
def test_the_baseline_is_the_previous_mains_schema(previous_main_db, tmp_path):
    previous = _schema(previous_main_db)
    fresh = tmp_path / "fresh" / "gateway.db"
    GatewayStore(fresh).close()
    schema = _schema(fresh)
    # Later revisions only add: tables, columns at the end of a table, indexes.
    grown = {"idempotency": 3, "journal": 2, "operations": 1}  # 0003_recovery's columns, 0005_leases' replica
    for name, table in previous.items():
        columns = schema[name]["columns"]
        assert columns[: len(columns) - grown.get(name, 0)] == table["columns"], name
        assert set(table["indexes"]) <= set(schema[name]["indexes"]), name
        assert schema[name]["unique"] == table["unique"], name
    made_since = {"alembic_version", "operation_transactions", "settlement_allowances", "leases"}
    assert set(schema) - set(previous) == made_since


@pytest.mark.sqlite_only
def test_a_database_missing_tables_of_the_baseline_is_refused_not_rebuilt(tmp_path):
    path = tmp_path / "gateway.db"
    db = sqlite3.connect(path)
    with db:
        db.execute("CREATE TABLE api_keys (key_hash TEXT PRIMARY KEY, member TEXT NOT NULL, created_at REAL NOT NULL)")
        db.execute("INSERT INTO api_keys VALUES ('h', 'm', 0)")
    db.close()
    with pytest.raises(RuntimeError, match="lacks document_uploads"):
        GatewayStore(path)
    db = sqlite3.connect(path)
    try:
        assert db.execute("SELECT * FROM api_keys").fetchall() == [("h", "m", 0.0)]
    finally:
        db.close()
