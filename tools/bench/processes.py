"""CPU time of the processes a run measures (gateway workers, the chain, the database server), from /proc.

A rate that stops growing has hit a limit; which one is read off these figures: the
machine's cores all busy, or the chain's process on a core of its own, or neither.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User and system time a process has used so far; 0 for one that is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime and stime, fields 14 and 15


def children(pid: int) -> list[int]:
    """The direct children of a process."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def machine_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of every core since boot, from /proc/stat's first line."""
    values = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle and iowait
    return sum(values) - idle, sum(values)


class CpuMeter:
    """CPU used by groups of processes over a stretch of wall time, in cores (1.0: one core all along).

    ``groups`` maps a name to a function giving that group's process ids, asked at the start and at the
    end, so that a process replaced meanwhile still counts the time it was seen with.
    """

    def __init__(self, groups: Mapping[str, Callable[[], Sequence[int]]]) -> None:
        self.groups = dict(groups)
        self._start: dict[str, dict[int, float]] = {}
        self._started = 0.0
        self._ticks = (0, 0)

    def start(self) -> None:
        self._start = {name: {pid: cpu_seconds(pid) for pid in pids()} for name, pids in self.groups.items()}
        self._ticks = machine_ticks()
        self._started = time.perf_counter()

    def stop(self) -> dict[str, Any]:
        seconds = time.perf_counter() - self._started
        busy, total = machine_ticks()
        used: dict[str, Any] = {}
        for name, pids in self.groups.items():
            before = self._start.get(name, {})
            now = {pid: cpu_seconds(pid) for pid in set(pids()) | set(before)}
            spent = sum(max(0.0, now[pid] - before.get(pid, 0.0)) for pid in now)
            used[f"{name}_cores"] = round(spent / seconds, 3) if seconds > 0 else 0.0
        elapsed = total - self._ticks[1]
        used["machine_busy"] = round((busy - self._ticks[0]) / elapsed, 3) if elapsed > 0 else 0.0
        return used
