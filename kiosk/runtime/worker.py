"""The engine on a thread of its own, so the screen never waits for the disk.

Anything posts typed inputs into the worker's inbox (kiosk.runtime.inbox), from any thread;
the worker owns the StationRuntime (and so every SQLite connection), steps it for each input
through the one Engine, ticks it a few times a second for timeouts and to notice a new
snapshot or a repaired disk, and hands each batch of events out, calling `on_events` (on
this thread) so a frontend draws as soon as there is something to draw.

This loop is the one loop of both frontends: the Kivy app (kiosk.ui.app) drains the batches
when woken; headless mode (kiosk.runtime.headless) sets `on_batch` to write them at once, and
`ends_at_end` so that the end of input, or a shutdown, ends the loop with an exit code.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from kiosk.domain.events import Event
from kiosk.runtime.engine import Engine
from kiosk.runtime.inbox import (
    ClearSession,
    Done,
    EndOfInput,
    Inbox,
    Input,
    Rejected,
    Scan,
    Shutdown,
    StillHere,
    Tick,
    drain_queue,
)
from kiosk.runtime.station import StationRuntime

log = logging.getLogger(__name__)

TICK_SECONDS = 0.25


@dataclass(frozen=True)
class Batch:
    events: list[Event]
    deadline: timedelta | None  # when the current session times out (monotonic)


class EngineWorker:
    def __init__(
        self,
        runtime: StationRuntime,
        tick_seconds: float = TICK_SECONDS,
        *,
        inbox: Inbox | None = None,
        ends_at_end: bool = False,
    ) -> None:
        self.runtime = runtime
        self.engine = Engine(runtime)
        self.tick_seconds = tick_seconds
        self.inbox = inbox or Inbox()
        self.on_events: Callable[[], None] | None = None  # called on the engine's thread
        # The frontend's hooks, all called on the engine's thread:
        self.on_batch: Callable[[Batch], None] | None = None  # takes each batch, not drained
        self.on_loop: Callable[[], None] | None = None  # each turn, before waiting (watchdog)
        self.on_input: Callable[[Input | None], None] | None = None  # woken, before a step
        self.on_end: Callable[[], None] | None = None  # the loop has ended
        self.wait_seconds: Callable[[], float | None] = lambda: self.tick_seconds
        self.ends_at_end = ends_at_end  # EndOfInput and Shutdown end the loop (headless)
        self.exit_code: int | None = None  # set when the loop ends at the end of input
        self.started = threading.Event()  # the station has started (or the engine failed)
        self.ended = threading.Event()
        self._outbox: queue.SimpleQueue[Batch] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._stop = Tick()  # this very instance, posted last, ends the loop
        self.failed: BaseException | None = None

    # Called from any thread ---------------------------------------------------------------

    def post(self, message: Input) -> None:
        self.inbox.post(message)

    def scan(self, text: str, source: str = "keyboard") -> None:
        self.inbox.post(Scan(text, source))

    def reject(self, shown: str, reason: str) -> None:
        """Data a scanner could not read (not text, too long): the patron is told."""
        self.inbox.post(Rejected(shown, reason))

    def done(self) -> None:
        self.inbox.post(Done())

    def still_here(self) -> None:
        self.inbox.post(StillHere())

    def clear_session(self) -> None:
        self.inbox.post(ClearSession())

    def drain(self) -> list[Batch]:
        return drain_queue(self._outbox)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="engine", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self.inbox.post(self._stop)  # after every input posted before it
        if self._thread is not None:
            self._thread.join(timeout)

    # The engine's thread ------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._publish(self.runtime.start())
            self.started.set()
            while True:
                if self.on_loop is not None:
                    self.on_loop()
                message = self.inbox.get(self.wait_seconds())
                if message is self._stop:
                    break
                if self.on_input is not None:
                    self.on_input(message)
                self._publish(self.engine.step(Tick() if message is None else message))
                if self.ends_at_end and isinstance(message, EndOfInput | Shutdown):
                    self.exit_code = 0
                    break
        except BaseException as exc:  # the UI shows out-of-service; the log has the cause
            log.exception("the engine stopped")
            self.failed = exc
            self._wake()
        finally:
            self.started.set()
            self.runtime.close()
            self.ended.set()
            if self.on_end is not None:
                self.on_end()

    def _publish(self, events: list[Event]) -> None:
        batch = Batch(events, self.runtime.deadline())
        if self.on_batch is not None:
            self.on_batch(batch)
            return
        self._outbox.put(batch)
        if events:
            self._wake()

    def _wake(self) -> None:
        if self.on_events is not None:
            self.on_events()
