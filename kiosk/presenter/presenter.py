"""The screens as a state machine: engine events, button presses and time in; what each
screen shows (a ScreenView) and what the shell must do (effects) out.

Pure: the time is an argument, strings come from the Language passed in. Every time here
(`at`, the screen timers, the session deadline) is a monotonic instant (runtime.clock): the
screens keep their schedule when NTP moves the wall clock. The Kivy views only
draw a ScreenView and report presses.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from kiosk.domain.events import (
    Event,
    ItemCheckedOut,
    ItemRefused,
    OutOfService,
    PatronAccepted,
    PatronRefused,
    Ready,
    ScanRejected,
    SessionEnd,
    SessionEnded,
)
from kiosk.presenter.patron_texts import (
    ITEM_NOTICE,
    NOTICE_TEXT,
    OUT_OF_SERVICE_TEXT,
    RECEIPT_FAILED,
    REFUSAL_TEXT,
    SCAN_NOTICE,
)
from kiosk.presenter.patron_types import (
    Action,
    ButtonView,
    Effect,
    FinishedSession,
    LineView,
    Notice,
    NoticeView,
    PlaySound,
    PrintReceipt,
    Receipt,
    Screen,
    ScreenView,
    SendToEngine,
    Settings,
    Sound,
    UiState,
    Update,
)
from kiosk.presenter.patron_view import TITLE_LIMIT, shorten, view

__all__ = [
    "ITEM_NOTICE",
    "NOTICE_TEXT",
    "OUT_OF_SERVICE_TEXT",
    "RECEIPT_FAILED",
    "REFUSAL_TEXT",
    "SCAN_NOTICE",
    "TITLE_LIMIT",
    "Action",
    "ButtonView",
    "Effect",
    "FinishedSession",
    "LineView",
    "Notice",
    "NoticeView",
    "PlaySound",
    "PrintReceipt",
    "Receipt",
    "Screen",
    "ScreenView",
    "SendToEngine",
    "Settings",
    "Sound",
    "UiState",
    "Update",
    "clear",
    "initial_state",
    "on_deadline",
    "on_event",
    "on_press",
    "on_receipt",
    "on_tick",
    "shorten",
    "view",
]


def initial_state(settings: Settings) -> UiState:
    return UiState(language=settings.languages[0])


# Engine events --------------------------------------------------------------------------------


def on_event(state: UiState, event: Event, at: timedelta, settings: Settings) -> Update:
    if isinstance(event, Ready):
        return Update(_welcome(state, settings))
    if isinstance(event, OutOfService):
        down = replace(
            _welcome(state, settings),
            screen=Screen.OUT_OF_SERVICE,
            out_of_service=event.reason,
            out_of_service_detail=event.detail,
        )
        return Update(down)
    if isinstance(event, PatronAccepted):
        started = replace(
            state,
            screen=Screen.CHECKOUT,
            patron=event.patron,
            first_name=event.first_name,
            session_id=event.session_id,
            loans=(),
            notice=None,
            finished=None,
            receipt=Receipt.NONE,
            screen_until=None,
        )
        return Update(started, (PlaySound(Sound.SUCCESS),))
    if isinstance(event, PatronRefused):
        refused = replace(
            state,
            screen=Screen.REFUSED,
            refusal=event.reason,
            refused_fines=event.fines,
            notice=None,
            finished=None,
            screen_until=at + settings.refused,
        )
        return Update(refused, (PlaySound(Sound.PROBLEM),))
    if isinstance(event, ItemCheckedOut):
        added = replace(state, loans=(*state.loans, event.stored), notice=None)
        return Update(added, (PlaySound(Sound.SUCCESS),))
    if isinstance(event, ItemRefused):
        return _notice(state, ITEM_NOTICE[event.reason], at, settings)
    if isinstance(event, ScanRejected):
        return _notice(state, SCAN_NOTICE[event.reason], at, settings)
    if isinstance(event, SessionEnded):
        return _session_ended(state, event, at, settings)
    return Update(state)


def _notice(state: UiState, kind: Notice, at: timedelta, settings: Settings) -> Update:
    if state.screen in (Screen.OUT_OF_SERVICE, Screen.STARTING):
        return Update(state)
    shown = replace(state, notice=kind, notice_until=at + settings.notice)
    return Update(shown, (PlaySound(Sound.PROBLEM),))


def _session_ended(
    state: UiState, event: SessionEnded, at: timedelta, settings: Settings
) -> Update:
    finished = FinishedSession(event.session_id, event.patron, state.loans, event.reason)
    cleared = replace(state, patron="", first_name="", loans=(), notice=None, deadline=None)
    if event.reason is SessionEnd.CLEARED:
        return Update(_welcome(state, settings))
    if event.reason in (SessionEnd.NEW_PATRON, SessionEnd.OUT_OF_SERVICE, SessionEnd.END_OF_INPUT):
        return Update(cleared)  # the next event says what the screen shows
    if not finished.loans or not settings.offers_receipts:
        return Update(_goodbye(cleared, finished, Receipt.NONE, at, settings))
    if settings.receipt_mode == "always":
        printing = _goodbye(cleared, finished, Receipt.PRINTING, at, settings)
        return Update(printing, (PrintReceipt(finished),))
    if event.reason is SessionEnd.TIMEOUT:
        return Update(_goodbye(cleared, finished, Receipt.NONE, at, settings))  # walked away
    asking = replace(
        cleared, screen=Screen.FINISH, finished=finished, screen_until=at + settings.finish
    )
    return Update(asking)


def _goodbye(
    state: UiState, finished: FinishedSession, receipt: Receipt, at: timedelta, settings: Settings
) -> UiState:
    return replace(
        state,
        screen=Screen.GOODBYE,
        finished=finished,
        receipt=receipt,
        screen_until=at + settings.goodbye,
    )


def _welcome(state: UiState, settings: Settings) -> UiState:
    """Back to the start, in the first language, for the next patron."""
    return UiState(screen=Screen.WELCOME, language=settings.languages[0])


def clear(state: UiState, settings: Settings) -> UiState:
    """Staff cleared a stuck screen (a receipt that never came back, a session left open):
    back to Welcome, unless the station is out of service or starting."""
    if state.screen in (Screen.OUT_OF_SERVICE, Screen.STARTING, Screen.WELCOME):
        return state
    return _welcome(state, settings)


def on_deadline(state: UiState, deadline: timedelta | None) -> UiState:
    return state if state.deadline == deadline else replace(state, deadline=deadline)


# Presses, time and the printer ----------------------------------------------------------------


def on_press(state: UiState, action: Action, at: timedelta, settings: Settings) -> Update:
    if action is Action.LANGUAGE:
        languages = settings.languages
        following = languages[(languages.index(state.language) + 1) % len(languages)]
        return Update(replace(state, language=following))
    if action in (Action.DONE, Action.STILL_HERE) and state.screen is Screen.CHECKOUT:
        return Update(state, (SendToEngine(action),))
    if state.screen is Screen.FINISH and state.finished is not None:
        if action is Action.PRINT_RECEIPT:
            printing = _goodbye(state, state.finished, Receipt.PRINTING, at, settings)
            return Update(printing, (PrintReceipt(state.finished),))
        if action is Action.NO_RECEIPT:
            return Update(_goodbye(state, state.finished, Receipt.NONE, at, settings))
    return Update(state)


def on_tick(state: UiState, at: timedelta, settings: Settings) -> UiState:
    if state.notice_until is not None and at >= state.notice_until:
        state = replace(state, notice=None, notice_until=None)
    if state.screen_until is None or at < state.screen_until:
        return state
    if state.screen is Screen.FINISH and state.finished is not None:
        return _goodbye(state, state.finished, Receipt.NONE, at, settings)
    if state.screen is Screen.GOODBYE and state.receipt is Receipt.PRINTING:
        return state  # wait for the printer's answer (it always comes: see ReceiptDesk)
    if state.screen in (Screen.GOODBYE, Screen.REFUSED):
        return _welcome(state, settings)
    return state


def on_receipt(state: UiState, printed: bool, at: timedelta, settings: Settings) -> UiState:
    if state.screen is not Screen.GOODBYE or state.receipt is not Receipt.PRINTING:
        return state
    outcome = Receipt.PRINTED if printed else Receipt.FAILED
    return replace(state, receipt=outcome, screen_until=at + settings.goodbye)
