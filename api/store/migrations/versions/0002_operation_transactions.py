"""Operations carry their transactions: the hashes each one signed, in the order it signed them.

Revision ID: 0002_operation_transactions
Revises: 0001_baseline
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_operation_transactions"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "operation_transactions",
        sa.Column("operation_id", sa.Text, nullable=False),
        sa.Column("tx_hash", sa.Text, nullable=False),
        sa.Column("position", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.PrimaryKeyConstraint("operation_id", "tx_hash"),
    )


def downgrade() -> None:
    op.drop_table("operation_transactions")
