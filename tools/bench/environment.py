"""A fresh, isolated ledger for the benchmark: its own Anvil chain, deployment and gateway process.

Everything lives in a temporary data folder on free ports, so a benchmark never
touches the chain of `make run` whatever SCF_* variables say. The gateway is the real
service, started as production starts it (``uvicorn --factory api.main:app_factory``, or
``scf serve --workers N`` for replicas), with the rate limit raised out of the way. Its
databases are the SQLite files of the data folder, or a PostgreSQL database the ledger is
told to use.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests
from eth_account.signers.local import LocalAccount
from pydantic import SecretStr

from scf_chain.chain.compiler import PROJECT_ROOT
from scf_chain.chain.deploy import DESK_CONTRACT, LEDGER_CONTRACT, TOKEN_CONTRACT
from scf_chain.chain.local import LocalChain, free_port
from scf_chain.domain.types import MemberRole
from scf_chain.runtime import Runtime, open_runtime
from scf_chain.settings import Settings
from tools.bench.chainops import Calls, LedgerWriter, Rpc, Signer, Tx, run_round
from tools.bench.processes import children, command_line

if TYPE_CHECKING:
    from api.store import GatewayStore

CREDIT_LIMIT_MINOR = 10**17  # far above anything the benchmark issues
GATEWAY_START_TIMEOUT_S = 90.0


@dataclass
class Gateway:
    """The gateway as a child process: ``python -m uvicorn --factory api.main:app_factory`` for one process,
    ``scf serve --workers N`` for N replicas (which needs ``SCF_DATABASE_URL`` in ``env``)."""

    data_dir: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    workers: int = 1
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "gateway.log"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def worker_pids(self) -> list[int]:
        """The processes that serve requests: the one process, or the replicas under their supervisor."""
        if self.workers == 1:
            return [self.pid]
        return [pid for pid in children(self.pid) if "spawn_main" in command_line(pid)]

    @property
    def pids(self) -> list[int]:
        """Every process of the gateway, its supervisor included."""
        return [self.pid, *self.worker_pids] if self.workers > 1 else [self.pid]

    def _command(self) -> list[str]:
        if self.workers == 1:
            command = [sys.executable, "-m", "uvicorn", "--factory", "api.main:app_factory", "--host", "127.0.0.1"]
            return [*command, "--port", str(self.port), "--log-level", "warning", "--no-access-log"]
        return [str(Path(sys.executable).parent / "scf"), "serve", "--workers", str(self.workers), "--no-access-log"]

    def start(self) -> None:
        env = {**self.env, "SCF_API_HOST": "127.0.0.1", "SCF_API_PORT": str(self.port)}
        logged = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(self._command(), cwd=PROJECT_ROOT, env=env, stdout=log, stderr=log)
        deadline = time.monotonic() + GATEWAY_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = self.log_path.read_text(errors="replace")[-1500:]
                raise RuntimeError(f"the gateway exited at start-up; the end of its log:\n{tail}")
            if self._every_worker_serves(logged):
                try:
                    if requests.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                        return
                except requests.RequestException:
                    pass
            time.sleep(0.1)
        raise RuntimeError(f"the gateway did not become ready within {GATEWAY_START_TIMEOUT_S:.0f}s")

    def _every_worker_serves(self, logged: int) -> bool:
        """Replicas: their supervisor has said so in the log (one worker answering /readyz is not all of them)."""
        if self.workers == 1:
            return True
        with self.log_path.open("rb") as log:
            log.seek(logged)
            return b"workers serving on" in log.read()

    def stop(self) -> None:
        if self.process is not None:
            workers = self.worker_pids if self.workers > 1 else []
            self.process.terminate()  # the supervisor stops its workers first
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
                for pid in workers:  # left behind by a supervisor that could not stop them
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
            self.process = None


class Ledger:
    """One benchmark ledger: chain, deployment, signing helpers, and (once started) its gateway."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        self.chain = LocalChain(data_dir / "chain", port=free_port())
        record = self.chain.start()
        self.url = record.url
        self.settings = Settings(
            data_dir=data_dir, rpc_url=record.url, chain_port=record.port, dev_mode=True, receipt_timeout_s=120.0
        )
        self.runtime: Runtime = open_runtime(self.settings, deploy_if_missing=True)
        self.rpc = Rpc(record.url)
        self.signer = Signer(self.rpc, self.runtime.settings.chain_id)
        contracts, deployment = self.runtime.contracts, self.runtime.deployment
        self.calls = Calls(deployment.ledger, contracts[LEDGER_CONTRACT].abi)
        self.token_calls = Calls(deployment.settlement_token, contracts[TOKEN_CONTRACT].abi)
        self.desk_calls = Calls(deployment.settlement_desk, contracts[DESK_CONTRACT].abi)
        self.writer = LedgerWriter(self.signer, self.calls)
        self.gateway: Gateway | None = None
        self.database_url: str | None = None  # None: the SQLite files of the data folder
        self._api = requests.Session()

    @property
    def operator(self) -> LocalAccount:
        return self.runtime.operator

    def round(self, txs: Sequence[Tx], *, full_blocks: bool = False) -> list[dict[str, Any]]:
        return run_round(self.signer, txs, full_blocks=full_blocks)

    def members(self, role: MemberRole, names: Sequence[str]) -> list[LocalAccount]:
        """New members with keys kept in this data folder (where the gateway finds them), registered at once."""
        accounts = [self.runtime.keystore.create() for _ in names]
        self.round(
            [
                Tx(self.operator, self.calls.address, self.calls.data("registerMember", a.address, int(role), name))
                for a, name in zip(accounts, names, strict=True)
            ]
        )
        return accounts

    def core_enterprise(self, name: str, *, settles: bool = False) -> LocalAccount:
        """A core enterprise with a credit line far above anything issued, and (if it settles) funds for that."""
        (core,) = self.members(MemberRole.CORE_ENTERPRISE, [name])
        self.round(
            [Tx(self.operator, self.calls.address, self.calls.data("setCreditLimit", core.address, CREDIT_LIMIT_MINOR))]
        )
        if settles:
            self.round(
                [
                    Tx(
                        self.operator,
                        self.token_calls.address,
                        self.token_calls.data("deposit", core.address, CREDIT_LIMIT_MINOR),
                    )
                ]
            )
            approve = self.token_calls.data("approve", self.desk_calls.address, CREDIT_LIMIT_MINOR)
            self.round([Tx(core, self.token_calls.address, approve)])
        return core

    def mine(self, seconds: int) -> None:
        """Moves the chain's clock forward and mines a block."""
        self.rpc.call("evm_increaseTime", [seconds])
        self.rpc.call("evm_mine", [])

    def snapshot(self) -> str:
        return str(self.rpc.call("evm_snapshot", []))

    def revert(self, snapshot: str) -> None:
        """The chain as it was at ``snapshot``, on purpose: the gateway is told to forget what went with it.

        Otherwise it would take the blocks reverted for lost, and send their transactions again
        (api.services.rollback). It is stopped meanwhile, so that it never sees the chain shorter.
        """
        running = self.gateway is not None and self.gateway.running
        if running:
            assert self.gateway is not None
            self.gateway.stop()
        if not self.rpc.call("evm_revert", [snapshot]):
            raise RuntimeError(f"the chain could not be reverted to snapshot {snapshot}")
        with self.gateway_store() as store:
            store.forget_sends_above(self.block_number())
        if running:
            assert self.gateway is not None
            self.gateway.start()

    def block_number(self) -> int:
        return int(self.rpc.call("eth_blockNumber", []), 16)

    def chain_today(self) -> int:
        """The chain's day (days since 1970-01-01 UTC), from its latest block."""
        block = self.rpc.call("eth_getBlockByNumber", ["latest", False])
        return int(block["timestamp"], 16) // 86_400

    # The gateway

    def use_database(self, url: str | None) -> None:
        """The gateway's store and index in the PostgreSQL database at ``url`` from its next start; None: SQLite."""
        if self.gateway is not None and self.gateway.running:
            raise RuntimeError("the gateway must be stopped before it changes databases")
        self.database_url = url

    @contextlib.contextmanager
    def gateway_store(self) -> Iterator[GatewayStore]:
        """The store of the database the gateway uses, opened beside it."""
        from api.settings import gateway_settings
        from api.store import GatewayStore

        database = SecretStr(self.database_url) if self.database_url else None
        settings = gateway_settings(self.settings.model_copy(update={"database_url": database}))
        store = GatewayStore(settings.gateway_database)
        try:
            yield store
        finally:
            store.close()

    def start_gateway(self, *, workers: int = 1) -> Gateway:
        env = {key: value for key, value in os.environ.items() if not key.startswith("SCF_")}
        env.update(
            {
                "SCF_DATA_DIR": str(self.data_dir),
                "SCF_RPC_URL": self.url,
                "SCF_DEV_MODE": "true",
                "SCF_RATE_LIMIT_PER_MINUTE": "10000000",
                "SCF_RATE_LIMIT_BURST": "1000000",
                "SCF_RECEIPT_TIMEOUT_S": "120",
            }
        )
        if self.database_url:
            env["SCF_DATABASE_URL"] = self.database_url
        self.gateway = Gateway(self.data_dir, env, workers=workers)
        self.gateway.start()
        return self.gateway

    def stop_gateway(self) -> None:
        if self.gateway is not None:
            self.gateway.stop()
            self.gateway = None

    @property
    def api_url(self) -> str:
        assert self.gateway is not None, "the gateway is not started"
        return self.gateway.url

    def api_key(self, address: str) -> str:
        with self.gateway_store() as store:
            return store.create_api_key(address)

    def wait_indexed(self, block: int | None = None, timeout: float = 600.0) -> float:
        """Waits until the gateway's index has ``block`` (the head by default); returns the seconds waited."""
        target = self.block_number() if block is None else block
        started = time.perf_counter()
        deadline = time.monotonic() + timeout
        while True:
            answer = self._api.get(f"{self.api_url}/readyz", timeout=30).json()
            if int(answer.get("indexed_block") or -1) >= target:
                return time.perf_counter() - started
            if time.monotonic() > deadline:
                raise RuntimeError(f"the gateway's index did not reach block {target} within {timeout:.0f}s")
            time.sleep(0.05)

    def stop(self) -> None:
        try:
            self.stop_gateway()
        finally:
            self.chain.stop()
