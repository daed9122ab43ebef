"""Receipt printers behind one small interface. This module knows nothing about libraries:
it prints documents (hardware.receipt).

`FakePrinter` stands in for a printer that is not here; it keeps what it printed and can
inject the faults real printers have (paper out mid-session, cover open, offline, unplugged,
a hang) so every screen and status for a printer problem can be reached.
"""

from __future__ import annotations

import threading
from enum import Enum
from typing import Protocol

from hardware.receipt import Document


class PrinterState(Enum):
    READY = "ready"
    PAPER_OUT = "paper_out"
    PAPER_LOW = "paper_low"  # still prints
    COVER_OPEN = "cover_open"
    OFFLINE = "offline"
    UNPLUGGED = "unplugged"
    UNKNOWN = "unknown"  # the printer cannot report its state (one-way connections)
    ERROR = "error"


CAN_PRINT = frozenset({PrinterState.READY, PrinterState.PAPER_LOW, PrinterState.UNKNOWN})


class PrinterError(Exception):
    """The printer could not print; `state` says why when it is known."""

    def __init__(self, message: str, state: PrinterState = PrinterState.ERROR) -> None:
        super().__init__(message)
        self.state = state


class ReceiptPrinter(Protocol):
    name: str

    def print_document(self, document: Document) -> None:
        """Print and cut; raise PrinterError on failure. May block: never call it from the
        UI thread."""

    def status(self) -> PrinterState:
        """Ask the printer how it is (may block briefly; never raises)."""


class FakePrinter:
    """A stand-in printer with fault switches.

    state: what it reports and how it behaves (PAPER_OUT, COVER_OPEN, OFFLINE, UNPLUGGED
        fail every print with that state).
    fail: every print fails (kept for configs that say `fail = true`).
    paper_for: prints that succeed before the paper runs out (None: endless paper).
    delay: seconds each print takes (a slow or hung printer).
    """

    def __init__(
        self,
        *,
        name: str = "fake",
        fail: bool = False,
        state: PrinterState = PrinterState.READY,
        paper_for: int | None = None,
        delay: float = 0.0,
    ) -> None:
        self.name = name
        self.state = PrinterState.ERROR if fail else state
        self.paper_for = paper_for
        self.delay = delay
        self.printed: list[Document] = []
        self._lock = threading.Lock()

    def print_document(self, document: Document) -> None:
        if self.delay:
            threading.Event().wait(self.delay)
        with self._lock:
            if self.paper_for is not None and len(self.printed) >= self.paper_for:
                self.state = PrinterState.PAPER_OUT
            if self.state not in CAN_PRINT:
                raise PrinterError(f"the printer reports {self.state.value}", self.state)
            self.printed.append(document)

    def status(self) -> PrinterState:
        with self._lock:
            if self.paper_for is not None and len(self.printed) >= self.paper_for:
                return PrinterState.PAPER_OUT
            return self.state
