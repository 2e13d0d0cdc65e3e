"""Writes a benchmark's results: ``results.json``, ``REPORT.md`` with its PNG plots, and the README's section.

Everything printed here comes from the results of the run; nothing is typed in.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

README_START = "<!-- bench:start -->"
README_END = "<!-- bench:end -->"
PLOTS = ("gas.png", "throughput.png", "latency.png", "reads.png", "provenance.png")
NOISY_SPREAD = 0.25  # repeated runs that disagree by more than this (max - min over median) are called noisy


# Verdicts


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
            f"{_clients(best['gateway_concurrency'])}, raw {best['raw_ops_per_s']:.1f} ops/s ({best['raw_mode']})"
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
    found += _read_verdicts(results, targets)
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
                found.append(_verdict(label, f"≤ {limit:.0f} ms", p50, f"{_ms(p50)} ms", p50 <= limit))
    limit = targets.get("indexer_events_per_s")
    for ledger, variants in results.get("indexer", {}).items():
        rate = variants.get("log timestamps", {}).get("events_per_s")
        if limit is not None and rate is not None:
            label = f"indexer catch-up ({ledger} ledger)"
            found.append(_verdict(label, f"≥ {limit:,} events/s", rate, f"{rate:,.0f} events/s", rate >= limit))
    return found


def _verdict(target: str, limit: str, value: float, measured: str, met: bool) -> dict[str, Any]:
    return {"target": target, "limit": limit, "value": value, "measured": measured, "met": bool(met)}


# Formatting


def _ms(value: Any) -> str:
    if value is None or value != value:  # None or NaN
        return "-"
    return f"{value:.1f}" if value < 100 else f"{value:,.0f}"


def _rate(value: Any) -> str:
    return "-" if value is None else f"{value:,.1f}"


def _range(median: dict[str, Any], key: str, fmt: Any = _rate) -> str:
    low, high = median.get(f"{key}_min"), median.get(f"{key}_max")
    if low is None or high is None or low == high:
        return fmt(median.get(key))
    return f"{fmt(median.get(key))} ({fmt(low)}–{fmt(high)})"


def _spread(median: dict[str, Any], key: str) -> float:
    value, low, high = median.get(key), median.get(f"{key}_min"), median.get(f"{key}_max")
    if not value or low is None or high is None:
        return 0.0
    return float((high - low) / value)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def _machine_line(results: dict[str, Any]) -> str:
    m, v = results["machine"], results["versions"]
    return (
        f"{m['cpu_count']} CPUs ({m['cpu_model']}), {m['memory_gib']} GiB memory, {m['platform']}; "
        f"Python {v['python']}, solc {v['solc']}, Anvil {v['anvil']}"
    )


# Plots


def _plots(results: dict[str, Any], output_dir: Path) -> list[str]:
    """Draws every plot the results allow; returns the file names written."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    written: list[str] = []

    def save(figure: Any, name: str) -> None:
        figure.tight_layout()
        figure.savefig(output_dir / name, dpi=110)
        plt.close(figure)
        written.append(name)

    gas = results.get("gas")
    if gas:
        rows = gas["operations"]
        figure, axes = plt.subplots(figsize=(8, 0.32 * len(rows) + 1.2))
        names = [row["operation"] for row in rows][::-1]
        values = [row["gas_used"] for row in rows][::-1]
        colours = [{"ledger": "#3b75af", "financing": "#519e3e", "baseline": "#999999"}[row["kind"]] for row in rows][
            ::-1
        ]
        axes.barh(names, values, color=colours)
        for n, row in enumerate(rows[::-1]):
            if row["target"]:
                axes.plot([row["target"]] * 2, [n - 0.4, n + 0.4], color="#c0392b", linewidth=2)
        axes.set_xscale("log")
        axes.set_xlabel("gas used (log scale); red: target")
        axes.set_title("Gas per operation, beside OpenZeppelin token baselines (grey)")
        save(figure, "gas.png")

    throughput = results.get("throughput")
    if throughput:
        figure, axes = plt.subplots(figsize=(7, 4))
        for key, label, colour in (("gateway", "gateway (HTTP)", "#3b75af"), ("raw", "raw JSON-RPC", "#999999")):
            levels = throughput[key]
            xs = [level["concurrency"] for level in levels]
            ys = [level["median"]["ops_per_s"] for level in levels]
            low = [y - level["median"].get("ops_per_s_min", y) for y, level in zip(ys, levels, strict=True)]
            high = [level["median"].get("ops_per_s_max", y) - y for y, level in zip(ys, levels, strict=True)]
            axes.errorbar(xs, ys, yerr=[low, high], marker="o", capsize=4, label=label, color=colour)
        burst = throughput["raw_burst"]["median"]["ops_per_s"]
        axes.axhline(burst, linestyle="--", color="#999999", label=f"raw burst ({burst:.0f} ops/s)")
        axes.set_xscale("log", base=2)
        axes.set_xticks([level["concurrency"] for level in throughput["gateway"]])
        axes.set_xticklabels([str(level["concurrency"]) for level in throughput["gateway"]])
        axes.set_xlabel("concurrent clients")
        axes.set_ylabel("transfer-part per second")
        axes.set_title("Write throughput: median of repeats, bars min–max")
        axes.legend()
        axes.set_ylim(bottom=0)
        save(figure, "throughput.png")

        figure, axes = plt.subplots(figsize=(7, 4))
        levels = throughput["gateway"]
        xs = [level["concurrency"] for level in levels]
        for key, style in (("p50_ms", "o-"), ("p95_ms", "s-"), ("p99_ms", "^-")):
            axes.plot(xs, [level["median"][key] for level in levels], style, label=f"gateway {key[:3]}")
        axes.plot(
            xs, [level["median"]["p50_ms"] for level in throughput["raw"]], "o--", color="#999999", label="raw p50"
        )
        axes.axhline(
            results["targets"]["gateway_p99_ms_at_8_clients"], color="#c0392b", linestyle=":", label="p99 target at 8"
        )
        axes.set_xscale("log", base=2)
        axes.set_yscale("log")
        axes.set_xticks(xs)
        axes.set_xticklabels([str(x) for x in xs])
        axes.set_xlabel("concurrent clients")
        axes.set_ylabel("latency, ms (log scale)")
        _plain_log_ticks(axes, x=False)
        axes.set_title("Write latency (transfer-part), median of repeats")
        axes.legend()
        save(figure, "latency.png")

    reads = results.get("reads")
    if reads and reads["sizes"]:
        figure, axes = plt.subplots(figsize=(7, 4))
        sizes = reads["sizes"]
        xs = [size["certificates"] for size in sizes]
        for n, (endpoint, label) in enumerate(_READ_ENDPOINTS):
            for key, style in (("p50_ms", "-"), ("p99_ms", ":")):
                ys = [size["endpoints"][endpoint]["median"].get(key) for size in sizes]
                axes.plot(xs, ys, "o" + style, color=f"C{n}", label=f"{label} {key[:3]}")
        axes.set_xscale("log")
        axes.set_yscale("log")
        _plain_log_ticks(axes)
        axes.set_xlabel("certificates in the ledger")
        axes.set_ylabel("latency, ms (log scale)")
        axes.set_title("Reads through the gateway, median of rounds")
        axes.legend(fontsize=7, ncol=2)
        save(figure, "reads.png")

    provenance = results.get("provenance")
    if provenance and provenance["trees"]:
        figure, axes = plt.subplots(figsize=(7, 4))
        trees = provenance["trees"]
        xs = [tree["nodes"] for tree in trees]
        series: list[tuple[str, str | None, str]] = [
            ("index", "subtree", "index: subtree query"),
            ("index", "path_to_root", "index: path to root"),
        ]
        if provenance["endpoint_present"]:
            series = [
                ("http_root", None, "GET provenance (root)"),
                ("http_root_after_change", None, "GET provenance (root) after a change"),
                ("http_leaf", None, "GET provenance (leaf)"),
                *series,
            ]
        for n, (key, sub, label) in enumerate(series):
            if any(key not in tree for tree in trees):  # results of earlier runs may lack a figure
                continue
            for stat, style in (("p50_ms", "-"), ("p99_ms", ":")):
                ys = [(tree[key][sub] if sub else tree[key])["median"][stat] for tree in trees]
                axes.plot(xs, ys, "o" + style, color=f"C{n}", label=f"{label} {stat[:3]}")
        axes.set_xscale("log")
        axes.set_yscale("log")
        _plain_log_ticks(axes)
        axes.set_xlabel("certificates in the tree")
        axes.set_ylabel("latency, ms (log scale)")
        title = "Provenance" if provenance["endpoint_present"] else "Provenance: index queries (no HTTP endpoint yet)"
        axes.set_title(title)
        axes.legend(fontsize=8)
        save(figure, "provenance.png")
    return written


