"""What every scanner adapter posts, and the one interface they share.

An adapter owns a thread that moves bytes (or key events) from its device into a pure
decoder and posts plain messages: a scan, a rejected read, or a change of its connection
state. It knows nothing about libraries: the kiosk decides what a scan means.
"""

from __future__ import annotations

import logging
import threading
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Scanned:
    source: str  # the scanner's name, for logs and the staff status
    text: str


@dataclass(frozen=True)
class Rejected:
    source: str
    shown: str  # what was read, made printable and cut short
    reason: str  # plain words: "not UTF-8 text", "longer than 64 characters", ...


@dataclass(frozen=True)
class StatusChanged:
    source: str
    connected: bool
    detail: str  # plain words: "connected", "unplugged; retrying in 4 s", ...


ScannerMessage = Scanned | Rejected | StatusChanged
Post = Callable[[ScannerMessage], None]


class Scanner(Protocol):
    name: str

    def start(self, post: Post) -> None:
        """Start reading on a thread of the adapter's own; messages go to `post`."""

    def stop(self) -> None:
        """Stop reading and release the device (returns within a second or so)."""


def printable(text: str, limit: int = 64) -> str:
    """Data as it may be shown and logged: no control characters, bounded length."""
    cleaned = "".join(
        ch if unicodedata.category(ch)[0] != "C" else "\N{REPLACEMENT CHARACTER}" for ch in text
    )
    return cleaned if len(cleaned) <= limit else cleaned[:limit] + "…"


def check_scan(text: str, max_length: int) -> str | None:
    """Why a decoded scan cannot be passed on, in plain words, or None if it can."""
    if not text:
        return "empty"
    if len(text) > max_length:
        return f"longer than {max_length} characters"
    if any(unicodedata.category(ch)[0] == "C" for ch in text):
        return "contains control characters"
    return None


JOIN_TIMEOUT = 2.0  # seconds stop() waits for a reader thread


def mask(text: str) -> str:
    """A scan as it may be logged: a barcode can name a patron, so only its last 4
    characters (nothing of a short one)."""
    if len(text) <= 4:
        return "*" * len(text)
    return "*" * (len(text) - 4) + text[-4:]


def log_message(log: logging.Logger, message: ScannerMessage) -> None:
    """One clear line for what an adapter posts; scans masked, rejects at warning."""
    if isinstance(message, Scanned):
        log.debug("scanner %s: scan %s", message.source, mask(message.text))
    elif isinstance(message, Rejected):
        log.warning(
            "scanner %s: rejected a read (%s): %s",
            message.source,
            message.reason,
            mask(message.shown),
        )


class ReaderThread:
    """Start and stop for an adapter that reads its device on a thread of its own; the
    adapter implements `_run(post)`, returning soon after `self._stopping` is set."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, post: Post) -> None:
        if self._thread is not None:
            raise RuntimeError(f"scanner {self.name!r} is already started")
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._run, args=(post,), name=f"scanner-{self.name}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(JOIN_TIMEOUT)
            if thread.is_alive():
                logging.getLogger(__name__).error(
                    "scanner %s: reader thread did not stop", self.name
                )

    def _run(self, post: Post) -> None:
        raise NotImplementedError


Clock = Callable[[], float]  # a monotonic clock, in seconds


class ReconnectingReader(ReaderThread):
    """The one reconnect loop every scanner adapter shares: open the device and read it until
    stop() or a failure, say what went wrong, wait, and open it again.

    The wait doubles after each failure, from retry_min up to retry_max, and starts over only
    after a connection that stayed up for retry_max: a device that connects and drops at once
    (a loose cable, a port that comes and goes) is retried ever more slowly, never every
    retry_min forever. The adapter implements `_session`."""

    def __init__(
        self, name: str, *, retry_min: float, retry_max: float, clock: Clock = time.monotonic
    ) -> None:
        super().__init__(name)
        self.retry_min = retry_min
        self.retry_max = retry_max
        self._clock = clock
        self._opened_at: float | None = None  # when the device was last opened

    def _session(self, post: Post) -> str | None:
        """Open the device, call `_connected(post)` once it is open, and read it: None once
        stopped, else a few plain words on what went wrong (it cannot be opened, it went
        away)."""
        raise NotImplementedError

    def _connected(self, post: Post) -> None:
        self._opened_at = self._clock()
        post(StatusChanged(self.name, True, "connected"))

    def _run(self, post: Post) -> None:
        log = logging.getLogger(type(self).__module__)
        delay = self.retry_min
        while not self._stopping.is_set():
            self._opened_at = None
            try:
                problem = self._session(post)
            except Exception as exc:  # a reader thread must never die silently
                log.error("scanner %s: unexpected error", self.name, exc_info=exc)
                problem = f"unexpected error ({type(exc).__name__}: {exc})"
            if problem is None or self._stopping.is_set():
                return
            opened_at = self._opened_at
            if opened_at is not None and self._clock() - opened_at >= self.retry_max:
                delay = self.retry_min  # it worked for a while: start over
            detail = f"{problem}; retrying in {delay:g} s"
            log.warning("scanner %s: %s", self.name, detail)
            post(StatusChanged(self.name, False, detail))
            if self._stopping.wait(delay):
                return
            delay = min(delay * 2, self.retry_max)
