"""Receipt printers behind one small interface. This module knows nothing about libraries:
it prints lines of text.

`FakePrinter` stands in for a printer that is not here; it keeps what it printed and can be
told to fail (paper out, unplugged) so every screen for a printer problem can be reached.
"""

from __future__ import annotations

import threading
from typing import Protocol


class PrinterError(Exception):
    """The printer could not print (not connected, out of paper, ...)."""


class ReceiptPrinter(Protocol):
    def print_lines(self, lines: list[str]) -> None:
        """Print and cut; raise PrinterError on failure. May block: never call it from the
        UI thread."""


class FakePrinter:
    def __init__(self, *, fail: bool = False, delay: float = 0.0) -> None:
        self.fail = fail
        self.delay = delay
        self.printed: list[list[str]] = []
        self._lock = threading.Lock()

    def print_lines(self, lines: list[str]) -> None:
        if self.delay:
            threading.Event().wait(self.delay)
        if self.fail:
            raise PrinterError("the fake printer is set to fail (paper out)")
        with self._lock:
            self.printed.append(list(lines))
