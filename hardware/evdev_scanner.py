"""Scanners that are USB keyboards, read straight from their Linux input device (evdev).

The device is grabbed exclusively, so a scan never also lands as typing in another program
(or on the screen's text fields). A thread moves key events into `KeyDecoder` and posts what
it decodes; it never decides anything. When the device goes away (unplugged: reads fail with
ENODEV) or cannot be opened or grabbed, the adapter says so in plain words and tries again
with exponential back-off until `stop()` (`ReconnectingReader`, the loop every scanner shares).

python-evdev is imported only when a real device is opened or listed, so the kiosk still runs
with a fake scanner where evdev cannot be installed.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import select
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Protocol

from hardware.keymap import CODES, DIGIT_KEYS, EV_KEY, KeyDecoder
from hardware.scanner import Clock, Post, ReconnectingReader, ScannerMessage, log_message

log = logging.getLogger(__name__)

POLL_INTERVAL = 0.2  # seconds a read waits before looking at stop() again
SCANNER_WORDS = ("scanner", "barcode", "honeywell", "zebra", "datalogic", "symbol")


class KeyEvent(Protocol):
    @property
    def type(self) -> int: ...
    @property
    def code(self) -> int: ...
    @property
    def value(self) -> int: ...


class InputDeviceLike(Protocol):
    """What the adapter needs of an open input device; evdev.InputDevice is one."""

    @property
    def fd(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def path(self) -> str | bytes: ...
    def grab(self) -> None: ...
    def ungrab(self) -> None: ...
    def close(self) -> None: ...
    def read(self) -> Iterable[KeyEvent]:
        """The events waiting; raises BlockingIOError when there are none."""
        ...


Opener = Callable[[], InputDeviceLike]


@dataclass(frozen=True)
class InputDeviceInfo:
    path: str
    name: str
    phys: str
    looks_like_scanner: bool  # can type Enter and the digits

    @property
    def named_like_scanner(self) -> bool:
        name = self.name.lower()
        return any(word in name for word in SCANNER_WORDS)


def rank_devices(devices: Iterable[InputDeviceInfo]) -> list[InputDeviceInfo]:
    """Scanner makers' names first, then anything that can type a barcode, then the rest."""
    return sorted(
        devices, key=lambda d: (not d.named_like_scanner, not d.looks_like_scanner, d.path)
    )


def find_device_path(device_name: str, devices: Iterable[InputDeviceInfo]) -> str:
    """The path of the device called `device_name` (exactly, else as part of its name,
    ignoring case). One scanner can show up as several input devices of the same name (keys,
    consumer controls): the one that can type a barcode wins."""
    candidates = list(devices)
    wanted = device_name.casefold()
    for matches in (
        [d for d in candidates if d.name == device_name],
        [d for d in candidates if d.name.casefold() == wanted],
        [d for d in candidates if wanted in d.name.casefold()],
    ):
        if matches:
            return rank_devices(matches)[0].path
    raise FileNotFoundError(errno.ENOENT, f"no input device named {device_name!r}")


def list_evdev_devices() -> list[InputDeviceInfo]:
    """Every input device this process may open, in the order of `rank_devices`."""
    import evdev

    found = []
    for path in evdev.list_devices():
        try:
            device = evdev.InputDevice(path)
        except OSError:
            continue  # gone since it was listed, or not ours to open
        try:
            keys = set(device.capabilities(verbose=False).get(EV_KEY, []))
            found.append(
                InputDeviceInfo(
                    path=str(path),
                    name=device.name,
                    phys=device.phys,
                    looks_like_scanner=CODES["KEY_ENTER"] in keys and keys >= DIGIT_KEYS,
                )
            )
        finally:
            device.close()
    return rank_devices(found)


def list_input_devices() -> list[dict[str, object]]:
    """For `kiosk hardware scanners`: path, name, phys and looks_like_scanner of each."""
    return [asdict(info) for info in list_evdev_devices()]


def open_evdev(
    *,
    path: str | None,
    device_name: str | None,
    lister: Callable[[], Sequence[InputDeviceInfo]] = list_evdev_devices,
) -> InputDeviceLike:
    """Open the device at `path` (a /dev/input/by-id/... link is followed) or by its name."""
    import evdev

    if path is None:
        if device_name is None:
            raise ValueError("an evdev scanner needs a path or a device name")
        path = find_device_path(device_name, lister())
    try:
        return evdev.InputDevice(os.path.realpath(path))
    except FileNotFoundError as exc:
        raise FileNotFoundError(errno.ENOENT, f"nothing at {path}") from exc


def describe(exc: OSError) -> str:
    """Why the scanner is not there, in plain words."""
    if exc.errno == errno.ENODEV:
        return "unplugged"
    if exc.errno == errno.EBUSY:
        return "in use by another program (it could not be grabbed)"
    if exc.errno == errno.ENOENT:
        return "not found" + (f" ({exc.strerror})" if exc.strerror else "")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "not allowed to open it (is the kiosk user in the input group?)"
    return f"error: {exc.strerror or exc}"


class EvdevScanner(ReconnectingReader):
    def __init__(
        self,
        name: str,
        *,
        path: str | None = None,
        device_name: str | None = None,
        grab: bool = True,
        max_length: int = 64,
        retry_min: float = 0.5,
        retry_max: float = 30.0,
        opener: Opener | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        if opener is None and path is None and device_name is None:
            raise ValueError("an evdev scanner needs a path or a device name")

        def open_real() -> InputDeviceLike:
            return open_evdev(path=path, device_name=device_name)

        super().__init__(name, retry_min=retry_min, retry_max=retry_max, clock=clock)
        self.grab = grab
        self.max_length = max_length
        self._open = opener or open_real

    def _session(self, post: Post) -> str | None:
        try:
            device = self._connect()
        except OSError as exc:
            return describe(exc)
        try:
            log.info("scanner %s: reading %s (%s)", self.name, device.path, device.name)
            self._connected(post)
            self._pump(device, post)
            return None  # stopped
        except OSError as exc:  # unplugged
            return describe(exc)
        finally:
            self._release(device)

    def _connect(self) -> InputDeviceLike:
        device = self._open()
        if self.grab:
            try:
                device.grab()
            except OSError:
                device.close()
                raise
        return device

    def _release(self, device: InputDeviceLike) -> None:
        # Either may fail on a device that is gone; there is nothing left to release then.
        if self.grab:
            with contextlib.suppress(OSError):
                device.ungrab()
        with contextlib.suppress(OSError):
            device.close()

    def _pump(self, device: InputDeviceLike, post: Post) -> None:
        """Move events until stop() (returns) or the device fails (raises OSError)."""
        decoder = KeyDecoder(self.name, max_length=self.max_length)  # a cut-off scan is dropped
        while not self._stopping.is_set():
            ready, _, _ = select.select([device.fd], [], [], POLL_INTERVAL)
            if not ready:
                continue
            try:
                events = list(device.read())
            except BlockingIOError:
                continue
            for event in events:
                for message in decoder.feed(event.type, event.code, event.value):
                    self._post(post, message)

    def _post(self, post: Post, message: ScannerMessage) -> None:
        log_message(log, message)
        post(message)