def _plain_log_ticks(axes: Any, *, x: bool = True) -> None:
    """Log axes labelled 3, 10, 300 rather than 3×10⁰."""
    from matplotlib.ticker import FuncFormatter

    plain = FuncFormatter(lambda value, _: f"{value:,.10g}")
    for axis in (axes.xaxis, axes.yaxis) if x else (axes.yaxis,):
        axis.set_major_formatter(plain)
        axis.set_minor_formatter(FuncFormatter(lambda value, _: ""))


_READ_ENDPOINTS = (
    ("list", "list (operator)"),
    ("list_member", "list (member)"),
    ("list_last_page", "list, last page"),
    ("get", "one certificate"),
)


# The report


def _noise_paragraph(results: dict[str, Any]) -> list[str]:
    m = results["machine"]
    settings = results["settings"]
    noisy: list[str] = []
    for key in ("gateway", "raw"):
        for level in results.get("throughput", {}).get(key, []):
            if _spread(level["median"], "ops_per_s") > NOISY_SPREAD:
                noisy.append(f"{key} ops/s at {_clients(level['concurrency'])}")
    for size in results.get("reads", {}).get("sizes", []):
        for endpoint, label in _READ_ENDPOINTS:
            if _spread(size["endpoints"][endpoint]["median"], "p99_ms") > NOISY_SPREAD:
                noisy.append(f"{label} p99 at {size['certificates']:,} certificates")
    lines = [
        f"**Noise.** This machine has {m['cpu_count']} cores, shared during the run by the chain, the gateway, the "
        "benchmark's own clients and other work on the machine (the load average was "
        f"{_load(m.get('load_average_at_start'))} at the start and {_load(m.get('load_average_at_end'))} at the end). "
        "Wall-clock figures (rates, latencies, build and settlement times) are therefore noisy: each is the median "
        f"over repeated runs ({_runs(settings['repeats'], 'run')} of each throughput level, "
        f"{_runs(settings['read_rounds'], 'round')} of each read, "
        f"{_runs(settings['settlement_repeats'], 'settlement')}, "
        f"{_runs(settings['indexer_repeats'], 'rebuild')} of the index), with the range of the repeats shown as "
        "min–max. Gas figures come from receipts and are exact.",
    ]
    if noisy:
        shown = ", ".join(noisy[:12]) + (" and more" if len(noisy) > 12 else "")
        lines += ["", f"Repeats disagreed by more than {NOISY_SPREAD:.0%} of their median for: {shown}."]
    return lines


