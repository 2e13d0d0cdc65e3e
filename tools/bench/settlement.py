"""Settlement at scale: one issuance split into many certificates, paid at maturity by its obligor.

The issuance is split in parts of at most 100, then each part in 100 again, among
eight suppliers. The chain's clock is then moved past maturity (``evm_increaseTime``,
``evm_mine``) and the obligor settles every certificate through the client
(:meth:`LedgerClient.settle`), in batches of the desk's maximum, 200. Each repeat
settles an issuance of its own, from an obligor of its own.
"""

from __future__ import annotations

import math
import statistics
import time
from typing import Any

from scf_chain.domain.money import from_day
from scf_chain.domain.types import MemberRole
from tools.bench.chainops import MAX_PARTS, Node
from tools.bench.environment import Ledger
from tools.bench.profiles import Profile
from tools.bench.ui import Steps

FACE_PER_CERTIFICATE_MINOR = 100_000  # CNY 1,000.00


def _issuance(ledger: Ledger, certificates: int, n: int) -> tuple[Any, Node, list[int]]:
    """A new obligor, and its issuance split into ``certificates`` certificates held by suppliers."""
    core = ledger.core_enterprise(f"Bench Settling Motors {n + 1}", settles=True)
    suppliers = ledger.members(MemberRole.SUPPLIER, [f"Bench Settled Supplier {n + 1}.{k + 1}" for k in range(8)])
    maturity = from_day(ledger.chain_today() + 1)
    (root,) = ledger.writer.issue(core, [suppliers[0]], certificates * FACE_PER_CERTIFICATE_MINOR, maturity)
    if certificates <= MAX_PARTS:
        leaves = ledger.writer.split([(root, [suppliers[k % 8] for k in range(certificates)])])
    else:
        groups = math.ceil(certificates / MAX_PARTS)
        sizes = [MAX_PARTS] * (groups - 1) + [certificates - MAX_PARTS * (groups - 1)]
        if sizes[-1] < 2:  # a split makes at least two parts
            sizes[-2] -= 1
            sizes[-1] += 1
        amounts_per_group = [size * FACE_PER_CERTIFICATE_MINOR for size in sizes]
        # Split the issuance so that group g holds exactly its certificates' face value.
        first = ledger.writer.split_exact([(root, [(suppliers[0], amount) for amount in amounts_per_group])])
        leaves = ledger.writer.split(
            [(group, [suppliers[k % 8] for k in range(size)]) for group, size in zip(first, sizes, strict=True)]
        )
    return core, root, [leaf.id for leaf in leaves]


def measure(ledger: Ledger, profile: Profile, steps: Steps) -> dict[str, Any]:
    runs: list[dict[str, Any]] = []
    count = profile.settlement_certificates
    batch = ledger.runtime.ledger.max_batch()
    batches = math.ceil(count / batch)
    for n in range(profile.settlement_repeats):
        with steps.task(
            f"settlement: issuance of {count:,} certificates ({n + 1}/{profile.settlement_repeats})", total=batches
        ) as advance:
            core, root, ids = _issuance(ledger, count, n)
            ledger.mine(2 * 86_400)  # past maturity
            client = ledger.runtime.ledger
            gas = paid = transactions = 0
            started = time.perf_counter()
            for start in range(0, len(ids), batch):
                result = client.settle(core, root.id, ids[start : start + batch])
                gas += result.gas_used
                paid += len(result.payments)
                transactions += 1
                advance(1)
            seconds = time.perf_counter() - started
        runs.append(
            {
                "certificates": len(ids),
                "settled": paid,
                "transactions": transactions,
                "gas_total": gas,
                "gas_per_certificate": round(gas / paid, 1) if paid else None,
                "seconds": round(seconds, 3),
            }
        )
    median_seconds = statistics.median(run["seconds"] for run in runs)
    summary = {
        "certificates": count,
        "batch_size": batch,
        "repeats": len(runs),
        "runs": runs,
        "transactions": runs[0]["transactions"],
        "gas_total": runs[0]["gas_total"],
        "gas_per_certificate": runs[0]["gas_per_certificate"],
        "seconds": round(median_seconds, 3),
        "seconds_min": min(run["seconds"] for run in runs),
        "seconds_max": max(run["seconds"] for run in runs),
    }
    steps.note(
        f"  settled {count:,} certificates in {summary['transactions']} transactions, "
        f"{summary['gas_total']:,} gas ({summary['gas_per_certificate']:,.0f} per certificate), {median_seconds:.2f} s"
    )
    return summary
