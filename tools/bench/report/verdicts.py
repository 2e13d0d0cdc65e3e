"""Each benchmark target beside the figure measured for it, and whether it is met."""

from __future__ import annotations

from typing import Any

from tools.bench.report.text import clients, ms


def verdicts(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target beside the measured figure, and whether it is met."""
    targets = results["targets"]
    found: list[dict[str, Any]] = []
    rows = {row["operation"]: row for row in results.get("gas", {}).get("operations", [])}
    for operation, limit in targets["gas"].items():
        if operation in rows:
            gas = rows[operation]["gas_used"]
            found.append(_verdict(f"gas: {operation}", f"≤ {limit:,} gas", gas, f"{gas:,} gas", gas <= limit))
    limit = targets["gas_settle_per_certificate"]
    if "settle per cert" in rows:
        gas = rows["settle per cert"]["gas_used"]
        found.append(
            _verdict(
                "gas: settlement per certificate (batch of 50)", f"≤ {limit:,} gas", gas, f"{gas:,} gas", gas <= limit
            )
        )
    settlement = results.get("settlement")
    if settlement and settlement.get("gas_per_certificate"):
        gas = settlement["gas_per_certificate"]
        label = (
            f"gas: settlement per certificate ({settlement['certificates']:,} in batches of {settlement['batch_size']})"
        )
        found.append(_verdict(label, f"≤ {limit:,} gas", gas, f"{gas:,.0f} gas", gas <= limit))
    throughput = results.get("throughput")
    if throughput:
        best = throughput["best"]
        ratio_limit = targets["gateway_vs_raw_ratio"]
        measured = (
            f"{best['ratio']:.0%}: gateway {best['gateway_ops_per_s']:.1f} ops/s at "
            f"{clients(best['gateway_concurrency'])}, raw {best['raw_ops_per_s']:.1f} ops/s ({best['raw_mode']})"
        )
        found.append(
            _verdict(
                "gateway write rate vs the raw chain's, at its best concurrency",
                f"≥ {ratio_limit:.0%}",
                best["ratio"],
                measured,
                best["ratio"] >= ratio_limit,
            )
        )
        p99 = throughput.get("p99_ms_at_8")
        p99_limit = targets["gateway_p99_ms_at_8_clients"]
        if p99 is not None:
            found.append(
                _verdict(
                    "gateway p99 latency at 8 clients", f"≤ {p99_limit:.0f} ms", p99, f"{p99:.0f} ms", p99 <= p99_limit
                )
            )
    found += _replica_verdicts(results, targets)
    found += _read_verdicts(results, targets)
    return found


def _replica_verdicts(results: dict[str, Any], targets: dict[str, Any]) -> list[dict[str, Any]]:
    """The best configuration of replicas against the raw chain and the latency target; growth with replicas."""
    r = results.get("replicas")
    if not r:
        return []
    best = r["best"]
    limit = targets["replicas_vs_raw_ratio"]
    measured = (
        f"{best['ratio']:.0%}: {best['configuration']}, {best['ops_per_s']:.1f} req/s at "
        f"{clients(best['concurrency'])}; raw {best['raw_ops_per_s']:.1f} req/s ({best['raw_mode']})"
    )
    found = [
        _verdict(
            "replicas: gateway write rate vs the raw chain's, best configuration",
            f"≥ {limit:.0%}",
            best["ratio"],
            measured,
            best["ratio"] >= limit,
        )
    ]
    p99, p99_limit = best["p99_ms_at_8"], targets["replicas_p99_ms_at_8_clients"]
    if p99 is not None:
        label = "replicas: p99 latency at 8 clients, best configuration"
        measured = f"{p99:.0f} ms ({best['configuration']})"
        found.append(_verdict(label, f"≤ {p99_limit:.0f} ms", p99, measured, p99 <= p99_limit))
    growth = r.get("growth")
    if growth:
        rates = " → ".join(f"{step['ops_per_s']:.1f}" for step in growth["rates"])
        counts = "/".join(str(step["processes"]) for step in growth["rates"])
        measured = f"{counts} processes: {rates} req/s; limit at {growth['rates'][-1]['processes']}: {growth['limit']}"
        found.append(
            _verdict(
                "replicas: the rate grows with replicas until the chain or the cores are the limit",
                "grows, or a limit",
                growth["rates"][-1]["ops_per_s"],
                measured,
                growth["holds"],
            )
        )
    return found


def _read_verdicts(results: dict[str, Any], targets: dict[str, Any]) -> list[dict[str, Any]]:
    """Provenance of the 10,000-certificate tree (read again, and first read after a change) and indexer speed."""
    found: list[dict[str, Any]] = []
    limit = targets.get("provenance_10k_p50_ms")
    trees = {tree["nodes"]: tree for tree in results.get("provenance", {}).get("trees", [])}
    tree = trees.get(10_000)
    if limit is not None and tree is not None:
        for key, label in (
            ("http_root", "provenance of a 10,000-certificate tree, JSON, p50"),
            ("http_root_after_change", "provenance of a 10,000-certificate tree, JSON, p50, first read after a change"),
        ):
            p50 = tree.get(key, {}).get("median", {}).get("p50_ms")
            if p50 is not None:
                found.append(_verdict(label, f"≤ {limit:.0f} ms", p50, f"{ms(p50)} ms", p50 <= limit))
    limit = targets.get("indexer_events_per_s")
    for ledger, variants in results.get("indexer", {}).items():
        rate = variants.get("log timestamps", {}).get("events_per_s")
        if limit is not None and rate is not None:
            label = f"indexer catch-up ({ledger} ledger)"
            found.append(_verdict(label, f"≥ {limit:,} events/s", rate, f"{rate:,.0f} events/s", rate >= limit))
    return found


def _verdict(target: str, limit: str, value: float, measured: str, met: bool) -> dict[str, Any]:
    return {"target": target, "limit": limit, "value": value, "measured": measured, "met": bool(met)}