def _clients(count: int) -> str:
    return _runs(count, "client")


def _runs(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _load(values: Any) -> str:
    return "unknown" if not values else f"{values[0]:.2f}"


def _gas_section(results: dict[str, Any]) -> list[str]:
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
    lines += _table(["operation", "gas", "target", "verdict", f"vs {gas['reference']}", "ops/s at 100M gas/s"], rows)
    return lines


def _throughput_section(results: dict[str, Any]) -> list[str]:
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
                _range(gm, "ops_per_s"),
                _ms(gm["p50_ms"]),
                _ms(gm["p95_ms"]),
                _ms(gm["p99_ms"]),
                _range(rm, "ops_per_s"),
                _ms(rm["p50_ms"]),
                _ms(rm["p99_ms"]),
                "-" if same["ratio"] is None else f"{same['ratio']:.0%}",
                errors,
            ]
        )
    lines += _table(
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
        f"{_range(burst, 'ops_per_s')} ops/s.",
        "",
        f"Best gateway rate: {best['gateway_ops_per_s']:.1f} ops/s at {_clients(best['gateway_concurrency'])}; "
        f"the raw chain's best: {best['raw_ops_per_s']:.1f} ops/s ({best['raw_mode']}); "
        f"ratio **{best['ratio']:.0%}**.",
        "",
        "![write throughput](throughput.png)",
        "",
        "![write latency](latency.png)",
    ]
    return lines


