"""The evdev scanner adapter over a fake input device, through its `opener` seam.

This kernel has no /dev/uinput, so no real evdev keyboard can be made here: the read loop,
grabbing and reconnecting are tested against `FakeInputDevice`, which fails the way the kernel
does (ENODEV when unplugged, EBUSY when another program holds the grab). Waits are on the
message queue with generous timeouts; nothing asserts how long anything took.
"""

from __future__ import annotations

import errno
import logging
import queue
from collections.abc import Iterator
from pathlib import Path

import pytest

from hardware.evdev_scanner import (
    EvdevScanner,
    InputDeviceInfo,
    InputDeviceLike,
    describe,
    find_device_path,
    rank_devices,
)
from hardware.scanner import Rejected, Scanned, ScannerMessage, StatusChanged, mask
from tests.hardware.fake_input import FakeInputDevice, typed

TIMEOUT = 5.0


class FakeInputDevices:
    """What the opener finds: the device plugged in now, or an error if none is."""

    def __init__(self, device: FakeInputDevice | None = None) -> None:
        self.device = device
        self.opened: list[FakeInputDevice] = []

    def open(self) -> InputDeviceLike:
        if self.device is None:
            raise FileNotFoundError(errno.ENOENT, "no such device")
        if self.device.closed:  # opening the same device node again
            old = self.device
            self.device = FakeInputDevice(name=old.name, path=old.path, grab_error=old.grab_error)
        self.opened.append(self.device)
        return self.device

    def plug(self, device: FakeInputDevice) -> None:
        self.device = device

    def unplug(self) -> None:
        if self.device is not None:
            self.device.unplug()
        self.device = None


class Harness:
    def __init__(self, devices: FakeInputDevices, **options: object) -> None:
        self.devices = devices
        self.messages: queue.Queue[ScannerMessage] = queue.Queue()
        self.scanner = EvdevScanner(
            "front",
            opener=devices.open,
            retry_min=0.01,
            retry_max=0.05,
            **options,  # type: ignore[arg-type]
        )

    def next(self) -> ScannerMessage:
        return self.messages.get(timeout=TIMEOUT)

    def next_status(self) -> StatusChanged:
        message = self.next()
        assert isinstance(message, StatusChanged), message
        return message

    def connected(self) -> None:
        assert self.next_status() == StatusChanged("front", True, "connected")

    def disconnected(self) -> StatusChanged:
        """The next status, which must say the scanner is gone; later retries are skipped."""
        status = self.next_status()
        assert not status.connected
        return status

    def until_connected(self) -> list[StatusChanged]:
        """Retry reports up to (not including) the next `connected`, which is consumed."""
        seen: list[StatusChanged] = []
        while True:
            status = self.next_status()
            if status.connected:
                assert status.detail == "connected"
                return seen
            seen.append(status)


@pytest.fixture
def plugged() -> Iterator[tuple[Harness, FakeInputDevice]]:
    device = FakeInputDevice()
    harness = Harness(FakeInputDevices(device))
    harness.scanner.start(harness.messages.put)
    harness.connected()
    yield harness, device
    harness.scanner.stop()


def test_scans_flow(plugged: tuple[Harness, FakeInputDevice]) -> None:
    harness, device = plugged
    device.push(typed("31234000000016"))
    assert harness.next() == Scanned("front", "31234000000016")
    device.push(typed("3123400000", enter=False))
    device.push(typed("0024"))
    assert harness.next() == Scanned("front", "31234000000024")  # split across reads
    device.push(typed("ab", enter=False))
    device.push(typed("c"))
    assert harness.next() == Scanned("front", "abc")


def test_rejected_reads_are_posted(plugged: tuple[Harness, FakeInputDevice]) -> None:
    harness, device = plugged
    device.push(typed("x" * 70))
    assert harness.next() == Rejected("front", "x" * 64 + "…", "longer than 64 characters")
    device.push(typed("ok"))
    assert harness.next() == Scanned("front", "ok")


def test_the_device_is_grabbed_while_read_and_released_on_stop() -> None:
    device = FakeInputDevice()
    harness = Harness(FakeInputDevices(device))
    harness.scanner.start(harness.messages.put)
    harness.connected()
    assert device.calls == ["grab"]

    harness.scanner.stop()

    assert device.calls == ["grab", "ungrab", "close"]
    assert harness.messages.empty()


def test_grab_false_never_grabs() -> None:
    device = FakeInputDevice()
    harness = Harness(FakeInputDevices(device), grab=False)
    harness.scanner.start(harness.messages.put)
    harness.connected()
    device.push(typed("42"))
    assert harness.next() == Scanned("front", "42")
    harness.scanner.stop()
    assert device.calls == ["close"]


