"""The embedded local chain: Anvil, run as a child process.

Its state lives in the data folder (``--state``), saved every second and on a clean
stop, so a restart keeps every certificate. Gas is free, as on a consortium
network. It mines each transaction as it arrives, unless given a block time: then a block
every that many seconds with whatever arrived meanwhile, as a consortium network does.
A small record file says which process and port a running chain has, so that every
command of one checkout finds it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from scf_chain.chain.compiler import PROJECT_ROOT
from scf_chain.domain.errors import ChainUnavailable, ScfError
from scf_chain.settings import PRIVATE_FILE_MODE, PRIVATE_UMASK, private_dir, write_private

ANVIL_BINARY = PROJECT_ROOT / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"
ANVIL_LAUNCHER = PROJECT_ROOT / "node_modules" / ".bin" / "anvil"
STATE_INTERVAL_S = 1
# Room for the largest settlement batches; Besu networks set their own limit.
BLOCK_GAS_LIMIT = 100_000_000


def anvil_path() -> Path:
    for candidate in (ANVIL_BINARY, ANVIL_LAUNCHER):
        if candidate.exists():
            return candidate
    raise ScfError("Anvil is not installed: run `npm ci` (or `make install`) first")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        # As a server would bind: a port still in TIME_WAIT from a stopped chain is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def rpc_answers(url: str, timeout: float = 1.0) -> bool:
    try:
        response = requests.post(
            url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}, timeout=timeout
        )
        return response.ok and "result" in response.json()
    except (requests.RequestException, ValueError):
        return False


@dataclass
class ChainRecord:
    pid: int
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class LocalChain:
    """One Anvil process whose state file and record live in ``directory``."""

    def __init__(
        self, directory: Path, *, port: int = 0, chain_id: int = 31337, block_time: float | None = None
    ) -> None:
        """``block_time``: seconds between blocks (Anvil's ``--block-time``); None mines every transaction at once."""
        if block_time is not None and not block_time > 0:
            raise ScfError(f"a block time is a positive number of seconds, not {block_time}")
        self.directory = directory
        self.port = port
        self.chain_id = chain_id
        self.block_time = block_time
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def state_path(self) -> Path:
        return self.directory / "state.json"

    @property
    def record_path(self) -> Path:
        return self.directory / "chain.json"

    @property
    def log_path(self) -> Path:
        return self.directory / "anvil.log"

    def record(self) -> ChainRecord | None:
        """The running chain of this folder, if there is one that answers."""
        if not self.record_path.exists():
            return None
        record = ChainRecord(**json.loads(self.record_path.read_text()))
        if _process_alive(record.pid) and rpc_answers(record.url):
            return record
        return None

    @property
    def url(self) -> str:
        record = self.record()
        if record is None:
            raise ChainUnavailable(f"no local chain is running for {self.directory}")
        return record.url

    def start(self, *, timeout: float = 30.0) -> ChainRecord:
        """Starts the chain (or returns the one already running) and waits until it answers."""
        running = self.record()
        if running is not None:
            return running
        private_dir(self.directory)
        port = self.port if self.port and port_is_free(self.port) else free_port()
        command = [
            str(anvil_path()),
            "--host", "127.0.0.1",
            "--port", str(port),
            "--chain-id", str(self.chain_id),
            "--base-fee", "0",
            "--gas-price", "0",
            "--gas-limit", str(BLOCK_GAS_LIMIT),
            "--state", str(self.state_path),
            "--state-interval", str(STATE_INTERVAL_S),
            "--silent",
        ]  # fmt: skip
        if self.block_time is not None:
            command += ["--block-time", f"{self.block_time:g}"]
        log = os.fdopen(os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE_MODE), "ab")
        # A session of its own, so that a terminal's Ctrl-C reaches us first and we stop it cleanly;
        # the umask keeps the state Anvil writes (every account and balance) to this user.
        self._process = subprocess.Popen(command, stdout=log, stderr=log, start_new_session=True, umask=PRIVATE_UMASK)
        record = ChainRecord(pid=self._process.pid, port=port)
        deadline = time.monotonic() + timeout
        while not rpc_answers(record.url, timeout=0.5):
            if self._process.poll() is not None:
                raise ChainUnavailable(f"the local chain exited at start-up; see {self.log_path}")
            if time.monotonic() > deadline:
                self._process.kill()
                raise ChainUnavailable(f"the local chain did not answer within {timeout:.0f}s")
            time.sleep(0.05)
        write_private(self.record_path, json.dumps({"pid": record.pid, "port": record.port}))
        self._resume_clock(record.url)
        return record

    def _resume_clock(self, url: str) -> None:
        """Carries on the chain's clock from its latest block, if that is ahead of the wall clock.

        Anvil forgets a clock moved forward (``scf chain advance``) when it restarts from its
        state, and would date the next block before the latest one; a ledger's time never
        goes back.
        """
        latest = int(_rpc(url, "eth_getBlockByNumber", ["latest", False])["timestamp"], 16)
        if latest >= int(time.time()):
            _rpc(url, "evm_setTime", [latest + 1])

    def advance(self, seconds: int) -> int:
        """Moves the running chain's clock ``seconds`` past the ledger's now and mines a block there; its time."""
        url = self.url
        latest = int(_rpc(url, "eth_getBlockByNumber", ["latest", False])["timestamp"], 16)
        _rpc(url, "evm_setTime", [max(latest, int(time.time())) + seconds])
        _rpc(url, "evm_mine", [])
        return int(_rpc(url, "eth_getBlockByNumber", ["latest", False])["timestamp"], 16)

    def stop(self, *, timeout: float = 15.0) -> bool:
        """Stops the chain cleanly, which saves its state; returns whether one was running."""
        if not self.record_path.exists():
            return False
        record = ChainRecord(**json.loads(self.record_path.read_text()))
        stopped = False
        if _process_alive(record.pid):
            # Anvil saves its state as it exits, but may mine a transaction that arrives meanwhile, and answer
            # its receipt: a block the saved state lacks. With mining off, what arrives waits in the pool and
            # goes with it, unanswered, for the sender to broadcast again.
            with contextlib.suppress(ScfError):  # not answering: it is stopped all the same
                _rpc(record.url, "evm_setAutomine", [False])
                if self.block_time is not None:  # the same for the blocks of interval mining
                    _rpc(record.url, "evm_setIntervalMining", [0])
            os.kill(record.pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while _process_alive(record.pid) and time.monotonic() < deadline:
                if self._process is not None:
                    self._process.poll()
                time.sleep(0.05)
            if _process_alive(record.pid):
                os.kill(record.pid, signal.SIGKILL)
            stopped = True
        if self._process is not None:
            self._process.wait(timeout=timeout)
            self._process = None
        self.record_path.unlink(missing_ok=True)
        return stopped


def _rpc(url: str, method: str, params: list[Any]) -> Any:
    try:
        response = requests.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}, timeout=10)
        body = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise ChainUnavailable(f"the local chain at {url} did not answer {method}: {exc}") from None
    if "error" in body:
        raise ScfError(f"the local chain refused {method}: {body['error'].get('message', body['error'])}")
    return body["result"]


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child has exited; reap it where we can.
    try:
        finished, _ = os.waitpid(pid, os.WNOHANG)
        return finished == 0
    except ChildProcessError:
        return _not_zombie(pid)


def _not_zombie(pid: int) -> bool:
    status = Path(f"/proc/{pid}/stat")
    if not status.exists():
        return True
    return status.read_text().split(")")[-1].split()[0] != "Z"
