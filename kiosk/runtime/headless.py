"""Headless mode: scans from standard input, what the screen shows on standard output.

The contract scripts and end-to-end tests use (README, "Headless mode"):
- one scan a line; `@done` is the patron pressing Done; end of input ends the session.
- with a manual clock (`--clock`), `@advance SECONDS` moves time forward (idle timeouts):
  the wall clock and the monotonic one that measures durations, together.
- every screen change is one JSON object a line with an `event` field, flushed at once;
  `item_checked_out` is written only after the checkout is durable.

Headless is a frontend of the engine, as the Kivy app is: the engine's loop
(kiosk.runtime.worker.EngineWorker) runs on its thread exactly as in the app, and owns the
station. This (main) thread only reads standard input: its lines become typed inputs posted
into the one inbox, as the scanners' reads are (`@advance` too, so the manual clock moves in
order with the inputs around it); the end of input posts EndOfInput, SIGTERM posts Shutdown.
The engine hands each batch of events to this frontend, which writes them (JSON lines, or
the screen's words) and feeds the receipts; the exit code is the one the engine's end gives.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import TextIO

from hardware.framing import Frame, LineFramer
from kiosk.domain.events import Event
from kiosk.presenter.text import TextScreen
from kiosk.runtime.clock import ManualClock
from kiosk.runtime.devices import ScannerHub
from kiosk.runtime.inbox import (
    Advance,
    Done,
    EndOfInput,
    Inbox,
    Input,
    Rejected,
    Scan,
    Shutdown,
)
from kiosk.runtime.lifecycle import Parts
from kiosk.runtime.receipts import PRINT_TIMEOUT, SessionReceipts
from kiosk.runtime.station import StationRuntime, shown
from kiosk.runtime.worker import Batch, EngineWorker

MAX_LINE_BYTES = 1024
RECHECK_SECONDS = 0.5  # how often an idle station looks at its snapshot, spool and staff requests
MAX_ADVANCE_SECONDS = 366 * 24 * 3600
STDIN = "stdin"  # the source of scans typed or piped in
BLANK = " \t"  # only these make a line empty; other control characters are refused


class HeadlessRunner:
    def __init__(
        self,
        runtime: StationRuntime,
        out: TextIO,
        *,
        text_screen: TextScreen | None = None,
        echo_input: bool = False,
        manual_clock: ManualClock | None = None,
        on_ready: Callable[[], None] | None = None,
        on_loop: Callable[[], None] | None = None,
        hub: ScannerHub | None = None,
        receipts: SessionReceipts | None = None,
        max_wait: float | None = None,
    ) -> None:
        self.runtime = runtime
        self.out = out
        self.text_screen = text_screen  # None: JSON lines (the contract)
        self.echo_input = echo_input
        self.manual_clock = manual_clock
        self.on_ready = on_ready
        self.framer = LineFramer(MAX_LINE_BYTES)
        self.hub = hub  # scanners other than stdin (serial, evdev, fake)
        self.receipts = receipts
        self.max_wait = max_wait  # the loop comes round at least this often (the watchdog)
        self.inbox = Inbox()
        self.worker = EngineWorker(runtime, inbox=self.inbox, ends_at_end=True)
        self.worker.on_batch = self._batch
        self.worker.on_loop = on_loop
        self.worker.on_input = self._woken
        self.worker.wait_seconds = self._wait
        # The echo of a line of standard input (--show text), written by the engine's thread
        # just before it steps that line's input, so that it comes before the input's events.
        self._echoes: dict[int, tuple[Input, str]] = {}
        self._echoes_lock = threading.Lock()

    def emit(self, events: list[Event]) -> None:
        for event in events:
            if self.text_screen is not None:
                for line in self.text_screen.show(event, self.runtime.clock.monotonic()):
                    self.out.write(line + "\n")
            else:
                self.out.write(json.dumps(event.to_dict(), ensure_ascii=False) + "\n")
        if events:
            self.out.flush()
            if self.receipts is not None:
                clock = self.runtime.clock
                self.receipts.observe(events, clock.now(), clock.monotonic())

    def post(self, message: Input, echo: str | None = None) -> None:
        """Post an input (from any thread); `echo`: the line it came from, for --show text."""
        if echo is not None and self.echo_input:
            with self._echoes_lock:
                self._echoes[id(message)] = (message, echo)
        self.inbox.post(message)

    def run(self, fd: int) -> int:
        """Read standard input (`fd`) until its end, or SIGTERM; the exit code."""
        wake_read, wake_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)

        def ended() -> None:
            with contextlib.suppress(OSError):
                os.write(wake_write, b"x")

        self.worker.on_end = ended
        try:
            with Parts() as parts:
                parts.start("the engine", self.worker.start, self.worker.stop)
                # SIGTERM (systemctl stop, a shutdown) ends the session in progress and exits
                # 0, said as such, instead of the default death with status 143.
                previous = signal.signal(signal.SIGTERM, lambda *_: self.inbox.post(Shutdown()))
                parts.on_stop("SIGTERM", lambda: signal.signal(signal.SIGTERM, previous))
                self.worker.started.wait()
                if self.hub is not None:
                    hub = self.hub
                    parts.start("the scanners", lambda: hub.start(self.inbox), hub.stop)
                if self.on_ready is not None and self.worker.failed is None:
                    self.on_ready()
                self._read(fd, wake_read)
                self.worker.ended.wait()
                if self.worker.failed is not None:
                    raise self.worker.failed
                self._finish_receipts()
        finally:
            os.close(wake_read)
            os.close(wake_write)
        return 0 if self.worker.exit_code is None else self.worker.exit_code

    # The main thread: standard input -----------------------------------------------------

    def _read(self, fd: int, wake: int) -> None:
        with selectors.DefaultSelector() as selector:
            try:
                selector.register(fd, selectors.EVENT_READ, STDIN)
                stdin_selectable = True
            except (PermissionError, ValueError):
                stdin_selectable = False  # a regular file: always readable
            selector.register(wake, selectors.EVENT_READ, "ended")
            while not self.worker.ended.is_set():
                if stdin_selectable:
                    ready = {key.data for key, _ in selector.select()}
                    if STDIN not in ready:
                        continue
                chunk = os.read(fd, 65536)
                if not chunk:
                    for frame in self.framer.finish():
                        self._handle(frame)
                    self.post(EndOfInput())
                    return
                for frame in self.framer.feed(chunk):
                    self._handle(frame)

    def _handle(self, frame: Frame) -> None:
        if frame.overlong:
            text = frame.data.decode("utf-8", errors="replace")
            self.post(Rejected(text, f"longer than {MAX_LINE_BYTES} bytes", STDIN))
            return
        try:
            line = frame.data.decode("utf-8")
        except UnicodeDecodeError:
            text = frame.data.decode("utf-8", errors="replace")
            self.post(Rejected(text, "not text (the bytes are not UTF-8)", STDIN))
            return
        if not line.strip(BLANK):
            return
        echo = shown(line.strip(BLANK))
        if line.startswith("@"):
            self.post(self._command(line.strip(BLANK)), echo)
            return
        self.post(Scan(line, STDIN), echo)

    def _command(self, line: str) -> Input:
        word, _, argument = line.partition(" ")
        seconds_needed = f"0 to {MAX_ADVANCE_SECONDS:,}"
        refused = Rejected(line, f"@advance needs a number of seconds ({seconds_needed})", STDIN)
        if word == "@done":
            return Done()
        if word == "@advance" and self.manual_clock is not None:
            try:
                seconds = float(argument)
            except (ValueError, OverflowError):
                return refused
            if not 0 <= seconds <= MAX_ADVANCE_SECONDS:
                return refused
            return Advance(seconds, refused)  # the engine's thread moves the clock, in order
        if word == "@advance":
            return Rejected(line, "@advance works only with --clock", STDIN)
        known = "known: @done, @advance"
        return Rejected(line, f"unknown command {shown(word)} ({known})", STDIN)

    # The engine's thread --------------------------------------------------------------------

    def _batch(self, batch: Batch) -> None:
        self.emit(batch.events)

    def _woken(self, message: Input | None) -> None:
        """Before the engine steps an input (or a tick): the printer's answers, then the echo."""
        if self.receipts is not None:
            self.emit(self.receipts.poll(self.runtime.clock.monotonic()))
        if message is None:
            return
        with self._echoes_lock:
            echoed = self._echoes.pop(id(message), None)
        if echoed is not None and echoed[0] is message:
            self.out.write(f"> {echoed[1]}\n")
        elif isinstance(message, Scan) and message.source != STDIN and self.echo_input:
            self.out.write(f"> {shown(message.text)}   ({message.source})\n")

    def _wait(self) -> float | None:
        timeout = self._wait_seconds()
        if self.max_wait is not None:
            timeout = self.max_wait if timeout is None else min(timeout, self.max_wait)
        return timeout

    def _wait_seconds(self) -> float | None:
        if self.receipts is not None and self.receipts.busy:
            return 0.05  # look for the printer's answer
        if self.manual_clock is not None:
            return None  # time only moves with @advance
        deadline = self.runtime.deadline()
        if deadline is None:
            return RECHECK_SECONDS
        left = (deadline - self.runtime.clock.monotonic()).total_seconds()
        return max(0.0, min(left, RECHECK_SECONDS))

    def _finish_receipts(self) -> None:
        """At the end, wait (a bounded time) for the last receipt's outcome to report it."""
        if self.receipts is None:
            return
        give_up = time.monotonic() + PRINT_TIMEOUT.total_seconds() + 1
        while self.receipts.busy and time.monotonic() < give_up:
            threading.Event().wait(0.02)
            self.emit(self.receipts.poll(self.runtime.clock.monotonic()))


def parse_clock(text: str, default_tz: object) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=default_tz)  # type: ignore[arg-type]
    return moment
