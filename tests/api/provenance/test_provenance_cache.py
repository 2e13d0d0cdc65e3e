"""The gateway's cache of built provenance trees: served only at the version it was built, bounded by certificates."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from api.services.provenance import _updated, _whole_tree
from api.services.provenance_cache import ProvenanceCache
from scf_chain.index.records import CertificateRecord, TreeVersion

V1 = TreeVersion(generation=0, tree_change=100, names_change=5)
V2 = TreeVersion(generation=0, tree_change=101, names_change=5)


def row(id_: int, parent: int | None, holder: str = "0xA", face: str = "100") -> CertificateRecord:
    return CertificateRecord(
        id_, 1, parent, "0xO", holder, holder, int(face), 0, 0, "0xd", "active", False, None, 0, "0xtx", 1, 0
    )


ROOT = row(1, None)._replace(status="split", holder=None, first_child_id=2, child_count=2)


def tree(nodes: int) -> Any:
    """Stands in for a Provenance: the cache only weighs its path and order."""
    return SimpleNamespace(path=[object()], order=[object()] * (nodes - 1))


def test_a_tree_is_kept_with_the_version_it_was_built_at():
    cache = ProvenanceCache(max_nodes=100)
    built = tree(10)
    cache.put(1, V1, built)
    assert cache.latest(1) == (V1, built)
    assert cache.latest(2) is None

    newer = tree(12)
    cache.put(1, V2, newer)  # replaces the older version, not beside it
    assert cache.latest(1) == (V2, newer)
    assert len(cache) == 1 and cache.nodes == 12


class Snapshot:
    """Stands in for an index snapshot at ``version``: an issuance of root 1, split into 2 and 3; counts full reads."""

    def __init__(self, version: TreeVersion) -> None:
        self.version = version
        self.subtree_reads = 0
        self.changes_read_since: list[int] = []

    def indexed_block(self) -> int:
        return self.version.tree_change

    def tree_version(self, root_id: int) -> TreeVersion:
        return self.version

    def subtree(self, target: CertificateRecord) -> list[CertificateRecord]:
        self.subtree_reads += 1
        return [ROOT, row(2, 1, face="60"), row(3, 1, face="40")]

    def changed_since(self, root_id: int, position: int) -> list[CertificateRecord]:
        self.changes_read_since.append(position)
        return [row(3, 1, holder="0xB", face="40")]

    def member_names(self, addresses: Any) -> dict[str, str]:
        return {}


def whole_tree(cache: ProvenanceCache, version: TreeVersion) -> tuple[Any, Snapshot]:
    snapshot = Snapshot(version)
    return _whole_tree(snapshot, ROOT, [ROOT], cache), snapshot  # type: ignore[arg-type]


def test_a_kept_tree_is_served_as_it_is_only_at_the_version_it_was_built_at():
    cache = ProvenanceCache(max_nodes=100)
    built, first = whole_tree(cache, V1)
    assert first.subtree_reads == 1 and cache.latest(1) == (V1, built)

    again, same = whole_tree(cache, V1)
    assert (same.subtree_reads, same.changes_read_since) == (0, [])
    assert again.rows is built.rows

    # The issuance changed: only the changes since the kept version are read, and the tree is kept anew.
    moved, changed = whole_tree(cache, V2)
    assert (changed.subtree_reads, changed.changes_read_since) == (0, [V1.tree_change])
    assert [r.holder for r in moved.rows] == [None, "0xA", "0xB"]
    assert cache.latest(1) == (V2, moved)

    # A member was named, or the index rolled back: the kept tree is not served as it is.
    named, renamed = whole_tree(cache, V2._replace(names_change=6))
    assert renamed.changes_read_since == [V2.tree_change] and named is not moved
    _, reset = whole_tree(cache, V2._replace(names_change=6, generation=1))
    assert (reset.subtree_reads, reset.changes_read_since) == (1, [])


def test_the_least_recently_read_trees_leave_first_when_certificates_exceed_the_bound():
    cache = ProvenanceCache(max_nodes=100)
    for certificate_id in (1, 2, 3):
        cache.put(certificate_id, V1, tree(30))
    assert cache.latest(1) is not None  # read: now the most recent
    cache.put(4, V1, tree(30))  # 120 certificates: the least recently read (2) goes
    assert cache.latest(2) is None
    assert all(cache.latest(certificate_id) is not None for certificate_id in (1, 3, 4))
    assert cache.nodes == 90

    cache.put(5, V1, tree(101))  # larger than the whole cache: not kept, nothing pushed out
    assert cache.latest(5) is None and len(cache) == 3


def test_a_cache_of_no_certificates_keeps_nothing():
    cache = ProvenanceCache(max_nodes=0)
    cache.put(1, V1, tree(1))
    assert cache.latest(1) is None and len(cache) == 0


def test_a_kept_tree_takes_in_its_changed_rows_and_the_parts_split_from_it_nothing_else():
    # 5 is the top asked about; 2 is its sibling elsewhere in the issuance.
    kept = [row(5, 1, face="100"), row(7, 5, face="60"), row(8, 5, face="40")]
    changed = [
        row(2, 1, holder="0xB"),  # not in this tree
        row(7, 5, holder="0xC", face="60"),  # changed hands
        row(8, 5, face="40")._replace(status="split"),
        row(11, 2),  # split from the sibling: not in this tree
        row(12, 8, face="15"),  # split from 8
        row(13, 8, face="25"),
        row(14, 12, face="15"),  # and split again
    ]
    updated = _updated(kept, changed)
    assert [r.id for r in updated] == [5, 7, 8, 12, 13, 14]
    assert updated[1].holder == "0xC" and updated[2].status == "split"
    assert _updated(kept, []) is kept