def test_a_device_held_by_another_program_is_reported_and_retried() -> None:
    busy = FakeInputDevice(grab_error=errno.EBUSY)
    harness = Harness(FakeInputDevices(busy))
    harness.scanner.start(harness.messages.put)
    try:
        status = harness.disconnected()
        assert "in use by another program" in status.detail
        assert "retrying in 0.01 s" in status.detail
        assert busy.closed  # not left open while it waits

        retry = harness.disconnected()  # it tries again, and waits longer
        assert "in use by another program" in retry.detail
        assert "retrying in 0.02 s" in retry.detail

        free = FakeInputDevice()
        harness.devices.plug(free)
        harness.until_connected()
        free.push(typed("7"))
        assert harness.next() == Scanned("front", "7")
        assert free.grabbed
    finally:
        harness.scanner.stop()


def test_unplug_and_replug(plugged: tuple[Harness, FakeInputDevice]) -> None:
    harness, first = plugged
    first.push(typed("11"))
    assert harness.next() == Scanned("front", "11")

    harness.devices.unplug()
    status = harness.disconnected()
    assert status.detail.startswith("unplugged; retrying in ")
    assert first.closed
    assert "not found" in harness.disconnected().detail  # retried while it is away

    second = FakeInputDevice()
    harness.devices.plug(second)
    harness.until_connected()
    assert second.grabbed
    second.push(typed("22"))
    assert harness.next() == Scanned("front", "22")


def test_a_scan_cut_off_by_an_unplug_is_not_glued_to_the_next(
    plugged: tuple[Harness, FakeInputDevice],
) -> None:
    harness, first = plugged
    first.push(typed("3123", enter=False))
    harness.devices.unplug()
    harness.disconnected()
    second = FakeInputDevice()
    harness.devices.plug(second)
    harness.until_connected()
    second.push(typed("999"))
    assert harness.next() == Scanned("front", "999")


def test_back_off_doubles_up_to_the_maximum() -> None:
    harness = Harness(FakeInputDevices(None))
    harness.scanner.start(harness.messages.put)
    try:
        details = [harness.disconnected().detail for _ in range(5)]
    finally:
        harness.scanner.stop()
    delays = [detail.rsplit("retrying in ", 1)[1] for detail in details]
    assert delays == ["0.01 s", "0.02 s", "0.04 s", "0.05 s", "0.05 s"]


def test_stop_interrupts_a_long_back_off() -> None:
    harness = Harness(FakeInputDevices(None))
    harness.scanner.retry_min = harness.scanner.retry_max = 3600.0
    harness.scanner.start(harness.messages.put)
    assert "retrying in 3600 s" in harness.disconnected().detail
    harness.scanner.stop()  # would hang the test for an hour if the wait ignored it
    assert harness.scanner._thread is None


def test_stop_before_start_and_twice_is_harmless() -> None:
    harness = Harness(FakeInputDevices(FakeInputDevice()))
    harness.scanner.stop()
    harness.scanner.start(harness.messages.put)
    harness.connected()
    harness.scanner.stop()
    harness.scanner.stop()


def test_starting_twice_is_refused(plugged: tuple[Harness, FakeInputDevice]) -> None:
    harness, _ = plugged
    with pytest.raises(RuntimeError):
        harness.scanner.start(harness.messages.put)


def test_scans_are_never_logged_whole(
    plugged: tuple[Harness, FakeInputDevice], caplog: pytest.LogCaptureFixture
) -> None:
    harness, device = plugged
    caplog.set_level(logging.DEBUG, logger="hardware")
    device.push(typed("31234000000016"))
    assert harness.next() == Scanned("front", "31234000000016")
    device.push(typed("2" * 70))
    assert isinstance(harness.next(), Rejected)
    assert "**********0016" in caplog.text
    assert "31234000000016" not in caplog.text
    assert "2" * 20 not in caplog.text


def test_mask() -> None:
    assert mask("31234000000016") == "**********0016"
    assert mask("12345") == "*2345"
    assert mask("1234") == "****"
    assert mask("") == ""


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (errno.ENODEV, "unplugged"),
        (errno.EBUSY, "in use by another program"),
        (errno.ENOENT, "not found"),
        (errno.EACCES, "input group"),
        (errno.EIO, "error: "),
    ],
)
def test_errors_in_plain_words(code: int, words: str) -> None:
    import os

    assert words in describe(OSError(code, os.strerror(code)))


