"""Fault injection end to end: a headless kiosk whose scans come from a serial scanner on a
pty, printing receipts on a fake printer that runs out of paper mid-session. Every checkout
must be in the spool, the patron told plainly, and staff shown the printer's and the
scanner's state (status.json, `kiosk status`)."""

from __future__ import annotations

import json
import os
import pty
import sqlite3
import threading
import time
import tty
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import KioskHome, item, patron
from tests.e2e.live import LiveKiosk
from tests.e2e.test_headless import CLOCK

WAIT = 20.0  # seconds: a bound on waiting for the kiosk, never an expected duration


class PtyScanner:
    """A pty pair standing in for a USB serial scanner: the kiosk opens a stable link to the
    slave side, the test types barcodes into the master side."""

    def __init__(self, link: Path) -> None:
        self.master: int | None
        self.master, self.slave = pty.openpty()
        tty.setraw(self.slave)
        self.link = link
        link.symlink_to(os.ttyname(self.slave))

    def send(self, data: bytes) -> None:
        assert self.master is not None
        os.write(self.master, data)

    def scan(self, code: str) -> None:
        self.send(code.encode() + b"\r\n")  # a serial scanner's usual CRLF suffix

    def unplug(self) -> None:
        """Each descriptor is closed exactly once: a number closed twice may by then belong
        to some other file."""
        if self.master is not None:
            os.close(self.master)
            self.master = None

    def close(self) -> None:
        self.unplug()
        os.close(self.slave)


@pytest.fixture
def scanner_pty(tmp_path: Path) -> Iterator[PtyScanner]:
    device = PtyScanner(tmp_path / "scanner")
    yield device
    device.close()


def status_file(home: KioskHome) -> dict[str, Any]:
    return json.loads((home.data_dir / "status.json").read_text(encoding="utf-8"))


def wait_for_status(home: KioskHome, check: Any, what: str) -> dict[str, Any]:
    give_up = time.monotonic() + WAIT
    while time.monotonic() < give_up:
        try:
            status = status_file(home)
        except (OSError, ValueError):
            status = {}
        if status and check(status):
            return status
        threading.Event().wait(0.05)
    raise AssertionError(f"the staff status never showed {what}: {status}")


def test_paper_runs_out_mid_session_and_every_checkout_is_kept(
    home: KioskHome, scanner_pty: PtyScanner
) -> None:
    device = scanner_pty
    link = device.link
    home.write_config(
        extra=f"""
[[scanners]]
type = "serial"
name = "desk scanner"
url = "{link}"

[printer]
type = "fake"
paper_for = 1

[receipt]
mode = "always"
"""
    )
    home.import_standard_snapshot(built_at="2026-11-23T06:00:00-05:00")
    kiosk = LiveKiosk(home, "--clock", CLOCK, log_level="INFO")
    try:
        assert kiosk.next("ready")["patrons"] == 8
        wait_for_status(
            home, lambda s: s["scanners"].get("desk scanner", {}).get("connected"), "connected"
        )

        # First patron: two items, a receipt (the paper's last one).
        device.scan(patron(1))
        assert kiosk.next("patron_accepted")["patron"] == patron(1)
        for n in (1, 2):
            device.scan(item(n))
            assert kiosk.next("item_checked_out")["item"] == item(n)
        kiosk.send("@done")
        first = kiosk.next("session_ended")
        assert kiosk.next("receipt_printed")["session_id"] == first["session_id"]

        # Second patron: the paper is out. The items are checked out all the same.
        device.scan(patron(8))
        kiosk.next("patron_accepted")
        device.scan(item(3))
        assert kiosk.next("item_checked_out")["item"] == item(3)
        garbage = b"\x1b[2J\xff\r\n"  # a scanner misread: rejected, never a checkout
        device.send(garbage)
        assert kiosk.next("scan_rejected")["reason"] == "unrecognised"
        kiosk.send("@done")
        second = kiosk.next("session_ended")
        failed = kiosk.next("receipt_failed")
        assert failed["session_id"] == second["session_id"]
        assert failed["printer_state"] == "paper_out"
        assert failed["message"] == (
            "The receipt could not be printed. Your items are checked out all the same."
        )
        printer = wait_for_status(
            home, lambda s: (s.get("printer") or {}).get("state") == "paper_out", "paper out"
        )["printer"]
        assert printer["name"] == "fake"

        # The scanner is unplugged: staff see it.
        device.unplug()
        wait_for_status(
            home,
            lambda s: s["scanners"]["desk scanner"]["connected"] is False,
            "the scanner unplugged",
        )
        shown = home.kiosk("status")
        assert shown.returncode == 0, shown.stderr
        assert "scanner desk scanner: NOT CONNECTED" in shown.stdout
        assert "printer fake: paper_out" in shown.stdout
        assert kiosk.finish()[0] == 0, kiosk.stderr()
    finally:
        kiosk.stop()

    with sqlite3.connect(home.data_dir / "spool.db") as spool:
        rows = spool.execute("SELECT patron, item FROM checkouts ORDER BY seq").fetchall()
    assert rows == [(patron(1), item(1)), (patron(1), item(2)), (patron(8), item(3))]
    assert patron(1) not in kiosk.stderr()  # the log masks patron barcodes
