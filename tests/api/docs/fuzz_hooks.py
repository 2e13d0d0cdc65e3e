"""Schemathesis hooks for the fuzz test (loaded through SCHEMATHESIS_HOOKS in its subprocess).

The fuzzer copies the published Idempotency-Key example into most writes it sends, and a key used once
answers every later request with another body 409 idempotency_key_reused: writes would stop at the
first one. A copied example becomes a fresh key, so that writes reach the ledger and create the ids
the stateful phase follows; every other key the fuzzer makes up (empty, too long, unprintable) is sent
as generated.
"""

from __future__ import annotations

import uuid
from typing import Any

import schemathesis

from api.openapi import IDEMPOTENCY_KEY


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    headers = case.headers or {}
    if headers.get("Idempotency-Key") == IDEMPOTENCY_KEY["example"]:
        headers["Idempotency-Key"] = f"fuzz-{uuid.uuid4().hex}"
