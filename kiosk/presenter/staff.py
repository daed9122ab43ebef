"""Staff mode's screens as a state machine: the PIN pad, the staff screen and its pages.

Pure, like the patron screens: presses, results of staff actions and time come in; a
StaffScreenView and effects (check this PIN, run that action, leave) go out. The shell runs
the actions (kiosk.runtime.staff) off the UI thread and feeds their results back.

Staff screens are in English, like the `kiosk staff` commands they mirror.

Two times come in: `at`, a monotonic instant (runtime.clock), measures the idle time that
closes staff mode, so NTP setting the wall clock neither closes it at once nor keeps it open;
`now`, the wall clock, only for the PIN lock, which the sign-in gate stores as a wall time.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from kiosk.presenter.staff_actions import action_press, home, on_drives, on_facts, on_result
from kiosk.presenter.staff_pad import edit_entry, on_pin_result, open_pad, pin_press
from kiosk.presenter.staff_pages import StaffButton, StaffScreenView, view
from kiosk.presenter.staff_types import (
    MAX_DAYS,
    MAX_PIN,
    CheckPin,
    Effect,
    Facts,
    Job,
    Leave,
    Page,
    PinResult,
    Press,
    Result,
    Run,
    StaffPress,
    StaffState,
    StatusLine,
    Update,
)

__all__ = [
    "MAX_DAYS",
    "MAX_PIN",
    "CheckPin",
    "Effect",
    "Facts",
    "Job",
    "Leave",
    "Page",
    "PinResult",
    "Press",
    "Result",
    "Run",
    "StaffButton",
    "StaffPress",
    "StaffScreenView",
    "StaffState",
    "StatusLine",
    "Update",
    "on_drives",
    "on_facts",
    "on_pin_result",
    "on_press",
    "on_result",
    "on_tick",
    "open_pad",
    "view",
]


# Presses ---------------------------------------------------------------------------------------


def on_press(state: StaffState, press: StaffPress, arg: str, at: timedelta) -> Update:
    if not state.active:
        return Update(state)
    state = replace(state, last_touch=at)
    if state.busy is not None:
        return Update(state)  # one action at a time; it always answers (see the shell)
    if press is Press.CANCEL or press is Press.EXIT:
        reason = "exit" if state.page not in (Page.PIN, Page.LOCKED) else "cancel"
        effects: tuple[Effect, ...] = (Leave(),)
        if reason == "exit":
            effects = (Run(Job.SIGN_OUT, "exit"), Leave())
        return Update(StaffState(), effects)
    if state.page is Page.PIN:
        return pin_press(state, press, arg) if isinstance(press, Press) else Update(state)
    if press is Press.BACK:
        return Update(home(state))
    if press is Press.DIGIT or press is Press.BACKSPACE:
        if state.page is Page.SPECIAL_DUE:
            return Update(edit_entry(state, press, arg, limit=3))
        return Update(state)
    return action_press(state, press, arg)


def on_tick(state: StaffState, now: datetime, at: timedelta, idle: timedelta) -> Update:
    """Staff mode closes itself after `idle` without a touch (never mid-action)."""
    if not state.active or state.busy is not None or state.last_touch is None:
        return Update(state)
    if state.page is Page.LOCKED and state.locked_until is not None and now >= state.locked_until:
        pad = StaffState(active=True, last_touch=at, by_card=state.by_card, cards=state.cards)
        return Update(pad)
    if at - state.last_touch >= idle:
        effects: tuple[Effect, ...] = (Leave(),)
        if state.page not in (Page.PIN, Page.LOCKED):
            effects = (Run(Job.SIGN_OUT, "timeout"), Leave())
        return Update(StaffState(), effects)
    return Update(state)
