"""Lockdown of the real app: patrons cannot close the kiosk or open Kivy's settings.

Each scenario runs the app in a process of its own (why: see test_screens.py and driver.py), so
a close that gets through ends only its own scenario and shows here as missing steps. Keys are
delivered as Kivy's SDL2 window delivers them: on_key_down, then on_keyboard (Kivy's own
Escape-to-exit and F1-settings handlers) only if on_key_down did not handle the key. A window
manager's close (Alt-F4, the close button) reaches the app as on_request_close.
"""

from __future__ import annotations

import pytest

from tests.conftest import item, patron
from tests.ui.harness import Run, make_home, run_scenario, spool_rows
from tests.ui.stepper import ALIVE_FRAMES


@pytest.fixture(scope="module")
def locked(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return run_scenario(make_home(tmp_path_factory.mktemp("lockdown")), "lockdown")


@pytest.fixture(scope="module")
def cursor_shown(tmp_path_factory: pytest.TempPathFactory) -> Run:
    home = make_home(tmp_path_factory.mktemp("cursor"), show_cursor=True)
    return run_scenario(home, "start")


def assert_still_up(run: Run, step_name: str) -> None:
    """The app went on drawing frames, with the session still open, after the step."""
    step = run.step(step_name)
    assert "frames" in step, f"the app stopped after '{step_name}'"
    assert step["frames"] - step["frame"] >= ALIVE_FRAMES
    assert step["running_app"] is True
    assert step["view_in_window"] is True
    assert step["event_loop"] == "started"
    assert step["screen"] == "checkout"
    assert step["session"] == patron(1)


def test_a_request_to_close_the_window_is_refused(locked: Run) -> None:
    assert locked.step("request close")["did"] == {"handled": True}  # True: keep the window
    assert_still_up(locked, "request close")


@pytest.mark.parametrize(
    ("step", "presses"), [("escape", 1), ("alt-f4", 1), ("ctrl-c", 2)], ids=lambda v: str(v)
)
def test_close_keys_do_nothing(locked: Run, step: str, presses: int) -> None:
    assert locked.step(step)["did"] == {"handled": [True] * presses}
    assert_still_up(locked, step)


def test_escape_reaching_kivy_itself_does_not_exit(locked: Run) -> None:
    assert_still_up(locked, "escape to kivy")


@pytest.mark.parametrize("step", ["f1", "f1 to kivy"])
def test_f1_opens_no_settings(locked: Run, step: str) -> None:
    facts = locked.step(step)
    assert facts["open_settings"] is False
    assert facts["settings_widgets"] == []
    assert_still_up(locked, step)


def test_the_kiosk_goes_on_lending_after_the_attempts(locked: Run) -> None:
    locked.assert_completed()  # and it still stops when the kiosk itself asks
    assert locked.capture("after-lockdown")["loans"] == [item(1)]
    assert locked.capture("after-lockdown")["window"]["children"] == 1  # no popup, no panel
    assert [r["item"] for r in spool_rows(locked.home.data_dir)] == [item(1)]


def test_the_cursor_is_hidden_by_default(locked: Run) -> None:
    assert locked.step("start")["show_cursor"] is False


def test_the_cursor_shows_when_configured(cursor_shown: Run) -> None:
    cursor_shown.assert_completed()
    assert cursor_shown.step("start")["show_cursor"] is True
