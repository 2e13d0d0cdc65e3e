"""The index's tables, on one MetaData: what the queries and the projection are written against.

The tables themselves are made and changed by the Alembic migrations in
:mod:`scf_chain.index.migrations`, whose baseline is the layout the index had before them
(schema version 4 in its ``meta`` table).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Dialect,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

# The layout the index had before migrations; a database with another version and no Alembic revision
# is older than any migration knows, and is rebuilt from the chain.
LEGACY_SCHEMA_VERSION = "4"


class MinorUnits(TypeDecorator[int]):
    """An amount in minor units, stored as text: a uint64 does not fit SQLite's INTEGER."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else str(int(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> int | None:
        return None if value is None else int(value)


class Flag(TypeDecorator[bool]):
    """A yes or no, stored as 0 or 1."""

    impl = Integer
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        return None if value is None else int(bool(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> bool | None:
        return None if value is None else bool(value)


# Block numbers, ids, times and event positions (block << 24 | log index, past 2^31 from block 128): 64 bits on
# PostgreSQL. SQLite's INTEGER is 64 bits already, and its INTEGER PRIMARY KEY the rowid: its files are unchanged.
BigInt = BigInteger().with_variant(Integer(), "sqlite")


class Upsert:
    """An INSERT that, where a row with the same ``key`` exists, sets the columns ``changes`` names from the new
    row (``excluded``), or with no ``changes`` leaves the existing row; with no ``key`` either, it skips a row that
    conflicts on any unique key. Built for each dialect, with the same conflict target and semantics on both."""

    _INSERTS: Mapping[str, Callable[[Table], Any]] = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}

    def __init__(
        self,
        table: Table,
        key: Sequence[Column[Any]] | None = None,
        changes: Callable[[Any], Mapping[str, Any]] | None = None,
    ) -> None:
        self._statements: dict[str, Insert] = {}
        for dialect, insert in self._INSERTS.items():
            statement = insert(table)
            if changes is None:
                statement = statement.on_conflict_do_nothing(index_elements=key)
            else:
                statement = statement.on_conflict_do_update(index_elements=key, set_=changes(statement.excluded))
            # An INSERT's rowcount says whether it inserted (or updated): SQLAlchemy keeps it only when asked.
            self._statements[dialect] = statement.execution_options(preserve_rowcount=True)

    def on(self, db: Connection) -> Insert:
        """The statement for ``db``'s dialect."""
        return self._statements[db.dialect.name]


metadata = MetaData()
# Single-column keys carry no NOT NULL, as the tables were first declared (see the baseline migration).

meta = Table(
    "meta",
    metadata,
    Column("key", Text, primary_key=True, nullable=True),
    Column("value", Text, nullable=False),
)

blocks = Table(
    "blocks",
    metadata,
    Column("number", BigInt, primary_key=True, autoincrement=False, nullable=True),
    Column("hash", Text, nullable=False),
    Column("timestamp", BigInt, nullable=False),
)

events = Table(
    "events",
    metadata,
    Column("block_number", BigInt, nullable=False),
    Column("log_index", Integer, nullable=False),
    Column("block_hash", Text, nullable=False),
    Column("tx_hash", Text, nullable=False),
    Column("timestamp", BigInt, nullable=False),
    Column("name", Text, nullable=False),
    Column("args", Text, nullable=False),  # JSON
    Column("contract", Text, nullable=False),  # which contract emitted it: ledger, desk or token
    PrimaryKeyConstraint("block_number", "log_index"),
    UniqueConstraint("tx_hash", "log_index"),
    Index("events_by_time", "timestamp"),
)

certificates = Table(
    "certificates",
    metadata,
    Column("id", BigInt, primary_key=True, autoincrement=False, nullable=True),
    Column("root_id", BigInt, nullable=False),
    Column("parent_id", BigInt),
    Column("obligor", Text, nullable=False),
    Column("holder", Text),
    Column("last_holder", Text, nullable=False),
    Column("face_value", MinorUnits, nullable=False),
    Column("maturity_day", Integer, nullable=False),
    Column("hops", Integer, nullable=False),
    Column("document_hash", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("frozen", Flag, nullable=False),
    Column("first_child_id", BigInt),
    Column("child_count", Integer, nullable=False),
    Column("created_tx", Text, nullable=False),
    Column("created_block", BigInt, nullable=False),
    Column("created_at", BigInt, nullable=False),
    # The position of the last event that changed the row (see records.event_position).
    Column("last_change", BigInt, nullable=False),
    Index("certificates_by_holder", "holder"),
    Index("certificates_by_obligor", "obligor"),
    Index("certificates_by_parent", "parent_id"),
    # Also answers "when did anything in this issuance last change" without reading its rows.
    Index("certificates_by_root", "root_id", "last_change"),
    Index("certificates_by_status", "status"),
    Index("certificates_by_maturity", "maturity_day"),
)

holdings = Table(
    "holdings",
    metadata,
    Column("address", Text, nullable=False),
    Column("certificate_id", BigInt, nullable=False),
    PrimaryKeyConstraint("address", "certificate_id"),
    sqlite_with_rowid=False,
)

members = Table(
    "members",
    metadata,
    Column("address", Text, primary_key=True, nullable=True),
    Column("name", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("frozen", Flag, nullable=False),
    Column("registered_block", BigInt, nullable=False),
    Column("registered_log", Integer, nullable=False),
)

# The tables derived from events; a rollback clears them and replays the events.
DERIVED_TABLES = (certificates, holdings, members)
