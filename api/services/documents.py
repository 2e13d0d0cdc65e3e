"""Invoices and contracts, kept content-addressed in the data folder.

A document's hash is the SHA-256 of its bytes, written ``0x`` and 64 lower-case hex
digits: the same hash ``scf issue --document FILE`` anchors, so a file hashed anywhere
matches the ledger. Files live at ``<data dir>/documents/<hash>``; the gateway's
database records who uploaded each.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from api.gateway import Caller, Gateway
from api.render.problems import Problem
from api.schemas import CertificateIssue

DEFAULT_CONTENT_TYPE = "application/octet-stream"
_CONTENT_TYPE = re.compile(r"^[A-Za-z0-9][\w.+-]{0,63}/[A-Za-z0-9][\w.+-]{0,63}$")
# Types a browser could run script from: served as plain bytes instead.
_ACTIVE_CONTENT = ("html", "xml", "svg", "javascript", "ecmascript")
MAX_FILENAME = 255


def document_hash(content: bytes) -> str:
    return "0x" + hashlib.sha256(content).hexdigest()


def documents_dir(gateway: Gateway) -> Path:
    return gateway.settings.data_dir / "documents"


def document_path(gateway: Gateway, hash_: str) -> Path:
    return documents_dir(gateway) / hash_


def normalize_hash(value: str) -> str:
    return "0x" + value.lower().removeprefix("0x")


def clean_content_type(value: str | None) -> str:
    value = (value or "").split(";", 1)[0].strip().lower()
    return value if _CONTENT_TYPE.match(value) else DEFAULT_CONTENT_TYPE


def served_content_type(value: str) -> str:
    return DEFAULT_CONTENT_TYPE if any(kind in value for kind in _ACTIVE_CONTENT) else value


def clean_filename(value: str | None) -> str | None:
    name = re.split(r"[/\\]", value or "")[-1]
    name = "".join(ch for ch in name if ch.isprintable() and ch != '"').strip()
    return name[:MAX_FILENAME] or None


def save_document(gateway: Gateway, content: bytes) -> str:
    """Stores the file under its hash (once: the same bytes are the same file) and returns the hash."""
    hash_ = document_hash(content)
    target = document_path(gateway, hash_)
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(content)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    return hash_


def document_to_anchor(gateway: Gateway, caller: Caller, body: CertificateIssue) -> str:
    """The document hash an issuance anchors: given as is, or that of a document the caller uploaded."""
    if body.document_id is None:
        assert body.document_hash is not None  # the model requires exactly one of them
        return body.document_hash
    upload = gateway.store.document_upload(body.document_id, caller.address)
    if upload is None or not document_path(gateway, body.document_id).is_file():
        raise Problem(
            422,
            "unknown_document",
            "You have uploaded no document with that document_id; upload it to POST /v1/documents first.",
            field="document_id",
        )
    return body.document_id
