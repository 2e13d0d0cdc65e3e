"""The command groups that the gateway and the tools add to `scf` through entry points.

The library's command line imports neither: it finds their commands in the entry-point group
``scf_chain.commands``. A group that cannot be loaded costs only its own commands, with one
line that says which. Both run as child processes, as a user runs `scf`.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.cli.test_cli import run_scf

GATEWAY_COMMANDS = ("serve", "keys")
TOOLS_COMMANDS = ("gas", "bench", "demo", "run")
LIBRARY_COMMANDS = ("deploy", "index", "deposit", "settle", "chain", "member", "credit", "cert", "offer")


def listed_commands(help_text: str) -> set[str]:
    """The command names of `scf --help`'s table: the first word of each of its rows."""
    return {line.strip("│ ").split(" ", 1)[0] for line in help_text.splitlines() if line.startswith("│ ")}


def test_the_gateway_and_the_tools_add_their_commands(data_dir: Path) -> None:
    shown = run_scf("--help")
    assert shown.returncode == 0 and shown.stderr == "", shown.stderr
    assert {*LIBRARY_COMMANDS, *GATEWAY_COMMANDS, *TOOLS_COMMANDS} <= listed_commands(shown.stdout)


def test_a_group_that_fails_to_load_is_named_in_one_line_and_the_rest_still_runs(
    data_dir: Path, tmp_path: Path
) -> None:
    # An installed distribution whose command group names a module that does not exist.
    dist_info = tmp_path / "broken_commands-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-commands\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text("[scf_chain.commands]\nbroken = no_such_package.commands:register\n")
    paths = [str(tmp_path), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}

    shown = run_scf("--help", env=env)
    assert shown.returncode == 0, shown.stderr
    assert shown.stderr.splitlines() == [
        "warning: the broken commands are missing: no_such_package.commands:register failed to load "
        "(No module named 'no_such_package')"
    ]
    assert {*LIBRARY_COMMANDS, *GATEWAY_COMMANDS, *TOOLS_COMMANDS} <= listed_commands(shown.stdout)

    status = run_scf("chain", "status", env=env)
    assert status.returncode == 0, status.stderr
    assert "local chain: not running" in status.stdout
    assert [line for line in status.stderr.splitlines() if "broken" in line] == shown.stderr.splitlines()
