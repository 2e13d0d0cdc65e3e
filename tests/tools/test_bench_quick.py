"""The quick benchmark runs end to end and writes what its report promises.

It proves the benchmark works, on its own fresh chain and gateway; it asserts no
timing, since figures on a shared machine say nothing about correctness.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tools.bench import PROFILES, run
from tools.bench.report import README_END, README_START, update_readme

LATENCY_KEYS = ("p50_ms", "p95_ms", "p99_ms")
GAS_OPERATIONS = (
    "issue",
    "accept",
    "transfer-part",
    "whole transfer",
    "2-way split",
    "10-way split",
    "100-way split",
    "accept offer",
    "settle per cert",
    "ERC-20 transfer",
    "ERC-721 mint",
    "ERC-721 transfer",
    "ERC-1155 transfer",
)


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("bench")
    results = run("quick", output_dir=folder, readme=None, console=None)
    return folder, results


def test_every_section_ran(quick: tuple[Path, dict[str, Any]]) -> None:
    _, results = quick
    assert results["errors"] == [], results["errors"]


def test_results_json_has_every_figure(quick: tuple[Path, dict[str, Any]]) -> None:
    folder, _ = quick
    results = json.loads((folder / "results.json").read_text())
    for key in ("date", "machine", "versions", "targets", "verdicts", "gas", "throughput", "reads"):
        assert key in results
    for key in ("provenance", "indexer", "settlement", "replicas", "duration_s"):
        assert key in results
    assert {"cpu_count", "cpu_model", "memory_bytes"} <= results["machine"].keys()
    for package in ("solc", "anvil", "python", "web3", "fastapi", "uvicorn", "eth-account", "coincurve"):
        assert results["versions"][package], package

    gas = {row["operation"]: row for row in results["gas"]["operations"]}
    for operation in GAS_OPERATIONS:
        assert gas[operation]["gas_used"] > 0, operation
        assert {"vs_erc721_transfer", "network_ops_per_s"} <= gas[operation].keys()

    throughput = results["throughput"]
    levels = PROFILES["quick"].concurrency
    for side in ("gateway", "raw"):
        assert [level["concurrency"] for level in throughput[side]] == list(levels)
        for level in throughput[side]:
            assert {"ops_per_s", *LATENCY_KEYS} <= level["median"].keys()
            assert len(level["runs"]) == PROFILES["quick"].repeats
    assert {"gateway_ops_per_s", "raw_ops_per_s", "ratio"} <= throughput["best"].keys()
    assert "ops_per_s" in throughput["raw_burst"]["median"]

    sizes = results["reads"]["sizes"]
    assert len(sizes) == len(PROFILES["quick"].read_sizes)
    for size in sizes:
        for endpoint in ("list", "list_member", "list_last_page", "get", "get_member"):
            assert {"p50_ms", "p99_ms"} <= size["endpoints"][endpoint]["median"].keys()
        assert size["build"]["transactions"] > 0

    trees = results["provenance"]["trees"]
    assert [tree["nodes"] for tree in trees] == list(PROFILES["quick"].provenance_sizes)
    for tree in trees:
        assert "p50_ms" in tree["index"]["subtree"]["median"]
        if results["provenance"]["endpoint_present"]:
            assert "p50_ms" in tree["http_root"]["median"]

    for ledger in ("mixed", "large"):
        for variant in results["indexer"][ledger].values():
            assert variant["events"] > 0
            assert "events_per_s" in variant

    settlement = results["settlement"]
    assert settlement["certificates"] == PROFILES["quick"].settlement_certificates
    assert {"transactions", "gas_total", "gas_per_certificate", "seconds"} <= settlement.keys()

    replicas = results["replicas"]
    levels_measured = list(PROFILES["quick"].concurrency)
    assert [level["concurrency"] for level in replicas["raw"]] == levels_measured
    expected = [("sqlite", 1)]
    if not replicas["postgres"].get("skipped"):  # PostgreSQL is not on every machine; SQLite always is
        expected += [("postgres", n) for n in PROFILES["quick"].replicas]
    assert [(c["database"], c["processes"]) for c in replicas["configurations"]] == expected
    for configuration in replicas["configurations"]:
        assert [level["concurrency"] for level in configuration["levels"]] == levels_measured
        for level in configuration["levels"]:
            assert level["median"]["errors"] == 0, level["runs"][0]["first_error"]
            assert {"ops_per_s", *LATENCY_KEYS, "gateway_cores", "chain_cores", "machine_busy"} <= level[
                "median"
            ].keys()
        assert configuration["limit"]["kind"] in ("cores", "chain", "neither")
    assert {"configuration", "ops_per_s", "raw_ops_per_s", "ratio", "p99_ms_at_8"} <= replicas["best"].keys()

    targets = {verdict["target"] for verdict in results["verdicts"]}
    assert "gateway p99 latency at 8 clients" in targets
    assert any(target.startswith("gateway write rate") for target in targets)
    assert any(target.startswith("replicas: gateway write rate") for target in targets)
    assert "replicas: p99 latency at 8 clients, best configuration" in targets


def test_report_embeds_its_plots(quick: tuple[Path, dict[str, Any]]) -> None:
    folder, _ = quick
    report = (folder / "REPORT.md").read_text()
    for heading in ("## Targets", "## 1. Gas", "## 2. Gateway", "## 3. Reads", "## 4. Provenance"):
        assert heading in report
    for heading in ("## 5. Indexer", "## 6. Settlement", "## 7. Gateway replicas", "## Machine and versions"):
        assert heading in report
    assert "## Reproduce" in report
    for plot in ("gas.png", "throughput.png", "latency.png", "reads.png", "provenance.png", "replicas.png"):
        assert f"]({plot})" in report
        assert (folder / plot).stat().st_size > 0


def test_readme_section_is_appended_then_replaced(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# project\n\nIntro.\n")
    update_readme(readme, f"{README_START}\nfirst figures\n{README_END}")
    text = readme.read_text()
    assert text.startswith("# project\n\nIntro.\n")
    assert "## Performance" in text and "first figures" in text

    readme.write_text(text + "\n## Later section\n")
    update_readme(readme, f"{README_START}\nsecond figures\n{README_END}")
    text = readme.read_text()
    assert "second figures" in text and "first figures" not in text
    assert text.count("## Performance") == 1
    assert text.rstrip().endswith("## Later section")
