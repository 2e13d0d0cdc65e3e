"""``scf serve --workers N``: N gateway processes on one address sharing PostgreSQL, supervised; and the
one-line refusal when there is no shared database.

Real processes throughout: the ``scf`` command, a chain of the test's own, and the PostgreSQL server
of the test run (the ``postgres`` fixture), whatever ``--database`` says: replicas need it.
"""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from api.store import GatewayStore
from scf_chain.chain.keys import anvil_account
from scf_chain.chain.local import LocalChain, free_port
from tools.postgres import LocalPostgres

SCF = str(Path(sys.executable).parent / "scf")
WAIT_S = 120.0  # how long a start or a restart may take on a busy machine, before the test gives up


def worker_pids(parent: int) -> set[int]:
    """The supervisor's worker processes (spawned by multiprocessing; its resource tracker is not one)."""
    found: set[int] = set()
    for task in Path(f"/proc/{parent}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                    found.add(int(child))
            except OSError:
                continue  # gone meanwhile
    return found


def wait_for(what: str, check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {WAIT_S:.0f} s")


def serving(serve: subprocess.Popen[bytes], log: Path) -> bool:
    """Whether the supervisor has said that every worker serves; a supervisor that exited fails the test."""
    if serve.poll() is not None:
        raise AssertionError(f"scf serve exited with {serve.returncode}: {log.read_text()[-2000:]}")
    return b"2 workers serving" in log.read_bytes()


def ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def member_found(url: str, key: str, address: str) -> bool:
    answer = httpx.get(f"{url}/v1/members/{address}", headers={"Authorization": f"Bearer {key}"}, timeout=10)
    return answer.status_code == 200


@pytest.fixture
def own_chain(tmp_path: Path) -> Iterator[str]:
    """A chain of the test's data folder (so that development mode takes it for the embedded one); its URL."""
    chain = LocalChain(tmp_path / "data" / "chain", port=free_port())
    record = chain.start()
    yield record.url
    chain.stop()


def serve_env(data_dir: Path, rpc_url: str | None, port: int, database_url: str | None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("SCF_")}
    env.update(
        {
            "SCF_DATA_DIR": str(data_dir),
            "SCF_DEV_MODE": "true",
            "SCF_API_HOST": "127.0.0.1",
            "SCF_API_PORT": str(port),
            "SCF_OVERDUE_INTERVAL_S": "0",
        }
    )
    if rpc_url is not None:
        env["SCF_RPC_URL"] = rpc_url
    if database_url is not None:
        env["SCF_DATABASE_URL"] = database_url
    return env


def test_two_workers_serve_writes_and_are_supervised(tmp_path: Path, own_chain: str, postgres: LocalPostgres) -> None:
    database_url = postgres.create_database("serve_two_workers")
    data_dir, port = tmp_path / "data", free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp_path / "serve.log").open("wb")
    serve = subprocess.Popen(
        [SCF, "serve", "--workers", "2", "--no-access-log"],
        env=serve_env(data_dir, own_chain, port, database_url),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for("every worker serving", lambda: serving(serve, tmp_path / "serve.log"))
        assert ready(url)
        workers = worker_pids(serve.pid)
        assert len(workers) == 2, workers

        # The ledger was deployed once, by the supervisor, before the workers started.
        assert (tmp_path / "serve.log").read_text().count("deployed CertificateLedger") == 1

        store = GatewayStore(database_url)
        try:
            operator_key = store.create_api_key(anvil_account(0).address)
        finally:
            store.close()
        # A connection of its own for each request, so that both workers take some.
        onboarded = []
        for n in range(4):
            answer = httpx.post(
                f"{url}/v1/members",
                json={"name": f"Replica Supplier {n}", "role": "supplier"},
                headers={"Authorization": f"Bearer {operator_key}", "Idempotency-Key": f"onboard-{n}"},
                timeout=60,
            )
            assert answer.status_code == 201, answer.text
            onboarded.append(answer.json()["address"])
        for address in onboarded:
            wait_for(f"member {address} listed", functools.partial(member_found, url, operator_key, address))

        # A worker killed is replaced, and the address keeps answering.
        killed = min(workers)
        os.kill(killed, signal.SIGKILL)
        wait_for("a replacement worker", lambda: len(worker_pids(serve.pid) - {killed}) == 2)
        wait_for("the gateway answering again", lambda: ready(url))
        assert killed not in worker_pids(serve.pid)

        # SIGTERM stops the supervisor and every worker with it.
        remaining = worker_pids(serve.pid)
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=WAIT_S) == 0
        assert not [pid for pid in remaining if Path(f"/proc/{pid}").exists()]
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()
        log.close()
        postgres.drop_database("serve_two_workers")


def test_workers_without_a_shared_database_is_a_one_line_error(tmp_path: Path) -> None:
    ran = subprocess.run(
        [SCF, "serve", "--workers", "2"],
        env=serve_env(tmp_path / "data", None, free_port(), None),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode != 0
    lines = ran.stderr.strip().splitlines()
    assert len(lines) == 1, ran.stderr
    assert lines[0].startswith("error: --workers 2 needs a database the workers share")
    assert "SCF_DATABASE_URL" in lines[0]
