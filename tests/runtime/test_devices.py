"""The scanner hub and the staff status: scanner threads' reads reach the engine's inbox as
typed inputs in order, status changes reach status.json, and stopping is safe twice."""

from __future__ import annotations

import json
import selectors
import threading
import time
from collections.abc import Callable
from pathlib import Path

from hardware.fake_scanner import FakeScanner
from hardware.printer import PrinterState
from kiosk.runtime.devices import DeviceStatus, ScannerHub, read_status
from kiosk.runtime.inbox import Inbox, Rejected, Scan

WAIT = 10.0


def drain_until(inbox: Inbox, count: int) -> list[object]:
    """Wait on the inbox's wake-up pipe, as headless mode's loop does, until `count` inputs."""
    got: list[object] = []
    with selectors.DefaultSelector() as selector:
        selector.register(inbox.fileno(), selectors.EVENT_READ)
        while len(got) < count:
            assert selector.select(WAIT), f"the inbox never woke the loop; got {got}"
            got += inbox.drain()
    return got


def connected(data_dir: Path) -> bool | None:
    """The front scanner's connection as status.json says it (None: not yet said)."""
    shown = read_status(data_dir)
    front = (shown or {}).get("scanners", {}).get("front")
    return None if front is None else bool(front["connected"])


def wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_scans_from_a_scanner_thread_wake_the_loop_in_order(tmp_path: Path) -> None:
    scanner = FakeScanner("front")
    hub = ScannerHub([scanner], DeviceStatus(tmp_path))
    inbox = Inbox(wake_fd=True)
    hub.start(inbox)
    try:
        scanner.scan("31234000000016")
        scanner.send(b"\xff\xfe\r\n")
        scanner.scan("31234000000024")
        messages = drain_until(inbox, 3)
        assert [type(m) for m in messages] == [Scan, Rejected, Scan]
        assert [(m.text, m.source) for m in messages if isinstance(m, Scan)] == [
            ("31234000000016", "front"),
            ("31234000000024", "front"),
        ]
    finally:
        hub.stop()
        inbox.close()
    hub.stop()  # a second stop does nothing (and never closes someone else's descriptor)


def test_status_changes_reach_the_file_staff_read(tmp_path: Path) -> None:
    scanner = FakeScanner("front")
    status = DeviceStatus(tmp_path)
    hub = ScannerHub([scanner], status)
    hub.start(Inbox())
    try:
        wait_for(lambda: connected(tmp_path) is True)
        scanner.unplug()
        wait_for(lambda: connected(tmp_path) is False)
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
