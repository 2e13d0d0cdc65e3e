"""The allowance an interrupted settlement found standing, for its resumption to approve only what is missing.

Revision ID: 0004_settlement_allowances
Revises: 0003_recovery
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_settlement_allowances"
down_revision = "0003_recovery"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "settlement_allowances",
        sa.Column("obligor", sa.Text, nullable=False),
        sa.Column("root_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("standing_allowance", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("obligor", "root_id"),
    )


def downgrade() -> None:
    op.drop_table("settlement_allowances")
