"""The full-screen kiosk takes scans from device scanners (not only the keyboard wedge):
`kiosk run --offscreen` with a fake scanner that plays a patron card and two items, then
stopped by SIGTERM as systemd does. Runs the real command as a subprocess."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
import time

from tests.conftest import KioskHome, item, kiosk_env, patron

WAIT = 30.0  # a bound on waiting, never an expected duration


def checkouts(home: KioskHome) -> list[tuple[str, str]]:
    """The spool's checkouts, or none while the kiosk is still creating it."""
    spool = home.data_dir / "spool.db"
    try:
        with sqlite3.connect(f"file:{spool}?mode=ro", uri=True) as db:
            return db.execute("SELECT patron, item FROM checkouts ORDER BY seq").fetchall()
    except sqlite3.OperationalError:  # not there yet, or its tables not made yet
        return []


def test_scans_from_a_device_scanner_are_checked_out_on_the_screens(home: KioskHome) -> None:
    home.write_config(
        extra=f"""
[display]
fullscreen = "windowed"
[sounds]
enabled = false
[[scanners]]
type = "fake"
name = "test scanner"
script = ["{patron(1)}", "{item(1)}", "{item(2)}"]
interval_ms = 200
"""
    )
    home.import_standard_snapshot()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "--config", str(home.config_path), "run", "--offscreen"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=kiosk_env(),
    )
    rows: list[tuple[str, str]] = []
    try:
        give_up = time.monotonic() + WAIT
        while time.monotonic() < give_up and len(rows) < 2 and proc.poll() is None:
            threading.Event().wait(0.1)
            rows = checkouts(home)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=WAIT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    log = err.decode("utf-8", "replace")
    assert rows == [(patron(1), item(1)), (patron(1), item(2))], log
    assert proc.returncode == 0, log
    assert "Traceback" not in log, log
