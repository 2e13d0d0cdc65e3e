"""Fails when the Solidity compiler has anything to say about our contracts.

Compiles ``contracts/`` with the settings the library deploys with (no cache) and
treats every compiler warning as an error. Also confirms that ``hardhat.config.js``
compiles with that same compiler version and those same settings, so the Hardhat
artifacts (used by static analysers) describe the bytecode we deploy.
Usage: python scripts/check_contracts.py
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import solcx

from scf_chain.chain.compiler import PROJECT_ROOT, SOLC_FRONT_END, compiler_settings, compiler_warnings
from scf_chain.domain.errors import ScfError

HARDHAT = PROJECT_ROOT / "node_modules" / ".bin" / "hardhat"
# The settings that change the bytecode; output selection differs by design.
COMPARED_SETTINGS = ("optimizer", "viaIR", "evmVersion")


def _solc_version() -> str:
    output = subprocess.run([str(SOLC_FRONT_END), "--version"], capture_output=True, text=True, check=True).stdout
    return output.strip().splitlines()[-1].removeprefix("Version: ").split("+")[0]


def _hardhat_compiler() -> dict[str, Any]:
    result = subprocess.run(
        [str(HARDHAT), "solc-settings"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise ScfError(f"`hardhat solc-settings` failed:\n{result.stderr.strip()}")
    compiler: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return compiler


def config_mismatches() -> list[str]:
    """Differences between the compiler Hardhat uses and the one the library uses."""
    problems = []
    hardhat = _hardhat_compiler()
    solc_version = _solc_version()
    if hardhat["version"] != solc_version:
        problems.append(f"hardhat.config.js uses solc {hardhat['version']}, scripts/solc is {solc_version}")
    ours = compiler_settings()
    for key in COMPARED_SETTINGS:
        if hardhat["settings"].get(key) != ours.get(key):
            problems.append(
                f"setting {key!r}: hardhat.config.js has {hardhat['settings'].get(key)!r}, "
                f"scf_chain/chain/compiler.py has {ours.get(key)!r}"
            )
    return problems


def main() -> int:
    try:
        mismatches = config_mismatches()
        warnings = compiler_warnings()
    except (ScfError, solcx.exceptions.SolcError, subprocess.CalledProcessError) as exc:
        print(f"check_contracts: {exc}", file=sys.stderr)
        return 1
    for problem in mismatches:
        print(f"config mismatch: {problem}", file=sys.stderr)
    for warning in warnings:
        print(warning, file=sys.stderr)
    if mismatches or warnings:
        print(f"check_contracts: {len(mismatches)} config mismatch(es), {len(warnings)} compiler warning(s)")
        return 1
    print("check_contracts: compiler settings agree; no compiler warnings")
    return 0


if __name__ == "__main__":
    sys.exit(main())
