"""Baseline: the tables of the last gateway that kept no migration version (commit 6ba6ea5).

A database that gateway made is stamped at this revision, not migrated: its tables are these.
Frozen as written then: the live tables are in the store's modules, which later revisions follow. The one
change since: ids, nonces, block numbers and sizes are 64-bit on PostgreSQL (BIGINT), and INTEGER on SQLite
as they were, so that a SQLite file made by this revision is the same as before.
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None

# REAL in SQLite, as before; nullable primary keys, as SQLite made them from "TEXT PRIMARY KEY".
_TIME: sa.types.TypeEngine[float] = sa.Double().with_variant(sa.REAL(), "sqlite")
_BIGINT: sa.types.TypeEngine[int] = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _key(name: str, type_: Any = sa.Text) -> sa.Column[Any]:
    return sa.Column(name, type_, primary_key=True, nullable=True)


def upgrade() -> None:
    op.create_table(
        "api_keys",
        _key("key_hash"),
        sa.Column("member", sa.Text, nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("revoked_at", _TIME),
    )
    op.create_index("api_keys_member", "api_keys", ["member"])
    op.create_table(
        "idempotency",
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("fingerprint", sa.Text, nullable=False),
        sa.Column("response_status", sa.Integer),
        sa.Column("response_body", sa.LargeBinary),
        sa.Column("content_type", sa.Text),
        sa.Column("created_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("scope", "key"),
    )
    op.create_table(
        "operations",
        _key("id"),
        sa.Column("member", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("result", sa.Text),
        sa.Column("problem", sa.Text),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
    )
    op.create_table(
        "journal",
        _key("tx_hash"),
        sa.Column("sender", sa.Text, nullable=False),
        sa.Column("nonce", _BIGINT, nullable=False),
        sa.Column("raw", sa.LargeBinary, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("block_number", _BIGINT),
        sa.Column("created_at", _TIME, nullable=False),
    )
    op.create_index("journal_sender", "journal", ["sender", "status", "nonce"])
    op.create_table("issuance_notes", _key("root_id", _BIGINT), sa.Column("invoice_number", sa.Text))
    op.create_table(
        "document_uploads",
        sa.Column("document_hash", sa.Text, nullable=False),
        sa.Column("uploader", sa.Text, nullable=False),
        sa.Column("filename", sa.Text),
        sa.Column("content_type", sa.Text, nullable=False),
        sa.Column("size", _BIGINT, nullable=False),
        sa.Column("uploaded_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("document_hash", "uploader"),
    )
    op.create_table(
        "financing_requests",
        _key("id", _BIGINT),
        sa.Column("certificate_id", _BIGINT, nullable=False),
        sa.Column("holder", sa.Text, nullable=False),
        sa.Column("amount", sa.Text),
        sa.Column("financiers", sa.Text),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("financing_requests_by_certificate", "financing_requests", ["certificate_id", "status"])
    op.create_index("financing_requests_by_holder", "financing_requests", ["holder"])
    op.create_table(
        "offers",
        _key("id", _BIGINT),
        sa.Column("request_id", _BIGINT, nullable=False),
        sa.Column("certificate_id", _BIGINT, nullable=False),
        sa.Column("seller", sa.Text, nullable=False),
        sa.Column("financier", sa.Text, nullable=False),
        sa.Column("annual_rate", sa.Text, nullable=False),
        sa.Column("day_count", sa.Integer, nullable=False),
        sa.Column("expires_at", _BIGINT, nullable=False),
        sa.Column("recourse", sa.Integer, nullable=False),
        sa.Column("nonce", _BIGINT, nullable=False),
        sa.Column("amount", sa.Text, nullable=False),
        sa.Column("signature", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("financed_id", _BIGINT),
        sa.Column("accepted_amount", sa.Text),
        sa.Column("interest", sa.Text),
        sa.Column("price", sa.Text),
        sa.Column("days", sa.Integer),
        sa.Column("tx_hash", sa.Text),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.UniqueConstraint("financier", "nonce"),
        sqlite_autoincrement=True,
    )
    op.create_index("offers_by_certificate", "offers", ["certificate_id"])
    op.create_index("offers_by_financier", "offers", ["financier", "status"])
    op.create_table("offer_withdrawals", _key("offer_id", _BIGINT), sa.Column("reason", sa.Text, nullable=False))
    op.create_table(
        "offer_allowances",
        _key("financier"),
        sa.Column("amount", sa.Text, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
    )


def downgrade() -> None:
    raise NotImplementedError("the baseline is where the gateway database's history starts")
