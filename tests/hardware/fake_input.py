"""A stand-in for an evdev input device, with the faults real scanners have.

It behaves like evdev.InputDevice as the adapter uses it: `fd` is a real file descriptor
(one end of a pipe) that select() reports readable when events are waiting or the device is
gone; `read()` is non-blocking and raises BlockingIOError when there is nothing to read, and
OSError(ENODEV) once the device is unplugged, as the kernel does.

Fault switches: `unplug()`; `grab_error` (e.g. EBUSY: another program holds the device).
"""

from __future__ import annotations

import contextlib
import errno
import os
import threading
from collections.abc import Iterable

import evdev
from evdev import ecodes

SHIFTED = dict(zip('!@#$%^&*()_+{}:"<>?~|', "1234567890-=[];',./`\\", strict=True))
PUNCTUATION = {
    " ": "KEY_SPACE",
    "-": "KEY_MINUS",
    "=": "KEY_EQUAL",
    "[": "KEY_LEFTBRACE",
    "]": "KEY_RIGHTBRACE",
    ";": "KEY_SEMICOLON",
    "'": "KEY_APOSTROPHE",
    ",": "KEY_COMMA",
    ".": "KEY_DOT",
    "/": "KEY_SLASH",
    "`": "KEY_GRAVE",
    "\\": "KEY_BACKSLASH",
}
TYPABLE = "".join(PUNCTUATION) + "".join(SHIFTED) + "0123456789abcdefghijklmnopqrstuvwxyz"
TYPABLE += TYPABLE[-26:].upper()


def key_name(char: str) -> tuple[str, bool]:
    """The evdev key name that types `char` on a US keyboard, and whether Shift is needed."""
    shift = char in SHIFTED or char.isupper()
    base = SHIFTED.get(char, char.lower())
    return PUNCTUATION.get(base, f"KEY_{base.upper()}"), shift


def tap(code: int, sec: int = 0) -> list[evdev.InputEvent]:
    """Press and release one key, each followed by a SYN_REPORT, as the kernel reports it."""
    return [
        evdev.InputEvent(sec, 0, ecodes.EV_KEY, code, 1),
        evdev.InputEvent(sec, 0, ecodes.EV_SYN, ecodes.SYN_REPORT, 0),
        evdev.InputEvent(sec, 0, ecodes.EV_KEY, code, 0),
        evdev.InputEvent(sec, 0, ecodes.EV_SYN, ecodes.SYN_REPORT, 0),
    ]


def typed(text: str, *, enter: bool = True) -> list[evdev.InputEvent]:
    """The events a keyboard (or a scanner) sends to type `text` and then Enter."""
    events: list[evdev.InputEvent] = []
    for char in text:
        name, shift = key_name(char)
        if shift:
            events.append(evdev.InputEvent(0, 0, ecodes.EV_KEY, ecodes.KEY_LEFTSHIFT, 1))
        events += tap(ecodes.ecodes[name])
        if shift:
            events.append(evdev.InputEvent(0, 0, ecodes.EV_KEY, ecodes.KEY_LEFTSHIFT, 0))
    if enter:
        events += tap(ecodes.KEY_ENTER)
    return events


class FakeInputDevice:
    def __init__(
        self,
        *,
        name: str = "Honeywell Imaging & Mobility 1950g",
        path: str = "/dev/input/event7",
        grab_error: int | None = None,
    ) -> None:
        self.name = name
        self.path = path
        self.grab_error = grab_error  # errno grab() fails with, e.g. errno.EBUSY
        self.calls: list[str] = []  # "grab", "ungrab", "close", in order
        self._events: list[evdev.InputEvent] = []
        self._unplugged = False
        self._lock = threading.Lock()
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)

    @property
    def fd(self) -> int:
        return self._wake_read

    @property
    def grabbed(self) -> bool:
        grabs = [call for call in self.calls if call in ("grab", "ungrab")]
        return bool(grabs) and grabs[-1] == "grab"

    @property
    def closed(self) -> bool:
        return "close" in self.calls

    # Test side

    def push(self, events: Iterable[evdev.InputEvent]) -> None:
        with self._lock:
            self._events.extend(events)
        self._wake()

    def unplug(self) -> None:
        self._unplugged = True
        self._wake()

    def _wake(self) -> None:
        with self._lock:
            if not self.closed:
                os.write(self._wake_write, b"!")

    # Adapter side

    def grab(self) -> None:
        self._check()
        if self.grab_error is not None:
            raise OSError(self.grab_error, os.strerror(self.grab_error))
        self.calls.append("grab")

    def ungrab(self) -> None:
        self._check()
        self.calls.append("ungrab")

    def close(self) -> None:
        with self._lock:
            if not self.closed:
                self.calls.append("close")
                os.close(self._wake_read)
                os.close(self._wake_write)

    def read(self) -> list[evdev.InputEvent]:
        self._check()
        with contextlib.suppress(BlockingIOError):
            os.read(self._wake_read, 4096)
        with self._lock:
            events, self._events = self._events, []
        if not events:
            raise BlockingIOError(errno.EAGAIN, "no events")
        return events

    def _check(self) -> None:
        if self._unplugged:
            raise OSError(errno.ENODEV, os.strerror(errno.ENODEV))
