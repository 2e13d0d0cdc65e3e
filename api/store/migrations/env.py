"""Alembic's entry point for the gateway database: the store hands it the connection to migrate."""

from alembic import context

# Always given by api.store.db, inside the store's own write transaction; never a URL from a file.
context.configure(connection=context.config.attributes["connection"])
with context.begin_transaction():
    context.run_migrations()
