"""Headless mode: scans from standard input, what the screen shows on standard output.

The contract scripts and end-to-end tests use (README, "Headless mode"):
- one scan a line; `@done` is the patron pressing Done; end of input ends the session.
- with a manual clock (`--clock`), `@advance SECONDS` moves time forward (idle timeouts):
  the wall clock and the monotonic one that measures durations, together.
- every screen change is one JSON object a line with an `event` field, flushed at once;
  `item_checked_out` is written only after the checkout is durable.

Headless is a frontend of the engine: standard input's lines and the scanners' reads are
posted into one inbox as typed inputs, and this thread steps each through the one Engine,
in the order posted; the events go out as text.
"""

from __future__ import annotations

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
from kiosk.runtime.engine import Engine
from kiosk.runtime.inbox import (
    DonePressed,
    EndOfInput,
    Inbox,
    Input,
    Rejected,
    Scan,
    Shutdown,
    Tick,
)
from kiosk.runtime.receipts import PRINT_TIMEOUT, SessionReceipts
from kiosk.runtime.station import StationRuntime, shown

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
        self.on_loop = on_loop
        self.framer = LineFramer(MAX_LINE_BYTES)
        self.hub = hub  # scanners other than stdin (serial, evdev, fake)
        self.receipts = receipts
        self.max_wait = max_wait  # the loop comes round at least this often (the watchdog)
        self.engine = Engine(runtime)
        self.inbox = Inbox(wake_fd=True)

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

    def step(self, message: Input) -> None:
        """Post an input and step everything posted so far (scanners' reads first)."""
        self.inbox.post(message)
        self._take_inputs()

    def run(self, fd: int) -> int:
        try:
            return self._run(fd, self.inbox)
        finally:
            self.inbox.close()

    def _run(self, fd: int, inbox: Inbox) -> int:
        self.emit(self.runtime.start())
        if self.hub is not None:
            self.hub.start(inbox)
        if self.on_ready is not None:
            self.on_ready()
        selector = selectors.DefaultSelector()
        try:
            selector.register(fd, selectors.EVENT_READ, STDIN)
            stdin_selectable = True
        except (PermissionError, ValueError):
            stdin_selectable = False  # a regular file: always readable
        selector.register(inbox.fileno(), selectors.EVENT_READ, "scanners")
        # SIGTERM (systemctl stop, a shutdown) ends the session in progress and exits 0, said
        # as such, instead of the default death with status 143 and no session_ended.
        stop_read, stop_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        selector.register(stop_read, selectors.EVENT_READ, "stop")
        previous = signal.signal(signal.SIGTERM, lambda *_: os.write(stop_write, b"x"))
        try:
            while True:
                if self.on_loop is not None:
                    self.on_loop()
                timeout = self._wait_seconds() if stdin_selectable else 0
                if self.max_wait is not None:
                    timeout = self.max_wait if timeout is None else min(timeout, self.max_wait)
                ready = {key.data for key, _ in selector.select(timeout)}
                if not stdin_selectable:
                    ready.add(STDIN)
                if self.receipts is not None:
                    self.emit(self.receipts.poll(self.runtime.clock.monotonic()))
                if "stop" in ready:
                    self.step(Shutdown())
                    self._finish_receipts()
                    return 0
                if "scanners" in ready:
                    self._take_inputs()
                if not ready:
                    self.step(Tick())
                    continue
                if STDIN not in ready:
                    continue
                chunk = os.read(fd, 65536)
                if not chunk:
                    for frame in self.framer.finish():
                        self._handle(frame)
                    self.step(EndOfInput())
                    self._finish_receipts()
                    return 0
                for frame in self.framer.feed(chunk):
                    self._handle(frame)
        finally:
            signal.signal(signal.SIGTERM, previous)
            selector.close()
            os.close(stop_read)
            os.close(stop_write)
            if self.hub is not None:
                self.hub.stop()

    def _take_inputs(self) -> None:
        for message in self.inbox.drain():
            if isinstance(message, Scan) and message.source != STDIN and self.echo_input:
                self.out.write(f"> {shown(message.text)}   ({message.source})\n")
            self.emit(self.engine.step(message))

    def _finish_receipts(self) -> None:
        """At the end, wait (a bounded time) for the last receipt's outcome to report it."""
        if self.receipts is None:
            return
        give_up = time.monotonic() + PRINT_TIMEOUT.total_seconds() + 1
        while self.receipts.busy and time.monotonic() < give_up:
            threading.Event().wait(0.02)
            self.emit(self.receipts.poll(self.runtime.clock.monotonic()))

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

    def _handle(self, frame: Frame) -> None:
        if frame.overlong:
            text = frame.data.decode("utf-8", errors="replace")
            self.step(Rejected(text, f"longer than {MAX_LINE_BYTES} bytes", STDIN))
            return
        try:
            line = frame.data.decode("utf-8")
        except UnicodeDecodeError:
            text = frame.data.decode("utf-8", errors="replace")
            self.step(Rejected(text, "not text (the bytes are not UTF-8)", STDIN))
            return
        if not line.strip(BLANK):
            return
        if self.echo_input:
            self.out.write(f"> {shown(line.strip(BLANK))}\n")
        if line.startswith("@"):
            self._command(line.strip(BLANK))
            return
        self.step(Scan(line, STDIN))

    def _command(self, line: str) -> None:
        word, _, argument = line.partition(" ")
        if word == "@done":
            self.step(DonePressed())
        elif word == "@advance" and self.manual_clock is not None:
            try:
                seconds = float(argument)
                if not 0 <= seconds <= MAX_ADVANCE_SECONDS:
                    raise ValueError(seconds)
                self.manual_clock.advance(seconds)
            except (ValueError, OverflowError):
                seconds_needed = f"0 to {MAX_ADVANCE_SECONDS:,}"
                self.step(
                    Rejected(line, f"@advance needs a number of seconds ({seconds_needed})", STDIN)
                )
                return
            self.step(Tick())
        elif word == "@advance":
            self.step(Rejected(line, "@advance works only with --clock", STDIN))
        else:
            known = "known: @done, @advance"
            self.step(Rejected(line, f"unknown command {shown(word)} ({known})", STDIN))


def parse_clock(text: str, default_tz: object) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=default_tz)  # type: ignore[arg-type]
    return moment
