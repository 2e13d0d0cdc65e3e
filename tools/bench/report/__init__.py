"""Writes a benchmark's results: ``results.json``, ``REPORT.md`` with its PNG plots, and the README's section.

Everything printed here comes from the results of the run; nothing is typed in.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tools.bench.report import plots
from tools.bench.report.document import render
from tools.bench.report.readme import README_END, README_START, readme_section, update_readme
from tools.bench.report.verdicts import verdicts
from tools.bench.report.write_sections import bottleneck_summary

__all__ = [
    "README_END",
    "README_START",
    "bottleneck_summary",
    "readme_section",
    "render",
    "update_readme",
    "verdicts",
    "write",
]


def write(results: dict[str, Any], output_dir: Path, *, readme: Path | None = None) -> None:
    output_dir.mkdir(parents=True, exist_ok=True)
    drawn = plots.draw(results, output_dir)
    results["plots"] = drawn
    (output_dir / "results.json").write_text(json.dumps(results, indent=2, sort_keys=False) + "\n")
    (output_dir / "REPORT.md").write_text(render(results, drawn))
    if readme is not None:
        update_readme(readme, readme_section(results, output_dir, readme))
