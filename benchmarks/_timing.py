"""Timing helpers shared by the speed benchmarks: interleaved repeats, medians, CPU and wall time, machine load.

Every speed benchmark times ours and its references in the same process, in
rounds: each round runs every callable once, in a rotating order, so that a
change in the machine's load hits all of them alike. The figures are medians
over the rounds, of CPU time (``time.process_time``: this process only, all its
threads; not counting time other processes hold the cores) and of wall time.
Ratios are taken on CPU time. The machine's load average is read at the start
and at the end; a table is marked ``LOADED`` when either 1-minute load exceeds
half the cores plus one (this benchmark's own process), or when the median wall
time of the runs exceeds their CPU time by more than 15 % (the process waited
for a core). Numbers from a loaded run are still printed, marked.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Timing:
    """CPU and wall seconds of each round of one callable, and its last result."""

    cpu_s: list[float] = field(default_factory=list)
    wall_s: list[float] = field(default_factory=list)
    result: object = None

    @property
    def cpu(self) -> float:
        """Median CPU seconds."""
        return statistics.median(self.cpu_s)

    @property
    def wall(self) -> float:
        """Median wall-clock seconds."""
        return statistics.median(self.wall_s)

    def as_dict(self) -> dict:
        return {"cpu_s": self.cpu, "wall_s": self.wall, "cpu_s_all": self.cpu_s, "wall_s_all": self.wall_s}


def interleaved(fns: dict[str, Callable[[], object]], repeats: int, warmup: bool = True) -> dict[str, Timing]:
    """Time callables in ``repeats`` rounds of one call each, in a rotating order.

    With ``warmup`` every callable first runs once untimed (JIT, page cache); its
    result is kept when there are no rounds.
    """
    out = {name: Timing() for name in fns}
    names = list(fns)
    if warmup:
        for name in names:
            out[name].result = fns[name]()
    for r in range(repeats):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            c0, t0 = time.process_time(), time.perf_counter()
            result = fns[name]()
            out[name].wall_s.append(time.perf_counter() - t0)
            out[name].cpu_s.append(time.process_time() - c0)
            out[name].result = result
    return out


def load_average() -> list[float] | None:
    """The 1-, 5- and 15-minute load averages, or None where the OS has none."""
    return list(os.getloadavg()) if hasattr(os, "getloadavg") else None


def cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


@dataclass
class LoadReport:
    """The machine's load around a benchmark and the verdict on it."""

    start: list[float] | None
    end: list[float] | None
    cores: int
    wall_over_cpu: float | None
    loaded: bool
    why: str

    def banner(self) -> str:
        """One line for the top of a table."""
        la = "n/a" if self.start is None else f"{self.start[0]:.2f} at start, {self.end[0]:.2f} at end"
        ratio = "" if self.wall_over_cpu is None else f"; median wall/CPU time {self.wall_over_cpu:.2f}"
        verdict = f"LOADED ({self.why}): ratios are less reliable" if self.loaded else "quiet"
        return f"machine: {self.cores} cores, 1-minute load average {la}{ratio} -> {verdict}"

    def as_dict(self) -> dict:
        return {
            "load_average_start": self.start,
            "load_average_end": self.end,
            "cores": self.cores,
            "median_wall_over_cpu": self.wall_over_cpu,
            "loaded": self.loaded,
            "why": self.why,
        }


def load_report(start: list[float] | None, timings: list[dict[str, Timing]] | None = None) -> LoadReport:
    """Judge the load: ``start`` from :func:`load_average` before the runs, ``timings`` from :func:`interleaved`.

    Only single-threaded callables should be in ``timings`` (a multi-threaded one has
    CPU time above its wall time).
    """
    end = load_average()
    n = cores()
    limit = n / 2 + 1
    reasons = []
    if start is not None and end is not None and max(start[0], end[0]) > limit:
        reasons.append(f"load average {max(start[0], end[0]):.2f} > {limit:g}")
    ratios = [
        w / c for group in (timings or []) for t in group.values() for w, c in zip(t.wall_s, t.cpu_s) if c > 0.005
    ]  # runs long enough for the clocks' resolution
    wall_over_cpu = statistics.median(ratios) if ratios else None
    if wall_over_cpu is not None and wall_over_cpu > 1.15:
        reasons.append(f"wall time {wall_over_cpu:.2f}x CPU time")
    return LoadReport(start, end, n, wall_over_cpu, bool(reasons), "; ".join(reasons))
