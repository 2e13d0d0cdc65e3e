"""The report's sections on reads: certificate reads at each ledger size, provenance, indexer catch-up."""

from __future__ import annotations

from typing import Any

from tools.bench.report.text import ms, rate, table


def reads_section(results: dict[str, Any]) -> list[str]:
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
                    f"{ms(e[k]['median']['p50_ms'])} / {ms(e[k]['median']['p99_ms'])}"
                    for k in ("list", "list_member", "list_last_page", "get", "get_member")
                ),
            ]
        )
    lines += table(
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
                    f"{rate(g['ops_per_s'])} ops/s, p50 {ms(g['p50_ms'])} ms",
                    f"{rate(r['ops_per_s'])} ops/s, p50 {ms(r['p50_ms'])} ms",
                    g["requests"],
                    g["errors"] + r["errors"],
                ]
            )
        lines += table(["certificates", "gateway", "raw", "requests each", "errors"], rows)
    return lines


def provenance_section(results: dict[str, Any]) -> list[str]:
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
            f"{ms(index['subtree']['median']['p50_ms'])} / {ms(index['subtree']['median']['p99_ms'])}",
            f"{ms(index['path_to_root']['median']['p50_ms'])} / {ms(index['path_to_root']['median']['p99_ms'])}",
        ]
        if p["endpoint_present"]:
            for key in ("http_root", "http_root_after_change", "http_leaf"):
                figures = tree.get(key, {}).get("median", {})  # results of earlier runs may lack a figure
                row.append(f"{ms(figures.get('p50_ms'))} / {ms(figures.get('p99_ms'))}")
            row.append(f"{tree['http_root_bytes']:,}")
            plain = tree["http_certificate"]["median"]
            row.append(f"{ms(plain['p50_ms'])} / {ms(plain['p99_ms'])}")
        rows.append(row)
    lines += table(header, rows)
    if p["endpoint_present"]:
        statuses = {f"{tree['nodes']:,}": tree["http_root"]["rounds"][0]["statuses"] for tree in p["trees"]}
        bad = {k: v for k, v in statuses.items() if set(v) != {"200"}}
        if bad:
            lines += ["", f"Non-200 answers from the provenance endpoint: {bad}."]
    lines += ["", "![provenance](provenance.png)"]
    return lines


def indexer_section(results: dict[str, Any]) -> list[str]:
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
    lines += table(["ledger", "timestamps from", "events", "blocks", "rebuild s", "events/s"], rows)
    return lines
