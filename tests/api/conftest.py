"""A real gateway process (uvicorn on a free port) on a real Anvil chain of its own.

The API tests share one chain and one gateway for the session and never revert the
chain: each test onboards the members it needs, so tests stay independent.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from api.store import GatewayStore
from scf_chain.chain.local import LocalChain, free_port
from scf_chain.domain.money import today_utc
from tests import databases

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class GatewayProcess:
    """A gateway process; on ``--database=postgres`` with a database of its own, as it has a data folder."""

    base_url: str
    data_dir: Path
    chain: LocalChain
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    database_url: str | None = field(default_factory=databases.fresh_database_url)

    @property
    def gateway_database(self) -> Path | str:
        """Where the gateway keeps its store: its PostgreSQL database, or the SQLite file in its data folder."""
        return databases.gateway_database(self.data_dir, self.database_url)

    def open_store(self) -> GatewayStore:
        """The gateway's store, opened beside the process."""
        return GatewayStore(self.gateway_database)

    @property
    def index_database(self) -> Path | str:
        """Where the gateway keeps its index: the same database as its store, or the SQLite file beside it."""
        return databases.index_database(self.data_dir, self.database_url)

    def start(self, timeout: float = 60.0) -> None:
        port = self.base_url.rsplit(":", 1)[1]
        log = (self.data_dir / "gateway.log").open("ab")
        # The database is the process's own, whatever an environment copied from another gateway says.
        env = {key: value for key, value in self.env.items() if key != "SCF_DATABASE_URL"}
        if self.database_url:
            env["SCF_DATABASE_URL"] = self.database_url
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "api.main:app_factory",
                "--host",
                "127.0.0.1",
                "--port",
                port,
                "--log-level",
                "warning",
            ],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=log,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the gateway exited; see {self.data_dir / 'gateway.log'}")
            try:
                if httpx.get(f"{self.base_url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("the gateway did not become ready")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=20)
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture(scope="session")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    data_dir = tmp_path_factory.mktemp("gateway-data")
    # A fixed port, so that the chain can be stopped and started again where the gateway expects it.
    chain = LocalChain(data_dir / "chain", port=free_port())
    record = chain.start()
    env = {
        **os.environ,
        "SCF_DATA_DIR": str(data_dir),
        "SCF_RPC_URL": record.url,
        "SCF_DEV_MODE": "true",
        "SCF_RATE_LIMIT_PER_MINUTE": "100000",
        "SCF_RATE_LIMIT_BURST": "10000",
        "SCF_OVERDUE_INTERVAL_S": "0",  # nothing marks overdue behind the tests' backs
    }
    process = GatewayProcess(f"http://127.0.0.1:{free_port()}", data_dir, chain, env)
    try:
        process.start()
        yield process
    finally:
        process.stop()
        chain.stop()


@pytest.fixture(scope="session")
def operator_key(gateway: GatewayProcess) -> str:
    store = gateway.open_store()
    try:
        from scf_chain.chain.keys import anvil_account

        return store.create_api_key(anvil_account(0).address)
    finally:
        store.close()


class Api:
    """An HTTP client acting as one member."""

    def __init__(self, base_url: str, api_key: str | None) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.Client(base_url=base_url, headers=headers, timeout=60)

    def get(self, path: str, **kwargs) -> httpx.Response:  # type: ignore[no-untyped-def]
        return self.client.get(path, **kwargs)

    def post(self, path: str, json: object = None, **kwargs) -> httpx.Response:  # type: ignore[no-untyped-def]
        return self.client.post(path, json=json, **kwargs)

    def put(self, path: str, json: object = None, **kwargs) -> httpx.Response:  # type: ignore[no-untyped-def]
        return self.client.put(path, json=json, **kwargs)


@pytest.fixture(scope="session")
def operator_api(gateway: GatewayProcess, operator_key: str) -> Api:
    return Api(gateway.base_url, operator_key)


_names = itertools.count()


@dataclass
class ApiMember:
    address: str
    name: str
    role: str
    api: Api


@pytest.fixture
def onboard(gateway: GatewayProcess, operator_api: Api) -> Callable[..., ApiMember]:
    """Onboards a new member through the API and returns a client acting as it."""

    def make(role: str, name: str | None = None) -> ApiMember:
        name = name or f"{role.replace('_', ' ').title()} {next(_names)}"
        response = operator_api.post("/v1/members", {"name": name, "role": role})
        assert response.status_code == 201, response.text
        body = response.json()
        return ApiMember(body["address"], name, role, Api(gateway.base_url, body["api_key"]))

    return make


_documents = itertools.count()


def new_document_hash() -> str:
    return "0x" + hashlib.sha256(f"api-invoice-{next(_documents)}-{time.time_ns()}".encode()).hexdigest()


def new_invoice_number() -> str:
    """A fresh invoice number: an obligor issues against each invoice number once."""
    # Random, not a counter: test modules import this conftest as a second module with its own counter.
    return f"INV-API-{uuid.uuid4().hex[:12].upper()}"


def maturity_in(days: int = 90) -> str:
    return (today_utc() + timedelta(days=days)).isoformat()


@pytest.fixture
def issued(onboard: Callable[..., ApiMember], operator_api: Api) -> Callable[..., tuple[ApiMember, ApiMember, dict]]:
    """Onboards a core enterprise with credit and a supplier, issues and accepts a certificate."""

    def make(amount: str = "1000000.00", limit: str = "5000000.00") -> tuple[ApiMember, ApiMember, dict]:
        core, supplier = onboard("core_enterprise"), onboard("supplier")
        assert operator_api.put(f"/v1/credit-lines/{core.address}", {"limit": limit}).status_code == 200
        response = core.api.post(
            "/v1/certificates",
            {
                "to": supplier.address,
                "amount": amount,
                "maturity_date": maturity_in(),
                "document_hash": new_document_hash(),
                "invoice_number": new_invoice_number(),
            },
        )
        assert response.status_code == 201, response.text
        certificate = response.json()["certificates"][0]
        accepted = supplier.api.post(f"/v1/certificates/{certificate['id']}/accept")
        assert accepted.status_code == 200, accepted.text
        return core, supplier, accepted.json()["certificates"][0]

    return make
