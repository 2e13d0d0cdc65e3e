"""The ledger's clock through real `scf run` and `scf chain advance` processes, on a data folder of their own.

`scf run` seeds the demo without moving the chain's clock: the ledger's date is today's
(UTC), so maturities are bounded from today, and only `scf chain advance` moves it. A
restart keeps both the clock and the API keys handed out before.
"""

from __future__ import annotations

import hashlib
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import httpx
from web3 import Web3
from web3.contract import Contract

from scf_chain.chain.compiler import PROJECT_ROOT, compile_contracts
from scf_chain.chain.deploy import LEDGER_CONTRACT, Deployment
from scf_chain.chain.local import free_port
from scf_chain.domain.money import today_utc
from scf_chain.settings import Settings
from tests.cli.test_cli import error_line, run_scf, scf_command

MEMBER_LINE = re.compile(
    r"^(?P<name>\S.*?)\s+(?P<role>operator|core enterprise|supplier|financier|auditor)\s+"
    r"(?P<address>0x[0-9a-fA-F]{40})  (?P<key>scf_\S+|has a key)$",
    re.MULTILINE,
)


@dataclass
class Listed:
    role: str
    address: str
    key: str  # the key, or "has a key"


def listed(output: str) -> dict[str, Listed]:
    """The members `scf run` lists before serving, by name."""
    return {m["name"]: Listed(m["role"], m["address"], m["key"]) for m in MEMBER_LINE.finditer(output)}


@contextmanager
def scf_run(environment: dict[str, str], log: Path, api_port: int) -> Iterator[Callable[[], str]]:
    """`scf run` as a child process, until its gateway is ready; then Ctrl-C, and it must stop cleanly."""
    with log.open("w") as output:
        process = subprocess.Popen(
            [*scf_command(), "run"], stdout=output, stderr=subprocess.STDOUT, env=environment, cwd=PROJECT_ROOT
        )
        try:
            deadline = time.monotonic() + 120
            while not _ready(api_port):
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
            yield log.read_text
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=30) == 0, log.read_text()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def _ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def ledger_date(base_url: str, key: str) -> date:
    me = httpx.get(f"{base_url}/v1/me", headers={"Authorization": f"Bearer {key}"})
    assert me.status_code == 200, me.text
    return date.fromisoformat(me.json()["ledger_date"])


def ledger_contract(folder: Path, output: str) -> Contract:
    """The ledger deployed by `scf run` in ``folder``, on the chain its output names."""
    chain_url = re.search(r"local chain started at (http://\S+)", output)
    assert chain_url, output
    deployment = Deployment.load(Settings(data_dir=folder).manifest_path)
    assert deployment is not None
    abi = compile_contracts(Settings().build_dir)[LEDGER_CONTRACT].abi
    return Web3(Web3.HTTPProvider(chain_url.group(1))).eth.contract(address=deployment.ledger, abi=abi)


def issue(base_url: str, key: str, to: str, maturity: date, invoice: str) -> httpx.Response:
    body = {
        "to": to,
        "amount": "1000.00",
        "maturity_date": maturity.isoformat(),
        "document_hash": "0x" + hashlib.sha256(invoice.encode()).hexdigest(),
        "invoice_number": invoice,
    }
    return httpx.post(f"{base_url}/v1/certificates", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=60)


def test_run_keeps_todays_date_advance_moves_it_and_a_restart_keeps_clock_and_keys(
    fresh_data_dir: Callable[[], tuple[Path, dict[str, str]]],
) -> None:
    folder, environment = fresh_data_dir()
    api_port = free_port()
    environment = {**environment, "SCF_API_PORT": str(api_port)}
    base_url = f"http://127.0.0.1:{api_port}"

    with scf_run(environment, folder / "first.log", api_port) as output:
        before = today_utc()
        members = listed(output())
        operator = members["operator"].key
        core = members["Huaxia Motors"].key
        supplier = members["Changjiang Seating Systems"].address
        # Seeded, and still today by the ledger's clock (the day may turn while the test runs).
        assert "Sum of holdings: CNY 1,000,000.00" in output()
        assert ledger_date(base_url, operator) in (before, today_utc())
        assert "scf chain advance --days" in output()

        # Maturities are bounded from today: 60 days ahead is fine, 400 is beyond the ledger's tenor (365 days).
        tenor = ledger_contract(folder, output()).functions.MAX_TENOR_DAYS().call()
        assert tenor == 365
        today = ledger_date(base_url, operator)
        soon = issue(base_url, core, supplier, today + timedelta(days=60), "CLOCK-60")
        assert soon.status_code == 201, soon.text
        last = issue(base_url, core, supplier, today + timedelta(days=tenor), "CLOCK-LAST")
        assert last.status_code == 201, last.text
        far = issue(base_url, core, supplier, today + timedelta(days=400), "CLOCK-400")
        assert far.status_code == 422 and far.json()["field"] == "maturity_date", far.text

        advanced = run_scf("chain", "advance", "--days", "30", env=environment)
        assert advanced.returncode == 0, advanced.stderr
        assert f"the ledger's date is now {today + timedelta(days=30)}" in advanced.stdout
        assert ledger_date(base_url, operator) == today + timedelta(days=30)

    # Restarted: the clock carries on from where it was moved, and no key is minted for anyone who has one.
    with scf_run(environment, folder / "second.log", api_port) as output:
        assert "reusing the ledger" in output()
        again = listed(output())
        assert set(again) == set(members)
        assert {entry.key for entry in again.values()} == {"has a key"}
        assert "scf keys create NAME" in output()
        assert ledger_date(base_url, operator) == today + timedelta(days=30)
        assert ledger_date(base_url, core) == today + timedelta(days=30)

        # As the README says: 90 days on, the seeded issuance is due and the core enterprise settles it.
        (root_id,) = re.findall(r"issues certificate #(\d+)", (folder / "first.log").read_text())
        assert root_id == "1"
        assert run_scf("chain", "advance", "--days", "60", env=environment).returncode == 0
        as_operator = {"Authorization": f"Bearer {operator}"}
        deposit = {"member": members["Huaxia Motors"].address, "amount": "1000000.00"}
        assert httpx.post(f"{base_url}/v1/deposits", json=deposit, headers=as_operator).status_code == 201
        settled = httpx.post(
            f"{base_url}/v1/settlements", json={"root_id": 1}, headers={"Authorization": f"Bearer {core}"}, timeout=60
        )
        assert settled.status_code == 200, settled.text
        assert (settled.json()["status"], settled.json()["paid_total"]) == ("settled", "1000000.00")


def test_advance_moves_only_the_embedded_development_chain(
    fresh_data_dir: Callable[[], tuple[Path, dict[str, str]]],
) -> None:
    _, environment = fresh_data_dir()
    network = {
        **environment,
        "SCF_RPC_URL": "http://127.0.0.1:9",
        "SCF_DEV_MODE": "false",
        "SCF_KEYSTORE_PASSPHRASE": "a passphrase of this network",
    }
    external = run_scf("chain", "advance", "--days", "1", env=network)
    assert external.returncode != 0 and external.stdout == ""
    assert error_line(external.stderr) == (
        "error: SCF_RPC_URL is set (http://127.0.0.1:9): only the embedded development chain's clock can be moved."
    )

    stopped = run_scf("chain", "advance", "--days", "1", env=environment)
    assert stopped.returncode != 0
    assert "scf chain up" in error_line(stopped.stderr)
