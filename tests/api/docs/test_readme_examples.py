"""Every curl example in the README works as written, against a real gateway.

The examples' placeholders are filled in as a reader would fill them: the shell variables
the README assigns (`KEY=scf_...`, `CERT=7`) are set to a real key and a certificate its
member holds, `0x...` is a member's address, and the README's gateway address is this one's.
Nothing else of a command is changed; curl is only asked to print the status it got.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.api.conftest import PROJECT_ROOT

README = PROJECT_ROOT / "README.md"
README_GATEWAY = "http://127.0.0.1:8000"
SHELL_BLOCK = re.compile(r"^```(?:sh|bash|shell|console)\n(.*?)^```", re.M | re.S)
# A line that only assigns (`KEY=scf_...  # ...`) asks the reader to set a variable; `NAME=value command`
# sets it for that command only, and asks nothing.
ASSIGNMENT = re.compile(r"^([A-Z_][A-Z0-9_]*)=\S*\s*(?:#.*)?$")
STATUS_MARK = "README-EXAMPLE-STATUS:"
BASH = shutil.which("bash") or "/bin/bash"


def shell_commands(readme: Path) -> list[str]:
    """The commands of the README's shell blocks, each with its continuation lines joined."""
    commands = []
    for block in SHELL_BLOCK.findall(readme.read_text()):
        command = ""
        for line in block.splitlines():
            command += line
            if command.endswith("\\"):
                command = command[:-1]  # as the shell joins them: the backslash and the newline go
                continue
            if command.strip():
                commands.append(command.strip())
            command = ""
    return commands


def curl_examples(commands: list[str]) -> list[str]:
    return [c for c in commands if c.startswith("curl ")]


def placeholders(commands: list[str]) -> set[str]:
    """The variables the README asks the reader to set."""
    return {m[1] for c in commands if (m := ASSIGNMENT.match(c))}


def run_example(command: str, base_url: str, address: str, variables: dict[str, str]) -> tuple[int, str]:
    filled = command.replace(README_GATEWAY, base_url).replace("0x...", address)
    # Only an addition: print the status after the body, on a line of its own.
    filled = filled.replace("curl ", f"curl -sS -w {shlex.quote(chr(10) + STATUS_MARK + '%{http_code}')} ", 1)
    result = subprocess.run(
        [BASH, "-c", filled],
        env={"PATH": "/usr/bin:/bin", **variables},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    body, _, status = result.stdout.rpartition("\n" + STATUS_MARK)
    return int(status), body


def test_the_readme_has_curl_examples():
    assert len(curl_examples(shell_commands(README))) >= 3


def test_every_curl_example_in_the_readme_works_as_written(gateway, issued, onboard):
    commands = shell_commands(README)
    examples = curl_examples(commands)
    _, supplier, certificate = issued("1000000.00")
    receiver = onboard("supplier")
    variables = {"KEY": supplier.api.client.headers["authorization"].removeprefix("Bearer "), "CERT": certificate["id"]}
    variables = {name: str(value) for name, value in variables.items()}
    assert placeholders(commands) <= variables.keys(), "the README sets a variable this test does not fill in"
    for example in examples:
        status, body = run_example(example, gateway.base_url, receiver.address, variables)
        assert 200 <= status < 300, f"{example}\n-> {status} {body}"
    # The transfer example moved what it says.
    held = receiver.api.get("/v1/certificates").json()["items"]
    assert [c["amount"] for c in held] == ["250000.00"]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "curl -H \"A: b\" \\\n     -X POST http://x \\\n     -d '{}'",
            ["curl -H \"A: b\"      -X POST http://x      -d '{}'"],
        ),
        ("KEY=scf_...   # a key\ncurl http://x", ["KEY=scf_...   # a key", "curl http://x"]),
    ],
)
def test_shell_blocks_are_read_command_by_command(tmp_path, line, expected):
    readme = tmp_path / "README.md"
    readme.write_text(f"text\n\n```sh\n{line}\n```\n\n```python\ncurl = 1\n```\n")
    assert shell_commands(readme) == expected


def test_only_a_line_that_only_assigns_asks_the_reader_for_a_variable():
    commands = ["KEY=scf_...   # a key", "CERT=7", "SCF_DATABASE_URL=postgresql+psycopg://x/scf scf serve --workers 4"]
    assert placeholders(commands) == {"KEY", "CERT"}