def _profile_section(results: dict[str, Any]) -> list[str]:
    p = results.get("profile")
    if not p:
        return []
    if "skipped" in p:
        return ["", "### Gateway profile", "", f"Not profiled: {p['skipped']}."]
    rates = ", ".join(f"{run['ops_per_s']:.1f}" for run in p["runs"])
    lines = [
        "",
        "### Gateway profile (py-spy)",
        "",
        f"Three extra runs at {_clients(p['concurrency'])} with py-spy attached to the gateway process "
        f"(rates under the profiler: {rates} ops/s; not counted above). Flame graph of the interpreter "
        "(GIL holder): [profile.svg](profile.svg).",
        "",
    ]
    bottleneck = bottleneck_summary(results)
    if bottleneck:
        lines += [f"**Bottleneck.** {bottleneck}", ""]
    wall = p["wall"]
    if wall["phases"]:
        lines += [
            f"Where a write request's time goes (wall time of the threads inside the route handler, "
            f"{wall['samples']:,} samples):",
            "",
        ]
        lines += _table(["phase", "share"], [[phase["name"], f"{phase['share']:.1%}"] for phase in wall["phases"]])
        lines.append("")
    interpreter = p["interpreter"]
    if interpreter.get("categories"):
        lines += [
            f"What the interpreter runs (GIL-holding samples, {interpreter['samples']:,}), by what it is for (a "
            "sample in the standard library counts for the nearest package above it):",
            "",
        ]
        lines += _table(["spent on", "share"], [[x["name"], f"{x['share']:.1%}"] for x in interpreter["categories"]])
        lines.append("")
    if interpreter["packages"]:
        lines += ["By the package of the running frame (self time):", ""]
        lines += _table(
            ["package or module", "self share"],
            [[x["name"], f"{x['share']:.1%}"] for x in interpreter["packages"][:10]],
        )
        lines += ["", "Hottest functions (self time):", ""]
        lines += _table(
            ["function", "self share"], [[f"`{x['name']}`", f"{x['share']:.1%}"] for x in interpreter["functions"][:10]]
        )
        if interpreter["project_inclusive"]:
            lines += ["", "Project functions, inclusive (share of GIL samples with the function on the stack):", ""]
            lines += _table(
                ["function", "inclusive share"],
                [[f"`{x['name']}`", f"{x['share']:.1%}"] for x in interpreter["project_inclusive"][:10]],
            )
    return lines


def bottleneck_summary(results: dict[str, Any], *, brief: bool = False) -> str | None:
    """One paragraph naming the bottleneck, from the profile's own figures (``brief``: the first two sentences)."""
    p = results.get("profile")
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


