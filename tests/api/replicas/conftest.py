"""Three real gateway processes on one PostgreSQL database and one Anvil chain: replicas, each serving every route.

They share one data folder (the members' key files, the deployment), as ``scf serve --workers`` starts them on
one machine, and nothing else but the database and the chain. The first one deploys the ledger and leads
(it indexes); the others start once it is up.
"""

from __future__ import annotations

import itertools
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.store import GatewayStore
from api.store.leases import LEADER
from scf_chain.chain.keys import anvil_account
from scf_chain.chain.local import LocalChain, free_port
from scf_chain.runtime import Runtime, open_runtime
from scf_chain.settings import Settings
from tests.api.conftest import Api, GatewayProcess, maturity_in, new_document_hash, new_invoice_number
from tools.postgres import LocalPostgres

REPLICAS = 3
# Short, so that a replica's death is over quickly; the tests wait for what follows, they do not time it.
LEASE_S = 2
_databases = itertools.count(1)
_names = itertools.count(1)


@dataclass(frozen=True)
class Member:
    address: str
    key: str  # its API key, good on every replica


@dataclass
class Replicas:
    processes: list[GatewayProcess]
    database_url: str
    rpc_url: str
    data_dir: Path
    operator_key: str

    def api(self, replica: int, key: str) -> Api:
        return Api(self.processes[replica].base_url, key)

    def operator(self, replica: int = 0) -> Api:
        return self.api(replica, self.operator_key)

    def alive(self) -> list[int]:
        return [i for i, process in enumerate(self.processes) if process.process is not None]

    def onboard(self, role: str, *, credit: str | None = None) -> Member:
        name = f"Replica {role.replace('_', ' ').title()} {next(_names)}"
        answer = self.operator(self.alive()[0]).post("/v1/members", {"name": name, "role": role})
        assert answer.status_code == 201, answer.text
        body = answer.json()
        if credit is not None:
            limit = self.operator(self.alive()[0]).put(f"/v1/credit-lines/{body['address']}", {"limit": credit})
            assert limit.status_code == 200, limit.text
        return Member(body["address"], body["api_key"])

    def lease_holder(self, name: str = LEADER) -> str | None:
        store = GatewayStore(self.database_url)
        try:
            lease = store.lease(name)
            return lease.holder if lease is not None and lease.remaining_s > 0 else None
        finally:
            store.close()

    def leader(self) -> int | None:
        """The replica that holds the leader's lease: its id names its process."""
        holder = self.lease_holder()
        for i in self.alive():
            process = self.processes[i].process
            if holder is not None and process is not None and f":{process.pid}:" in holder:
                return i
        return None

    def kill(self, replica: int) -> None:
        """kill -9: nothing of the process's own is cleaned up, its leases lapse."""
        process = self.processes[replica].process
        assert process is not None
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=20)
        self.processes[replica].process = None

    def chain_view(self) -> Runtime:
        """The ledger read straight from the chain, beside the gateways."""
        return open_runtime(Settings(data_dir=self.data_dir, rpc_url=self.rpc_url, dev_mode=True))


def issue_body(to: str, amount: str = "1000.00") -> dict[str, Any]:
    """An issuance to ``to`` against a new invoice."""
    return {
        "to": to,
        "amount": amount,
        "maturity_date": maturity_in(),
        "document_hash": new_document_hash(),
        "invoice_number": new_invoice_number(),
    }


def send(api: Api, path: str, body: dict[str, Any], key: str, method: str = "POST") -> httpx.Response:
    return api.client.request(method, path, json=body, headers={"Idempotency-Key": key})


@contextmanager
def replica_set(data_dir: Path, postgres: LocalPostgres, **settings: str) -> Iterator[Replicas]:
    database = f"replicas_{os.getpid()}_{next(_databases)}"
    url = postgres.create_database(database)
    chain = LocalChain(data_dir / "chain", port=free_port())
    record = chain.start()
    env = {
        **os.environ,
        "SCF_DATA_DIR": str(data_dir),
        "SCF_RPC_URL": record.url,
        "SCF_DEV_MODE": "true",
        "SCF_RATE_LIMIT_PER_MINUTE": "100000",
        "SCF_RATE_LIMIT_BURST": "10000",
        "SCF_OVERDUE_INTERVAL_S": "0",
        "SCF_LEASE_S": str(LEASE_S),
        **{f"SCF_{name}": value for name, value in settings.items()},
    }
    processes = [
        GatewayProcess(f"http://127.0.0.1:{free_port()}", data_dir, chain, env, database_url=url)
        for _ in range(REPLICAS)
    ]
    try:
        for process in processes:  # the first deploys the ledger; the others find it
            process.start()
        store = GatewayStore(url)
        try:
            operator_key = store.create_api_key(anvil_account(0).address)
        finally:
            store.close()
        yield Replicas(processes, url, record.url, data_dir, operator_key)
    finally:
        for process in processes:
            process.stop()
        chain.stop()
        postgres.drop_database(database)


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory, postgres: LocalPostgres) -> Iterator[Replicas]:
    with replica_set(tmp_path_factory.mktemp("replicas"), postgres) as started:
        yield started
