"""Alembic's environment for the index: migrations run on the connection LedgerIndex hands over, in its transaction,
with the revision kept in the version table it names (on PostgreSQL, not the gateway store's)."""

from __future__ import annotations

from alembic import context

from scf_chain.index.schema import metadata

attributes = context.config.attributes
context.configure(
    connection=attributes["connection"],
    target_metadata=metadata,
    render_as_batch=True,
    version_table=attributes.get("version_table", "alembic_version"),
)
with context.begin_transaction():
    context.run_migrations()
