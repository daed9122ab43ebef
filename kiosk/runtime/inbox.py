"""The engine's one inbox: every input as a typed message, posted from any thread.

The inputs are the domain's own (Done, StillHere, ClearSession, Tick, EndOfInput, Shutdown:
one type each, from the window, staff and headless alike) plus the three only the shell
has: a raw scan, a rejected read and a manual clock's step.

Scanner threads, the window (wedge scans, Done, "still here"), staff jobs and headless
standard input all post here; one owner takes the inputs in order and steps the station
(kiosk.runtime.engine). An input is a value, never a string to be parsed again.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from kiosk.domain.station_types import (
    ClearSession,
    Done,
    EndOfInput,
    Shutdown,
    StillHere,
    Tick,
)

__all__ = [
    "Advance",
    "ClearSession",
    "Done",
    "EndOfInput",
    "Inbox",
    "Input",
    "Rejected",
    "Scan",
    "ShellInput",
    "Shutdown",
    "StillHere",
    "Tick",
    "drain_queue",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Scan:
    text: str
    source: str = "keyboard"  # the scanner's name, for the log


@dataclass(frozen=True)
class Rejected:
    """Data a scanner could not read (not text, too long): the patron is told."""

    shown: str  # made printable and cut short
    reason: str  # plain words: "not UTF-8 text", "longer than 64 characters", ...
    source: str = "keyboard"


@dataclass(frozen=True)
class Advance:
    """A manual clock (headless `--clock`, `@advance SECONDS`) moves forward, in order with
    the inputs around it: the wall clock and the monotonic one together, then a tick."""

    seconds: float
    refused: Rejected | None = None  # what is said if the clock cannot go that far


# What only the shell knows about: a raw scan (the engine looks it up before the domain sees
# it), a read that was not a barcode, and a manual clock's step. Everything else posted is
# the domain's own input type (kiosk.domain.station_types), the one `step` takes.
ShellInput = Scan | Rejected | Advance

Input = ShellInput | Done | StillHere | ClearSession | Tick | EndOfInput | Shutdown


T = TypeVar("T")


def drain_queue(waiting: queue.SimpleQueue[T] | queue.Queue[T]) -> list[T]:
    """Everything in a queue now, without waiting (the queues the engine, the printer and
    staff jobs hand their results over in)."""
    out: list[T] = []
    while True:
        try:
            out.append(waiting.get_nowait())
        except queue.Empty:
            return out


class Inbox:
    """A thread-safe queue of inputs. Its owner either blocks in `get`, or waits on
    `fileno()` (with wake_fd=True: a self-pipe, readable while inputs wait) in a select loop
    and then `drain`s.

    `takes_scans`: False while nobody may start a session (the staff screen is up). Scans
    and rejected reads from every scanner are then dropped as they are posted, here and
    nowhere else: when they were read decides, not when the engine gets to them."""

    def __init__(self, *, wake_fd: bool = False) -> None:
        self.takes_scans: Callable[[], bool] = lambda: True
        self._queue: queue.SimpleQueue[Input] = queue.SimpleQueue()
        self._pipe: tuple[int, int] | None = None
        if wake_fd:
            self._pipe = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)

    def post(self, message: Input) -> None:
        if isinstance(message, Scan | Rejected) and not self.takes_scans():
            log.info("a scan during staff mode was ignored")
            return
        self._queue.put(message)
        if self._pipe is not None:
            with contextlib.suppress(BlockingIOError, OSError):  # full: the owner is awake
                os.write(self._pipe[1], b"!")

    def get(self, timeout: float | None) -> Input | None:
        """The next input, or None after `timeout` seconds without one."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def drain(self) -> list[Input]:
        if self._pipe is not None:
            with contextlib.suppress(BlockingIOError):
                while os.read(self._pipe[0], 4096):
                    pass
        return drain_queue(self._queue)

    def fileno(self) -> int:
        if self._pipe is None:
            raise ValueError("this inbox has no wake-up descriptor")
        return self._pipe[0]

    def close(self) -> None:
        if self._pipe is not None:
            for fd in self._pipe:
                os.close(fd)
            self._pipe = None
