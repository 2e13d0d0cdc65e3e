"""The `scf` command line, end to end, on a local chain of its own.

The tests of this module share one chain, started with `scf chain up` and stopped with
`scf chain down`, and run in order: deploy, members, credit, certificates, the demo.
Most commands run in this process (typer's CliRunner); a few run as child processes,
as a user would run them.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from eth_account import Account
from typer.testing import CliRunner, Result

from api.settings import GatewaySettings
from scf_chain.chain.compiler import PROJECT_ROOT
from scf_chain.chain.local import free_port
from scf_chain.cli.main import app
from scf_chain.domain.money import today_utc
from scf_chain.runtime import local_chain, open_runtime
from scf_chain.settings import Settings

URL = re.compile(r"http://127\.0\.0\.1:(\d+)")
CERTIFICATE = re.compile(r"#(\d+)")
ADDRESS = re.compile(r"\b0x[0-9a-fA-F]{40}\b")
OUTSTANDING = re.compile(r"outstanding CNY ([\d,.]+)")

_runner = CliRunner()


def scf(*args: str, env: dict[str, str | None] | None = None) -> Result:
    """Runs ``scf`` in this process; an exception the CLI did not turn into an error line fails the test."""
    result = _runner.invoke(app, list(args), env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def ok(*args: str) -> str:
    """Runs ``scf`` and returns its stdout; it must succeed."""
    result = scf(*args)
    assert result.exit_code == 0, f"scf {' '.join(args)} exited {result.exit_code}: {result.stderr}"
    return result.stdout


def error_line(stderr: str) -> str:
    """The one error line of a failed command; anything else on stderr may only be the development-mode warning."""
    lines = stderr.splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1, f"expected one error line, got:\n{stderr}"
    others = [line for line in lines if line not in errors]
    assert len(others) <= 1 and all(line.startswith("warning: DEVELOPMENT MODE: ") for line in others), stderr
    return errors[0]


def fails(*args: str, code: int = 1, env: dict[str, str | None] | None = None) -> str:
    """Runs ``scf``, which must fail with exit code ``code``; returns its one error line."""
    result = scf(*args, env=env)
    assert result.exit_code == code, f"scf {' '.join(args)} exited {result.exit_code}:\n{result.output}"
    return error_line(result.stderr)


def scf_command() -> list[str]:
    """The installed console script, else the module."""
    script = Path(sys.executable).with_name("scf")
    return [str(script)] if script.exists() else [sys.executable, "-m", "scf_chain.cli.main"]


def run_scf(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Runs ``scf`` as a child process, as a user would."""
    return subprocess.run(
        [*scf_command(), *args], capture_output=True, text=True, timeout=120, env=env, cwd=PROJECT_ROOT
    )


def maturity() -> str:
    return (today_utc() + timedelta(days=90)).isoformat()


@pytest.fixture(scope="module")
def chain_url(data_dir: Path) -> Iterator[str]:
    """`scf chain up` on this module's data folder; the chain is stopped at the end whatever happens."""
    started = run_scf("chain", "up")
    assert started.returncode == 0, started.stderr
    match = URL.search(started.stdout)
    assert match, started.stdout
    yield match.group(0)
    local_chain(Settings()).stop()


@pytest.fixture(scope="module")
def first_deploy(chain_url: str) -> str:
    return ok("deploy")


@pytest.fixture(scope="module")
def members(first_deploy: str) -> dict[str, str]:
    """A core enterprise with a credit line and three suppliers, by name: their addresses."""
    addresses = {}
    for name, role in [
        ("Acme Motors", "core-enterprise"),
        ("Tier One Parts", "supplier"),
        ("Tier Two Parts", "supplier"),
        ("Tier Three Parts", "supplier"),
    ]:
        out = ok("member", "add", name, "--role", role)
        (addresses[name],) = ADDRESS.findall(out)
    ok("credit", "set", "Acme Motors", "5000000.00")
    return addresses


def issue(to: str, amount: str, document: Path) -> int:
    out = ok("cert", "issue", "--from", "Acme Motors", "--to", to, "--amount", amount,
             "--maturity", maturity(), "--document", str(document), "--invoice", f"INV-{uuid.uuid4()}")  # fmt: skip
    return int(CERTIFICATE.search(out).group(1))  # type: ignore[union-attr]


@pytest.fixture
def invoice(tmp_path: Path) -> Path:
    path = tmp_path / "invoice.txt"
    path.write_text(f"INVOICE {uuid.uuid4()}\nAmount: CNY 1,000.00\n")
    return path


