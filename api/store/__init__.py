"""The gateway's own database: API keys, idempotency records, operations, the transaction journal,
financing requests and offers, document uploads and invoice numbers, and what an interrupted
settlement leaves for its resumption.

One module per concern, each with its tables; :mod:`api.store.db` holds the connection and runs
the migrations (``migrations/``) when the store opens. Only this package opens the database.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from api.store.db import Database, Dialect
from api.store.documents import Documents, DocumentUpload
from api.store.idempotency import IDEMPOTENCY_SCOPE_KEY, Idempotency
from api.store.journal import JournalRecords, SqliteJournal, watch_signed_transactions
from api.store.keys import API_KEY_BYTES, API_KEY_PREFIX, SHOWN_ONCE_FIELD, ApiKeys, hash_api_key, without_secrets
from api.store.leases import LeaseRecords, StoreLeases
from api.store.offers import FinancingRequest, Offers, StoredOffer
from api.store.operations import Operation, Operations, recording_operation
from api.store.settlements import SettlementAllowances

__all__ = [
    "API_KEY_BYTES",
    "API_KEY_PREFIX",
    "IDEMPOTENCY_SCOPE_KEY",
    "SHOWN_ONCE_FIELD",
    "DocumentUpload",
    "FinancingRequest",
    "GatewayStore",
    "Operation",
    "SqliteJournal",
    "StoreLeases",
    "StoredOffer",
    "hash_api_key",
    "recording_operation",
    "watch_signed_transactions",
    "without_secrets",
]


class GatewayStore(
    ApiKeys, Idempotency, Operations, JournalRecords, Offers, Documents, SettlementAllowances, LeaseRecords
):
    """The store, one part per concern, all on one database; it is brought to the newest schema when opened."""

    def __init__(self, location: Path | str, *, clock: Callable[[], float] = time.time) -> None:
        """``location``: the SQLite file, or a PostgreSQL URL (``api.settings.GatewaySettings.gateway_database``)."""
        self._clock = clock
        self._db = Database(location)
        try:
            self._redact_stored_secrets()
        except BaseException:
            self._db.close()
            raise

    @property
    def dialect(self) -> Dialect:
        return self._db.dialect

    @property
    def shared(self) -> bool:
        """Whether other processes may write this store too (gateway replicas on one PostgreSQL database)."""
        return self._db.shared

    def close(self) -> None:
        self._db.close()
