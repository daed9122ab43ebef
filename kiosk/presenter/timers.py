"""When a screen next changes by itself: the instant a frontend must wake to draw it.

A screen changes for two reasons: something happened (an engine event, a press, the
printer's or a staff job's answer: the shell wakes the frontend for those), or time passed.
These functions say when time next changes what the screen shows, from the same state and
the same rules as `on_tick` and `view`, so the frontend sleeps until then instead of
drawing frames to find out. Every instant is monotonic (runtime.clock), like `at`.

An instant already past is left out: `on_tick` has been given `at` and kept it (a Goodbye
screen waiting for the printer), so waking for it again would only spin.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from kiosk.presenter.patron_types import Screen, Settings, UiState
from kiosk.presenter.staff_types import StaffState

# Wake this long after a figure's change, not on it: a wake a hair early would draw the old
# figure and then sleep a whole second.
AFTER_CHANGE = timedelta(milliseconds=5)


def patron_next_change(state: UiState, at: timedelta, settings: Settings) -> timedelta | None:
    """When the patron screen next changes by itself, or None if only an input changes it."""
    instants = [state.notice_until, state.screen_until]
    countdown = settings.countdown
    # At the session's deadline itself nothing is drawn: the engine ends the session and its
    # events wake the screen (until then the countdown says 1 second, not nothing).
    if state.screen is Screen.CHECKOUT and state.deadline is not None and countdown:
        shows_from = state.deadline - countdown
        if at < shows_from:
            instants.append(shows_from)
        else:
            # The countdown shows max(1, int(left + 0.999)) seconds (patron_view): the
            # figure changes each time left + 0.999 passes a whole number, down to 1.
            figure = (state.deadline - at).total_seconds() + 0.999
            if figure >= 2:
                instants.append(at + _next_whole(figure))
    return _earliest(instants, at)


def staff_next_change(
    state: StaffState, now: datetime, at: timedelta, idle: timedelta
) -> timedelta | None:
    """When the staff screen next changes by itself: its footer counts down the seconds to
    the idle close each second; a PIN lock ends at a wall-clock time (`now` is the wall
    clock, and the lock's remaining time is measured from it)."""
    if not state.active or state.last_touch is None:
        return None
    closes = state.last_touch + idle
    instants: list[timedelta | None] = [closes]
    left = (closes - at).total_seconds()
    if left > 0:
        instants.append(at + _next_whole(left))
    if state.locked_until is not None and state.locked_until > now:
        instants.append(at + (state.locked_until - now) + AFTER_CHANGE)
    return _earliest(instants, at)


def earliest(*instants: timedelta | None) -> timedelta | None:
    """The first of some instants, None if there are none."""
    present = [t for t in instants if t is not None]
    return min(present) if present else None


def _next_whole(figure: float) -> timedelta:
    """How long until a figure counting down passes its next whole number (int() changes)."""
    return timedelta(seconds=figure - math.floor(figure)) + AFTER_CHANGE


def _earliest(instants: list[timedelta | None], at: timedelta) -> timedelta | None:
    return earliest(*(t for t in instants if t is not None and t > at))
