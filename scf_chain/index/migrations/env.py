"""Alembic's environment for the index: migrations run on the connection LedgerIndex hands over, in its transaction."""

from __future__ import annotations

from alembic import context

from scf_chain.index.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
