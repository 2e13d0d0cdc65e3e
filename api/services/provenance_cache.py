"""Provenance trees the gateway built lately, kept for the next read of the same tree.

A ten-thousand-certificate tree takes tens of milliseconds to read from the index and
lay out, and auditors read the same trees again and again (the page, the export, the
verification). An entry is kept under the :class:`~scf_chain.index.records.TreeVersion` it
was read at and served only while the index still shows that version: any change to a
certificate of the issuance, a member's registration, or a rollback of the index makes
the next read bring the tree up to date: it reads only the certificates changed since
(see :meth:`~scf_chain.index.queries.Snapshot.changed_since`), or, after a rollback, everything
again. Nothing stale is served, so nothing needs expiring.

The bound is on certificates, not entries: one large tree weighs as much as many small ones.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

from scf_chain.index.records import TreeVersion

if TYPE_CHECKING:
    from api.services.provenance import Provenance


class ProvenanceCache:
    """Whole trees by certificate id, least recently used first out; safe to share between threads."""

    def __init__(self, max_nodes: int) -> None:
        self.max_nodes = max_nodes
        self._entries: OrderedDict[int, tuple[TreeVersion, Provenance]] = OrderedDict()
        self._nodes = 0
        self._lock = threading.Lock()

    @staticmethod
    def _weight(provenance: Provenance) -> int:
        return len(provenance.order) + len(provenance.path)

    def latest(self, certificate_id: int) -> tuple[TreeVersion, Provenance] | None:
        """The tree of ``certificate_id`` kept last, with its version: served as it is if the version still
        holds, else the base to bring up to date. A read makes it the most recently used."""
        with self._lock:
            entry = self._entries.get(certificate_id)
            if entry is not None:
                self._entries.move_to_end(certificate_id)
            return entry

    def put(self, certificate_id: int, version: TreeVersion, provenance: Provenance) -> None:
        """Keeps the tree (replacing any other version of it), pushing out the least recently used as needed."""
        weight = self._weight(provenance)
        if weight > self.max_nodes:
            return
        with self._lock:
            replaced = self._entries.pop(certificate_id, None)
            if replaced is not None:
                self._nodes -= self._weight(replaced[1])
            self._entries[certificate_id] = (version, provenance)
            self._nodes += weight
            while self._nodes > self.max_nodes:
                _, (_, evicted) = self._entries.popitem(last=False)
                self._nodes -= self._weight(evicted)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    @property
    def nodes(self) -> int:
        with self._lock:
            return self._nodes
