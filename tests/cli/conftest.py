"""The `scf` command line against a real local chain of its own.

The CLI tests never touch the session chain of tests/conftest.py: they run the CLI with
SCF_DATA_DIR set to a temporary folder and SCF_CHAIN_PORT=0 (a free port), as a second
checkout would. Compiled contracts come from the cache that every data folder shares.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from scf_chain.cli.main import StderrLogHandler


def cli_environment(data_dir: Path) -> dict[str, str]:
    """The process environment with only our SCF_ settings: a development chain in ``data_dir``."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SCF_")}
    environment.update(
        SCF_DATA_DIR=str(data_dir),
        SCF_CHAIN_PORT="0",
        SCF_DEV_MODE="true",
        COLUMNS="200",  # rich: no wrapping of the long lines the tests read
        PYTHONUNBUFFERED="1",
    )
    return environment


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """This module's data folder, set in the environment of the CLI (in this process and in child processes)."""
    folder = tmp_path_factory.mktemp("scf-cli")
    with pytest.MonkeyPatch.context() as patch:
        for key in [k for k in os.environ if k.startswith("SCF_")]:
            patch.delenv(key)
        for key, value in cli_environment(folder).items():
            patch.setenv(key, value)
        yield folder
    # The CLI, run in this process, gave the library's logger its stderr handler.
    logger = logging.getLogger("scf_chain")
    for handler in [h for h in logger.handlers if isinstance(h, StderrLogHandler)]:
        logger.removeHandler(handler)


@pytest.fixture
def fresh_data_dir(tmp_path: Path) -> Callable[[], tuple[Path, dict[str, str]]]:
    """Makes another data folder, and the environment of a child process that uses it."""

    def make() -> tuple[Path, dict[str, str]]:
        folder = tmp_path / f"data-{len(list(tmp_path.iterdir()))}"
        folder.mkdir()
        return folder, cli_environment(folder)

    return make
