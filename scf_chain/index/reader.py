"""Read-only queries on the ledger index for the audit endpoints, each set in one snapshot.

Provenance, verification and the event export read the index's tables straight from
SQLite rather than through :class:`scf_chain.index.indexer.LedgerIndex`: they need several
queries to see the same indexed block (a read transaction), and a provenance tree of
ten thousand certificates must come back as plain tuples, without building a record
object per row. Every query runs on an index (``certificates`` by primary key or
``parent_id``, ``holdings`` by (address, id), ``events`` by (block, log index)), so
its cost follows the size of the answer, not of the ledger.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import NamedTuple

from scf_chain.index.store import EventRange

# Chunk size for IN lists: far below SQLite's limit on bound parameters.
_IN_CHUNK = 500


class NodeRow(NamedTuple):
    """One row of the index's ``certificates`` table, as SQLite returns it (no conversion per row).

    ``face_value`` is in minor units, as text (a uint64 may not fit SQLite's INTEGER);
    ``maturity_day`` counts days from 1970-01-01; ``frozen`` is 0 or 1.
    """

    id: int
    root_id: int
    parent_id: int | None
    obligor: str
    holder: str | None
    last_holder: str
    face_value: str
    maturity_day: int
    hops: int
    document_hash: str
    status: str
    frozen: int
    first_child_id: int | None
    child_count: int
    created_tx: str
    created_block: int
    created_at: int  # seconds since the epoch, the block's

    @property
    def face_minor(self) -> int:
        return int(self.face_value)


class TreeRow(NamedTuple):
    """What a provenance tree shows of each certificate: a :class:`NodeRow` without the issuance's
    fields (obligor, document, maturity: the root has them) and the split bookkeeping only
    verification compares. Ten thousand copies of those cost time to read."""

    id: int
    parent_id: int | None
    holder: str | None
    last_holder: str
    face_value: str
    status: str
    hops: int
    frozen: int
    created_tx: str
    created_block: int
    created_at: int

    @property
    def face_minor(self) -> int:
        return int(self.face_value)


# Rows become NodeRows and TreeRows in C (tuple.__new__), not through a Python call per row.
_rows = partial(tuple.__new__, NodeRow)
_tree_rows = partial(tuple.__new__, TreeRow)

_COLUMNS = ", ".join(f"c.{name}" for name in NodeRow._fields)
_TREE_COLUMNS = ", ".join(f"c.{name}" for name in TreeRow._fields)
# Parent links, with UNION (not UNION ALL): even an index damaged into a cycle ends the walk.
_SUBTREE = (
    "WITH RECURSIVE tree(id) AS (SELECT ? UNION SELECT c.id FROM certificates c JOIN tree t ON c.parent_id = t.id) "
    "SELECT {columns} FROM tree JOIN certificates c ON c.id = tree.id ORDER BY c.id"
)
# A whole issuance by its root, on the root_id index: one range scan instead of a walk.
_ISSUANCE = "SELECT {columns} FROM certificates c WHERE c.root_id = ? ORDER BY c.id"
_PATH = (
    "WITH RECURSIVE up(id) AS (SELECT ? UNION SELECT c.parent_id FROM certificates c JOIN up u ON c.id = u.id "  # noqa: S608
    "WHERE c.parent_id IS NOT NULL) "
    f"SELECT {_COLUMNS} FROM up JOIN certificates c ON c.id = up.id ORDER BY c.id"
)
# What changed in an issuance after an event position, on the (root_id, last_change) index.
_CHANGED = f"SELECT {_TREE_COLUMNS} FROM certificates c WHERE c.root_id = ? AND c.last_change > ? ORDER BY c.id"  # noqa: S608
_ONE = f"SELECT {_COLUMNS} FROM certificates c WHERE c.id = ?"  # noqa: S608 - constant columns


class TreeVersion(NamedTuple):
    """What a provenance read from the index depends on: at equal versions, an issuance's tree reads the same.

    ``tree_change`` is the position of the last event that changed a certificate of the issuance,
    ``names_change`` that of the last member registration (names); positions repeat only across a
    rollback or reset of the index, which moves ``generation`` on.
    """

    generation: int
    tree_change: int
    names_change: int


_TREE_VERSION = (
    "SELECT (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'generation'), "
    "(SELECT max(last_change) FROM certificates WHERE root_id = ?), "
    "(SELECT coalesce(max((registered_block << 24) | registered_log), -1) FROM members)"
)


class Snapshot:
    """Queries that all see one state of the index (they run in one read transaction)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def indexed_block(self) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'indexed_block'").fetchone()
        return int(row[0]) if row else -1

    def tree_version(self, root_id: int) -> TreeVersion:
        """The version of issuance ``root_id``'s tree (two index lookups and a scan of the member list)."""
        generation, tree_change, names_change = self._db.execute(_TREE_VERSION, (root_id,)).fetchone()
        return TreeVersion(int(generation or 0), -1 if tree_change is None else int(tree_change), int(names_change))

    def certificate(self, certificate_id: int) -> NodeRow | None:
        row = self._db.execute(_ONE, (certificate_id,)).fetchone()
        return None if row is None else _rows(row)

    def path(self, certificate_id: int) -> list[NodeRow]:
        """From the root down to the certificate, by parent links."""
        return list(map(_rows, self._db.execute(_PATH, (certificate_id,))))

    def subtree(self, top: NodeRow) -> list[NodeRow]:
        """The certificate and everything split from it, in id order (parents first)."""
        return list(map(_rows, self._db.execute(self._below(top, _COLUMNS), (top.id,))))

    def tree(self, top: NodeRow) -> list[TreeRow]:
        """:meth:`subtree` with only the fields a provenance tree shows."""
        return list(map(_tree_rows, self._db.execute(self._below(top, _TREE_COLUMNS), (top.id,))))

    def changed_since(self, root_id: int, position: int) -> list[TreeRow]:
        """The certificates of issuance ``root_id`` that events after ``position`` changed or made, in id order."""
        return list(map(_tree_rows, self._db.execute(_CHANGED, (root_id, position))))

    @staticmethod
    def _below(top: NodeRow, columns: str) -> str:
        # For a root, the rows of its issuance (one range scan); below, a walk down the parent links.
        return (_ISSUANCE if top.parent_id is None else _SUBTREE).format(columns=columns)

    def held_among(self, address: str, ids: Iterable[int]) -> set[int]:
        """Which of ``ids`` ``address`` holds or ever held (one range scan of its holdings)."""
        wanted = set(ids)
        if not wanted:
            return set()
        rows = self._db.execute(
            "SELECT certificate_id FROM holdings WHERE address = ? AND certificate_id BETWEEN ? AND ?",
            (address, min(wanted), max(wanted)),
        )
        return {row[0] for row in rows} & wanted

    def held_in_tree(self, address: str, root_id: int) -> bool:
        """Whether ``address`` holds or held any certificate of issuance ``root_id``."""
        row = self._db.execute(
            "SELECT 1 FROM holdings h JOIN certificates c ON c.id = h.certificate_id "
            "WHERE h.address = ? AND c.root_id = ? LIMIT 1",
            (address, root_id),
        ).fetchone()
        return row is not None

    def member_names(self, addresses: Iterable[str]) -> dict[str, str]:
        wanted = sorted(set(addresses))
        names: dict[str, str] = {}
        for start in range(0, len(wanted), _IN_CHUNK):
            chunk = wanted[start : start + _IN_CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(f"SELECT address, name FROM members WHERE address IN ({marks})", chunk)  # noqa: S608
            names.update({address: name for address, name in rows})
        return names

    def event_key_at(self, scope: EventRange, offset: int) -> tuple[int, int] | None:
        """(block, log index) of the event ``offset`` places into ``scope``, in chain order."""
        where, params = scope.where()
        row = self._db.execute(
            f"SELECT block_number, log_index FROM events {where} "  # noqa: S608 - clauses are constants
            "ORDER BY block_number, log_index LIMIT 1 OFFSET ?",
            [*params, offset],
        ).fetchone()
        return None if row is None else (int(row[0]), int(row[1]))


class IndexReader:
    """Opens its own read-only connections to the index database, one per thread."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._local = threading.local()

    def _connection(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30.0)
            db.execute("PRAGMA query_only = ON")
            self._local.db = db
        return db

    @contextmanager
    def snapshot(self) -> Iterator[Snapshot]:
        db = self._connection()
        db.execute("BEGIN")
        try:
            yield Snapshot(db)
        finally:
            db.execute("COMMIT")


_readers: dict[Path, IndexReader] = {}
_readers_lock = threading.Lock()


def reader_for(index_path: Path) -> IndexReader:
    """The shared reader of the index at ``index_path``."""
    with _readers_lock:
        reader = _readers.get(index_path)
        if reader is None:
            reader = _readers[index_path] = IndexReader(index_path)
        return reader
