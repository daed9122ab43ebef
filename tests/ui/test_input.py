"""The keyboard-wedge input path of the real app: key events dispatched on Kivy's Window.

Each scenario runs the app in a process of its own (why: see test_screens.py and driver.py).
A wedge scanner is a keyboard: the driver dispatches, for every character, on_key_down and
on_textinput on the Window, then Enter, as Kivy's SDL2 window does for real keys.

- typing: [keyboard] max_key_gap_ms = 1000, so a burst is a scan even on a busy machine (the
  gap rule itself is tested by the slow scenario); cards and items typed, then random garbage.
- slow: max_key_gap_ms = 5 and every key in a frame of its own, at least 20 ms after the
  previous one (the app reads time.monotonic, so this is waiting for real frames, bounded).
- stalled: max_key_gap_ms = 500 and a scanner's burst with a 1 s frame in its middle.
"""

from __future__ import annotations

import pytest

from tests.conftest import item, patron
from tests.ui.driver import SLOW_GAP_S, STALL_S
from tests.ui.harness import Run, make_home, run_scenario, spool_rows

SLOW_CONFIG_GAP_S = 0.005
STALLED_CONFIG_GAP_S = 0.5


@pytest.fixture(scope="module")
def typed(tmp_path_factory: pytest.TempPathFactory) -> Run:
    home = make_home(tmp_path_factory.mktemp("typing"), max_key_gap_ms=1000)
    return run_scenario(home, "typing")


@pytest.fixture(scope="module")
def slow(tmp_path_factory: pytest.TempPathFactory) -> Run:
    home = make_home(tmp_path_factory.mktemp("slow"), max_key_gap_ms=int(SLOW_CONFIG_GAP_S * 1000))
    return run_scenario(home, "slow")


@pytest.fixture(scope="module")
def stalled(tmp_path_factory: pytest.TempPathFactory) -> Run:
    home = make_home(
        tmp_path_factory.mktemp("stalled"), max_key_gap_ms=int(STALLED_CONFIG_GAP_S * 1000)
    )
    return run_scenario(home, "stalled")


def row_texts(run: Run, capture: str) -> list[list[str]]:
    return [row["texts"] for row in run.capture(capture)["lines"]]


def test_a_scanned_card_starts_a_session(typed: Run) -> None:
    card = typed.capture("typed-card")
    assert card["screen"] == "checkout"
    assert card["labels"]["heading"]["text"] == "Hello, Ana!"
    assert typed.step("card")["did"] == {"enter_handled": True}


def test_scanned_items_are_spooled_and_listed(typed: Run) -> None:
    typed.assert_completed()
    shown = row_texts(typed, "typed-items")
    assert [texts[0] for texts in shown] == [f"Item {item(2)}", f"Item {item(1)}"]
    assert all(texts[1].startswith("Due ") for texts in shown)
    assert typed.capture("typed-items")["labels"]["count"]["text"] == "2 items checked out"
    rows = spool_rows(typed.home.data_dir)
    assert [(r["patron"], r["item"], r["kiosk_id"]) for r in rows] == [
        (patron(1), item(n), "TEST-SC01") for n in (1, 2, 3)
    ]
    assert len({r["session_id"] for r in rows}) == 1


def test_keypad_enter_ends_a_scan_too(typed: Run) -> None:
    # item 2 was typed with keypad Enter (key 271)
    assert typed.capture("typed-items")["loans"] == [item(1), item(2)]


def test_random_typing_neither_crashes_nor_checks_anything_out(typed: Run) -> None:
    typed.assert_completed()  # no traceback in the log, a clean exit
    garbage = typed.step("garbage")
    assert garbage["did"]["enters"] > 10
    after = typed.step("item 3")
    assert after["engine_failed"] == "None"
    assert after["running_app"] and after["view_in_window"]
    assert after["screen"] == "checkout"
    assert after["session"] == patron(1)  # the same patron's session goes on
    # The garbage reached the engine: each Enter after enough keys was a refused scan.
    assert after["sounds"].count("problem") >= 10
    assert after["sounds"][-1] == "success"  # and the next real scan still works
    assert typed.capture("after-garbage")["loans"] == [item(1), item(2), item(3)]
    assert [r["item"] for r in spool_rows(typed.home.data_dir)] == [item(1), item(2), item(3)]


def test_slow_typing_is_not_a_scan(slow: Run) -> None:
    slow.assert_completed()
    gaps = [
        step["did"]["gap_s"]
        for name, step in slow.data["steps"].items()
        if name.startswith(("late enter", "slow card", "slow item"))
        and step["did"]["gap_s"] is not None
    ]
    assert len(gaps) == 1 + 15 + 14  # every chunk but the very first followed a pause
    assert min(gaps) > SLOW_CONFIG_GAP_S  # the premise: each came after the configured gap
    assert SLOW_GAP_S > SLOW_CONFIG_GAP_S

    # On Welcome, a card typed in a burst with Enter after a pause, and a card typed key by
    # key: no session. The item scanned after them is refused for want of a card.
    card = slow.step("card sentinel")
    assert card["screen"] == "welcome"
    assert card["notice"] == "no_patron"
    assert card["sounds"] == ["problem"]

    # An item typed key by key during a session: not checked out; the one scanned after it is.
    items = slow.step("item sentinel")
    assert items["loans"] == [item(3)]
    assert items["sounds"] == ["problem", "success", "success"]  # no card, card, item 3
    assert slow.step("more frames")["loans"] == [item(3)]
    assert [r["item"] for r in spool_rows(slow.home.data_dir)] == [item(3)]
    assert [texts[0] for texts in row_texts(slow, "slow-typed")] == [f"Item {item(3)}"]


def test_a_slow_frame_in_the_middle_of_a_scan_does_not_split_it(stalled: Run) -> None:
    """Issue 15: keys were timed when handled, so the keys that waited out a slow frame in
    the window's queue looked like a new burst, and the item was an unrecognised scan."""
    stalled.assert_completed()
    step = stalled.step("the rest after a slow frame")
    assert step["did"]["frame_s"] >= STALL_S > STALLED_CONFIG_GAP_S  # the premise
    assert step["loans"] == [item(4)]
    assert step["notice"] is None
    assert step["sounds"] == ["success", "success"]  # the card, the item
    assert [r["item"] for r in spool_rows(stalled.home.data_dir)] == [item(4)]
