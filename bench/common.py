"""What the suite's benchmarks share: a figure (ours, the baseline, the target), summaries of
samples, a process's memory from /proc, and child processes that report one JSON line."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Figure:
    """One line of the table: what we measured, for the kiosk and for the plainest way to
    do the same job, in the same run."""

    group: str  # the JSON file it goes to: bench/results/<group>.json
    name: str
    unit: str  # s, ms, us, MB, rows/s, checkouts/s
    ours: float
    baseline: float | None
    baseline_is: str  # what the baseline is, in a few words
    target: str = ""  # in words, for the table; "" when the issue sets none
    met: bool | None = None  # None: no target
    higher_is_better: bool = False
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        """Ours over the baseline: for times, how many times the baseline's; for rates,
        what share of the baseline's rate."""
        if self.baseline is None or self.baseline == 0:
            return None
        return self.ours / self.baseline

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        # Four significant digits: a ratio far below 1 (a slow way made quick) keeps its size.
        data["ratio"] = None if self.ratio is None else float(f"{self.ratio:.4g}")
        return data


def summary_us(seconds: Sequence[float]) -> dict[str, float]:
    """Median, p90, p99 and the worst of samples, in microseconds."""
    us = sorted(s * 1e6 for s in seconds)
    cuts = statistics.quantiles(us, n=100, method="inclusive") if len(us) > 1 else us * 99
    return {
        "n": len(us),
        "median": round(statistics.median(us), 2),
        "p90": round(cuts[89], 2),
        "p99": round(cuts[98], 2),
        "max": round(us[-1], 2),
    }


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def proc_status(pid: int | str = "self") -> dict[str, int]:
    """VmRSS and VmHWM (the peak resident set) of a process, in bytes."""
    found: dict[str, int] = {}
    with Path(f"/proc/{pid}/status").open(encoding="ascii") as handle:
        for line in handle:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                found[key] = int(value.split()[0]) * 1024
    return found


def mb(size: int | float) -> float:
    return round(size / (1 << 20), 1)


def child(module: str, *args: str, timeout: float = 600, env: dict[str, str] | None = None) -> Any:
    """Run `python -m bench.<module> ARGS` and return the JSON its last line of output holds
    (a child process: its peak memory is its own, and a crash cannot take the suite down)."""
    result = subprocess.run(
        [sys.executable, "-m", f"bench.{module}", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"bench.{module} {' '.join(args)} failed ({result.returncode}):\n{result.stderr}"
        )
    return json.loads(result.stdout.strip().splitlines()[-1])


def alternate(runs: int, *jobs: Callable[[], Any]) -> list[list[Any]]:
    """Each job `runs` times, taking turns (and turning the order round each time), so a
    busy moment of the machine falls on all of them alike."""
    results: list[list[Any]] = [[] for _ in jobs]
    for n in range(runs):
        order = range(len(jobs)) if n % 2 == 0 else reversed(range(len(jobs)))
        for i in order:
            results[i].append(jobs[i]())
    return results


def machine() -> dict[str, Any]:
    load = os.getloadavg()
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "cpu": _cpu_model(),
        "memory_mb": mb(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")),
        "load_average_at_start": [round(x, 2) for x in load],
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
