"""What recovery after a crash needs: an idempotency record names its operation and the status its
request answers on success; a journalled transaction keeps the block hash and position it was mined at.

Revision ID: 0003_recovery
Revises: 0002_operation_transactions
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_recovery"
down_revision = "0002_operation_transactions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("idempotency") as table:
        table.add_column(sa.Column("operation_id", sa.Text))
        table.add_column(sa.Column("success_status", sa.Integer))
    with op.batch_alter_table("journal") as table:
        table.add_column(sa.Column("block_hash", sa.Text))
        table.add_column(sa.Column("tx_index", sa.BigInteger().with_variant(sa.Integer(), "sqlite")))
    op.create_index("journal_block", "journal", ["block_number"])


def downgrade() -> None:
    op.drop_index("journal_block", "journal")
    with op.batch_alter_table("journal") as table:
        table.drop_column("tx_index")
        table.drop_column("block_hash")
    with op.batch_alter_table("idempotency") as table:
        table.drop_column("success_status")
        table.drop_column("operation_id")
