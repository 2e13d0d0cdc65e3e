"""The gateway's own database: API keys, idempotency records, operations, the transaction journal.

SQLite in the data folder by default. One connection, serialized by a lock: every
statement is short, and WAL mode keeps readers of other processes unblocked.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scf_chain.transactions import SignedSend

API_KEY_PREFIX = "scf_"
API_KEY_BYTES = 32

SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    key_hash TEXT PRIMARY KEY,
    member TEXT NOT NULL,
    created_at REAL NOT NULL,
    revoked_at REAL
);
CREATE INDEX IF NOT EXISTS api_keys_member ON api_keys (member);
CREATE TABLE IF NOT EXISTS idempotency (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    response_status INTEGER,
    response_body BLOB,
    content_type TEXT,
    created_at REAL NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE TABLE IF NOT EXISTS operations (
    id TEXT PRIMARY KEY,
    member TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    result TEXT,
    problem TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS journal (
    tx_hash TEXT PRIMARY KEY,
    sender TEXT NOT NULL,
    nonce INTEGER NOT NULL,
    raw BLOB NOT NULL,
    status TEXT NOT NULL,
    block_number INTEGER,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS journal_sender ON journal (sender, status, nonce);
CREATE TABLE IF NOT EXISTS issuance_notes (
    root_id INTEGER PRIMARY KEY,
    invoice_number TEXT
);
"""


def hash_api_key(api_key: str) -> str:
    # Keys carry 256 random bits, so a plain hash cannot be reversed by guessing.
    return hashlib.sha256(api_key.encode()).hexdigest()


@dataclass(frozen=True)
class Operation:
    id: str
    member: str
    kind: str
    status: str
    result: Any
    problem: Any
    created_at: float
    updated_at: float


class GatewayStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA synchronous=NORMAL")
        self._connection.executescript(SCHEMA)
        self._lock = threading.RLock()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._connection.execute("BEGIN IMMEDIATE")
            try:
                yield self._connection
            except BaseException:
                self._connection.execute("ROLLBACK")
                raise
            self._connection.execute("COMMIT")

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._connection.execute(sql, params).fetchall()

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    # API keys

    def create_api_key(self, member: str, *, revoke_existing: bool = False) -> str:
        """Creates a key for ``member`` and returns it; only its hash is kept."""
        api_key = API_KEY_PREFIX + secrets.token_urlsafe(API_KEY_BYTES)
        with self._transaction() as db:
            if revoke_existing:
                db.execute(
                    "UPDATE api_keys SET revoked_at = ? WHERE member = ? AND revoked_at IS NULL", (time.time(), member)
                )
            db.execute(
                "INSERT INTO api_keys (key_hash, member, created_at) VALUES (?, ?, ?)",
                (hash_api_key(api_key), member, time.time()),
            )
        return api_key

    def revoke_api_keys(self, member: str) -> int:
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE member = ? AND revoked_at IS NULL", (time.time(), member)
            )
            return cursor.rowcount

    def member_for_key(self, api_key: str) -> str | None:
        rows = self._query(
            "SELECT member FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL", (hash_api_key(api_key),)
        )
        return rows[0][0] if rows else None

    # Idempotency

    def claim_idempotency_key(self, scope: str, key: str, fingerprint: str) -> tuple[str, Any]:
        """Claims ``key`` for a new request, or says what became of the first one.

        Returns ``("new", None)``, ``("conflict", None)`` for another body under the same key,
        ``("in_progress", None)``, or ``("done", (status, body, content_type))``.
        """
        with self._transaction() as db:
            row = db.execute(
                "SELECT fingerprint, response_status, response_body, content_type FROM idempotency "
                "WHERE scope = ? AND key = ?",
                (scope, key),
            ).fetchone()
            if row is None:
                db.execute(
                    "INSERT INTO idempotency (scope, key, fingerprint, created_at) VALUES (?, ?, ?, ?)",
                    (scope, key, fingerprint, time.time()),
                )
                return "new", None
        if row[0] != fingerprint:
            return "conflict", None
        if row[1] is None:
            return "in_progress", None
        return "done", (row[1], bytes(row[2]), row[3])

    def complete_idempotency_key(self, scope: str, key: str, status: int, body: bytes, content_type: str) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE idempotency SET response_status = ?, response_body = ?, content_type = ? "
                "WHERE scope = ? AND key = ?",
                (status, body, content_type, scope, key),
            )

    def release_idempotency_key(self, scope: str, key: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM idempotency WHERE scope = ? AND key = ?", (scope, key))

    # Operations

    def create_operation(self, member: str, kind: str) -> Operation:
        now = time.time()
        operation = Operation(str(uuid.uuid4()), member, kind, "submitted", None, None, now, now)
        with self._transaction() as db:
            db.execute(
                "INSERT INTO operations (id, member, kind, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                (operation.id, member, kind, operation.status, now, now),
            )
        return operation

    def update_operation(self, operation_id: str, status: str, *, result: Any = None, problem: Any = None) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE operations SET status = ?, result = ?, problem = ?, updated_at = ? WHERE id = ?",
                (
                    status,
                    None if result is None else json.dumps(result),
                    None if problem is None else json.dumps(problem),
                    time.time(),
                    operation_id,
                ),
            )

    def operation(self, operation_id: str) -> Operation | None:
        rows = self._query(
            "SELECT id, member, kind, status, result, problem, created_at, updated_at FROM operations WHERE id = ?",
            (operation_id,),
        )
        if not rows:
            return None
        row = rows[0]
        return Operation(
            row[0],
            row[1],
            row[2],
            row[3],
            None if row[4] is None else json.loads(row[4]),
            None if row[5] is None else json.loads(row[5]),
            row[6],
            row[7],
        )

    def fail_unfinished_operations(self, reason: str) -> int:
        """Marks operations a previous run left unfinished as failed, with ``reason``."""
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE operations SET status = 'failed', problem = ?, updated_at = ? "
                "WHERE status IN ('submitted', 'mined')",
                (json.dumps({"code": "interrupted", "detail": reason}), time.time()),
            )
            return cursor.rowcount

    # Invoice numbers: kept beside the chain, which anchors only the document hash

    def set_invoice_number(self, root_id: int, invoice_number: str) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO issuance_notes (root_id, invoice_number) VALUES (?, ?)",
                (root_id, invoice_number),
            )

    def invoice_number(self, root_id: int) -> str | None:
        rows = self._query("SELECT invoice_number FROM issuance_notes WHERE root_id = ?", (root_id,))
        return rows[0][0] if rows else None


class SqliteJournal:
    """The transaction journal of :mod:`scf_chain.transactions`, in the gateway's database."""

    def __init__(self, store: GatewayStore) -> None:
        self._store = store

    def record(self, send: SignedSend) -> None:
        with self._store._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO journal (tx_hash, sender, nonce, raw, status, created_at) "
                "VALUES (?, ?, ?, ?, 'signed', ?)",
                (send.tx_hash, send.sender, send.nonce, send.raw, time.time()),
            )

    def unconfirmed(self, sender: str) -> list[SignedSend]:
        rows = self._store._query(
            "SELECT sender, nonce, tx_hash, raw FROM journal WHERE sender = ? AND status = 'signed' ORDER BY nonce",
            (sender,),
        )
        return [SignedSend(row[0], row[1], row[2], bytes(row[3])) for row in rows]

    def confirm(self, tx_hash: str, block_number: int, success: bool) -> None:
        with self._store._transaction() as db:
            db.execute(
                "UPDATE journal SET status = ?, block_number = ? WHERE tx_hash = ?",
                ("mined" if success else "reverted", block_number, tx_hash),
            )

    def senders_with_unconfirmed(self) -> list[str]:
        return [row[0] for row in self._store._query("SELECT DISTINCT sender FROM journal WHERE status = 'signed'")]

    def count(self) -> int:
        return int(self._store._query("SELECT COUNT(*) FROM journal")[0][0])
