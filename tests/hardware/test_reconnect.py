"""The one reconnect loop both scanner kinds share (hardware.scanner.ReconnectingReader,
issue 17 point 6): a device that connects and drops at once, again and again, is retried ever
more slowly, never every retry_min forever; a connection that stayed up for retry_max starts
the back-off over. Run against the real adapters: the serial one over a TCP device that hangs
up as soon as it answers, the evdev one over a fake input device that goes away once grabbed.
How long a connection lasted is measured on a fake monotonic clock, moved by the test."""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
from collections.abc import Callable, Iterator

import pytest

from hardware.evdev_scanner import EvdevScanner
from hardware.scanner import ReconnectingReader, ScannerMessage, StatusChanged
from hardware.serial_scanner import SerialScanner, SerialSettings
from tests.hardware.fake_input import FakeInputDevice

RETRY_MIN, RETRY_MAX = 0.01, 0.08
WAIT = 5.0  # upper bound for a message; never taken unless the test fails


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class HangingUpDevice:
    """A network serial device that accepts each connection and closes it at once."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"socket://127.0.0.1:{self._listener.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        with contextlib.suppress(OSError):  # the listener was closed: the test is over
            while True:
                conn, _ = self._listener.accept()
                conn.close()

    def close(self) -> None:
        self._listener.close()


class GoneOnceGrabbed(FakeInputDevice):
    """An input device that is unplugged the moment it has been grabbed."""

    def grab(self) -> None:
        super().grab()
        self.unplug()


def serial_scanner(clock: FakeClock) -> Iterator[ReconnectingReader]:
    device = HangingUpDevice()
    settings = SerialSettings(device.url, retry_min=RETRY_MIN, retry_max=RETRY_MAX)
    try:
        yield SerialScanner("flappy", settings, clock=clock)
    finally:
        device.close()


def evdev_scanner(clock: FakeClock) -> Iterator[ReconnectingReader]:
    yield EvdevScanner(
        "flappy", opener=GoneOnceGrabbed, retry_min=RETRY_MIN, retry_max=RETRY_MAX, clock=clock
    )


MakeScanner = Callable[[FakeClock], Iterator[ReconnectingReader]]


@pytest.fixture(params=[serial_scanner, evdev_scanner], ids=["serial", "evdev"])
def make(request: pytest.FixtureRequest) -> MakeScanner:
    maker: MakeScanner = request.param
    return maker


def retry_delays(make: MakeScanner, drops: int, long_connections: set[int]) -> list[str]:
    """The wait announced after each of the first `drops` connections; the connections
    numbered in `long_connections` (from 1) stay up for a minute on the fake clock."""
    clock = FakeClock()
    messages: queue.Queue[ScannerMessage] = queue.Queue()
    connections = 0

    def post(message: ScannerMessage) -> None:
        nonlocal connections
        if isinstance(message, StatusChanged) and message.connected:
            connections += 1
            if connections in long_connections:
                clock.now += 60  # on the scanner's thread, before the device drops
        messages.put(message)

    delays: list[str] = []
    scanners = make(clock)
    scanner = next(scanners)
    scanner.start(post)
    try:
        while len(delays) < drops:
            status = messages.get(timeout=WAIT)
            assert isinstance(status, StatusChanged) and status.connected, status
            status = messages.get(timeout=WAIT)
            assert isinstance(status, StatusChanged) and not status.connected, status
            assert status.detail.startswith(("disconnected (", "unplugged; ")), status.detail
            delays.append(status.detail.rsplit("retrying in ", 1)[1])
    finally:
        scanner.stop()
        scanners.close()
    return delays


def test_a_device_that_drops_at_once_is_retried_ever_more_slowly(make: MakeScanner) -> None:
    delays = retry_delays(make, drops=6, long_connections=set())
    assert delays == ["0.01 s", "0.02 s", "0.04 s", "0.08 s", "0.08 s", "0.08 s"]


def test_a_connection_that_stayed_up_starts_the_back_off_over(make: MakeScanner) -> None:
    delays = retry_delays(make, drops=7, long_connections={5})
    assert delays == ["0.01 s", "0.02 s", "0.04 s", "0.08 s", "0.01 s", "0.02 s", "0.04 s"]
