"""Running the real kiosk app offscreen, one scenario per process, and reading what it showed.

The tests call `run_scenario`; it starts `python -m tests.ui.driver` (see driver.py for why
each scenario gets a process of its own) with an offscreen SDL video driver and a private
KIVY_HOME, and reads back the JSON the driver wrote.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kiosk.domain.staff import hash_secret
from tests.conftest import KioskHome

REPO = Path(__file__).resolve().parents[2]
# The ManualClock starts here (a Monday); the patron snapshot was built an hour before.
START = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
SNAPSHOT_BUILT = "2026-03-02T14:00:00+00:00"
MAX_AGE_HOURS = 48  # so advancing the clock three days puts the station out of service
WIDTH, HEIGHT = 1280, 800
RUN_TIMEOUT = 120  # seconds; a hung driver fails the test instead of hanging the suite
STAFF_PIN = "2580"
LONG_PRESS_SECONDS = 1.0  # the shortest the config allows: each hold in a scenario waits this
STAFF_IDLE_SECONDS = 60


def kiosk_toml(
    *,
    show_cursor: bool | None = None,
    max_key_gap_ms: int | None = None,
    staff_pin: str | None = None,
) -> str:
    """The test kiosk's display, printer, sounds (and keyboard and staff) sections."""
    text = f"""
[display]
fullscreen = "windowed"
width = {WIDTH}
height = {HEIGHT}
"""
    if show_cursor is not None:
        text += f"show_cursor = {'true' if show_cursor else 'false'}\n"
    text += """
[printer]
type = "fake"

[sounds]
enabled = false
"""
    if max_key_gap_ms is not None:
        text += f"\n[keyboard]\nmax_key_gap_ms = {max_key_gap_ms}\n"
    if staff_pin is not None:
        pin = hash_secret(staff_pin, os.urandom(16)).text()
        text += (
            f'\n[staff]\npins = ["{pin}"]\nlong_press_seconds = {LONG_PRESS_SECONDS}\n'
            f"idle_seconds = {STAFF_IDLE_SECONDS}\n"
        )
    return text


def make_home(root: Path, **toml: Any) -> KioskHome:
    """A kiosk folder with the test config and the standard patron snapshot."""
    root.mkdir(parents=True, exist_ok=True)
    home = KioskHome(root, root / "kiosk.toml", root / "data")
    home.write_config(max_age_hours=MAX_AGE_HOURS, extra=kiosk_toml(**toml))
    home.import_standard_snapshot(built_at=SNAPSHOT_BUILT)
    return home


@dataclass
class Run:
    home: KioskHome
    returncode: int
    stderr: str
    data: dict[str, Any]
    out_dir: Path

    def capture(self, name: str) -> dict[str, Any]:
        captures = self.data.get("captures", {})
        assert name in captures, (
            f"the app never reached '{name}': {self.data.get('error')}\n{self.stderr[-3000:]}"
        )
        return captures[name]

    def step(self, name: str) -> dict[str, Any]:
        steps = self.data.get("steps", {})
        assert name in steps, (
            f"step '{name}' never ran: {self.data.get('error')}\n{self.stderr[-3000:]}"
        )
        return steps[name]

    def assert_completed(self) -> None:
        """Every step ran, the app stopped by itself and the process exited cleanly."""
        assert self.data.get("error") is None, self.data.get("error")
        assert self.data.get("finished") is True, f"the scenario stopped early\n{self.stderr}"
        assert self.returncode == 0, self.stderr[-3000:]
        assert "Traceback" not in self.stderr, self.stderr[-3000:]


def offscreen_env(kivy_home: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("KIOSK_", "KIVY_", "SDL_")) and k not in ("DISPLAY", "WAYLAND_DISPLAY")
    }
    env.update(
        SDL_VIDEODRIVER="offscreen",
        SDL_AUDIODRIVER="dummy",
        KIVY_HOME=str(kivy_home),
        KIVY_NO_ARGS="1",
        KIVY_NO_CONSOLELOG="1",
        KIVY_NO_FILELOG="1",
        PYTHONUNBUFFERED="1",
    )
    return env


def run_scenario(home: KioskHome, scenario: str) -> Run:
    out_dir = home.root / f"out-{scenario}"
    out_dir.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.ui.driver",
            str(home.config_path),
            scenario,
            str(out_dir),
        ],
        cwd=REPO,
        env=offscreen_env(home.root / "kivy-home"),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    result_file = out_dir / "result.json"
    data = json.loads(result_file.read_text(encoding="utf-8")) if result_file.exists() else {}
    assert data, f"the driver wrote no result (exit {result.returncode}):\n{result.stderr[-3000:]}"
    return Run(home, result.returncode, result.stderr, data, out_dir)


def spool_rows(data_dir: Path) -> list[dict[str, Any]]:
    """The checkouts in data/spool.db, in insertion order, read with plain sqlite3."""
    path = data_dir / "spool.db"
    assert path.exists(), "the kiosk created no spool"
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM checkouts ORDER BY id")]
    finally:
        conn.close()
