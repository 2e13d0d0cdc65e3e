"""The machine a benchmark ran on, and the versions of everything it measured."""

from __future__ import annotations

import os
import platform
import re
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from scf_chain.chain.compiler import PROJECT_ROOT
from scf_chain.chain.local import anvil_path

PACKAGES = ("web3", "fastapi", "uvicorn", "starlette", "pydantic", "eth-account", "coincurve", "requests", "matplotlib")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_bytes() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


def load_average() -> list[float] | None:
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return None


def machine() -> dict[str, Any]:
    memory = _memory_bytes()
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_bytes": memory,
        "memory_gib": round(memory / 2**30, 1) if memory else None,
        "platform": platform.platform(),
        "load_average_at_start": load_average(),
    }


def _command_version(command: list[str]) -> str | None:
    try:
        output = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return " ".join(output.split()) or None


def versions() -> dict[str, Any]:
    solc = _command_version([str(PROJECT_ROOT / "scripts" / "solc"), "--version"])
    anvil = _command_version([str(anvil_path()), "--version"])
    found: dict[str, Any] = {
        "solc": _first(r"Version: (\S+)", solc) or solc,
        "anvil": _first(r"anvil(?: Version:)? (\S+)", anvil) or anvil,
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
    }
    for package in PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    return found


def _first(pattern: str, text: str | None) -> str | None:
    if not text:
        return None
    match = re.search(pattern, text)
    return match.group(1) if match else None
