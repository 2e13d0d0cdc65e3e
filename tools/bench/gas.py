"""Gas of every operation, from receipts (through :mod:`tools.gas`), with ratios and network capacity."""

from __future__ import annotations

from typing import Any

from scf_chain.chain.local import BLOCK_GAS_LIMIT
from scf_chain.runtime import Runtime
from tools.gas import GasFigure, measure_baselines, measure_financing, measure_ledger

# A QBFT network of 100M gas per block and one block a second: ops/s = 100,000,000 / gas.
NETWORK_GAS_PER_BLOCK = 100_000_000
NETWORK_BLOCK_SECONDS = 1.0
REFERENCE = "ERC-721 transfer"


def _row(figure: GasFigure, reference: int, kind: str) -> dict[str, Any]:
    return {
        "operation": figure.operation.strip(),
        "kind": kind,
        "gas_used": figure.gas_used,
        "target": figure.target,
        "within_target": figure.within_target,
        "vs_erc721_transfer": round(figure.gas_used / reference, 3),
        "network_ops_per_s": round(NETWORK_GAS_PER_BLOCK / NETWORK_BLOCK_SECONDS / figure.gas_used, 1),
    }


def measure(runtime: Runtime) -> dict[str, Any]:
    ledger = measure_ledger(runtime)
    # The report's indented lines are variants of accepting an offer; here they are named in full.
    financing = [
        GasFigure(f"accept offer {f.operation.strip()}", f.gas_used, f.target) if f.operation.startswith("  ") else f
        for f in measure_financing(runtime)
    ]
    baselines = measure_baselines(runtime)
    reference = next(f.gas_used for f in baselines if f.operation == REFERENCE)
    rows = [_row(f, reference, "ledger") for f in ledger]
    rows += [_row(f, reference, "financing") for f in financing]
    rows += [_row(f, reference, "baseline") for f in baselines]
    return {
        "reference": REFERENCE,
        "network": {
            "gas_per_block": NETWORK_GAS_PER_BLOCK,
            "block_seconds": NETWORK_BLOCK_SECONDS,
            "local_chain_block_gas_limit": BLOCK_GAS_LIMIT,
        },
        "operations": rows,
    }
