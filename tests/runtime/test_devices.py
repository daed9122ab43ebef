"""The scanner hub and the staff status: messages from scanner threads reach the engine's
loop in order, status changes reach status.json, and stopping is safe twice."""

from __future__ import annotations

import json
import selectors
import threading
from pathlib import Path

from hardware.fake_scanner import FakeScanner
from hardware.printer import PrinterState
from hardware.scanner import Rejected, Scanned, StatusChanged
from kiosk.runtime.devices import DeviceStatus, ScannerHub, read_status

WAIT = 10.0


def drain_until(hub: ScannerHub, count: int) -> list[object]:
    """Wait on the hub's wake-up pipe, as the engine's loop does, until `count` messages."""
    got: list[object] = []
    with selectors.DefaultSelector() as selector:
        selector.register(hub.wake_fd, selectors.EVENT_READ)
        while len(got) < count:
            assert selector.select(WAIT), f"the hub never woke the loop; got {got}"
            got += hub.drain()
    return got


def test_scans_from_a_scanner_thread_wake_the_loop_in_order(tmp_path: Path) -> None:
    scanner = FakeScanner("front")
    hub = ScannerHub([scanner], DeviceStatus(tmp_path))
    hub.start()
    try:
        scanner.scan("31234000000016")
        scanner.send(b"\xff\xfe\r\n")
        scanner.scan("31234000000024")
        messages = [m for m in drain_until(hub, 4) if not isinstance(m, StatusChanged)]
        assert [type(m) for m in messages] == [Scanned, Rejected, Scanned]
        assert [m.text for m in messages if isinstance(m, Scanned)] == [
            "31234000000016",
            "31234000000024",
        ]
    finally:
        hub.stop()
    hub.stop()  # a second stop does nothing (and never closes someone else's descriptor)


def test_status_changes_reach_the_file_staff_read(tmp_path: Path) -> None:
    scanner = FakeScanner("front")
    status = DeviceStatus(tmp_path)
    hub = ScannerHub([scanner], status)
    hub.start()
    try:
        drain_until(hub, 1)  # connected
        scanner.unplug()
        drain_until(hub, 1)
    finally:
        hub.stop()
    shown = read_status(tmp_path)
    assert shown is not None
    assert shown["scanners"]["front"]["connected"] is False
    assert (tmp_path / "status.json").stat().st_mode & 0o077 == 0  # private, like all data


def test_updates_from_two_threads_never_lose_the_newer_state(tmp_path: Path) -> None:
    status = DeviceStatus(tmp_path)
    barrier = threading.Barrier(2)

    def printer() -> None:
        barrier.wait()
        for _ in range(200):
            status.printer("fake", PrinterState.READY, "ok")

    def scanners() -> None:
        barrier.wait()
        for n in range(200):
            status.scanner(f"s{n % 3}", True, "connected")

    threads = [threading.Thread(target=printer), threading.Thread(target=scanners)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    written = json.loads((tmp_path / "status.json").read_text(encoding="utf-8"))
    assert set(written["scanners"]) == {"s0", "s1", "s2"}
    assert written["printer"]["state"] == "ready"
