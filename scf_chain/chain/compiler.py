"""Compiles the contracts with the pinned npm solc, through py-solc-x.

Nothing is downloaded: ``scripts/solc`` is a native-solc front end for the npm
``solc`` package. Output is cached by a hash of every input, so an unchanged tree
compiles once.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import solcx

from scf_chain.domain.errors import ScfError
from scf_chain.settings import private_dir, write_private

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONTRACTS_DIR = PROJECT_ROOT / "contracts"
SOLC_FRONT_END = PROJECT_ROOT / "scripts" / "solc"
EVM_VERSION = "cancun"  # supported by Anvil and by current Besu releases alike
OPTIMIZER_RUNS = 200


@dataclass(frozen=True)
class CompiledContract:
    name: str
    abi: list[dict[str, Any]]
    bytecode: str


def compiler_settings() -> dict[str, Any]:
    return {
        "optimizer": {"enabled": True, "runs": OPTIMIZER_RUNS},
        "viaIR": False,
        "evmVersion": EVM_VERSION,
        "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}},
    }


def _sources() -> dict[str, dict[str, str]]:
    return {
        path.relative_to(PROJECT_ROOT).as_posix(): {"content": path.read_text()}
        for path in sorted(CONTRACTS_DIR.rglob("*.sol"))
    }


def _input_hash(standard_input: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(standard_input, sort_keys=True).encode())
    lock = PROJECT_ROOT / "package-lock.json"  # pins solc and OpenZeppelin
    if lock.exists():
        digest.update(lock.read_bytes())
    return digest.hexdigest()[:16]


def compile_contracts(cache_dir: Path) -> dict[str, CompiledContract]:
    """Compiles every contract under ``contracts/``; returns them by contract name."""
    standard_input = {"language": "Solidity", "sources": _sources(), "settings": compiler_settings()}
    cache_file = cache_dir / f"contracts-{_input_hash(standard_input)}.json"
    private_dir(cache_dir)  # also mends a cache an older version left readable to everyone
    if cache_file.exists():
        output = json.loads(cache_file.read_text())
    else:
        if not (PROJECT_ROOT / "node_modules" / "solc").exists():
            raise ScfError("the Solidity compiler is not installed: run `npm ci` (or `make install`) first")
        try:
            output = solcx.compile_standard(standard_input, solc_binary=SOLC_FRONT_END, allow_empty=True)
        except solcx.exceptions.SolcError as exc:
            raise ScfError(f"compilation failed: {exc.message}") from exc
        errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
        if errors:
            raise ScfError("compilation failed: " + "; ".join(e["formattedMessage"] for e in errors))
        write_private(cache_file, json.dumps(output))
    contracts: dict[str, CompiledContract] = {}
    for units in output["contracts"].values():
        for name, unit in units.items():
            contracts[name] = CompiledContract(name, unit["abi"], unit["evm"]["bytecode"]["object"])
    return contracts


def compiler_warnings() -> list[str]:
    """Compiles without the cache and returns the compiler's warnings about our sources."""
    standard_input = {"language": "Solidity", "sources": _sources(), "settings": compiler_settings()}
    output = solcx.compile_standard(standard_input, solc_binary=SOLC_FRONT_END, allow_empty=True)
    return [
        e["formattedMessage"]
        for e in output.get("errors", [])
        if e.get("severity") in ("warning", "error")
        and e.get("sourceLocation", {}).get("file", "contracts/").startswith("contracts/")
    ]
