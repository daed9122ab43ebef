"""When a screen next changes by itself (kiosk.presenter.timers): a frontend that sleeps until
then must never miss a change, and never wake for nothing.

The property checked against the presenter's own rules (`on_tick`, `view`): from `at` until
just before the instant `next_change` gives, what the screen shows stays exactly the same;
at the instant, it has changed. Time moves only as an argument here.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.domain.events import SessionEnd
from kiosk.presenter import staff as s
from kiosk.presenter.i18n import load_language
from kiosk.presenter.presenter import (
    FinishedSession,
    Notice,
    Receipt,
    Screen,
    Settings,
    UiState,
    on_tick,
    view,
)
from kiosk.presenter.timers import AFTER_CHANGE, patron_next_change, staff_next_change
from tests.conftest import patron

EN = load_language("en")
SETTINGS = Settings(library="Test Library", languages=("en",))
T0 = timedelta(hours=5)  # a monotonic instant
WALL = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
IDLE = timedelta(seconds=60)
STEP = timedelta(milliseconds=50)  # how finely the time before a wake is searched
LOOK = timedelta(seconds=90)  # how far ahead a screen with no wake is searched


def assert_wakes_exactly_when_it_changes(
    state: UiState, at: timedelta, settings: Settings = SETTINGS
) -> None:
    def shown(state: UiState, at: timedelta) -> tuple[UiState, list[str]]:
        ticked = on_tick(state, at, settings)
        return ticked, view(ticked, at, EN, settings).texts()

    before = shown(state, at)
    wake = patron_next_change(state, at, settings)
    end = at + LOOK if wake is None else wake - AFTER_CHANGE - timedelta(microseconds=1)
    if state.deadline is not None and state.deadline <= end:
        # At the session's deadline the engine ends it, and its events wake the screen.
        end = state.deadline - timedelta(microseconds=1)
        assert wake is None or wake <= state.deadline
        wake = None if wake == state.deadline else wake
    t = at
    while t < end:
        assert shown(state, t) == before, f"changed at {t - at} before the wake at {wake}"
        t += STEP
    assert shown(state, end) == before, f"changed at {end - at}, before the wake at {wake}"
    if wake is not None:
        assert wake > at
        assert shown(state, wake) != before, f"woke at {wake - at} for nothing"


checkout = UiState(screen=Screen.CHECKOUT, patron=patron(1), first_name="Ana")


@settings(max_examples=60, deadline=None)
@given(
    left=st.floats(min_value=0.0005, max_value=30.0),
    countdown=st.integers(min_value=0, max_value=12),
)
def test_the_session_countdown_wakes_for_each_figure_and_nothing_else(
    left: float, countdown: int
) -> None:
    state = replace(checkout, deadline=T0 + timedelta(seconds=left))
    counting = replace(SETTINGS, countdown=timedelta(seconds=countdown))
    assert_wakes_exactly_when_it_changes(state, T0, counting)


@settings(max_examples=40, deadline=None)
@given(
    screen=st.sampled_from([Screen.REFUSED, Screen.GOODBYE, Screen.FINISH]),
    until=st.floats(min_value=0.001, max_value=20.0),
    notice=st.one_of(st.none(), st.floats(min_value=0.001, max_value=20.0)),
)
def test_timed_screens_and_notices_wake_when_they_go(
    screen: Screen, until: float, notice: float | None
) -> None:
    state = replace(
        checkout,
        screen=screen,
        finished=FinishedSession("s1", patron(1), (), SessionEnd.DONE),
        screen_until=T0 + timedelta(seconds=until),
        notice=None if notice is None else Notice.DUPLICATE,
        notice_until=None if notice is None else T0 + timedelta(seconds=notice),
    )
    assert_wakes_exactly_when_it_changes(state, T0)


def test_a_goodbye_waiting_for_the_printer_does_not_wake_again_and_again() -> None:
    """Its time has passed and `on_tick` keeps it (the printer's answer will come): no wake,
    where a past instant would make the frontend spin."""
    state = replace(
        checkout,
        screen=Screen.GOODBYE,
        receipt=Receipt.PRINTING,
        screen_until=T0 - timedelta(seconds=1),
    )
    assert patron_next_change(state, T0, SETTINGS) is None
    assert on_tick(state, T0, SETTINGS) == state


def test_welcome_and_out_of_service_never_wake_by_themselves() -> None:
    for screen in (Screen.WELCOME, Screen.OUT_OF_SERVICE, Screen.STARTING):
        state = UiState(screen=screen)
        assert patron_next_change(state, T0, SETTINGS) is None
        assert_wakes_exactly_when_it_changes(state, T0)


# Staff mode ------------------------------------------------------------------------------------


def staff_shown(state: s.StaffState, now: datetime, at: timedelta) -> list[str]:
    ticked = s.on_tick(state, now, at, IDLE).state
    return s.view(ticked, at, now.date(), IDLE, None).texts()


@settings(max_examples=40, deadline=None)
@given(
    touched=st.floats(min_value=0.0, max_value=59.9),
    locked=st.one_of(st.none(), st.floats(min_value=0.01, max_value=120.0)),
)
def test_staff_mode_wakes_for_each_second_of_its_footer_and_its_lock(
    touched: float, locked: float | None
) -> None:
    at = T0 + timedelta(seconds=touched)
    state = s.StaffState(active=True, page=s.Page.HOME, last_touch=T0)
    if locked is not None:
        state = replace(state, page=s.Page.LOCKED, locked_until=WALL + timedelta(seconds=locked))
    wake = staff_next_change(state, WALL, at, IDLE)
    assert wake is not None and wake > at
    before = staff_shown(state, WALL, at)
    # The wall clock moves with the monotonic one here (no NTP step in this test).
    end = wake - AFTER_CHANGE - timedelta(microseconds=1)
    t = at
    while t < end:
        assert staff_shown(state, WALL + (t - at), t) == before, f"changed at {t - at}"
        t += STEP
    assert staff_shown(state, WALL + (wake - at), wake) != before, "woke for nothing"


def test_staff_mode_closed_or_busy_past_its_idle_time_does_not_spin() -> None:
    assert staff_next_change(s.StaffState(), WALL, T0, IDLE) is None
    busy = s.StaffState(active=True, page=s.Page.HOME, last_touch=T0 - IDLE * 2, busy=s.Job.STATUS)
    assert staff_next_change(busy, WALL, T0, IDLE) is None
