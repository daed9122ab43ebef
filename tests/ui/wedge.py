"""What the controller tests share: driving a KioskController as the window does (keys typed
as a keyboard-wedge scanner types them, a fast burst on the wedge's own clock, then Enter;
`pump()` polled, with a bound, until the expected view appears), and a jammed printer."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from hardware.printer import PrinterState
from hardware.receipt import Document
from kiosk.presenter.presenter import ScreenView
from kiosk.presenter.staff import StaffScreenView
from kiosk.ui.controller import KioskController

WAIT_SECONDS = 10.0  # a guard against a hung thread, not a timing assumption
KEY_GAP = 0.005  # a scanner types a key every 5 ms (the wedge's own clock, not the kiosk's)

Shown = ScreenView | StaffScreenView


class Wedge:
    """Mixed into a test's station: it has the controller and the wedge's clock."""

    controller: KioskController
    keys_at: float

    def scan(self, text: str, gap: float = KEY_GAP) -> None:
        """Type `text` and Enter, `gap` seconds apart (fast: a scanner; slow: a person)."""
        for char in text:
            self.keys_at += gap
            self.controller.key(char, self.keys_at)
        self.keys_at += gap
        self.controller.enter(self.keys_at)
        self.keys_at += 1.0

    def pump_until(self, condition: Callable[[Shown], bool], what: str) -> Shown:
        give_up = time.monotonic() + WAIT_SECONDS
        while True:
            shown = self.controller.pump()
            if condition(shown):
                return shown
            if time.monotonic() > give_up:
                pytest.fail(f"no {what} within {WAIT_SECONDS} s; the screen shows {shown}")
            threading.Event().wait(0.01)


class JammedPrinter:
    """Takes a job and does not answer until the test lets it go (a paper jam)."""

    name = "jammed"

    def __init__(self) -> None:
        self.printed: list[Document] = []
        self.started = threading.Event()
        self.release = threading.Event()

    def print_document(self, document: Document) -> None:
        self.started.set()
        self.release.wait(3 * WAIT_SECONDS)
        self.printed.append(document)

    def status(self) -> PrinterState:
        return PrinterState.UNKNOWN
