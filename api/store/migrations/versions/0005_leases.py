"""Replicas: the leases that say which gateway process holds a signer's nonces or leads (api/store/leases.py),
and the replica that made each operation and idempotency record, for another to settle what a stopped one left.

Revision ID: 0005_leases
Revises: 0004_settlement_allowances
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_leases"
down_revision = "0004_settlement_allowances"
branch_labels = None
depends_on = None

_TIME: sa.types.TypeEngine[float] = sa.Double().with_variant(sa.REAL(), "sqlite")
_BIGINT: sa.types.TypeEngine[int] = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("holder", sa.Text),
        sa.Column("expires_at", _TIME, nullable=False),
        sa.Column("next_nonce", _BIGINT),
        sa.Column("asked_by", sa.Text),
        sa.Column("asked_at", _TIME),
    )
    # Rows made before replicas name none: whoever made them stopped long ago.
    with op.batch_alter_table("operations") as table:
        table.add_column(sa.Column("replica", sa.Text))
    with op.batch_alter_table("idempotency") as table:
        table.add_column(sa.Column("replica", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("idempotency") as table:
        table.drop_column("replica")
    with op.batch_alter_table("operations") as table:
        table.drop_column("replica")
    op.drop_table("leases")
