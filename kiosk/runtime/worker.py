"""The engine on a thread of its own, so the screen never waits for the disk.

The UI posts inputs (scans, Done, "still here") and drains batches of events; the worker
owns the StationRuntime (and so every SQLite connection), steps it for each input and ticks
it a few times a second for timeouts and to notice a new snapshot or a repaired disk.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from datetime import timedelta

from kiosk.domain.events import Event
from kiosk.runtime.station import StationRuntime

log = logging.getLogger(__name__)

TICK_SECONDS = 0.25


@dataclass(frozen=True)
class Batch:
    events: list[Event]
    deadline: timedelta | None  # when the current session times out (monotonic)


class EngineWorker:
    def __init__(self, runtime: StationRuntime, tick_seconds: float = TICK_SECONDS) -> None:
        self.runtime = runtime
        self.tick_seconds = tick_seconds
        self._inbox: queue.Queue[tuple[str, str]] = queue.Queue()
        self._outbox: queue.Queue[Batch] = queue.Queue()
        self._thread: threading.Thread | None = None
        self.failed: BaseException | None = None

    # Called from the UI thread ------------------------------------------------------------

    def scan(self, text: str) -> None:
        self._inbox.put(("scan", text))

    def reject(self, shown: str, reason: str) -> None:
        """Data a scanner could not read (not text, too long): the patron is told."""
        self._inbox.put(("reject", f"{reason}\x00{shown}"))

    def done(self) -> None:
        self._inbox.put(("done", ""))

    def still_here(self) -> None:
        self._inbox.put(("still_here", ""))

    def clear_session(self) -> None:
        self._inbox.put(("clear_session", ""))

    def drain(self) -> list[Batch]:
        batches = []
        while True:
            try:
                batches.append(self._outbox.get_nowait())
            except queue.Empty:
                return batches

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="engine", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._inbox.put(("stop", ""))
        if self._thread is not None:
            self._thread.join(timeout)

    # The engine's thread ------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._publish(self.runtime.start())
            while True:
                try:
                    kind, text = self._inbox.get(timeout=self.tick_seconds)
                except queue.Empty:
                    self._publish(self.runtime.tick())
                    continue
                if kind == "stop":
                    break
                self._publish(self.handle(kind, text))
        except BaseException as exc:  # the UI shows out-of-service; the log has the cause
            log.exception("the engine stopped")
            self.failed = exc
        finally:
            self.runtime.close()

    def handle(self, kind: str, text: str) -> list[Event]:
        if kind == "scan":
            return self.runtime.scan(text)
        if kind == "reject":
            reason, _, shown = text.partition("\x00")
            return self.runtime.reject(shown, reason)
        if kind == "done":
            return self.runtime.done()
        if kind == "still_here":
            return self.runtime.still_here()
        if kind == "clear_session":
            return self.runtime.clear_session()
        raise ValueError(f"unknown input {kind!r}")

    def _publish(self, events: list[Event]) -> None:
        self._outbox.put(Batch(events, self.runtime.deadline()))
