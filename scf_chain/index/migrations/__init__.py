"""Alembic migrations of the index database, run by :class:`~scf_chain.index.store.LedgerIndex` when it opens."""
