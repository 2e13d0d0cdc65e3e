"""The report's section on gateway replicas: each configuration's rate and latency beside the raw chain's,
the CPU each process used, the limit each configuration met, and (where a target was missed) its profile."""

from __future__ import annotations

from typing import Any

from tools.bench.report.text import clients, ms, table, value_range
from tools.bench.report.write_sections import profile_bottleneck, profile_lines

LIMIT_NAMES = {
    "cores": "the machine's two cores",
    "chain": "the chain",
    "neither": "neither the cores nor the chain",
}


def cores(median: dict[str, Any], key: str) -> str:
    value = median.get(key)
    return "-" if value is None else f"{value:.2f}"


def replicas_section(results: dict[str, Any]) -> list[str]:
    r = results.get("replicas")
    if not r:
        return ["Not measured (see Errors)."]
    targets = results["targets"]
    isolation = {
        "run": "before every run",
        "level": "before each concurrency level",
        "configuration": "once per configuration (every level on one chain)",
    }[r["isolate"]]
    lines = [
        f"Operation: transfer-part, as in section 2, on a ledger of its own: {r['members']} members, closed-loop "
        "clients, each level run "
        f"{r['repeats']} time{'s' if r['repeats'] > 1 else ''} (medians; min–max of the repeats for the rates). "
        "Configurations: one gateway process on the data folder's SQLite files (SQLite serves one process), and "
        "`scf serve --workers N` on a PostgreSQL database of its own (a durable local cluster: fsync on), all "
        "workers accepting on one address. The chain is reverted to the state after the hand-out "
        f"{isolation}, and the gateway restarted and warmed up. CPU is from /proc: cores used by the gateway's "
        "processes (all workers and their supervisor), by Anvil, by the PostgreSQL server and by the benchmark's "
        "clients, what the machine's cores ran besides (other work on a shared machine), and how busy they were.",
        "",
    ]
    postgres = r.get("postgres", {})
    if postgres.get("skipped"):
        lines += [f"PostgreSQL configurations not measured: {postgres['skipped']}.", ""]
    rows = []
    for level in r["raw"]:
        m = level["median"]
        rows.append(
            [
                "raw chain",
                level["concurrency"],
                value_range(m, "ops_per_s"),
                ms(m["p50_ms"]),
                ms(m["p99_ms"]),
                "",
                "-",
                cores(m, "chain_cores"),
                "-",
                cores(m, "clients_cores"),
                cores(m, "other_cores"),
                f"{m.get('machine_busy', 0):.0%}",
                int(m.get("errors", 0)),
            ]
        )
    raw_at = {level["concurrency"]: level["median"]["ops_per_s"] for level in r["raw"]}
    for configuration in r["configurations"]:
        for level in configuration["levels"]:
            m = level["median"]
            raw = raw_at.get(level["concurrency"])
            rows.append(
                [
                    configuration["label"],
                    level["concurrency"],
                    value_range(m, "ops_per_s"),
                    ms(m["p50_ms"]),
                    ms(m["p99_ms"]),
                    f"{m['ops_per_s'] / raw:.0%}" if raw else "-",
                    cores(m, "gateway_cores"),
                    cores(m, "chain_cores"),
                    cores(m, "database_cores") if configuration["database"] == "postgres" else "-",
                    cores(m, "clients_cores"),
                    cores(m, "other_cores"),
                    f"{m.get('machine_busy', 0):.0%}",
                    int(m.get("errors", 0)),
                ]
            )
    lines += table(
        [
            "configuration",
            "clients",
            "req/s",
            "p50 ms",
            "p99 ms",
            "vs raw",
            "gateway cores",
            "chain cores",
            "database cores",
            "clients cores",
            "other cores",
            "machine busy",
            "errors",
        ],
        rows,
    )
    burst = r["raw_burst"]["median"]
    best = r["best"]
    lines += [
        "",
        f"Raw burst: {value_range(burst, 'ops_per_s')} req/s. The raw chain's best: {best['raw_ops_per_s']:.1f} "
        f"req/s ({best['raw_mode']}).",
        "",
        "Each configuration at its best client count, and what held it there (the machine's cores when they were "
        "at least 90% busy; the chain when Anvil used a whole core, or the gateway reached 90% of the raw chain's "
        "rate at the same clients; else neither):",
        "",
    ]
    rows = []
    for configuration in r["configurations"]:
        b, limit = configuration["best"], configuration["limit"]
        rows.append(
            [
                configuration["label"],
                f"{b['ops_per_s']:.1f} at {clients(b['concurrency'])}",
                f"{b['ratio']:.0%}",
                ms(configuration["p99_ms_at_8"]),
                f"{configuration['start_s']:.0f}",
                f"{LIMIT_NAMES[limit['kind']]} ({limit['figures']})",
            ]
        )
    lines += table(
        ["configuration", "best req/s", "vs raw best", "p99 ms at 8 clients", "start s", "limit"],
        rows,
    )
    lines += ["", *_targets_paragraph(r, targets), "", "![gateway replicas](replicas.png)"]
    profile = r.get("profile")
    if profile:
        label = profile.get("configuration", "the best configuration")
        lines += profile_lines(profile, "Replicas profile", f"one worker of {label}")
    return lines


def _targets_paragraph(r: dict[str, Any], targets: dict[str, Any]) -> list[str]:
    best = r["best"]
    ratio_target = targets["replicas_vs_raw_ratio"]
    p99_target = targets["replicas_p99_ms_at_8_clients"]
    lines = [
        f"**Targets.** The best configuration is {best['configuration']}: {best['ops_per_s']:.1f} req/s at "
        f"{clients(best['concurrency'])}, **{best['ratio']:.0%}** of the raw chain's best (target at least "
        f"{ratio_target:.0%}: {'met' if best['ratio'] >= ratio_target else 'missed'}); its p99 at 8 clients "
        f"{ms(best['p99_ms_at_8'])} ms (target at most {p99_target:.0f} ms: "
        f"{_met(best['p99_ms_at_8'] is not None and best['p99_ms_at_8'] <= p99_target)})."
    ]
    g = r.get("growth")
    if g:
        rates = " → ".join(f"{step['ops_per_s']:.1f}" for step in g["rates"])
        counts = " → ".join(str(step["processes"]) for step in g["rates"])
        lines[-1] += (
            f" With replicas on PostgreSQL ({counts} processes) the rate went {rates} req/s; the last configuration "
            f"met {LIMIT_NAMES[g['limit']]} ({g['limit_figures']}). Target: the rate grows with replicas until the "
            f"chain or the cores are the limit: {_met(g['holds'])}."
        )
        stalled = [s for s in g["steps"] if not s["grew"] and not s["limit_before"]]
        if stalled:
            lines[-1] += " It did not grow from " + ", ".join(f"{s['from']} to {s['to']}" for s in stalled)
            lines[-1] += " processes although neither limit was reached: the gateway's own waits held it."
    else:
        lines[-1] += " Only one replica count was measured on PostgreSQL: no growth to judge."
    bottleneck = profile_bottleneck(r.get("profile"))
    if bottleneck:
        lines += ["", f"**Bottleneck (profile of {r['profile'].get('configuration')}).** {bottleneck}"]
    return lines


def _met(met: bool) -> str:
    return "met" if met else "**missed**"
