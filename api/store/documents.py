"""Documents and issuances: who uploaded which file, and the invoice number each issuance was recorded with."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from api.store.db import BigInt, StorePart, UnixTime, Upsert, metadata

issuance_notes = sa.Table(
    "issuance_notes",
    metadata,
    sa.Column("root_id", BigInt, primary_key=True),
    sa.Column("invoice_number", sa.Text),
)
document_uploads = sa.Table(
    "document_uploads",
    metadata,
    sa.Column("document_hash", sa.Text, primary_key=True),
    sa.Column("uploader", sa.Text, primary_key=True),
    sa.Column("filename", sa.Text),
    sa.Column("content_type", sa.Text, nullable=False),
    sa.Column("size", BigInt, nullable=False),
    sa.Column("uploaded_at", UnixTime, nullable=False),
)


_NOTE = Upsert(issuance_notes, [issuance_notes.c.root_id], lambda new: {"invoice_number": new.invoice_number})
# A repeat upload keeps the first time.
_UPLOAD = Upsert(
    document_uploads,
    [document_uploads.c.document_hash, document_uploads.c.uploader],
    lambda new: {"filename": new.filename, "content_type": new.content_type},
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


class Documents(StorePart):
    # Invoice numbers: kept beside the chain, which anchors only the document hash

    def set_invoice_number(self, root_id: int, invoice_number: str) -> None:
        with self._db.transaction() as db:
            db.execute(_NOTE.on(db), {"root_id": root_id, "invoice_number": invoice_number})

    def forget_invoice_number(self, root_id: int) -> None:
        """For an issuance that did not happen after all (its block was lost, and sent again it failed)."""
        with self._db.transaction() as db:
            db.execute(issuance_notes.delete().where(issuance_notes.c.root_id == root_id))

    def invoice_number(self, root_id: int) -> str | None:
        rows = self._db.query(sa.select(issuance_notes.c.invoice_number).where(issuance_notes.c.root_id == root_id))
        return rows[0].invoice_number if rows else None

    def roots_with_invoice_number(self, invoice_number: str) -> list[int]:
        """The issuances recorded with this invoice number (in any letter case), in id order."""
        rows = self._db.query(
            sa.select(issuance_notes.c.root_id)
            # Letter case folded by the database on both sides (SQLite folds ASCII letters, as NOCASE does).
            .where(sa.func.lower(issuance_notes.c.invoice_number) == sa.func.lower(invoice_number.strip()))
            .order_by(issuance_notes.c.root_id)
        )
        return [int(row.root_id) for row in rows]

    # Documents: who uploaded which file (by SHA-256); a repeat upload keeps the first time

    def record_document_upload(
        self, document_hash: str, uploader: str, filename: str | None, content_type: str, size: int
    ) -> DocumentUpload:
        upload = {
            "document_hash": document_hash,
            "uploader": uploader,
            "filename": filename,
            "content_type": content_type,
            "size": size,
            "uploaded_at": self._clock(),
        }
        with self._db.transaction() as db:
            db.execute(_UPLOAD.on(db), upload)
        recorded = self.document_upload(document_hash, uploader)
        assert recorded is not None
        return recorded

    def document_upload(self, document_hash: str, uploader: str) -> DocumentUpload | None:
        found = self._uploads(
            document_uploads.c.document_hash == document_hash, document_uploads.c.uploader == uploader
        )
        return found[0] if found else None

    def document_uploads(self, document_hash: str) -> list[DocumentUpload]:
        """Every upload of the document, earliest first."""
        return self._uploads(document_uploads.c.document_hash == document_hash)

    def _uploads(self, *where: sa.ColumnElement[bool]) -> list[DocumentUpload]:
        rows = self._db.query(sa.select(document_uploads).where(*where).order_by(document_uploads.c.uploaded_at))
        return [DocumentUpload(**row._asdict()) for row in rows]
