"""Fixtures of the indexer tests: a fresh index per test (the chain is reverted after each one)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from scf_chain.index.indexer import Indexer, LedgerIndex
from scf_chain.runtime import Runtime


@pytest.fixture
def make_indexer(runtime: Runtime, tmp_path: Path) -> Iterator[Callable[..., tuple[LedgerIndex, Indexer]]]:
    """Builds a new index file and an indexer on it; closes them after the test."""
    opened: list[LedgerIndex] = []

    def make(name: str = "index.db", **options: Any) -> tuple[LedgerIndex, Indexer]:
        index = LedgerIndex(tmp_path / name)
        opened.append(index)
        indexer = Indexer(runtime.w3, runtime.ledger.address, runtime.ledger.contract.abi, index, **options)
        return index, indexer

    yield make
    for index in opened:
        index.close()


@pytest.fixture
def indexed(make_indexer: Callable[..., tuple[LedgerIndex, Indexer]]) -> tuple[LedgerIndex, Indexer]:
    return make_indexer()
