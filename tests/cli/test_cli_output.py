"""What the `scf` command prints: errors as sentences, the development-mode warning once, tables at 80 columns.

Every command here runs as a child process, as a user runs it, on a local chain of this
module's own (started with `scf chain up`, stopped at the end).
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from scf_chain.chain.compiler import PROJECT_ROOT
from scf_chain.chain.local import free_port
from scf_chain.runtime import local_chain
from scf_chain.settings import Settings
from tests.cli.test_cli import run_scf, scf_command

ADDRESS = re.compile(r"\b0x[0-9a-fA-F]{40}\b")
# An internal exception or error class named in front of a message: "CertificateNotFound: ...".
CLASS_NAME = re.compile(r"\b[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)+:")
DEV_WARNING = "warning: DEVELOPMENT MODE: "
LONG_NAMES = [
    ("Changjiang Seating Systems Manufacturing Co., Ltd.", "core-enterprise"),
    ("Xinhe Automotive Textiles", "supplier"),
    ("Eastern Commercial Bank of Zhejiang", "financier"),
    ("Huaping Audit Office", "auditor"),
]


@pytest.fixture(scope="module")
def chain(data_dir: Path) -> Iterator[None]:
    started = run_scf("chain", "up")
    assert started.returncode == 0, started.stderr
    try:
        deployed = run_scf("deploy")
        assert deployed.returncode == 0, deployed.stderr
        for name, role in LONG_NAMES:
            added = run_scf("member", "add", name, "--role", role)
            assert added.returncode == 0, added.stderr
        yield
    finally:
        local_chain(Settings()).stop()


def failure(*args: str, code: int = 1, env: dict[str, str] | None = None) -> str:
    """Runs ``scf``, which must fail with exit code ``code`` and print nothing but one error line (and the warning)."""
    result = run_scf(*args, env=env)
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == ""
    lines = [line for line in result.stderr.splitlines() if not line.startswith(DEV_WARNING)]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def assert_sentence(line: str) -> None:
    text = line.removeprefix("error: ")
    assert not text[0].islower() and text.endswith("."), line
    assert not CLASS_NAME.search(text), line


def test_errors_read_as_a_sentence_without_internal_class_names(chain: None, tmp_path: Path) -> None:
    missing = failure("cert", "show", "999999")
    assert missing == "error: Certificate 999999 does not exist."
    unknown = failure("credit", "show", "Nobody Ltd")
    assert unknown == "error: No member is named 'Nobody Ltd'; see `scf member list`."
    fraction = failure("credit", "set", "Xinhe Automotive Textiles", "1.001")
    assert fraction.startswith("error: 1.001 has more than 2 decimal places")
    wrong_role = failure("credit", "set", "Xinhe Automotive Textiles", "100.00")
    usage = failure("cert", "transfer", "1", "--to", "Xinhe Automotive Textiles", code=2)
    assert usage.startswith("error: Missing option '--as'")
    taken = failure("member", "add", "huaping audit office", "--role", "auditor")
    nowhere = {**_environment(tmp_path / "none"), "SCF_CHAIN_PORT": str(free_port())}
    no_chain = failure("member", "list", env=nowhere)
    assert no_chain.startswith("error: The chain at http://127.0.0.1:")
    for line in (missing, unknown, fraction, wrong_role, usage, taken, no_chain):
        assert_sentence(line)


def _environment(folder: Path) -> dict[str, str]:
    from tests.cli.conftest import cli_environment

    folder.mkdir(parents=True, exist_ok=True)
    return cli_environment(folder)


def test_member_list_fits_80_columns_with_names_roles_and_addresses_whole(chain: None, data_dir: Path) -> None:
    listing = run_scf("member", "list", env={**_environment(data_dir), "COLUMNS": "80"})
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    assert lines and max(len(line) for line in lines) <= 80, listing.stdout
    rows = [i for i, line in enumerate(lines) if ADDRESS.search(line) and not line.startswith("operator:")]
    assert len(rows) == len(LONG_NAMES)
    for start, end, (name, role) in zip(rows, [*rows[1:], len(lines) - 1], LONG_NAMES, strict=True):
        # A long name may wrap onto the lines below its row, but is never cut; the role is never broken.
        name_lines = [lines[start].split("  ")[0], *lines[start + 1 : end]]
        assert "".join("".join(name_lines).split()) == "".join(name.split()), lines[start:end]
        assert role.replace("-", " ") in lines[start] and "active" in lines[start]
    assert lines[-1].startswith("operator: 0x")


def test_the_development_mode_warning_is_printed_once_per_process(
    fresh_data_dir: Callable[[], tuple[Path, dict[str, str]]],
) -> None:
    """`scf run` opens the ledger twice (to deploy, then in the gateway): one warning, on stderr, all the same."""
    folder, environment = fresh_data_dir()
    api_port = free_port()
    environment = {**environment, "SCF_API_PORT": str(api_port)}
    out, err = folder / "run.out", folder / "run.err"
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen(
            [*scf_command(), "run", "--no-seed"], stdout=stdout, stderr=stderr, env=environment, cwd=PROJECT_ROOT
        )
        try:
            deadline = time.monotonic() + 90
            while not _gateway_ready(api_port):
                assert process.poll() is None, err.read_text()
                assert time.monotonic() < deadline, err.read_text()
                time.sleep(0.2)
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=30) == 0, err.read_text()
        finally:
            if process.poll() is None:
                process.kill()
    assert "DEVELOPMENT MODE" not in out.read_text()
    assert err.read_text().count("DEVELOPMENT MODE") == 1, err.read_text()


def _gateway_ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
