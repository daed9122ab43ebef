"""Staff mode in the real app, offscreen: the hidden corner, the on-screen keypad, the staff
screen and back to the patron screens.

One scenario (driver.py `staff`) runs in a process of its own, like every scenario here (why:
see driver.py). Touches go through Kivy's event loop as a finger's would (UnitTestTouch); the
hidden corner is timed by Kivy's own clock, so each hold waits the configured 1 s for real. The
test config's [staff] section holds a hashed PIN (harness.kiosk_toml).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kiosk.storage.audit import AuditLog
from tests.ui.harness import (
    HEIGHT,
    LONG_PRESS_SECONDS,
    STAFF_PIN,
    WIDTH,
    Run,
    make_home,
    run_scenario,
)

HOME_LABELS = [
    "Special due date…",
    "Pause the station",
    "Clear a stuck session",
    "Print a test receipt",
    "Reload the snapshot",
    "Export to a USB drive",
    "Start a new offline period…",
    "Exit staff mode",
]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    home = make_home(tmp_path_factory.mktemp("staff"), staff_pin=STAFF_PIN)
    return run_scenario(home, "staff")


def shown_buttons(capture: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for b in capture["buttons"] if b["shown"]]


def actions(capture: dict[str, Any]) -> list[str]:
    return [b["text"] for b in shown_buttons(capture) if not b["keypad"]]


def test_the_scenario_ran_to_the_end(run: Run) -> None:
    run.assert_completed()


def test_the_patron_screen_is_in_the_window_at_first(run: Run) -> None:
    start = run.step("start")
    assert start["root"] == ["KioskView"]
    assert start["kiosk_view_in_window"] is True
    assert start["staff_view_in_window"] is False


# The hidden corner ------------------------------------------------------------------------------


def test_a_short_tap_in_the_corner_opens_nothing(run: Run) -> None:
    tap = run.step("tap corner")
    assert tap["did"]["down"]["hold_scheduled"] is True  # the corner was hit
    assert tap["did"]["up"]["hold_scheduled"] is False  # and let go too soon
    assert tap["staff_mode"] is False  # checked once the hold time had passed


@pytest.mark.parametrize("where", ["beside the corner", "below the corner", "middle"])
def test_a_hold_elsewhere_opens_nothing(run: Run, where: str) -> None:
    hold = run.step(f"hold {where}")
    assert hold["did"]["hold_scheduled"] is False
    assert hold["staff_mode"] is False  # held past the hold time
    assert hold["hold_scheduled"] is False


def test_holding_the_corner_opens_the_pin_pad(run: Run) -> None:
    hold = run.step("hold corner")
    assert hold["did"]["at"] == [4.0, HEIGHT - 4.0]
    assert hold["did"]["staff_mode"] is False  # not at once: only once held
    assert hold["did"]["hold_seconds"] == LONG_PRESS_SECONDS  # [staff] long_press_seconds

    pad = run.capture("staff-pin")
    assert pad["root"] == ["StaffView"]
    assert pad["kiosk_view_in_window"] is False
    assert pad["heading"] == pad["expected"]["heading"] == "Staff: enter your PIN"
    assert actions(pad) == ["OK", "Cancel"]
    keys = [b["text"] for b in shown_buttons(pad) if b["keypad"]]
    assert sorted(keys) == sorted([*"0123456789", "Delete"])
    assert Path(pad["screenshot"]).stat().st_size > 0


def test_lifting_the_finger_leaves_the_pad_open(run: Run) -> None:
    lifted = run.step("lift corner")
    assert lifted["staff_mode"] is True
    assert lifted["root"] == ["StaffView"]


# The keypad and the staff screen ----------------------------------------------------------------


def test_the_pin_typed_on_the_keypad_opens_the_staff_screen(run: Run) -> None:
    typed = [run.step(f"pin {n}")["did"]["label"] for n in range(1, len(STAFF_PIN) + 1)]
    assert "".join(typed) == STAFF_PIN
    assert run.step("ok")["did"]["label"] == "OK"

    home = run.capture("staff-home")
    assert home["root"] == ["StaffView"]
    assert home["heading"] == "Staff"
    assert actions(home) == [b["label"] for b in home["expected"]["buttons"]] == HOME_LABELS
    assert [s["label"] for s in home["expected"]["status"]][:2] == ["Snapshot", "Checkouts"]
    assert [b for b in shown_buttons(home) if b["keypad"]] == []  # no keypad on this page
    assert all(b["disabled"] for b in home["buttons"] if b["keypad"])


@pytest.mark.parametrize("name", ["staff-pin", "staff-home"])
def test_staff_buttons_are_at_least_15_mm_and_on_the_screen(run: Run, name: str) -> None:
    capture = run.capture(name)
    min_target = capture["window"]["min_target"]
    assert min_target == pytest.approx(15 * capture["window"]["mm"])
    buttons = shown_buttons(capture)
    assert len(buttons) == (13 if name == "staff-pin" else 8)
    for b in buttons:
        assert b["width"] >= min_target, b
        assert b["height"] >= min_target, b
        assert b["x"] >= 0, b
        assert b["y"] >= 0, b
        assert b["x"] + b["width"] <= WIDTH, b
        assert b["y"] + b["height"] <= HEIGHT, b
        assert b["disabled"] is False, b


# Leaving ----------------------------------------------------------------------------------------


def test_exit_puts_the_patron_screen_back(run: Run) -> None:
    left = run.step("exit")
    assert left["did"]["label"] == "Exit staff mode"
    assert left["staff_mode"] is False
    assert left["root"] == ["KioskView"]
    assert left["kiosk_view_in_window"] is True
    assert left["staff_view_in_window"] is False
    assert left["screen"] == "welcome"


def test_a_pin_pad_left_alone_closes_by_itself(run: Run) -> None:
    assert run.step("hold again")["did"]["staff_mode"] is False
    assert run.step("lift again")["did"]["staff_mode"] is True
    alone = run.step("left alone")
    assert alone["root"] == ["KioskView"]
    assert alone["staff_mode"] is False


def test_the_audit_trail_has_the_sign_in_and_the_exit(run: Run) -> None:
    run.assert_completed()
    staff = [
        (e.action, e.actor, e.details)
        for e in AuditLog(run.home.data_dir).entries()
        if e.action.startswith("staff.")
    ]
    # The pad left alone signs nobody out: nobody had signed in.
    assert staff == [
        ("staff.sign_in", "staff screen", {"pad": "corner"}),
        ("staff.sign_out", "staff screen", {"reason": "exit"}),
    ]
