"""The README's Performance section: the headline figures of a full run, between two markers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tools.bench.report.text import clients, machine_line, ms, table
from tools.bench.report.write_sections import bottleneck_summary

README_START = "<!-- bench:start -->"
README_END = "<!-- bench:end -->"


def readme_section(results: dict[str, Any], output_dir: Path, readme: Path) -> str:
    """The README's Performance section (between the markers): headline figures, links, how to reproduce."""
    try:
        folder = output_dir.resolve().relative_to(readme.resolve().parent).as_posix()
    except ValueError:
        folder = str(output_dir)
    lines = [
        README_START,
        f"Measured by `make bench` on {results['date'][:10]}, on {machine_line(results)}. The machine was shared "
        "with other work, so wall-clock figures are noisy: they are medians over repeated runs. Every figure and "
        f"plot, and how each was measured: [{folder}/REPORT.md]({folder}/REPORT.md); raw figures in "
        f"`{folder}/results.json`.",
        "",
    ]
    rows = [[v["target"], v["limit"], v["measured"], "met" if v["met"] else "**missed**"] for v in results["verdicts"]]
    lines += table(["target", "limit", "measured", "verdict"], rows)
    lines.append("")
    bullets: list[str] = []
    t = results.get("throughput")
    if t:
        levels = ", ".join(
            f"{clients(g['concurrency'])} {g['median']['ops_per_s']:.1f} ops/s (p99 {ms(g['median']['p99_ms'])} ms)"
            for g in t["gateway"]
        )
        bullets.append(
            f"Gateway writes (transfer-part): {levels}; the raw chain's best {t['best']['raw_ops_per_s']:.1f} ops/s "
            f"({t['best']['raw_mode']})."
        )
    r = results.get("replicas")
    if r:
        best = r["best"]
        shown = "; ".join(
            f"{c['label']} {c['best']['ops_per_s']:.1f} req/s at {clients(c['best']['concurrency'])}"
            for c in r["configurations"]
        )
        bullets.append(
            f"Gateway replicas (transfer-part): {shown}; best {best['configuration']}, {best['ratio']:.0%} of the "
            f"raw chain's {best['raw_ops_per_s']:.1f} req/s, p99 at 8 clients {ms(best['p99_ms_at_8'])} ms."
        )
    bottleneck = bottleneck_summary(results, brief=True)
    if bottleneck:
        bullets.append(f"Gateway profile (py-spy): {bottleneck}")
    reads = results.get("reads")
    if reads and reads["sizes"]:
        largest = reads["sizes"][-1]
        e = largest["endpoints"]
        bullets.append(
            f"Reads at {largest['certificates']:,} certificates (p50/p99): list {ms(e['list']['median']['p50_ms'])}/"
            f"{ms(e['list']['median']['p99_ms'])} ms, one certificate {ms(e['get']['median']['p50_ms'])}/"
            f"{ms(e['get']['median']['p99_ms'])} ms; writing them took {largest['build']['write_seconds']:.0f} s "
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
                f"{ms(largest_tree['http_root']['median']['p50_ms'])} ms, p99 "
                f"{ms(largest_tree['http_root']['median']['p99_ms'])} ms when read again unchanged (the gateway "
                f"keeps the tree it built); the first read after a change to the tree (the kept tree brought up to "
                f"date from the certificates that changed): "
                f"p50 {ms(largest_tree['http_root_after_change']['median']['p50_ms'])} ms, p99 "
                f"{ms(largest_tree['http_root_after_change']['median']['p99_ms'])} ms."
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
