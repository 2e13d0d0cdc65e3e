"""The gateway's cache of built provenance trees: served only at the version it was built, bounded by certificates."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from api.index_reader import TreeVersion
from api.provenance_cache import ProvenanceCache

V1 = TreeVersion(generation=0, tree_change=100, names_change=5)
V2 = TreeVersion(generation=0, tree_change=101, names_change=5)


def tree(nodes: int) -> Any:
    """Stands in for a Provenance: the cache only weighs its path and order."""
    return SimpleNamespace(path=[object()], order=[object()] * (nodes - 1))


def test_a_tree_is_served_only_at_the_version_it_was_built():
    cache = ProvenanceCache(max_nodes=100)
    built = tree(10)
    cache.put(1, V1, built)
    assert cache.get(1, V1) is built
    assert cache.get(1, V2) is None
    assert cache.get(1, V1._replace(names_change=6)) is None
    assert cache.get(1, V1._replace(generation=1)) is None
    assert cache.get(2, V1) is None

    newer = tree(12)
    cache.put(1, V2, newer)  # replaces the older version, not beside it
    assert cache.get(1, V1) is None and cache.get(1, V2) is newer
    assert len(cache) == 1 and cache.nodes == 12


def test_the_least_recently_read_trees_leave_first_when_certificates_exceed_the_bound():
    cache = ProvenanceCache(max_nodes=100)
    for certificate_id in (1, 2, 3):
        cache.put(certificate_id, V1, tree(30))
    assert cache.get(1, V1) is not None  # read: now the most recent
    cache.put(4, V1, tree(30))  # 120 certificates: the least recently read (2) goes
    assert cache.get(2, V1) is None
    assert all(cache.get(certificate_id, V1) is not None for certificate_id in (1, 3, 4))
    assert cache.nodes == 90

    cache.put(5, V1, tree(101))  # larger than the whole cache: not kept, nothing pushed out
    assert cache.get(5, V1) is None and len(cache) == 3


def test_a_cache_of_no_certificates_keeps_nothing():
    cache = ProvenanceCache(max_nodes=0)
    cache.put(1, V1, tree(1))
    assert cache.get(1, V1) is None and len(cache) == 0
