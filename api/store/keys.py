"""API keys: members authenticate with a key of which only the hash is kept."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Iterable

import sqlalchemy as sa

from api.store.db import StorePart, UnixTime, metadata

API_KEY_PREFIX = "scf_"
API_KEY_BYTES = 32
# The field of a response that holds an API key (member onboarding, key rotation).
SHOWN_ONCE_FIELD = "api_key"

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("key_hash", sa.Text, primary_key=True),
    sa.Column("member", sa.Text, nullable=False),
    sa.Column("created_at", UnixTime, nullable=False),
    sa.Column("revoked_at", UnixTime),
    sa.Index("api_keys_member", "member"),
)


def hash_api_key(api_key: str) -> str:
    # Keys carry 256 random bits, so a plain hash cannot be reversed by guessing.
    return hashlib.sha256(api_key.encode()).hexdigest()


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


_REVOKE = (
    api_keys.update()
    .where(api_keys.c.member == sa.bindparam("of_member"), api_keys.c.revoked_at.is_(None))
    .values(revoked_at=sa.bindparam("now"))
)
_MEMBER_FOR_KEY = sa.select(api_keys.c.member).where(
    api_keys.c.key_hash == sa.bindparam("key_hash"), api_keys.c.revoked_at.is_(None)
)


class ApiKeys(StorePart):
    def create_api_key(self, member: str, *, revoke_existing: bool = False) -> str:
        """Creates a key for ``member`` and returns it; only its hash is kept."""
        api_key = API_KEY_PREFIX + secrets.token_urlsafe(API_KEY_BYTES)
        with self._db.transaction() as db:
            if revoke_existing:
                db.execute(_REVOKE, {"of_member": member, "now": time.time()})
            db.execute(
                api_keys.insert(), {"key_hash": hash_api_key(api_key), "member": member, "created_at": time.time()}
            )
        return api_key

    def revoke_api_keys(self, member: str) -> int:
        with self._db.transaction() as db:
            return db.execute(_REVOKE, {"of_member": member, "now": time.time()}).rowcount

    def member_for_key(self, api_key: str) -> str | None:
        rows = self._db.query(_MEMBER_FOR_KEY, {"key_hash": hash_api_key(api_key)})
        return rows[0].member if rows else None

    def members_with_api_keys(self) -> set[str]:
        """The members holding at least one key that is not revoked."""
        rows = self._db.query(sa.select(api_keys.c.member).distinct().where(api_keys.c.revoked_at.is_(None)))
        return {row.member for row in rows}
