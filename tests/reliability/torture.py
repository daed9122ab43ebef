"""The long/short switch of the reliability tests, and the records they leave for the report.

`KIOSK_TORTURE=long` (set by `make torture`) runs each test at full size; anything else (as in
`make test`) runs the short form. `KIOSK_TORTURE_RECORDS=FILE` makes each test append one JSON
line saying what it tried, how many times and what was lost; `tests/reliability/report.py`
turns those lines into docs/RELIABILITY.md. Without it nothing is written anywhere, so a test
run never changes the repository.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings

FORM_ENV = "KIOSK_TORTURE"
RECORDS_ENV = "KIOSK_TORTURE_RECORDS"
LONG = os.environ.get(FORM_ENV, "") == "long"
FORM = "long" if LONG else "short"

T = TypeVar("T")


def scale(short: T, long: T) -> T:
    """This run's figure: the long one under KIOSK_TORTURE=long, else the short one."""
    return long if LONG else short


def examples(short: int, long: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Hypothesis settings for a property over real files and processes: this many examples,
    no per-example deadline (a durable commit takes what the disk takes)."""
    return settings(
        max_examples=scale(short, long),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


class Clock:
    """Seconds since the test began, for the record (never for a decision)."""

    def __init__(self) -> None:
        self._start = time.monotonic()

    def seconds(self) -> float:
        return round(time.monotonic() - self._start, 1)


def record(
    check: str,
    *,
    tried: str,
    times: int,
    lost: int,
    outcome: str,
    seconds: float | None = None,
    **figures: Any,
) -> None:
    """One line for the report: `check` (what was tried, in a few words), `tried` (how, and
    what one "time" is), `times`, `lost` (checkouts lost or repeated, files silently replaced:
    must be 0), `outcome` (what happened, in a sentence), and any other figures."""
    entry = {
        "check": check,
        "tried": tried,
        "times": times,
        "lost": lost,
        "outcome": outcome,
        "form": FORM,
        "seconds": seconds,
        "figures": figures,
    }
    print(json.dumps(entry, ensure_ascii=False))
    target = os.environ.get(RECORDS_ENV)
    if not target:
        return
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(entry, ensure_ascii=False) + "\n")
