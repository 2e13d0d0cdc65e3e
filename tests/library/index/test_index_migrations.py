"""The index's Alembic migrations: a fresh file, and an index made by the last main before them.

``fixtures/index-previous-main.db`` was made by that main (commit 6ba6ea5): its own indexer
followed a short Anvil chain (the lifecycle of ``indexer_checks.run_lifecycle`` and a deposit of
the settlement token), and ``fixtures/index-previous-main.json`` holds every certificate, member
and event as that code read them back.
"""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from scf_chain.index.store import LedgerIndex

FIXTURES = Path(__file__).parent / "fixtures"


def _revision(path: Path) -> list[str]:
    with sqlite3.connect(path) as db:
        return [row[0] for row in db.execute("SELECT version_num FROM alembic_version")]


def _heads() -> list[str]:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from scf_chain.index.store import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return list(ScriptDirectory.from_config(config).get_heads())


@pytest.fixture
def previous_main(tmp_path: Path) -> Path:
    path = tmp_path / "index.db"
    shutil.copyfile(FIXTURES / "index-previous-main.db", path)
    return path


@pytest.mark.sqlite_only
def test_the_fixture_is_as_the_previous_main_left_it(previous_main: Path):
    with sqlite3.connect(previous_main) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert "alembic_version" not in tables
        assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("4",)


@pytest.mark.sqlite_only
def test_an_index_of_the_previous_main_is_upgraded_and_reads_back_unchanged(previous_main: Path, caplog):
    expected = json.loads((FIXTURES / "index-previous-main.json").read_text())
    with caplog.at_level(logging.WARNING, logger="scf_chain.index"), LedgerIndex(previous_main) as index:
        assert not [r for r in caplog.records if "rebuilding" in r.getMessage()]
        assert _revision(previous_main) == _heads()
        assert index.indexed_block == expected["indexed_block"]
        assert index.meta("followed") == expected["followed"]
        records, total = index.certificates(limit=100_000)
        assert total == len(expected["certificates"]) > 0
        for record, want in zip(records, expected["certificates"], strict=True):
            assert record.face_value == Decimal(want["face_value"])
            assert record.maturity_date == date.fromisoformat(want["maturity_date"])
            assert record.created_at == datetime.fromisoformat(want["created_at"])
            assert list(record.child_ids) == want["child_ids"]
            for name in ("id", "root_id", "parent_id", "obligor", "holder", "last_holder", "hops", "document_hash"):
                assert getattr(record, name) == want[name], (record.id, name)
            for name in ("status", "frozen", "created_tx", "created_block"):
                assert getattr(record, name) == want[name], (record.id, name)
            assert index.certificate(record.id) == record
        members = [
            {"address": m.address, "name": m.name, "role": m.role, "frozen": m.frozen, "block": m.registered_block}
            for m in index.members()
        ]
        assert members == expected["members"] and members
        events = [
            {
                "block_number": e.block_number,
                "log_index": e.log_index,
                "block_hash": e.block_hash,
                "tx_hash": e.tx_hash,
                "timestamp": e.timestamp.isoformat(),
                "name": e.name,
                "args": e.args,
                "contract": e.contract,
            }
            for e in index.events(limit=1_000_000)
        ]
        assert events == expected["events"]
        assert {e["contract"] for e in events} >= {"ledger", "token"}
        # And the derived tables are still what the events say: replaying them changes nothing.
        before = index.dump()
        index.rollback(index.indexed_block)
        assert index.dump() == before
    with LedgerIndex(previous_main) as index:  # opened again: already at the newest revision
        assert _revision(previous_main) == _heads() and index.indexed_block == expected["indexed_block"]


@pytest.mark.sqlite_only
def test_a_fresh_index_has_the_tables_of_the_upgraded_previous_main(previous_main: Path, tmp_path: Path):
    def layout(path: Path) -> dict[str, list[tuple[object, ...]]]:
        with sqlite3.connect(path) as db:
            names = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1")]
            layout = {name: db.execute(f"PRAGMA table_info({name})").fetchall() for name in names}
            indexes = db.execute("SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' ORDER BY 1")
            layout["indexes"] = [row for row in indexes if not row[0].startswith("sqlite_autoindex")]
            return layout

    LedgerIndex(previous_main).close()
    fresh = tmp_path / "fresh.db"
    with LedgerIndex(fresh) as index:
        assert index.indexed_block == -1 and index.meta("generation") == "0"
    upgraded, made = layout(previous_main), layout(fresh)
    assert made.keys() == upgraded.keys()
    for table in made:  # column names, declared types, nullability and keys alike
        assert made[table] == upgraded[table], table
    assert _revision(fresh) == _heads()


def test_the_migrations_make_the_tables_the_code_is_written_against(index_at: Path | str):
    """A change to schema.py without a migration (or the other way round) shows up here."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from scf_chain.index.schema import metadata
    from scf_chain.index.store import POSTGRESQL_VERSION_TABLE
    from tests import databases

    LedgerIndex(index_at).close()
    engine = databases.engine(index_at)
    try:
        with engine.connect() as db:
            # On PostgreSQL the index keeps its revision beside the gateway store's, in a table of its own.
            version_table = POSTGRESQL_VERSION_TABLE if isinstance(index_at, str) else "alembic_version"
            context = MigrationContext.configure(db, opts={"compare_type": True, "version_table": version_table})
            differences = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    if isinstance(index_at, str):
        # The single-column keys are declared without NOT NULL, as SQLite made them; PostgreSQL makes every key
        # column NOT NULL all the same.
        keys = {(table.name, column.name) for table in metadata.tables.values() for column in table.primary_key}
        differences = [
            change
            for change in differences
            if not (isinstance(change, list) and change[0][0] == "modify_nullable" and change[0][2:4] in keys)
        ]
    assert differences == []
