"""Profiles the gateway process under write load with py-spy, and sums the samples up.

Three extra runs at the profiling concurrency, each with py-spy attached (their
figures are not counted elsewhere):

- wall time (``--idle``): where a write request's time goes, from the samples of the
  threads inside the route handler, by phase (gas estimate, signing, journal, waiting
  for the receipt, waiting for the index...);
- interpreter time (``--gil``): what the thread holding the GIL runs, by package and
  by function: on a machine of two cores the interpreter is the resource the gateway
  runs out of first;
- the same interpreter view as a flame graph, ``profile.svg`` beside the report.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

HANDLER = "transfer_certificate ("
# Phases of a write: (function, file it is in, label). Going from the handler down the stack, the first
# frame that is one of these decides; a thread blocked on a lock shows the frame holding the ``with``.
PHASES: tuple[tuple[str, str, str], ...] = (
    ("visible_certificate", "api/deps.py", "visibility check (index read)"),
    ("signer_for", "api/services/writes.py", "signing key lookup"),
    ("estimate_gas", "web3/", "gas estimate (eth_estimateGas)"),
    ("get_transaction_count", "web3/", "nonce (eth_getTransactionCount)"),
    ("build_transaction", "web3/", "building the transaction"),
    ("sign_transaction", "eth_account/", "signing"),
    ("record", "api/store/journal.py", "journal: recording the signed transaction (database)"),
    ("send_raw_transaction", "web3/", "broadcast (eth_sendRawTransaction)"),
    ("wait_for_transaction_receipt", "web3/", "waiting for the receipt (polled every 10 ms)"),
    ("confirm", "api/store/journal.py", "journal: confirming (database)"),
    ("process_receipt", "web3/", "decoding the receipt's events"),
    ("wait_indexed", "api/gateway.py", "waiting for the index to reach the block"),
    ("certificate_out", "api/services/writes.py", "building the response"),
)
# What the interpreter's time is spent on: a sample counts for the nearest frame, from the leaf up, whose
# package is not the standard library's (so that, say, os.environ scanned by requests counts for the client).
_CLIENT = ("web3", "requests", "urllib3", "idna", "charset_normalizer", "certifi")
_ETHEREUM = ("eth_utils", "eth_abi", "eth_account", "eth_keys", "eth_typing", "eth_hash", "eth_rlp", "Crypto", "rlp")
_SERVER = ("uvicorn", "starlette", "fastapi", "pydantic", "pydantic_core", "anyio", "httptools", "h11", "uvloop")
CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("JSON-RPC client: web3.py and its HTTP stack", _CLIENT),
    ("Ethereum encoding, hashing, signing", (*_ETHEREUM, "hexbytes", "coincurve", "cytoolz", "toolz")),
    ("HTTP server and validation: uvicorn, Starlette, FastAPI, pydantic", _SERVER),
    (
        "the index (scf_chain.index), and SQL through SQLAlchemy (index and store)",
        ("scf_chain.index", "sqlalchemy", "psycopg", "psycopg_binary", "psycopg_pool"),
    ),
)
LOCK_WAIT = ("send", "scf_chain/chain/transactions.py", "waiting for the member's signing lock")
_FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def py_spy_path() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


class Recording:
    """``py-spy record`` attached to a process until stopped."""

    def __init__(self, pid: int, output: Path, *, fmt: str, idle: bool = False, gil: bool = False) -> None:
        binary = py_spy_path()
        if binary is None:
            raise RuntimeError("py-spy is not installed (pip install py-spy)")
        command = [binary, "record", "--pid", str(pid), "--rate", "200", "--format", fmt, "-o", str(output)]
        command += ["--nonblocking"] + (["--idle"] if idle else []) + (["--gil"] if gil else [])
        self.output = output
        self.log = output.with_suffix(".log")
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=log)
        time.sleep(1.0)  # attaching takes a moment
        if self.process.poll() is not None:
            raise RuntimeError(f"py-spy exited at once: {self.log.read_text(errors='replace')[-500:]}")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        if not self.output.exists():
            raise RuntimeError(f"py-spy wrote nothing: {self.log.read_text(errors='replace')[-500:]}")


def _stacks(path: Path) -> list[tuple[list[str], int]]:
    """Collapsed stacks (root first) with their sample counts."""
    stacks = []
    for line in path.read_text(errors="replace").splitlines():
        head, _, count = line.rpartition(" ")
        if head and count.isdigit():
            stacks.append((head.split(";"), int(count)))
    return stacks


def _parse(frame: str) -> tuple[str, str]:
    """(function, file) of a py-spy frame such as ``wrapped (eth_utils/decorators.py:28)``.

    py-spy shortens file names to the package part: ``web3/_utils/abi.py``, ``scf_chain/index/indexer.py``,
    ``threading.py``, ``<frozen os>``.
    """
    match = _FRAME.match(frame)
    if not match:
        return frame, ""
    return match.group("function").rsplit(".", 1)[-1], match.group("file")


def _package(frame: str) -> str:
    """Where a frame's code lives: a project module, a third-party package or a standard-library module."""
    file = _parse(frame)[1].replace("\\", "/")
    if file.startswith("<frozen "):
        return file.removeprefix("<frozen ").removesuffix(">").split(".")[0]
    if "site-packages/" in file:
        file = file.split("site-packages/", 1)[1]
    parts = [part for part in file.split("/") if part]
    if not parts:
        return frame
    if parts[0] in ("scf_chain", "api") and len(parts) > 1:
        return f"{parts[0]}.{parts[1].removesuffix('.py')}"
    return parts[0].removesuffix(".py")


