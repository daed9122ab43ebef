"""Getting into staff mode: the PIN pad, the shell's PIN check and the lock after too many
wrong PINs (a wall time, as the sign-in gate stores it)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import assert_never

from kiosk.presenter.staff_types import (
    MAX_PIN,
    CheckPin,
    Job,
    Page,
    PinResult,
    Press,
    Run,
    StaffState,
    Update,
)


def open_pad(
    state: StaffState,
    now: datetime,
    at: timedelta,
    locked_until: datetime | None,
    *,
    by_card: bool = False,
    cards: bool = False,
) -> StaffState:
    """A staff card (by_card) or the hidden corner: the PIN pad (or the lock notice).
    locked_until: that pad's lock; cards: staff cards are set up."""
    if state.active:
        return replace(state, last_touch=at)
    pad = StaffState(active=True, page=Page.PIN, last_touch=at, by_card=by_card, cards=cards)
    if locked_until is not None and now < locked_until:
        return replace(pad, page=Page.LOCKED, locked_until=locked_until)
    return pad


def on_pin_result(
    state: StaffState,
    result: PinResult,
    tries_left: int,
    locked_until: datetime | None,
    at: timedelta,
) -> Update:
    """The shell checked the PIN."""
    if not state.active:
        return Update(state)
    match result:
        case PinResult.OK:
            home = replace(
                state, page=Page.HOME, entry="", message="", details=(), busy=None, last_touch=at
            )
            return Update(home, (Run(Job.STATUS),))
        case PinResult.LOCKED:
            return Update(
                replace(state, page=Page.LOCKED, entry="", locked_until=locked_until, busy=None)
            )
        case PinResult.NOT_SET_UP:
            return Update(
                replace(
                    state,
                    entry="",
                    busy=None,
                    message="Staff mode is not set up on this kiosk.",
                    message_ok=False,
                    details=("Add a PIN with `kiosk staff add-pin`.",),
                )
            )
        case PinResult.WRONG:
            word = "try" if tries_left == 1 else "tries"
            return Update(
                replace(
                    state,
                    entry="",
                    busy=None,
                    message=f"Wrong PIN. {tries_left} {word} left before staff mode locks.",
                    message_ok=False,
                    details=(),
                )
            )
        case _:
            assert_never(result)


def edit_entry(state: StaffState, press: Press, arg: str, limit: int) -> StaffState:
    """A digit or a backspace into the entry (PIN digits or days), at most `limit` digits."""
    if press is Press.BACKSPACE:
        return replace(state, entry=state.entry[:-1])
    if len(arg) == 1 and arg in "0123456789" and len(state.entry) < limit:
        return replace(state, entry=state.entry + arg)
    return state


def pin_press(state: StaffState, press: Press, arg: str) -> Update:
    """A press on the PIN pad: typing, or OK to have the shell check the PIN."""
    if press in (Press.DIGIT, Press.BACKSPACE):
        return Update(edit_entry(state, press, arg, limit=MAX_PIN))
    if press is Press.OK and state.entry:
        checking = replace(state, busy=Job.STATUS, message="")
        return Update(checking, (CheckPin(state.entry, state.by_card),))
    return Update(state)
