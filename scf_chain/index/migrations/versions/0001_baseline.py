"""Baseline: the index as the last main before migrations made it (schema version 4).

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Block numbers, ids, times and event positions are 64-bit on PostgreSQL (BIGINT); on SQLite, INTEGER as that
# main made them (the same 64 bits there, and an INTEGER PRIMARY KEY stays the rowid).
_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # Single-column keys are declared as that main declared them, without NOT NULL (SQLite's INTEGER PRIMARY
    # KEY cannot be NULL anyway), so that a fresh index and an upgraded one have the same tables.
    meta = op.create_table(
        "meta",
        sa.Column("key", sa.Text, primary_key=True, nullable=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "blocks",
        sa.Column("number", _BIGINT, primary_key=True, autoincrement=False, nullable=True),
        sa.Column("hash", sa.Text, nullable=False),
        sa.Column("timestamp", _BIGINT, nullable=False),
    )
    op.create_table(
        "events",
        sa.Column("block_number", _BIGINT, nullable=False),
        sa.Column("log_index", sa.Integer, nullable=False),
        sa.Column("block_hash", sa.Text, nullable=False),
        sa.Column("tx_hash", sa.Text, nullable=False),
        sa.Column("timestamp", _BIGINT, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("args", sa.Text, nullable=False),
        sa.Column("contract", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("block_number", "log_index"),
        sa.UniqueConstraint("tx_hash", "log_index"),
    )
    op.create_index("events_by_time", "events", ["timestamp"])
    op.create_table(
        "certificates",
        sa.Column("id", _BIGINT, primary_key=True, autoincrement=False, nullable=True),
        sa.Column("root_id", _BIGINT, nullable=False),
        sa.Column("parent_id", _BIGINT),
        sa.Column("obligor", sa.Text, nullable=False),
        sa.Column("holder", sa.Text),
        sa.Column("last_holder", sa.Text, nullable=False),
        sa.Column("face_value", sa.Text, nullable=False),
        sa.Column("maturity_day", sa.Integer, nullable=False),
        sa.Column("hops", sa.Integer, nullable=False),
        sa.Column("document_hash", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("frozen", sa.Integer, nullable=False),
        sa.Column("first_child_id", _BIGINT),
        sa.Column("child_count", sa.Integer, nullable=False),
        sa.Column("created_tx", sa.Text, nullable=False),
        sa.Column("created_block", _BIGINT, nullable=False),
        sa.Column("created_at", _BIGINT, nullable=False),
        sa.Column("last_change", _BIGINT, nullable=False),
    )
    for name, columns in (
        ("certificates_by_holder", ["holder"]),
        ("certificates_by_obligor", ["obligor"]),
        ("certificates_by_parent", ["parent_id"]),
        ("certificates_by_root", ["root_id", "last_change"]),
        ("certificates_by_status", ["status"]),
        ("certificates_by_maturity", ["maturity_day"]),
    ):
        op.create_index(name, "certificates", columns)
    op.create_table(
        "holdings",
        sa.Column("address", sa.Text, nullable=False),
        sa.Column("certificate_id", _BIGINT, nullable=False),
        sa.PrimaryKeyConstraint("address", "certificate_id"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "members",
        sa.Column("address", sa.Text, primary_key=True, nullable=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("frozen", sa.Integer, nullable=False),
        sa.Column("registered_block", _BIGINT, nullable=False),
        sa.Column("registered_log", sa.Integer, nullable=False),
    )
    op.bulk_insert(
        meta,
        [
            {"key": "schema_version", "value": "4"},
            {"key": "indexed_block", "value": "-1"},
            {"key": "generation", "value": "0"},
        ],
    )


def downgrade() -> None:
    for table in ("members", "holdings", "certificates", "events", "blocks", "meta"):
        op.drop_table(table)