DEVICES = [
    InputDeviceInfo("/dev/input/event0", "Power Button", "PNP0C0C/button/input0", False),
    InputDeviceInfo("/dev/input/event3", "Logitech USB Keyboard", "usb-1.2/input0", True),
    InputDeviceInfo(
        "/dev/input/event5", "Honeywell Imaging & Mobility 1950g", "usb-1.3/input1", False
    ),
    InputDeviceInfo(
        "/dev/input/event4", "Honeywell Imaging & Mobility 1950g", "usb-1.3/input0", True
    ),
    InputDeviceInfo("/dev/input/event6", "USB Barcode Reader", "usb-1.4/input0", True),
]


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("Honeywell Imaging & Mobility 1950g", "/dev/input/event4"),  # the one that types
        ("honeywell imaging & mobility 1950G", "/dev/input/event4"),  # any case
        ("1950g", "/dev/input/event4"),  # part of the name
        ("Logitech USB Keyboard", "/dev/input/event3"),
        ("barcode", "/dev/input/event6"),
    ],
)
def test_find_a_device_by_name(name: str, path: str) -> None:
    assert find_device_path(name, DEVICES) == path


def test_an_exact_name_beats_a_partial_one() -> None:
    devices = [
        InputDeviceInfo("/dev/input/event1", "Scanner Pro", "", True),
        InputDeviceInfo("/dev/input/event2", "Scanner", "", True),
    ]
    assert find_device_path("Scanner", devices) == "/dev/input/event2"


def test_a_missing_name_is_not_found() -> None:
    with pytest.raises(FileNotFoundError) as caught:
        find_device_path("Zebra DS2208", DEVICES)
    assert "not found" in describe(caught.value)
    assert "Zebra DS2208" in describe(caught.value)


def test_scanners_rank_first() -> None:
    ranked = [device.path for device in rank_devices(DEVICES)]
    assert ranked == [
        "/dev/input/event4",  # a scanner maker's name and it types
        "/dev/input/event6",
        "/dev/input/event5",  # a scanner maker's name, but no keys
        "/dev/input/event3",  # a keyboard
        "/dev/input/event0",
    ]


def test_a_missing_device_is_reported_not_raised() -> None:
    harness = Harness(FakeInputDevices(None))
    harness.scanner.start(harness.messages.put)
    try:
        assert harness.disconnected().detail.startswith("not found")
    finally:
        harness.scanner.stop()


def test_a_path_or_name_is_required_without_an_opener() -> None:
    with pytest.raises(ValueError, match="path or a device name"):
        EvdevScanner("front")


def test_the_real_opener_reports_a_missing_device(tmp_path: Path) -> None:
    """The default opener (python-evdev) on a path with nothing there: a status, not a crash."""
    missing = str(tmp_path / "usb-Honeywell_1950g-event-kbd")
    harness = Harness(FakeInputDevices(None))
    scanner = EvdevScanner("front", path=missing, retry_min=0.01, retry_max=0.05)
    scanner.start(harness.messages.put)
    try:
        status = harness.disconnected()
    finally:
        scanner.stop()
    assert status.detail.startswith(f"not found (nothing at {missing}); retrying in ")


def test_the_real_opener_reports_a_name_that_is_not_there() -> None:
    scanner = EvdevScanner("front", device_name="No Such Scanner 9000", retry_min=0.01)
    messages: queue.Queue[ScannerMessage] = queue.Queue()
    scanner.start(messages.put)
    try:
        status = messages.get(timeout=TIMEOUT)
    finally:
        scanner.stop()
    assert isinstance(status, StatusChanged)
    assert not status.connected
    assert "No Such Scanner 9000" in status.detail


class BrokenOnce(FakeInputDevices):
    """An opener that fails in a way nobody planned for (not an OSError), once."""

    def __init__(self, device: FakeInputDevice) -> None:
        super().__init__(device)
        self.failed = False

    def open(self) -> InputDeviceLike:
        if not self.failed:
            self.failed = True
            raise RuntimeError("the driver said something odd")
        return super().open()


def test_an_unexpected_error_is_reported_and_retried_not_a_silent_death() -> None:
    device = FakeInputDevice()
    harness = Harness(BrokenOnce(device))
    harness.scanner.start(harness.messages.put)
    try:
        status = harness.disconnected()
        assert "unexpected error (RuntimeError: the driver said something odd)" in status.detail
        harness.until_connected()
        device.push(typed("33"))
        assert harness.next() == Scanned("front", "33")
    finally:
        harness.scanner.stop()