def _reads_section(results: dict[str, Any]) -> list[str]:
    reads = results.get("reads")
    if not reads:
        return ["Not measured (see Errors)."]
    lines = [
        "Sequential requests from one client. `list` is `GET /v1/certificates` (first page of 50) as the operator, "
        "who sees every certificate; `list (member)` as a supplier, who sees its own; `last page` pages to the end "
        "with `offset`; `one` is `GET /v1/certificates/{id}` for random ids (as the operator, and as the member for "
        "its own). Ledgers are written with 100-way splits, each tree level's transactions sent back to back and "
        "mined in full blocks. Latencies in ms, p50 / p99, medians over rounds.",
        "",
    ]
    rows = []
    for size in reads["sizes"]:
        build, e = size["build"], size["endpoints"]
        rows.append(
            [
                f"{size['certificates']:,}",
                f"{build['transactions']:,} txs, {build['write_seconds']:.1f} s",
                f"{build['index_catch_up_seconds']:.1f} s",
                *(
                    f"{_ms(e[k]['median']['p50_ms'])} / {_ms(e[k]['median']['p99_ms'])}"
                    for k in ("list", "list_member", "list_last_page", "get", "get_member")
                ),
            ]
        )
    lines += _table(
        [
            "certificates",
            "written (added)",
            "index caught up",
            "list",
            "list (member)",
            "last page",
            "one",
            "one (member)",
        ],
        rows,
    )
    lines += ["", "![reads](reads.png)"]
    if all("writes" in size for size in reads["sizes"]):
        lines += [
            "",
            "Writes at each size: transfer-part by one client, through the gateway and raw, a few requests each. "
            "Anvil takes longer to mine each block as the ledger's state grows (the time to accept a transaction "
            "stays flat; the wait for its block grows), so this is a property of the local development chain, to "
            "be measured again on a Besu network.",
            "",
        ]
        rows = []
        for size in reads["sizes"]:
            g, r = size["writes"]["gateway"], size["writes"]["raw"]
            rows.append(
                [
                    f"{size['certificates']:,}",
                    f"{_rate(g['ops_per_s'])} ops/s, p50 {_ms(g['p50_ms'])} ms",
                    f"{_rate(r['ops_per_s'])} ops/s, p50 {_ms(r['p50_ms'])} ms",
                    g["requests"],
                    g["errors"] + r["errors"],
                ]
            )
        lines += _table(["certificates", "gateway", "raw", "requests each", "errors"], rows)
    return lines


def _provenance_section(results: dict[str, Any]) -> list[str]:
    p = results.get("provenance")
    if not p:
        return ["Not measured (see Errors)."]
    lines: list[str] = []
    if not p["endpoint_present"]:
        where = "exists but is not served" if p["routes_file_present"] else "does not exist"
        lines += [
            "**Missing:** the gateway served no `GET /v1/certificates/{id}/provenance` when this ran "
            f"(`api/routes/provenance.py` {where}), so the HTTP figures are missing. Measured instead: the read "
            "model's own queries that such an endpoint needs, in the benchmark's process on the gateway's index "
            "file (`LedgerIndex.subtree` for the whole tree from its root, `LedgerIndex.path_to_root` from the "
            "deepest leaf), and single-certificate reads of the root.",
            "",
        ]
    else:
        lines += [
            f"`GET {p['endpoint']}` as the operator, for the tree's root and for its deepest leaf, beside the read "
            "model's own queries (in the benchmark's process) and a plain certificate read. Latencies in ms, "
            "p50 / p99, medians over rounds. The gateway keeps the trees it built until they change: the root "
            "is read again unchanged, and, after a change, read right after the operator froze or unfroze a "
            "leaf (the kept tree is brought up to date from the certificates that changed).",
            "",
        ]
    header = ["certificates in the tree", "depth", "index: subtree", "index: path to root"]
    if p["endpoint_present"]:
        header += [
            "GET provenance (root)",
            "GET provenance (root), after a change",
            "GET provenance (leaf)",
            "response bytes (root)",
            "GET certificate (root)",
        ]
    rows = []
    for tree in p["trees"]:
        index = tree["index"]
        row = [
            f"{tree['nodes']:,}",
            tree["depth"],
            f"{_ms(index['subtree']['median']['p50_ms'])} / {_ms(index['subtree']['median']['p99_ms'])}",
            f"{_ms(index['path_to_root']['median']['p50_ms'])} / {_ms(index['path_to_root']['median']['p99_ms'])}",
        ]
        if p["endpoint_present"]:
            for key in ("http_root", "http_root_after_change", "http_leaf"):
                figures = tree.get(key, {}).get("median", {})  # results of earlier runs may lack a figure
                row.append(f"{_ms(figures.get('p50_ms'))} / {_ms(figures.get('p99_ms'))}")
            row.append(f"{tree['http_root_bytes']:,}")
            plain = tree["http_certificate"]["median"]
            row.append(f"{_ms(plain['p50_ms'])} / {_ms(plain['p99_ms'])}")
        rows.append(row)
    lines += _table(header, rows)
    if p["endpoint_present"]:
        statuses = {f"{tree['nodes']:,}": tree["http_root"]["rounds"][0]["statuses"] for tree in p["trees"]}
        bad = {k: v for k, v in statuses.items() if set(v) != {"200"}}
        if bad:
            lines += ["", f"Non-200 answers from the provenance endpoint: {bad}."]
    lines += ["", "![provenance](provenance.png)"]
    return lines