def test_chain_up_prints_its_url_and_status_finds_it(chain_url: str, data_dir: Path) -> None:
    # Port 0 means any free port; the record file tells later commands which one.
    assert int(URL.search(chain_url).group(1)) != 0  # type: ignore[union-attr]
    assert chain_url in ok("chain", "status")
    again = ok("chain", "up")
    assert "already running" in again and chain_url in again


def test_deploy_is_idempotent(first_deploy: str) -> None:
    assert "deployed a new ledger" in first_deploy
    addresses = ADDRESS.findall(first_deploy)  # ledger, token, desk, operator
    assert len(set(addresses)) == 4
    second = ok("deploy")
    assert "reusing the ledger" in second
    assert ADDRESS.findall(second) == addresses
    address = addresses[0]
    assert f"ledger: {address}" in ok("chain", "status")


def test_members_are_added_listed_and_frozen(members: dict[str, str]) -> None:
    watcher = Account.create().address  # registered without a key kept here
    out = ok("member", "add", "Watchful Audit", "--role", "auditor", "--address", watcher)
    assert watcher in out
    listing = ok("member", "list")
    for name, address in {**members, "Watchful Audit": watcher}.items():
        row = next(line for line in listing.splitlines() if address in line)
        assert name in row and "active" in row
    assert "core enterprise" in next(line for line in listing.splitlines() if "Acme Motors" in line)

    ok("member", "freeze", "Watchful Audit")
    assert "frozen" in next(line for line in ok("member", "list").splitlines() if watcher in line)
    ok("member", "unfreeze", watcher)  # by address
    assert "active" in next(line for line in ok("member", "list").splitlines() if watcher in line)
    assert "'Acme Motors' is already a member" in fails("member", "add", "acme motors", "--role", "supplier")


def test_credit_line_is_set_and_shown(members: dict[str, str]) -> None:
    out = ok("credit", "show", "Acme Motors")
    assert "limit CNY 5,000,000.00" in out and "available CNY" in out
    ok("credit", "set", members["Acme Motors"], "6000000")
    assert "limit CNY 6,000,000.00" in ok("credit", "show", "Acme Motors")
    ok("credit", "set", "Acme Motors", "5000000.00")


def test_certificate_issue_accept_transfer_split_and_show(members: dict[str, str], invoice: Path) -> None:
    root = issue("Tier One Parts", "1000.00", invoice)
    ok("cert", "accept", str(root), "--as", "Tier One Parts")

    paid = ok("cert", "transfer", str(root), "--as", "Tier One Parts", "--to", "Tier Two Parts", "--amount", "250.00")
    part = int(re.search(r"#(\d+) is held by Tier Two Parts", paid).group(1))  # type: ignore[union-attr]
    remainder = int(re.search(r"the remainder #(\d+)", paid).group(1))  # type: ignore[union-attr]
    ok("cert", "transfer", str(remainder), "--as", "Tier One Parts", "--to", "Tier Three Parts")  # whole
    split = ok("cert", "split", str(part), "--as", "Tier Two Parts",
               "--part", "Tier Three Parts:100.00", "--part", "Tier Two Parts:150")  # fmt: skip
    children = [int(i) for i in re.findall(r"#(\d+) \(", split)]
    assert len(children) == 2

    shown = ok("cert", "show", str(part))
    fields = dict(re.split(r"\s{2,}", line.strip(), maxsplit=1) for line in shown.splitlines() if "  " in line.strip())
    assert fields["status"] == "split"
    assert fields["face value"] == "CNY 250.00"
    assert fields["obligor"].startswith("Acme Motors (")
    assert fields["ancestry"] == f"#{part} <- #{root}"
    assert fields["children"] == f"#{children[0]}, #{children[1]}"
    assert fields["hops"] == "1"
    assert fields["recourse"] == "none"
    assert fields["maturity"] == maturity()
    child_rows = [line for line in shown.splitlines() if f"#{children[0]}" in line and "CNY 100.00" in line]
    assert child_rows and "Tier Three Parts" in child_rows[0]

    whole = ok("cert", "show", str(remainder))
    assert "Tier Three Parts (" in whole and "CNY 750.00" in whole


def test_reject_releases_credit(members: dict[str, str], invoice: Path) -> None:
    def outstanding() -> Decimal:
        return Decimal(OUTSTANDING.search(ok("credit", "show", "Acme Motors")).group(1).replace(",", ""))  # type: ignore[union-attr]

    before = outstanding()
    pending = issue("Tier Two Parts", "300.00", invoice)
    assert outstanding() == before + 300
    ok("cert", "reject", str(pending), "--as", "Tier Two Parts")
    assert outstanding() == before


