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
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from scf_chain.chain.transactions import SignedSend
from scf_chain.settings import create_private_file

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
CREATE TABLE IF NOT EXISTS document_uploads (
    document_hash TEXT NOT NULL,
    uploader TEXT NOT NULL,
    filename TEXT,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    uploaded_at REAL NOT NULL,
    PRIMARY KEY (document_hash, uploader)
);
CREATE TABLE IF NOT EXISTS financing_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    certificate_id INTEGER NOT NULL,
    holder TEXT NOT NULL,
    amount TEXT,
    financiers TEXT,
    status TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS financing_requests_by_certificate ON financing_requests (certificate_id, status);
CREATE INDEX IF NOT EXISTS financing_requests_by_holder ON financing_requests (holder);
CREATE TABLE IF NOT EXISTS offers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id INTEGER NOT NULL,
    certificate_id INTEGER NOT NULL,
    seller TEXT NOT NULL,
    financier TEXT NOT NULL,
    annual_rate TEXT NOT NULL,
    day_count INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    recourse INTEGER NOT NULL,
    nonce INTEGER NOT NULL,
    amount TEXT NOT NULL,
    signature TEXT NOT NULL,
    status TEXT NOT NULL,
    financed_id INTEGER,
    accepted_amount TEXT,
    interest TEXT,
    price TEXT,
    days INTEGER,
    tx_hash TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    UNIQUE (financier, nonce)
);
CREATE INDEX IF NOT EXISTS offers_by_certificate ON offers (certificate_id);
CREATE INDEX IF NOT EXISTS offers_by_financier ON offers (financier, status);
CREATE TABLE IF NOT EXISTS offer_withdrawals (
    offer_id INTEGER PRIMARY KEY,
    reason TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS offer_allowances (
    financier TEXT PRIMARY KEY,
    amount TEXT NOT NULL,
    updated_at REAL NOT NULL
);
"""


def hash_api_key(api_key: str) -> str:
    # Keys carry 256 random bits, so a plain hash cannot be reversed by guessing.
    return hashlib.sha256(api_key.encode()).hexdigest()


# The field of a response that holds an API key (member onboarding, key rotation).
SHOWN_ONCE_FIELD = "api_key"


def without_secrets(body: bytes, fields: Iterable[str]) -> bytes:
    """A JSON response body with the top-level ``fields`` set to null and a note that they were shown once."""
    names = sorted(set(fields))
    if not names:
        return body
    note = (
        f"This is a replay: {', '.join(names)} was shown once, in the first response, and only its hash is kept. "
        "Rotate the member's API key if it was lost."
    )
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        return json.dumps({"note": note}).encode()
    return json.dumps({**parsed, **dict.fromkeys(names), "note": note}, separators=(",", ":")).encode()


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


@dataclass(frozen=True)
class FinancingRequest:
    """A holder's request for discount offers on a certificate, kept beside the chain."""

    id: int
    certificate_id: int
    holder: str
    amount: Decimal | None  # None: the whole certificate
    financiers: tuple[str, ...] | None  # None: every financier
    status: str  # open, financed, cancelled, replaced
    created_at: float

    def addressed_to(self, financier: str) -> bool:
        return self.financiers is None or financier in self.financiers


@dataclass(frozen=True)
class StoredOffer:
    """A financier's signed discount offer, as the gateway signed it with the financier's key."""

    id: int
    request_id: int
    certificate_id: int
    seller: str
    financier: str
    annual_rate: Decimal
    day_count: int
    expires_at: int  # unix seconds
    recourse: bool
    nonce: int
    amount: Decimal  # the face value the offer was priced for
    signature: str
    status: str  # open, withdrawn, accepted
    financed_id: int | None
    accepted_amount: Decimal | None
    interest: Decimal | None
    price: Decimal | None
    days: int | None
    tx_hash: str | None
    created_at: float
    withdrawn_because: str | None  # set when the gateway withdrew the offer, not its financier


_REQUEST_COLUMNS = "id, certificate_id, holder, amount, financiers, status, created_at"
_OFFER_COLUMNS = (
    "id, request_id, certificate_id, seller, financier, annual_rate, day_count, expires_at, recourse, nonce, "
    "amount, signature, status, financed_id, accepted_amount, interest, price, days, tx_hash, created_at, "
    "(SELECT reason FROM offer_withdrawals WHERE offer_id = offers.id)"
)


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _request(row: tuple[Any, ...]) -> FinancingRequest:
    id_, certificate_id, holder, amount, financiers, status, created_at = row
    return FinancingRequest(
        id_,
        certificate_id,
        holder,
        _decimal(amount),
        None if financiers is None else tuple(json.loads(financiers)),
        status,
        created_at,
    )


def _offer(row: tuple[Any, ...]) -> StoredOffer:
    return StoredOffer(
        id=row[0],
        request_id=row[1],
        certificate_id=row[2],
        seller=row[3],
        financier=row[4],
        annual_rate=Decimal(row[5]),
        day_count=row[6],
        expires_at=row[7],
        recourse=bool(row[8]),
        nonce=row[9],
        amount=Decimal(row[10]),
        signature=row[11],
        status=row[12],
        financed_id=row[13],
        accepted_amount=_decimal(row[14]),
        interest=_decimal(row[15]),
        price=_decimal(row[16]),
        days=row[17],
        tx_hash=row[18],
        created_at=row[19],
        withdrawn_because=row[20],
    )


@dataclass(frozen=True)
class DocumentUpload:
    """One member's upload of a document; the file itself lives in the data folder, named by its hash."""

    document_hash: str
    uploader: str
    filename: str | None
    content_type: str
    size: int
    uploaded_at: float


class GatewayStore:
    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time) -> None:
        # The time of what members see (operations, financing requests, offers, uploads): the gateway passes
        # the ledger's clock, so that these are dated like the certificates. Keys and the journal keep the wall clock.
        self._clock = clock
        # Owner-only before SQLite opens it: its -wal and -shm files take the database file's mode.
        create_private_file(path)
        self._connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA synchronous=NORMAL")
        self._connection.executescript(SCHEMA)
        self._lock = threading.RLock()
        self._redact_stored_secrets()

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

    def members_with_api_keys(self) -> set[str]:
        """The members holding at least one key that is not revoked."""
        return {row[0] for row in self._query("SELECT DISTINCT member FROM api_keys WHERE revoked_at IS NULL")}

    # Idempotency: records are scoped by the member, and never hold a secret a response showed

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

    def complete_idempotency_key(
        self, scope: str, key: str, status: int, body: bytes, content_type: str, *, secret_fields: Iterable[str] = ()
    ) -> None:
        """Keeps the response for replays, without the ``secret_fields`` it showed (see :func:`without_secrets`)."""
        kept = without_secrets(body, secret_fields)
        with self._transaction() as db:
            db.execute(
                "UPDATE idempotency SET response_status = ?, response_body = ?, content_type = ? "
                "WHERE scope = ? AND key = ?",
                (status, kept, content_type, scope, key),
            )

    def _redact_stored_secrets(self) -> None:
        """Removes the API keys that records written before secrets were withheld still hold."""
        with self._lock:
            rows = self._connection.execute(
                "SELECT scope, key, response_body FROM idempotency WHERE instr(response_body, ?) > 0",
                (f'"{SHOWN_ONCE_FIELD}"'.encode(),),
            ).fetchall()
            if not rows:
                return
            # Overwrite, rather than only unlink, the old bytes, and empty the WAL that held them.
            self._connection.execute("PRAGMA secure_delete=ON")
            with self._transaction() as db:
                for scope, key, body in rows:
                    db.execute(
                        "UPDATE idempotency SET response_body = ? WHERE scope = ? AND key = ?",
                        (without_secrets(bytes(body), (SHOWN_ONCE_FIELD,)), scope, key),
                    )
            self._connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._connection.execute("PRAGMA secure_delete=OFF")

    def release_idempotency_key(self, scope: str, key: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM idempotency WHERE scope = ? AND key = ?", (scope, key))

    # Operations

    def create_operation(self, member: str, kind: str) -> Operation:
        now = self._clock()
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
                    self._clock(),
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

    def fail_unfinished_operations(self, problem: dict[str, Any]) -> int:
        """Marks operations a previous run left unfinished as failed, with ``problem`` (a problem's body)."""
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE operations SET status = 'failed', problem = ?, updated_at = ? "
                "WHERE status IN ('submitted', 'mined')",
                (json.dumps(problem), self._clock()),
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

    def roots_with_invoice_number(self, invoice_number: str) -> list[int]:
        """The issuances recorded with this invoice number (in any letter case), in id order."""
        rows = self._query(
            "SELECT root_id FROM issuance_notes WHERE invoice_number = ? COLLATE NOCASE ORDER BY root_id",
            (invoice_number.strip(),),
        )
        return [int(row[0]) for row in rows]

    # Documents: who uploaded which file (by SHA-256); a repeat upload keeps the first time

    def record_document_upload(
        self, document_hash: str, uploader: str, filename: str | None, content_type: str, size: int
    ) -> DocumentUpload:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO document_uploads (document_hash, uploader, filename, content_type, size, uploaded_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (document_hash, uploader) DO UPDATE SET "
                "filename = excluded.filename, content_type = excluded.content_type",
                (document_hash, uploader, filename, content_type, size, self._clock()),
            )
        upload = self.document_upload(document_hash, uploader)
        assert upload is not None
        return upload

    def document_upload(self, document_hash: str, uploader: str) -> DocumentUpload | None:
        rows = self._query(
            "SELECT document_hash, uploader, filename, content_type, size, uploaded_at FROM document_uploads "
            "WHERE document_hash = ? AND uploader = ?",
            (document_hash, uploader),
        )
        return DocumentUpload(*rows[0]) if rows else None

    def document_uploads(self, document_hash: str) -> list[DocumentUpload]:
        """Every upload of the document, earliest first."""
        rows = self._query(
            "SELECT document_hash, uploader, filename, content_type, size, uploaded_at FROM document_uploads "
            "WHERE document_hash = ? ORDER BY uploaded_at",
            (document_hash,),
        )
        return [DocumentUpload(*row) for row in rows]

    def requested_certificates(self, financier: str, low: int, high: int) -> set[int]:
        """Certificates with ids from ``low`` to ``high`` that ``financier`` was ever asked to finance."""
        rows = self._query(
            "SELECT certificate_id, financiers FROM financing_requests WHERE certificate_id BETWEEN ? AND ?",
            (low, high),
        )
        return {
            certificate_id
            for certificate_id, financiers in rows
            if financiers is None or financier in json.loads(financiers)
        }

    # Financing requests: a holder asks financiers to quote

    def create_financing_request(
        self, certificate_id: int, holder: str, amount: Decimal | None, financiers: tuple[str, ...] | None
    ) -> FinancingRequest:
        """Records an open request; an open request of the same holder on the certificate is replaced."""
        now = self._clock()
        with self._transaction() as db:
            db.execute(
                "UPDATE financing_requests SET status = 'replaced', updated_at = ? "
                "WHERE certificate_id = ? AND holder = ? AND status = 'open'",
                (now, certificate_id, holder),
            )
            cursor = db.execute(
                "INSERT INTO financing_requests (certificate_id, holder, amount, financiers, status, created_at, "
                "updated_at) VALUES (?, ?, ?, ?, 'open', ?, ?)",
                (
                    certificate_id,
                    holder,
                    None if amount is None else str(amount),
                    None if financiers is None else json.dumps(list(financiers)),
                    now,
                    now,
                ),
            )
            request_id = int(cursor.lastrowid or 0)
        return FinancingRequest(request_id, certificate_id, holder, amount, financiers, "open", now)

    def financing_request(self, request_id: int) -> FinancingRequest | None:
        rows = self._query(
            f"SELECT {_REQUEST_COLUMNS} FROM financing_requests WHERE id = ?",  # noqa: S608 - constant columns
            (request_id,),
        )
        return _request(rows[0]) if rows else None

    def financing_requests(
        self, *, holder: str | None = None, certificate_id: int | None = None, status: str | None = None
    ) -> list[FinancingRequest]:
        """Requests matching every filter given, newest first."""
        clauses, params = [], []
        for column, value in (("holder", holder), ("certificate_id", certificate_id), ("status", status)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._query(
            f"SELECT {_REQUEST_COLUMNS} FROM financing_requests {where} ORDER BY id DESC",  # noqa: S608
            tuple(params),
        )
        return [_request(row) for row in rows]

    def set_financing_request_status(self, request_id: int, status: str, *, only_if: str | None = None) -> bool:
        """Sets a request's status (when it is ``only_if``, if given); returns whether it changed."""
        with self._transaction() as db:
            sql = "UPDATE financing_requests SET status = ?, updated_at = ? WHERE id = ?"
            params: tuple[Any, ...] = (status, self._clock(), request_id)
            if only_if is not None:
                sql += " AND status = ?"
                params += (only_if,)
            return db.execute(sql, params).rowcount == 1

    # Offers: financiers' signed quotes

    def next_offer_nonce(self, financier: str) -> int:
        """The next offer nonce of ``financier`` after every one this gateway has signed."""
        rows = self._query("SELECT MAX(nonce) FROM offers WHERE financier = ?", (financier,))
        return 0 if rows[0][0] is None else int(rows[0][0]) + 1

    def create_offer(
        self,
        *,
        request_id: int,
        certificate_id: int,
        seller: str,
        financier: str,
        annual_rate: Decimal,
        day_count: int,
        expires_at: int,
        recourse: bool,
        nonce: int,
        amount: Decimal,
        signature: str,
    ) -> StoredOffer:
        now = self._clock()
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO offers (request_id, certificate_id, seller, financier, annual_rate, day_count, "
                "expires_at, recourse, nonce, amount, signature, status, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?)",
                (
                    request_id,
                    certificate_id,
                    seller,
                    financier,
                    str(annual_rate),
                    day_count,
                    expires_at,
                    int(recourse),
                    nonce,
                    str(amount),
                    signature,
                    now,
                    now,
                ),
            )
            offer_id = int(cursor.lastrowid or 0)
        offer = self.offer(offer_id)
        assert offer is not None
        return offer

    def offer(self, offer_id: int) -> StoredOffer | None:
        rows = self._query(f"SELECT {_OFFER_COLUMNS} FROM offers WHERE id = ?", (offer_id,))  # noqa: S608
        return _offer(rows[0]) if rows else None

    def offers(
        self, *, certificate_id: int | None = None, financier: str | None = None, status: str | None = None
    ) -> list[StoredOffer]:
        """Offers matching every filter given, oldest first."""
        clauses, params = [], []
        for column, value in (("certificate_id", certificate_id), ("financier", financier), ("status", status)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._query(f"SELECT {_OFFER_COLUMNS} FROM offers {where} ORDER BY id", tuple(params))  # noqa: S608
        return [_offer(row) for row in rows]

    def mark_offer_withdrawn(self, offer_id: int, tx_hash: str) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE offers SET status = 'withdrawn', tx_hash = ?, updated_at = ? WHERE id = ?",
                (tx_hash, self._clock(), offer_id),
            )

    def withdraw_open_offers(self, certificate_id: int, reason: str) -> list[StoredOffer]:
        """Marks every open offer on a certificate that can no longer be accepted as withdrawn, for ``reason``."""
        now = self._clock()
        with self._transaction() as db:
            rows = db.execute(
                f"SELECT {_OFFER_COLUMNS} FROM offers WHERE certificate_id = ? AND status = 'open'",  # noqa: S608
                (certificate_id,),
            ).fetchall()
            for row in rows:
                db.execute("UPDATE offers SET status = 'withdrawn', updated_at = ? WHERE id = ?", (now, row[0]))
                db.execute(
                    "INSERT OR REPLACE INTO offer_withdrawals (offer_id, reason) VALUES (?, ?)", (row[0], reason)
                )
        return [_offer(row) for row in rows]

    # Financiers' allowances to the desk, as the gateway last set them for their open offers

    def offer_allowance(self, financier: str) -> Decimal | None:
        rows = self._query("SELECT amount FROM offer_allowances WHERE financier = ?", (financier,))
        return Decimal(rows[0][0]) if rows else None

    def set_offer_allowance(self, financier: str, amount: Decimal) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO offer_allowances (financier, amount, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (financier) DO UPDATE SET amount = excluded.amount, updated_at = excluded.updated_at",
                (financier, str(amount), time.time()),
            )

    def financiers_with_offer_allowance(self) -> list[str]:
        """Financiers whose allowance the gateway last set above zero."""
        rows = self._query("SELECT financier, amount FROM offer_allowances ORDER BY financier")
        return [financier for financier, amount in rows if Decimal(amount) > 0]

    def mark_offer_accepted(
        self,
        offer_id: int,
        *,
        financed_id: int,
        amount: Decimal,
        interest: Decimal,
        price: Decimal,
        days: int,
        tx_hash: str,
    ) -> None:
        """Records the acceptance, and marks the request the offer answered as financed."""
        now = self._clock()
        with self._transaction() as db:
            db.execute(
                "UPDATE offers SET status = 'accepted', financed_id = ?, accepted_amount = ?, interest = ?, "
                "price = ?, days = ?, tx_hash = ?, updated_at = ? WHERE id = ?",
                (financed_id, str(amount), str(interest), str(price), days, tx_hash, now, offer_id),
            )
            db.execute(
                "UPDATE financing_requests SET status = 'financed', updated_at = ? "
                "WHERE id = (SELECT request_id FROM offers WHERE id = ?) AND status = 'open'",
                (now, offer_id),
            )


# The hashes of the transactions signed while one request is handled (see watch_signed_transactions).
_signed_in_request: ContextVar[list[str] | None] = ContextVar("signed_in_request", default=None)


@contextmanager
def watch_signed_transactions() -> Iterator[list[str]]:
    """Collects the hashes of the transactions the journal records in this context.

    The context reaches the threads a request's handler runs in, so that the request guard
    can tell a refusal that sent nothing from one that already put a transaction on its way.
    """
    signed: list[str] = []
    token = _signed_in_request.set(signed)
    try:
        yield signed
    finally:
        _signed_in_request.reset(token)


class SqliteJournal:
    """The transaction journal of :mod:`scf_chain.chain.transactions`, in the gateway's database."""

    def __init__(self, store: GatewayStore) -> None:
        self._store = store

    def record(self, send: SignedSend) -> None:
        with self._store._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO journal (tx_hash, sender, nonce, raw, status, created_at) "
                "VALUES (?, ?, ?, ?, 'signed', ?)",
                (send.tx_hash, send.sender, send.nonce, send.raw, time.time()),
            )
        signed = _signed_in_request.get()
        if signed is not None:
            signed.append(send.tx_hash)

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
