"""Fixtures of the indexer tests: a fresh index per test (the chain is reverted after each one).

An index is a SQLite file in the test's folder, or with ``--database=postgres`` a new PostgreSQL database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from scf_chain.index.indexer import Indexer, LedgerIndex
from scf_chain.runtime import Runtime
from tests import databases


@pytest.fixture
def index_locations(tmp_path: Path) -> Iterator[dict[str, Path | str]]:
    """Where the test's indexes are, by name: SQLite files in its folder, or new PostgreSQL databases."""
    locations: dict[str, Path | str] = {}
    yield locations
    for location in locations.values():
        if isinstance(location, str):
            databases.drop(location)


def index_location(locations: dict[str, Path | str], tmp_path: Path, name: str) -> Path | str:
    """The index called ``name`` of this test, made on first use."""
    if name not in locations:
        locations[name] = databases.fresh_database_url() or tmp_path / name
    return locations[name]


@pytest.fixture
def index_at(index_locations: dict[str, Path | str], tmp_path: Path) -> Path | str:
    """Where the test's index called index.db is (the same place each time it is opened)."""
    return index_location(index_locations, tmp_path, "index.db")


@pytest.fixture
def make_indexer(
    runtime: Runtime, tmp_path: Path, index_locations: dict[str, Path | str]
) -> Iterator[Callable[..., tuple[LedgerIndex, Indexer]]]:
    """Builds a new index and an indexer on it; closes them after the test."""
    opened: list[LedgerIndex] = []

    def make(name: str = "index.db", **options: Any) -> tuple[LedgerIndex, Indexer]:
        index = LedgerIndex(index_location(index_locations, tmp_path, name))
        opened.append(index)
        indexer = Indexer(runtime.w3, runtime.ledger.address, runtime.ledger.contract.abi, index, **options)
        return index, indexer

    yield make
    for index in opened:
        index.close()


@pytest.fixture
def indexed(make_indexer: Callable[..., tuple[LedgerIndex, Indexer]]) -> tuple[LedgerIndex, Indexer]:
    return make_indexer()
