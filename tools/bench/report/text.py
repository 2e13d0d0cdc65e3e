"""How the report writes its figures: milliseconds, rates, ranges of repeats, counts, Markdown tables."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

NOISY_SPREAD = 0.25  # repeated runs that disagree by more than this (max - min over median) are called noisy

# The read endpoints measured at each ledger size, with their labels in tables and plots.
READ_ENDPOINTS = (
    ("list", "list (operator)"),
    ("list_member", "list (member)"),
    ("list_last_page", "list, last page"),
    ("get", "one certificate"),
)


def ms(value: Any) -> str:
    if value is None or value != value:  # None or NaN
        return "-"
    return f"{value:.1f}" if value < 100 else f"{value:,.0f}"


def rate(value: Any) -> str:
    return "-" if value is None else f"{value:,.1f}"


def value_range(median: dict[str, Any], key: str, fmt: Any = rate) -> str:
    low, high = median.get(f"{key}_min"), median.get(f"{key}_max")
    if low is None or high is None or low == high:
        return fmt(median.get(key))
    return f"{fmt(median.get(key))} ({fmt(low)}–{fmt(high)})"


def spread(median: dict[str, Any], key: str) -> float:
    value, low, high = median.get(key), median.get(f"{key}_min"), median.get(f"{key}_max")
    if not value or low is None or high is None:
        return 0.0
    return float((high - low) / value)


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def machine_line(results: dict[str, Any]) -> str:
    m, v = results["machine"], results["versions"]
    return (
        f"{m['cpu_count']} CPUs ({m['cpu_model']}), {m['memory_gib']} GiB memory, {m['platform']}; "
        f"Python {v['python']}, solc {v['solc']}, Anvil {v['anvil']}"
    )


def clients(count: int) -> str:
    return counted(count, "client")


def counted(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def load(values: Any) -> str:
    return "unknown" if not values else f"{values[0]:.2f}"
