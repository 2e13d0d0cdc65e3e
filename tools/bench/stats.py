"""Percentiles and medians over repeated runs, without numpy."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from typing import Any


def percentile(values: Sequence[float], fraction: float) -> float:
    """The ``fraction`` quantile (0 to 1) by linear interpolation between closest ranks."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def latency_summary(seconds: Sequence[float]) -> dict[str, float | int]:
    """p50, p95, p99, mean and max of latencies given in seconds, in milliseconds."""
    ms = [s * 1000 for s in seconds]
    return {
        "samples": len(ms),
        "p50_ms": round(percentile(ms, 0.50), 3),
        "p95_ms": round(percentile(ms, 0.95), 3),
        "p99_ms": round(percentile(ms, 0.99), 3),
        "mean_ms": round(statistics.fmean(ms), 3) if ms else float("nan"),
        "max_ms": round(max(ms), 3) if ms else float("nan"),
    }


def median_of(runs: Sequence[Mapping[str, Any]], keys: Iterable[str]) -> dict[str, float]:
    """The median of each key over repeated runs, with its spread (min and max) beside it."""
    summary: dict[str, float] = {}
    for key in keys:
        values = [float(run[key]) for run in runs if run.get(key) is not None]
        if not values:
            continue
        summary[key] = round(statistics.median(values), 3)
        summary[f"{key}_min"] = round(min(values), 3)
        summary[f"{key}_max"] = round(max(values), 3)
    return summary


def spread(values: Sequence[float]) -> float:
    """(max - min) / median: how far repeated runs disagree, 0 for one run."""
    if len(values) < 2:
        return 0.0
    middle = statistics.median(values)
    return (max(values) - min(values)) / middle if middle else float("inf")
