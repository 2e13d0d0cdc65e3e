"""The report's sections on writes: gas, gateway throughput and latency, its profile, settlement at scale."""

from __future__ import annotations

from typing import Any

from tools.bench.report.text import clients, ms, table, value_range


def gas_section(results: dict[str, Any]) -> list[str]:
    gas = results.get("gas")
    if not gas:
        return ["Not measured (see Errors)."]
    network = gas["network"]
    lines = [
        "Measured from receipts on a fresh chain, in steady state (sender and receiver already hold something; "
        "see `tools/gas.py`). Capacity is what one operation alone would fill on a QBFT network of "
        f"{network['gas_per_block']:,} gas per block and one block every {network['block_seconds']:g} s "
        "(ops/s = gas per second / gas).",
        "",
    ]
    rows = []
    for row in gas["operations"]:
        target = f"{row['target']:,}" if row["target"] else ""
        verdict = {True: "met", False: "**missed**", None: ""}[row["within_target"]]
        rows.append(
            [
                row["operation"],
                f"{row['gas_used']:,}",
                target,
                verdict,
                f"{row['vs_erc721_transfer']:.2f}×",
                f"{row['network_ops_per_s']:,.0f}",
            ]
        )
    lines += table(["operation", "gas", "target", "verdict", f"vs {gas['reference']}", "ops/s at 100M gas/s"], rows)
    return lines


def throughput_section(results: dict[str, Any]) -> list[str]:
    t = results.get("throughput")
    if not t:
        return ["Not measured (see Errors)."]
    lines = [
        f"Operation: transfer-part (pay CNY 1.00 out of a certificate). {t['members']} members each hold "
        "certificates; clients are closed loops that take turns over all members. Through the gateway a request is "
        "`POST /v1/certificates/{id}/transfer` with an `Idempotency-Key`, answered once the transaction is mined "
        "and indexed. Raw: the same call signed beforehand, sent with `eth_sendRawTransaction` to Anvil, then its "
        "receipt polled (after 1 ms, then at doubling intervals up to 50 ms, so that polls do not take the cores "
        "from the chain). Each level ran "
        f"{t['repeats']} times; figures are medians (min–max of the repeats for the rates). Every run starts from "
        "the same chain state: the chain is reverted to a snapshot taken after the certificates were handed out "
        "(Anvil's blocks cost more as the ledger grows; see *Writes at each size* under Reads), and the gateway is "
        "restarted and warmed up with one request per member.",
        "",
    ]
    rows = []
    for g, r, same in zip(t["gateway"], t["raw"], t["same_concurrency_ratio"], strict=True):
        gm, rm = g["median"], r["median"]
        errors = int(gm.get("errors", 0) + rm.get("errors", 0))
        rows.append(
            [
                g["concurrency"],
                value_range(gm, "ops_per_s"),
                ms(gm["p50_ms"]),
                ms(gm["p95_ms"]),
                ms(gm["p99_ms"]),
                value_range(rm, "ops_per_s"),
                ms(rm["p50_ms"]),
                ms(rm["p99_ms"]),
                "-" if same["ratio"] is None else f"{same['ratio']:.0%}",
                errors,
            ]
        )
    lines += table(
        [
            "clients",
            "gateway ops/s",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "raw ops/s",
            "raw p50 ms",
            "raw p99 ms",
            "gateway/raw",
            "errors",
        ],
        rows,
    )
    burst = t["raw_burst"]["median"]
    best = t["best"]
    lines += [
        "",
        f"Raw burst (every signed transaction sent back to back, then every receipt awaited): "
        f"{value_range(burst, 'ops_per_s')} ops/s.",
        "",
        f"Best gateway rate: {best['gateway_ops_per_s']:.1f} ops/s at {clients(best['gateway_concurrency'])}; "
        f"the raw chain's best: {best['raw_ops_per_s']:.1f} ops/s ({best['raw_mode']}); "
        f"ratio **{best['ratio']:.0%}**.",
        "",
        "![write throughput](throughput.png)",
        "",
        "![write latency](latency.png)",
    ]
    return lines


def profile_section(results: dict[str, Any]) -> list[str]:
    return profile_lines(results.get("profile"), "Gateway profile", "the gateway process")


