"""The app draws when something changes, not on a steady beat (issue 17): the real app on
the real clock, offscreen, with nobody driving its frames (tests/ui/asleep.py).

Frames are counted, not timed: a screen's timer may fire late on a loaded machine, but an
app that polls draws dozens of frames in a few idle seconds, and one that sleeps draws none.
The one time bound asserted is a lower one (a timed screen never goes before its time),
which no load can break.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import KioskHome
from tests.ui.harness import REPO, RUN_TIMEOUT, kiosk_toml, offscreen_env

TIMERS = """idle_timeout_seconds = 10
countdown_seconds = 3
refused_seconds = 2
finish_seconds = 3
goodbye_seconds = 2"""


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("asleep")
    home = KioskHome(root, root / "kiosk.toml", root / "data")
    home.write_config(extra=kiosk_toml())
    text = home.config_path.read_text(encoding="utf-8")
    home.config_path.write_text(text.replace("idle_timeout_seconds = 60", TIMERS), "utf-8")
    home.import_standard_snapshot(built_at=datetime.now(UTC).isoformat())
    out = root / "out"
    result = subprocess.run(
        [sys.executable, "-m", "tests.ui.asleep", str(home.config_path), str(out)],
        cwd=REPO,
        env=offscreen_env(root / "kivy-home"),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    path = Path(out / "result.json")
    assert path.exists(), f"the probe wrote nothing (exit {result.returncode}):\n{result.stderr}"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    assert data["error"] is None, data["error"] + "\n" + result.stderr[-3000:]
    assert result.returncode == 0, result.stderr[-3000:]
    assert "done" in data["marks"], data["marks"]
    return data


def frames_in(run: dict[str, Any], phase: str) -> list[dict[str, Any]]:
    return [f for f in run["frames"] if f["phase"] == phase]


def test_left_alone_on_welcome_it_draws_nothing(run: dict[str, Any]) -> None:
    # Three idle seconds: a 30-a-second frame would have drawn about 90.
    idle = frames_in(run, "idle")
    assert len(idle) <= 1, idle  # the frame that found Welcome, at most


def test_a_refused_card_is_drawn_at_once_and_leaves_on_its_timer_alone(
    run: dict[str, Any],
) -> None:
    marks = run["marks"]
    # Woken by the engine's events: the scan's frame, then the timer's, and not a beat.
    assert 1 <= len(frames_in(run, "refused")) <= 3, frames_in(run, "refused")
    shown = frames_in(run, "refused shown")
    assert len(shown) <= 3, shown  # the timer's frame (and the sound's effects, at most)
    # Never before its time (a lower bound: a loaded machine can only make it later).
    stayed = marks["back to welcome"] - marks["refused shown"]
    assert stayed >= run["session"]["refused"] - 0.05, marks


def test_the_countdown_is_drawn_once_a_second_and_nothing_between(
    run: dict[str, Any],
) -> None:
    session = run["session"]
    waiting = frames_in(run, "item shown")
    countdowns = [f["countdown"] for f in waiting if f["countdown"]]
    # Each figure of the countdown was drawn, in order: 3, 2, 1 seconds.
    figures = [int("".join(ch for ch in words if ch.isdigit())) for words in countdowns]
    assert sorted(set(figures), reverse=True) == list(range(session["countdown"], 0, -1)), (
        countdowns
    )
    # Before the countdown (7 quiet seconds of the session's 10): no frame at all; then a
    # frame for each figure, and the one that ends the session (Goodbye, no countdown).
    quiet = [f for f in waiting if not f["countdown"]]
    assert len(quiet) <= 1, quiet
    assert len(waiting) <= session["countdown"] + 3, waiting


def test_the_session_ends_on_time_and_the_welcome_screen_comes_back(
    run: dict[str, Any],
) -> None:
    marks = run["marks"]
    session = run["session"]
    # The engine counts the idle time from when it took the scan, after it was posted.
    assert marks["session ended"] - marks["item: scanned"] >= session["idle_timeout"], marks
    after = frames_in(run, "item shown") + frames_in(run, "session ended")
    screens = [f["screen"] for f in after]
    ends = screens[screens.index("goodbye") :] if "goodbye" in screens else []
    assert ends and ends[-1] == "welcome", screens
    assert marks["done"] - marks["session ended"] >= session["goodbye"] - 0.05, marks
    # Goodbye's frame and its timer's: a handful of frames, not 30 a second.
    assert len(frames_in(run, "session ended")) <= 3, frames_in(run, "session ended")


def test_every_frame_was_one_the_app_chose(run: dict[str, Any]) -> None:
    """The probe saw every frame the app drew, and the app drew few in about 20 seconds."""
    assert run["app_frames"] == len(run["frames"])
    assert run["app_frames"] <= 30, [f["phase"] for f in run["frames"]]
