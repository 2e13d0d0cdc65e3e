"""The PNG plots the report embeds, drawn with matplotlib when it is installed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tools.bench.report.text import READ_ENDPOINTS

PLOTS = ("gas.png", "throughput.png", "latency.png", "reads.png", "provenance.png", "replicas.png")


def draw(results: dict[str, Any], output_dir: Path) -> list[str]:
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

    replicas = results.get("replicas")
    if replicas:
        figure, (rates, latencies) = plt.subplots(1, 2, figsize=(11, 4))
        xs = [level["concurrency"] for level in replicas["raw"]]
        rates.plot(xs, [level["median"]["ops_per_s"] for level in replicas["raw"]], "o--", color="#999999", label="raw")
        for n, configuration in enumerate(replicas["configurations"]):
            levels = configuration["levels"]
            xs = [level["concurrency"] for level in levels]
            rates.plot(
                xs,
                [level["median"]["ops_per_s"] for level in levels],
                "o-",
                color=f"C{n}",
                label=configuration["label"],
            )
            latencies.plot(
                xs, [level["median"]["p99_ms"] for level in levels], "^-", color=f"C{n}", label=configuration["label"]
            )
        latencies.axhline(
            results["targets"]["replicas_p99_ms_at_8_clients"], color="#c0392b", linestyle=":", label="p99 target at 8"
        )
        for axes in (rates, latencies):
            axes.set_xscale("log", base=2)
            axes.set_xticks(xs)
            axes.set_xticklabels([str(x) for x in xs])
            axes.set_xlabel("concurrent clients")
            axes.legend(fontsize=8)
        rates.set_ylim(bottom=0)
        rates.set_ylabel("transfer-part per second")
        rates.set_title("Rate through each configuration")
        latencies.set_yscale("log")
        _plain_log_ticks(latencies, x=False)
        latencies.set_ylabel("p99 latency, ms (log scale)")
        latencies.set_title("p99 latency")
        save(figure, "replicas.png")

    reads = results.get("reads")
    if reads and reads["sizes"]:
        figure, axes = plt.subplots(figsize=(7, 4))
        sizes = reads["sizes"]
        xs = [size["certificates"] for size in sizes]
        for n, (endpoint, label) in enumerate(READ_ENDPOINTS):
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