@pytest.mark.parametrize(
    ("args", "code", "expected"),
    [
        (["--amount", "9999999.00"], 1, "error: Issuing 9,999,999.00 would take Acme Motors"),
        (["--amount", "12.345"], 1, "error: 12.345 has more than 2 decimal places"),
        (["--to", "Nobody Ltd"], 1, "error: No member is named 'Nobody Ltd'"),
        (["--maturity", "2030-02-30"], 2, "error: Invalid value for --maturity: '2030-02-30' is not a date"),
        (["--maturity", "tomorrow"], 2, "error: Invalid value for --maturity"),
        (["--document-hash", "0x1234"], 2, "error: Invalid value for --document"),
    ],
)
def test_bad_issues_fail_with_one_line(
    members: dict[str, str], invoice: Path, args: list[str], code: int, expected: str
) -> None:
    options = {"--from": "Acme Motors", "--to": "Tier One Parts", "--amount": "100.00", "--maturity": maturity()}
    options["--invoice"] = f"INV-{uuid.uuid4()}"
    for key, value in zip(args[::2], args[1::2], strict=True):
        options[key] = value
    if "--document-hash" not in options:
        options["--document"] = str(invoice)
    line = fails("cert", "issue", *[part for item in options.items() for part in item], code=code)
    assert line.startswith(expected), line


def test_other_failures_are_one_line(members: dict[str, str], invoice: Path) -> None:
    assert fails("cert", "show", "999999").startswith("error: Certificate 999999 does not exist")
    wrong_role = fails("cert", "issue", "--from", "Tier One Parts", "--to", "Tier Two Parts",
                       "--amount", "1", "--maturity", maturity(), "--document", str(invoice),
                       "--invoice", "INV-WRONG-ROLE")  # fmt: skip
    assert wrong_role.startswith("error: Tier One Parts is a supplier")
    ok("member", "add", "Keyless Supplies", "--role", "supplier", "--address", Account.create().address)
    assert "error: No signing key for Keyless Supplies" in fails("cert", "accept", "1", "--as", "Keyless Supplies")
    assert "exactly one of" in fails("cert", "issue", "--from", "Acme Motors", "--to", "Tier One Parts",
                                     "--amount", "1", "--maturity", maturity(), "--invoice", "INV-NO-ANCHOR",
                                     code=2)  # fmt: skip
    assert "'boss' is not one of" in fails("member", "add", "X", "--role", "boss", code=2)
    assert "No such command" in fails("cert", "bogus", code=2)
    held = issue("Tier One Parts", "100.00", invoice)
    ok("cert", "accept", str(held), "--as", "Tier One Parts")
    assert "The parts add up to 2.00, not to the face value" in fails(
        "cert", "split", str(held), "--as", "Tier One Parts", "--part", "Tier Two Parts:1", "--part", "Tier One Parts:1"
    )
    assert "'Tier Two Parts' is not TO:AMOUNT" in fails("cert", "split", str(held), "--as", "Tier One Parts",
                                                        "--part", "Tier Two Parts", code=2)  # fmt: skip
    # No chain at all: a free port in an empty data folder.
    nowhere = {"SCF_DATA_DIR": str(invoice.parent / "none"), "SCF_CHAIN_PORT": str(free_port())}
    assert fails("member", "list", env=nowhere).startswith("error: The chain at")


def test_a_failing_command_is_one_line_from_the_console_script_too(members: dict[str, str]) -> None:
    result = run_scf("credit", "set", "Acme Motors", "1.001")
    assert result.returncode == 1
    assert error_line(result.stderr).startswith("error: 1.001 has more than 2 decimal places")
    assert result.stdout == ""
    usage = run_scf("cert", "transfer", "1", "--to", "Tier Two Parts")
    assert usage.returncode == 2
    assert error_line(usage.stderr).startswith("error: Missing option '--as'")


def test_demo_tells_the_whole_story_on_a_throwaway_chain_again_and_again(first_deploy: str, data_dir: Path) -> None:
    totals = re.compile(r"Sum of holdings: CNY ([\d,.]+) = face value of #(\d+): CNY ([\d,.]+)")
    paid = re.compile(r"^#(\d+): CNY ([\d,.]+) to (.+)$", re.MULTILINE)
    runtime = open_runtime(Settings())
    members = runtime.ledger.members()
    for _ in range(2):
        out = ok("demo")
        assert "throwaway development chain" in out
        assert "Huaxia Motors" in out and "tier 4" in out
        match = totals.search(out)
        assert match, out
        assert match.group(1) == match.group(3) == "1,000,000.00"
        assert "sha256 matches" in out
        # Tier 4 financed its piece at the bank; at maturity the four pieces were paid, the bank's to the bank.
        assert re.search(r"in one transaction .* pays CNY [\d,.]+ \(CNY 80,000\.00 less CNY [\d,.]+ interest", out), out
        payments = paid.findall(out)
        assert len(payments) == 4, out
        assert sum(Decimal(amount.replace(",", "")) for _, amount, _ in payments) == Decimal("1000000.00")
        assert ("80,000.00", "Eastern Commercial Bank") in {(amount, to) for _, amount, to in payments}
        assert "Paid at maturity: CNY 1,000,000.00 = face value of" in out
        assert "net across members: CNY 0.00" in out
    # The chain of the data folder is left as it was: no demo members, and its clock not moved to any maturity.
    assert runtime.ledger.members() == members
    latest = int(runtime.w3.eth.get_block("latest")["timestamp"])
    assert latest // 86_400 <= (today_utc() - date(1970, 1, 1)).days


