"""The staff screen's actions: a press becomes a job for the shell (one at a time), and the
job's result, the station's facts and the drives found come back into the state."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from kiosk.presenter.staff_types import (
    MAX_DAYS,
    Facts,
    Job,
    Page,
    Press,
    Result,
    Run,
    StaffPress,
    StaffState,
    Update,
)


def home(state: StaffState) -> StaffState:
    """Back to the staff screen's home page."""
    return replace(state, page=Page.HOME, entry="")


def _run(state: StaffState, job: Job, arg: int | str | None = None) -> Update:
    busy = replace(state, busy=job, message="", details=())
    if job.busy is not None:
        busy = replace(busy, page=Page.BUSY)
    return Update(busy, (Run(job, arg),))


def action_press(state: StaffState, press: StaffPress, arg: str) -> Update:
    """A press on a staff page other than the PIN pad: a job for the shell, or a page."""
    if isinstance(press, Job):
        return _run(home(state), press) if press.button else Update(state)
    if press is Press.SPECIAL_DUE:
        return Update(replace(state, page=Page.SPECIAL_DUE, entry="", message="", details=()))
    if press is Press.SET_SPECIAL_DUE and state.page is Page.SPECIAL_DUE:
        days = int(state.entry) if state.entry else 0
        if not 1 <= days <= MAX_DAYS:
            return Update(
                replace(
                    state, message=f"Type a number of days from 1 to {MAX_DAYS}.", message_ok=False
                )
            )
        return _run(home(state), Job.SPECIAL_DUE, days)
    if press is Press.CLEAR_SPECIAL_DUE:
        return _run(home(state), Job.SPECIAL_DUE, None)
    if press in (Press.EXPORT, Press.LOOK_AGAIN):
        looking = replace(state, page=Page.EXPORT, drives=None, message="", details=())
        return _run(looking, Job.DRIVES)
    if press is Press.EXPORT_TO and state.page is Page.EXPORT and state.drives:
        index = int(arg) if arg.isdigit() else -1
        if 0 <= index < len(state.drives):
            return _run(state, Job.EXPORT, index)
        return Update(state)
    if press is Press.NEW_PERIOD:
        checking = replace(state, page=Page.CONFIRM_PERIOD, facts=None, message="", details=())
        return _run(checking, Job.STATUS)
    if press is Press.CONFIRM_NEW_PERIOD and state.page is Page.CONFIRM_PERIOD:
        facts = state.facts
        if facts is None or facts.period_checkouts is None or facts.period_pending:
            return Update(state)
        return _run(state, Job.NEW_PERIOD, facts.period_checkouts)
    return Update(state)


# Results ----------------------------------------------------------------------------------------


def on_result(state: StaffState, job: Job, result: Result, at: timedelta) -> Update:
    """A staff action finished. The staff screen shows what it did, in plain words."""
    if not state.active:
        return Update(state)
    done = replace(
        state,
        busy=None,
        message=result.message,
        message_ok=result.ok,
        details=result.lines,
        last_touch=at,  # a long export does not count as idle time
    )
    if job.busy is not None:  # it had a page of its own while it ran
        done = home(done)
    if job is Job.EXPORT and not result.ok:
        done = replace(done, page=Page.EXPORT)
    if job is Job.STATUS:
        return Update(done)
    return Update(done, (Run(Job.STATUS),))  # what changed shows at once


def on_facts(state: StaffState, facts: Facts) -> StaffState:
    if not state.active:
        return state
    return replace(state, facts=facts, busy=None if state.busy is Job.STATUS else state.busy)


def on_drives(state: StaffState, drives: tuple[str, ...]) -> StaffState:
    if not state.active:
        return state
    return replace(state, drives=drives, busy=None if state.busy is Job.DRIVES else state.busy)