def _indexer_section(results: dict[str, Any]) -> list[str]:
    indexer = results.get("indexer")
    if not indexer:
        return ["Not measured (see Errors)."]
    lines = [
        "A fresh index built from block 0 over JSON-RPC (`eth_getLogs` in ranges), with the block timestamps the "
        "node puts in each log, and as for a client that leaves them out (timestamps from block headers). "
        "`mixed`: the main benchmark ledger at its end (gas runs, the certificates handed out for the throughput "
        "runs, which themselves were reverted, provenance trees, settlement); "
        "`large`: the reads ledger at its largest size. Median of the builds (a first sync and a rebuild per run).",
        "",
    ]
    rows = []
    for ledger, variants in indexer.items():
        for name, v in variants.items():
            rows.append(
                [
                    ledger,
                    name,
                    f"{v['events']:,}",
                    f"{v['blocks']:,}",
                    f"{v['seconds']:.2f}",
                    f"{v['events_per_s']:,.0f} ({v['events_per_s_min']:,.0f}–{v['events_per_s_max']:,.0f})",
                ]
            )
    lines += _table(["ledger", "timestamps from", "events", "blocks", "rebuild s", "events/s"], rows)
    return lines


def _settlement_section(results: dict[str, Any]) -> list[str]:
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
    lines += _table(
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


def render(results: dict[str, Any], plots: Sequence[str]) -> str:
    minutes = results["duration_s"] / 60
    lines = [
        "# scf-chain benchmark report",
        "",
        f"Generated by `scf bench` ({results['mode']} run) on {results['date']}, in {minutes:.1f} minutes, on "
        f"{_machine_line(results)}. Every figure below was measured by that run, on fresh isolated local chains "
        "(Anvil) and gateway processes in a temporary data folder; `results.json` beside this file has them all.",
        "",
        *_noise_paragraph(results),
        "",
        "## Targets",
        "",
    ]
    verdict_rows = [
        [v["target"], v["limit"], v["measured"], "met" if v["met"] else "**MISSED**"] for v in results["verdicts"]
    ]
    lines += _table(["target", "limit", "measured", "verdict"], verdict_rows)
    missed = [v for v in results["verdicts"] if not v["met"]]
    if missed:
        lines += [
            "",
            "Missed: " + "; ".join(f"{v['target']} ({v['measured']}, target {v['limit']})" for v in missed) + ".",
        ]
        bottleneck = bottleneck_summary(results)
        if bottleneck and any(v["target"].startswith("gateway") for v in missed):
            lines += ["", f"Profile of the gateway: {bottleneck} Details under *Gateway profile*."]
    gas_section = _gas_section(results) + (["", "![gas per operation](gas.png)"] if "gas.png" in plots else [])
    sections = (
        ("1. Gas", gas_section),
        ("2. Gateway write throughput and latency", _throughput_section(results) + _profile_section(results)),
        ("3. Reads", _reads_section(results)),
        ("4. Provenance", _provenance_section(results)),
        ("5. Indexer catch-up", _indexer_section(results)),
        ("6. Settlement at scale", _settlement_section(results)),
    )
    for title, body in sections:
        lines += ["", f"## {title}", "", *body]
    versions = results["versions"]
    lines += ["", "## Machine and versions", ""]
    m = results["machine"]
    rows = [
        ["CPU", f"{m['cpu_count']} × {m['cpu_model']}"],
        ["memory", f"{m['memory_gib']} GiB"],
        ["platform", m["platform"]],
        *([name, str(version)] for name, version in versions.items()),
    ]
    lines += _table(["", "version"], rows)
    seconds = results.get("section_seconds", {})
    if seconds:
        lines += ["", "Time per section: " + ", ".join(f"{k} {v:.0f} s" for k, v in seconds.items()) + "."]
    if results.get("errors"):
        lines += ["", "## Errors", ""]
        for error in results["errors"]:
            lines += [f"- {error['section']}: `{error['error']}`"]
    lines += [
        "",
        "## Reproduce",
        "",
        "```sh",
        "make bench          # the full run: bench/results.json, bench/REPORT.md, bench/*.png, README section",
        "make bench QUICK=1  # a small run in under a minute, into bench/quick/",
        "scf bench --quick   # the same from the command line",
        "```",
        "",
    ]
    text = "\n".join(lines)
    missing = [name for name in PLOTS if f"({name})" in text and name not in plots]
    for name in missing:
        text = text.replace(f"![{_alt(text, name)}]({name})", f"(plot {name} not drawn: matplotlib is not installed)")
    return text


def _alt(text: str, name: str) -> str:
    match = re.search(r"!\[([^\]]*)\]\(" + re.escape(name) + r"\)", text)
    return match.group(1) if match else ""


def readme_section(results: dict[str, Any], output_dir: Path, readme: Path) -> str:
    """The README's Performance section (between the markers): headline figures, links, how to reproduce."""
    try:
        folder = output_dir.resolve().relative_to(readme.resolve().parent).as_posix()
    except ValueError:
        folder = str(output_dir)
    lines = [
        README_START,
        f"Measured by `make bench` on {results['date'][:10]}, on {_machine_line(results)}. The machine was shared "
        "with other work, so wall-clock figures are noisy: they are medians over repeated runs. Every figure and "
        f"plot, and how each was measured: [{folder}/REPORT.md]({folder}/REPORT.md); raw figures in "
        f"`{folder}/results.json`.",
        "",
    ]
    rows = [[v["target"], v["limit"], v["measured"], "met" if v["met"] else "**missed**"] for v in results["verdicts"]]
    lines += _table(["target", "limit", "measured", "verdict"], rows)
    lines.append("")
    bullets: list[str] = []
    t = results.get("throughput")
    if t:
        levels = ", ".join(
            f"{_clients(g['concurrency'])} {g['median']['ops_per_s']:.1f} ops/s (p99 {_ms(g['median']['p99_ms'])} ms)"
            for g in t["gateway"]
        )
        bullets.append(
            f"Gateway writes (transfer-part): {levels}; the raw chain's best {t['best']['raw_ops_per_s']:.1f} ops/s "
            f"({t['best']['raw_mode']})."
        )
    bottleneck = bottleneck_summary(results, brief=True)
    if bottleneck:
        bullets.append(f"Gateway profile (py-spy): {bottleneck}")
    reads = results.get("reads")
    if reads and reads["sizes"]:
        largest = reads["sizes"][-1]
        e = largest["endpoints"]
        bullets.append(
            f"Reads at {largest['certificates']:,} certificates (p50/p99): list {_ms(e['list']['median']['p50_ms'])}/"
            f"{_ms(e['list']['median']['p99_ms'])} ms, one certificate {_ms(e['get']['median']['p50_ms'])}/"
            f"{_ms(e['get']['median']['p99_ms'])} ms; writing them took {largest['build']['write_seconds']:.0f} s "
            f"({largest['build']['transactions']:,} transactions)."
        )
        if all("writes" in size for size in reads["sizes"]):
            first, last = reads["sizes"][0], reads["sizes"][-1]
            bullets.append(
                f"Anvil mines more slowly as the ledger grows: raw "
                f"transfer-part by one client {first['writes']['raw']['ops_per_s']:.1f} ops/s at "
                f"{first['certificates']:,} certificates, {last['writes']['raw']['ops_per_s']:.1f} ops/s at "
                f"{last['certificates']:,}."
            )
    p = results.get("provenance")
    if p and p["trees"]:
        largest_tree = p["trees"][-1]
        if p["endpoint_present"]:
            bullets.append(
                f"Provenance of a {largest_tree['nodes']:,}-certificate tree from its root: p50 "
                f"{_ms(largest_tree['http_root']['median']['p50_ms'])} ms, p99 "
                f"{_ms(largest_tree['http_root']['median']['p99_ms'])} ms when read again unchanged (the gateway "
                f"keeps the tree it built); the first read after a change to the tree (the kept tree brought up to "
                f"date from the certificates that changed): "
                f"p50 {_ms(largest_tree['http_root_after_change']['median']['p50_ms'])} ms, p99 "
                f"{_ms(largest_tree['http_root_after_change']['median']['p99_ms'])} ms."
            )
        else:
            bullets.append("Provenance: the HTTP endpoint was not there when this ran; see the report.")
    indexer = results.get("indexer")
    if indexer:
        names = {"mixed": "the main benchmark ledger", "large": "the largest reads ledger"}
        rates = [
            f"{v['log timestamps']['events_per_s']:,.0f} events/s on {names.get(ledger, ledger)} "
            f"({v['log timestamps']['events']:,} events)"
            for ledger, v in indexer.items()
            if "log timestamps" in v
        ]
        bullets.append("Indexer rebuild from block 0: " + ", ".join(rates) + ".")
    s = results.get("settlement")
    if s:
        bullets.append(
            f"Settling {s['certificates']:,} certificates of one issuance: {s['transactions']} transactions, "
            f"{s['gas_total']:,} gas, {s['seconds']:.1f} s."
        )
    lines += [f"- {bullet}" for bullet in bullets]
    if (output_dir / "throughput.png").exists():
        lines += ["", f"![write throughput]({folder}/throughput.png)"]
    minutes = results["duration_s"] / 60
    lines += [
        "",
        f"Reproduce with `make bench` (this run took {minutes:.0f} minutes; it rewrites `{folder}/` and this "
        "section) or `make bench QUICK=1` (under a minute, into `bench/quick/`, leaving this section alone).",
        README_END,
    ]
    return "\n".join(lines)


def update_readme(readme: Path, section: str) -> None:
    """Replaces the text between the markers, or appends a Performance section with them at the end."""
    text = readme.read_text()
    if README_START in text and README_END in text:
        before, rest = text.split(README_START, 1)
        _, after = rest.split(README_END, 1)
        text = before + section + after
    else:
        text = text.rstrip("\n") + "\n\n## Performance\n\n" + section + "\n"
    readme.write_text(text)


def write(results: dict[str, Any], output_dir: Path, *, readme: Path | None = None) -> None:
    output_dir.mkdir(parents=True, exist_ok=True)
    plots = _plots(results, output_dir)
    results["plots"] = plots
    (output_dir / "results.json").write_text(json.dumps(results, indent=2, sort_keys=False) + "\n")
    (output_dir / "REPORT.md").write_text(render(results, plots))
    if readme is not None:
        update_readme(readme, readme_section(results, output_dir, readme))
