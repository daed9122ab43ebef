"""Where time comes from: the system clock, or a clock that only moves when told to.

Two clocks, as on any Linux board: `now()` is the wall clock, which names moments (checkout
stamps, due dates, receipts) and which NTP may set back or forward at any time on a board
without a real-time clock; `monotonic()` only ever moves forward at the pace of real time,
and every duration (idle timeout, screen timers, the print timeout) is measured on it. A
monotonic instant is the time since the clock's own arbitrary origin, as a `timedelta`, so it
adds to and compares with the configured durations directly.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...

    def monotonic(self) -> timedelta: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> timedelta:
        return timedelta(seconds=time.monotonic())


class ManualClock:
    """For scripted runs and tests: time stands still until `advance` is called. `set_wall`
    and `jump` move only the wall clock, backwards too, as NTP does to a board that booted
    with the wrong time."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("the start time needs a time zone")
        self._now = start
        self._monotonic = timedelta(0)

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> timedelta:
        return self._monotonic

    def advance(self, seconds: float) -> None:
        """Time passes: both clocks move forward."""
        if seconds < 0:
            raise ValueError("time does not go backwards")
        self._now += timedelta(seconds=seconds)
        self._monotonic += timedelta(seconds=seconds)

    def set_wall(self, moment: datetime) -> None:
        """The wall clock is set (NTP, an admin): no time passes."""
        if moment.tzinfo is None:
            raise ValueError("the wall time needs a time zone")
        self._now = moment

    def jump(self, seconds: float) -> None:
        """The wall clock is set `seconds` forward (or back, when negative)."""
        self._now += timedelta(seconds=seconds)