def profile_lines(p: dict[str, Any] | None, heading: str, attached_to: str) -> list[str]:
    """A py-spy profile's subsection: where a write's time goes, and what the interpreter runs."""
    if not p:
        return []
    if "skipped" in p:
        return ["", f"### {heading}", "", f"Not profiled: {p['skipped']}."]
    rates = ", ".join(f"{run['ops_per_s']:.1f}" for run in p["runs"])
    flamegraph = p.get("flamegraph", "profile.svg")
    lines = [
        "",
        f"### {heading} (py-spy)",
        "",
        f"Three extra runs at {clients(p['concurrency'])} with py-spy attached to {attached_to} "
        f"(rates under the profiler: {rates} ops/s; not counted above). Flame graph of the interpreter "
        f"(GIL holder): [{flamegraph}]({flamegraph}).",
        "",
    ]
    bottleneck = profile_bottleneck(p)
    if bottleneck:
        lines += [f"**Bottleneck.** {bottleneck}", ""]
    wall = p["wall"]
    if wall["phases"]:
        lines += [
            f"Where a write request's time goes (wall time of the threads inside the route handler, "
            f"{wall['samples']:,} samples):",
            "",
        ]
        lines += table(["phase", "share"], [[phase["name"], f"{phase['share']:.1%}"] for phase in wall["phases"]])
        lines.append("")
    interpreter = p["interpreter"]
    if interpreter.get("categories"):
        lines += [
            f"What the interpreter runs (GIL-holding samples, {interpreter['samples']:,}), by what it is for (a "
            "sample in the standard library counts for the nearest package above it):",
            "",
        ]
        lines += table(["spent on", "share"], [[x["name"], f"{x['share']:.1%}"] for x in interpreter["categories"]])
        lines.append("")
    if interpreter["packages"]:
        lines += ["By the package of the running frame (self time):", ""]
        lines += table(
            ["package or module", "self share"],
            [[x["name"], f"{x['share']:.1%}"] for x in interpreter["packages"][:10]],
        )
        lines += ["", "Hottest functions (self time):", ""]
        lines += table(
            ["function", "self share"], [[f"`{x['name']}`", f"{x['share']:.1%}"] for x in interpreter["functions"][:10]]
        )
        if interpreter["project_inclusive"]:
            lines += ["", "Project functions, inclusive (share of GIL samples with the function on the stack):", ""]
            lines += table(
                ["function", "inclusive share"],
                [[f"`{x['name']}`", f"{x['share']:.1%}"] for x in interpreter["project_inclusive"][:10]],
            )
    return lines


def bottleneck_summary(results: dict[str, Any], *, brief: bool = False) -> str | None:
    """One paragraph naming the bottleneck, from the profile's own figures (``brief``: the first two sentences)."""
    return profile_bottleneck(results.get("profile"), brief=brief)


def profile_bottleneck(p: dict[str, Any] | None, *, brief: bool = False) -> str | None:
    """:func:`bottleneck_summary` of one profile."""
    if not p or "skipped" in p:
        return None
    parts = []
    phases = p["wall"]["phases"]
    if phases:
        top = ", ".join(f"{phase['name']} {phase['share']:.0%}" for phase in phases[:4])
        parts.append(f"Inside the handler, a write's wall time is mostly: {top}.")
    categories = p["interpreter"].get("categories") or []
    if categories:
        top = ", ".join(f"{x['name']} {x['share']:.0%}" for x in categories[:3])
        parts.append(f"The gateway's interpreter (one GIL for every request) spends its time on: {top}.")
    functions = p["interpreter"]["functions"]
    if brief:
        return " ".join(parts) or None
    if functions:
        top = ", ".join(f"`{x['name']}` {x['share']:.0%}" for x in functions[:3])
        parts.append(f"Hottest functions: {top}.")
    inclusive = p["interpreter"]["project_inclusive"]
    if inclusive:
        top = ", ".join(f"`{x['name']}` {x['share']:.0%}" for x in inclusive[:4])
        parts.append(f"Project code holding the GIL longest (inclusive): {top}.")
    return " ".join(parts) or None


def settlement_section(results: dict[str, Any]) -> list[str]:
    s = results.get("settlement")
    if not s:
        return ["Not measured (see Errors)."]
    lines = [
        f"One issuance split into {s['certificates']:,} certificates among eight suppliers; the chain's clock "
        "moved past maturity (`evm_increaseTime`, `evm_mine`); the obligor settles every certificate through the "
        f"client (`LedgerClient.settle`), in batches of {s['batch_size']}. Each of {s['repeats']} repeats settled an "
        "issuance of its own.",
        "",
    ]
    lines += table(
        ["certificates", "transactions", "gas in all", "gas per certificate", "wall time s (median, min–max)"],
        [
            [
                f"{s['certificates']:,}",
                s["transactions"],
                f"{s['gas_total']:,}",
                f"{s['gas_per_certificate']:,.0f}",
                f"{s['seconds']:.2f} ({s['seconds_min']:.2f}–{s['seconds_max']:.2f})",
            ]
        ],
    )
    return lines