def _function(frame: str) -> str:
    match = _FRAME.match(frame)
    if not match:
        return frame
    return f"{match.group('function')} ({match.group('file')})"


def _is(frame: str, function: str, file: str) -> bool:
    name, where = _parse(frame)
    return name == function and file in where


def _category(frames: list[str]) -> str:
    for frame in reversed(frames):
        package = _package(frame)
        if package.split(".")[0] in sys.stdlib_module_names:
            continue
        for name, members in CATEGORIES:
            if package in members:
                return name
        return "other project code" if package.startswith(("scf_chain.", "api.")) else f"other: {package}"
    return "standard library only (threads, event loop, SQLite)"


def _shares(counter: Counter[str], total: int, top: int) -> list[dict[str, Any]]:
    return [{"name": name, "share": round(count / total, 4)} for name, count in counter.most_common(top)]


def wall_breakdown(path: Path) -> dict[str, Any]:
    """How the handler threads' samples divide into the phases of a write."""
    phases: Counter[str] = Counter()
    for frames, count in _stacks(path):
        start = next((n for n, frame in enumerate(frames) if frame.startswith(HANDLER)), None)
        if start is None:
            continue
        label = "other work in the handler"
        for frame in frames[start + 1 :]:
            found = next((name for function, file, name in PHASES if _is(frame, function, file)), None)
            if found is not None:
                label = found
                break
        else:
            if _is(frames[-1], LOCK_WAIT[0], LOCK_WAIT[1]):
                label = LOCK_WAIT[2]
        phases[label] += count
    total = sum(phases.values())
    return {"samples": total, "phases": _shares(phases, total, 20) if total else []}


def interpreter_breakdown(path: Path) -> dict[str, Any]:
    """What the GIL holder runs: self time by package and by function, and project functions inclusive."""
    packages: Counter[str] = Counter()
    functions: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for frames, count in _stacks(path):
        leaf = frames[-1]
        packages[_package(leaf)] += count
        functions[_function(leaf)] += count
        total += count
        for name in {_function(f) for f in frames if _package(f).startswith(("scf_chain.", "api."))}:
            inclusive[name] += count
    if not total:
        return {"samples": 0, "categories": [], "packages": [], "functions": [], "project_inclusive": []}
    categories: Counter[str] = Counter()
    for frames, count in _stacks(path):
        categories[_category(frames)] += count
    return {
        "samples": total,
        "categories": _shares(categories, total, 10),
        "packages": _shares(packages, total, 15),
        "functions": _shares(functions, total, 15),
        "project_inclusive": _shares(inclusive, total, 15),
    }


def profile_gateway(
    prepare: Callable[[], int], run: Callable[[], dict[str, Any]], output_dir: Path, *, prefix: str = "profile"
) -> dict[str, Any]:
    """Three profiled runs; writes ``<prefix>.svg`` and the collapsed stacks (``<prefix>-wall.txt``,
    ``<prefix>-gil.txt``) into ``output_dir``; returns breakdowns.

    ``prepare`` readies the gateway for a run and returns the process id to profile; ``run`` runs the load.
    """
    recorded: list[dict[str, Any]] = []
    outputs = (
        (f"{prefix}-wall.txt", "raw", True),
        (f"{prefix}-gil.txt", "raw", False),
        (f"{prefix}.svg", "flamegraph", False),
    )
    for name, fmt, idle in outputs:
        recording = Recording(prepare(), output_dir / name, fmt=fmt, idle=idle, gil=not idle)
        try:
            recorded.append(run())
        finally:
            recording.stop()
            recording.log.unlink(missing_ok=True)
    return {
        "tool": "py-spy",
        "concurrency": recorded[0]["concurrency"],
        "runs": [{key: r[key] for key in ("ops_per_s", "p50_ms", "p99_ms", "requests")} for r in recorded],
        "wall": wall_breakdown(output_dir / f"{prefix}-wall.txt"),
        "interpreter": interpreter_breakdown(output_dir / f"{prefix}-gil.txt"),
        "flamegraph": f"{prefix}.svg",
        "stacks": [f"{prefix}-wall.txt", f"{prefix}-gil.txt"],
    }