def test_keys_create_prints_only_a_key_for_a_member_or_the_operator(members: dict[str, str]) -> None:
    from api.store import GatewayStore

    for reference in ("operator", next(iter(members))):
        created = run_scf("keys", "create", reference)
        assert created.returncode == 0, created.stderr
        assert re.fullmatch(r"scf_[A-Za-z0-9_-]{43}\n", created.stdout)
        store = GatewayStore(GatewaySettings().gateway_db_path)
        try:
            assert store.member_for_key(created.stdout.strip()) is not None
        finally:
            store.close()
    assert fails("keys", "create", "Nobody Inc").startswith("error:")


def test_index_follows_the_chain_and_a_rebuild_is_identical(members: dict[str, str]) -> None:
    from scf_chain.index.indexer import LedgerIndex

    synced = ok("index")
    assert re.match(r"indexed to block \d+: \d+ events", synced)
    with LedgerIndex(Settings().index_db_path) as index:
        before = index.dump()
    assert ok("index", "--rebuild") == synced
    with LedgerIndex(Settings().index_db_path) as index:
        assert index.dump() == before
        assert {m.name for m in index.members()} >= set(members)


def test_gas_report(first_deploy: str) -> None:
    out = ok("gas")
    rows = {line.split("  ")[0]: line for line in out.splitlines()}
    for operation in ("issue", "transfer-part", "whole transfer", "100-way split", "ERC-721 transfer"):
        assert operation in rows, out
    assert "1.00x" in rows["ERC-721 transfer"]


def test_run_seeds_serves_and_stops_the_chain_on_ctrl_c(
    fresh_data_dir: Callable[[], tuple[Path, dict[str, str]]],
) -> None:
    folder, environment = fresh_data_dir()
    api_port = free_port()
    environment = {**environment, "SCF_API_PORT": str(api_port)}
    log = folder / "run.log"
    printed: list[tuple[str, str]] = []

    def run_until_ready(*args: str) -> str:
        with log.open("w") as output:
            process = subprocess.Popen(
                [*scf_command(), "run", *args],
                stdout=output,
                stderr=subprocess.STDOUT,
                env=environment,
                cwd=PROJECT_ROOT,
            )
            try:
                deadline = time.monotonic() + 60
                while not _gateway_ready(api_port):
                    assert process.poll() is None, log.read_text()
                    assert time.monotonic() < deadline, log.read_text()
                    time.sleep(0.2)
                # Every key printed, by this run or an earlier one, works against the served gateway.
                printed.extend(re.findall(r"(0x[0-9a-fA-F]{40})  (scf_\S+)", log.read_text()))
                assert printed, log.read_text()
                for address, key in printed:
                    me = httpx.get(f"http://127.0.0.1:{api_port}/v1/me", headers={"Authorization": f"Bearer {key}"})
                    assert me.json()["address"] == address
                process.send_signal(signal.SIGINT)
                assert process.wait(timeout=30) == 0, log.read_text()
            finally:
                if process.poll() is None:
                    process.kill()
        return log.read_text()

    first = run_until_ready()
    assert "deployed a new ledger" in first
    assert "Sum of holdings: CNY 1,000,000.00" in first
    assert "local chain stopped" in first
    assert local_chain(Settings(data_dir=folder, chain_port=0)).record() is None

    # Restarted, the chain has kept its state: same ledger, already seeded; the keys made before are kept, not added to.
    keys = len(printed)
    second = run_until_ready()
    assert "reusing the ledger" in second
    assert "not seeding the demo" in second
    assert len(printed) == keys and "has a key" in second
    assert "local chain stopped" in second


def _gateway_ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_chain_down_stops_it(chain_url: str) -> None:
    down = run_scf("chain", "down")
    assert down.returncode == 0, down.stderr
    assert "stopped" in down.stdout
    assert "not running" in ok("chain", "status")
    assert fails("member", "list").startswith("error: The chain at")
