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

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import Enum
from typing import assert_never

from kiosk.domain.loans import LoanRules

MAX_PIN = 12
MAX_DAYS = 365


class Page(Enum):
    PIN = "pin"
    LOCKED = "locked"
    HOME = "home"
    SPECIAL_DUE = "special_due"
    EXPORT = "export"
    CONFIRM_PERIOD = "confirm_period"
    BUSY = "busy"


class Press(Enum):
    DIGIT = "digit"
    BACKSPACE = "backspace"
    OK = "ok"
    CANCEL = "cancel"  # leave the PIN pad (back to the patron screens)
    BACK = "back"  # back to the staff screen
    EXIT = "exit"
    SPECIAL_DUE = "special_due"
    SET_SPECIAL_DUE = "set_special_due"
    CLEAR_SPECIAL_DUE = "clear_special_due"
    PAUSE = "pause"
    RESUME = "resume"
    CLEAR_SESSION = "clear_session"
    TEST_RECEIPT = "test_receipt"
    RELOAD_SNAPSHOT = "reload_snapshot"
    UPLOAD = "upload"
    EXPORT = "export"
    LOOK_AGAIN = "look_again"
    EXPORT_TO = "export_to"  # arg: the drive's index
    NEW_PERIOD = "new_period"
    CONFIRM_NEW_PERIOD = "confirm_new_period"
    UNLOCK_PIN_PAD = "unlock_pin_pad"


class PinResult(Enum):
    """What the shell's PIN check found."""

    OK = "ok"
    WRONG = "wrong"
    LOCKED = "locked"
    NOT_SET_UP = "not_set_up"


class Job(Enum):
    """Staff actions the shell carries out (each one audited there)."""

    STATUS = "status"
    DRIVES = "drives"
    SPECIAL_DUE = "special_due"  # arg: days from today, or None to clear
    PAUSE = "pause"
    RESUME = "resume"
    CLEAR_SESSION = "clear_session"
    TEST_RECEIPT = "test_receipt"
    RELOAD_SNAPSHOT = "reload_snapshot"
    UPLOAD = "upload"
    EXPORT = "export"  # arg: the drive's index in the last list
    NEW_PERIOD = "new_period"  # arg: the checkouts staff confirmed
    SIGN_OUT = "sign_out"  # arg: why ("exit", "timeout")
    UNLOCK_PIN_PAD = "unlock_pin_pad"  # lift a PIN lockout (a patron's wrong PINs)


BUSY_TEXT = {
    Job.RELOAD_SNAPSHOT: "Reloading the snapshot…",
    Job.UPLOAD: "Sending the checkouts to the library system…",
    Job.EXPORT: "Exporting and reading back…",
    Job.NEW_PERIOD: "Starting a new period…",
    Job.TEST_RECEIPT: "Printing a test receipt…",
}


@dataclass(frozen=True)
class StatusLine:
    label: str
    value: str
    warn: bool = False


@dataclass(frozen=True)
class Facts:
    """What the staff screen shows about the station (from the shell's status read)."""

    lines: tuple[StatusLine, ...]
    paused: bool
    period_checkouts: int | None  # None: the spool cannot be read
    period_pending: int
    retention_days: int
    can_upload: bool = False  # a library system (SIP2) is configured
    pin_locked: bool = False  # a PIN pad is locked after too many wrong PINs


@dataclass(frozen=True)
class Result:
    ok: bool
    message: str
    lines: tuple[str, ...] = ()


@dataclass(frozen=True)
class StaffState:
    active: bool = False
    page: Page = Page.PIN
    entry: str = ""  # PIN digits, or the number of days
    message: str = ""
    message_ok: bool = True
    details: tuple[str, ...] = ()
    facts: Facts | None = None
    drives: tuple[str, ...] | None = None  # None: not looked yet
    locked_until: datetime | None = None
    last_touch: timedelta | None = None  # monotonic
    busy: Job | None = None
    # The pad was opened by a staff card: its wrong PINs are counted apart from the corner's,
    # so a patron at the corner can never lock a card holder out.
    by_card: bool = False
    cards: bool = False  # staff cards are set up (the corner's lock notice says so)


@dataclass(frozen=True)
class CheckPin:
    pin: str
    by_card: bool = False


@dataclass(frozen=True)
class Run:
    job: Job
    arg: int | str | None = None


@dataclass(frozen=True)
class Leave:
    """Staff mode is over: the patron screens come back."""


Effect = CheckPin | Run | Leave


@dataclass(frozen=True)
class Update:
    state: StaffState
    effects: tuple[Effect, ...] = field(default_factory=tuple)


# Getting in ------------------------------------------------------------------------------------


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


# Presses ---------------------------------------------------------------------------------------


def on_press(state: StaffState, press: Press, arg: str, at: timedelta) -> Update:
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
        return _pin_press(state, press, arg)
    if press is Press.BACK:
        return Update(_home(state))
    if press in (Press.DIGIT, Press.BACKSPACE):
        if state.page is Page.SPECIAL_DUE:
            return Update(_typed(state, press, arg, limit=3))
        return Update(state)
    return _action_press(state, press, arg)


def _typed(state: StaffState, press: Press, arg: str, limit: int) -> StaffState:
    if press is Press.BACKSPACE:
        return replace(state, entry=state.entry[:-1])
    if len(arg) == 1 and arg in "0123456789" and len(state.entry) < limit:
        return replace(state, entry=state.entry + arg)
    return state


def _pin_press(state: StaffState, press: Press, arg: str) -> Update:
    if press in (Press.DIGIT, Press.BACKSPACE):
        return Update(_typed(state, press, arg, limit=MAX_PIN))
    if press is Press.OK and state.entry:
        checking = replace(state, busy=Job.STATUS, message="")
        return Update(checking, (CheckPin(state.entry, state.by_card),))
    return Update(state)


def _home(state: StaffState) -> StaffState:
    return replace(state, page=Page.HOME, entry="")


def _run(state: StaffState, job: Job, arg: int | str | None = None) -> Update:
    busy = replace(state, busy=job, message="", details=())
    if job in BUSY_TEXT:
        busy = replace(busy, page=Page.BUSY)
    return Update(busy, (Run(job, arg),))


def _action_press(state: StaffState, press: Press, arg: str) -> Update:
    simple = {
        Press.PAUSE: Job.PAUSE,
        Press.RESUME: Job.RESUME,
        Press.CLEAR_SESSION: Job.CLEAR_SESSION,
        Press.TEST_RECEIPT: Job.TEST_RECEIPT,
        Press.RELOAD_SNAPSHOT: Job.RELOAD_SNAPSHOT,
        Press.UPLOAD: Job.UPLOAD,
        Press.UNLOCK_PIN_PAD: Job.UNLOCK_PIN_PAD,
    }
    if press in simple:
        return _run(_home(state), simple[press])
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
        return _run(_home(state), Job.SPECIAL_DUE, days)
    if press is Press.CLEAR_SPECIAL_DUE:
        return _run(_home(state), Job.SPECIAL_DUE, None)
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


# Results and time --------------------------------------------------------------------------------


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
    if job in (Job.EXPORT, Job.NEW_PERIOD, Job.RELOAD_SNAPSHOT, Job.TEST_RECEIPT, Job.UPLOAD):
        done = _home(done)
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


# What the staff screens show ------------------------------------------------------------------


@dataclass(frozen=True)
class StaffButton:
    press: Press
    label: str
    arg: str = ""
    primary: bool = False
    danger: bool = False


@dataclass(frozen=True)
class StaffScreenView:
    heading: str
    message: str = ""
    message_ok: bool = True
    details: tuple[str, ...] = ()
    status: tuple[StatusLine, ...] = ()
    entry: str = ""  # shown above the keypad (PIN as dots)
    keypad: bool = False
    buttons: tuple[StaffButton, ...] = ()
    footer: str = ""

    def texts(self) -> list[str]:
        out = [self.heading, self.message, *self.details, self.entry, self.footer]
        out += [f"{s.label}: {s.value}" for s in self.status]
        out += [b.label for b in self.buttons]
        return [t for t in out if t]


def _left(state: StaffState, at: timedelta, idle: timedelta) -> str:
    if state.last_touch is None:
        return ""
    seconds = max(0, int((state.last_touch + idle - at).total_seconds()))
    total = int(idle.total_seconds())
    return f"Staff mode closes by itself after {total} s untouched ({seconds} s left)."


def view(
    state: StaffState,
    at: timedelta,
    today: date,
    idle: timedelta,
    rules: LoanRules | None = None,
) -> StaffScreenView:
    """rules: the library's open days, so a special due date on a closed day is flagged."""
    base = StaffScreenView(
        heading="",
        message=state.message,
        message_ok=state.message_ok,
        details=state.details,
        footer=_left(state, at, idle),
    )
    page = state.page
    if page is Page.PIN:
        checking = state.busy is not None
        return replace(
            base,
            heading="Staff: enter your PIN",
            entry="•" * len(state.entry) or "—",
            status=(StatusLine("", "Staff only. Every sign-in and action is recorded."),),
            keypad=True,
            message="Checking…" if checking else base.message,
            buttons=(
                StaffButton(Press.OK, "OK", primary=True),
                StaffButton(Press.CANCEL, "Cancel"),
            ),
        )
    if page is Page.LOCKED:
        until = state.locked_until.strftime("%H:%M") if state.locked_until else "later"
        lift = "`kiosk staff unlock` (from the console) lifts the lock now."
        audited = "Every attempt is in the audit trail."
        details = (lift, audited)
        if state.cards and not state.by_card:  # the card pad counts its own wrong PINs
            card = "A staff card still signs in: go back and scan it at the Welcome screen."
            details = (card, f"{lift} {audited}")
        return replace(
            base,
            heading="Staff mode is locked",
            message=f"Too many wrong PINs. Try again after {until}.",
            message_ok=False,
            details=details,
            buttons=(StaffButton(Press.CANCEL, "Back to the patron screen", primary=True),),
        )
    status = state.facts.lines if state.facts else (StatusLine("Status", "reading…"),)
    if page is Page.BUSY:
        return replace(
            base,
            heading=BUSY_TEXT.get(state.busy, "Working…") if state.busy else "Working…",
            message="Please wait. Do not remove any drive.",
            status=status,
            footer="",
        )
    if page is Page.SPECIAL_DUE:
        return _special_due_view(base, state, today, status, rules)
    if page is Page.EXPORT:
        return _export_view(base, state, status)
    if page is Page.CONFIRM_PERIOD:
        return _confirm_view(base, state, status)
    paused = state.facts.paused if state.facts else False
    upload = (
        (StaffButton(Press.UPLOAD, "Upload to the library system"),)
        if state.facts and state.facts.can_upload
        else ()
    )
    unlock = (
        (StaffButton(Press.UNLOCK_PIN_PAD, "Unlock the PIN pad"),)
        if state.facts and state.facts.pin_locked
        else ()
    )
    return replace(
        base,
        heading="Staff",
        status=status,
        buttons=(
            *upload,
            StaffButton(Press.SPECIAL_DUE, "Special due date…"),
            StaffButton(Press.RESUME, "Resume the station")
            if paused
            else StaffButton(Press.PAUSE, "Pause the station"),
            StaffButton(Press.CLEAR_SESSION, "Clear a stuck session"),
            StaffButton(Press.TEST_RECEIPT, "Print a test receipt"),
            StaffButton(Press.RELOAD_SNAPSHOT, "Reload the snapshot"),
            StaffButton(Press.EXPORT, "Export to a USB drive"),
            StaffButton(Press.NEW_PERIOD, "Start a new offline period…"),
            *unlock,
            StaffButton(Press.EXIT, "Exit staff mode", primary=True),
        ),
    )


def _special_due_view(
    base: StaffScreenView,
    state: StaffState,
    today: date,
    status: tuple[StatusLine, ...],
    rules: LoanRules | None,
) -> StaffScreenView:
    days = int(state.entry) if state.entry else 0
    preview = ""
    closed = ""
    if 1 <= days <= MAX_DAYS:
        due = today + timedelta(days=days)
        preview = f"due {due:%A} {due.isoformat()}"
        if rules is not None and not rules.is_open(due):
            closed = f"The library is closed on {due:%A} {due.isoformat()}: choose another day."
    entry = f"{state.entry or '—'} days" + (f":  {preview}" if preview else "")
    return replace(
        base,
        heading="Special due date: every checkout from now on",
        entry=entry,
        keypad=True,
        status=status,
        message=base.message or closed or "Type the number of days, then Set.",
        message_ok=base.message_ok and not (closed and not base.message),
        buttons=(
            StaffButton(Press.SET_SPECIAL_DUE, "Set", primary=True),
            StaffButton(Press.CLEAR_SPECIAL_DUE, "Clear (normal loans)"),
            StaffButton(Press.BACK, "Back"),
        ),
    )


def _export_view(
    base: StaffScreenView, state: StaffState, status: tuple[StatusLine, ...]
) -> StaffScreenView:
    if state.drives is None:
        return replace(base, heading="Export to a USB drive", message="Looking for drives…")
    buttons = [
        StaffButton(Press.EXPORT_TO, f"Export to {name}", arg=str(i), primary=True)
        for i, name in enumerate(state.drives)
    ]
    buttons += [StaffButton(Press.LOOK_AGAIN, "Look again"), StaffButton(Press.BACK, "Back")]
    message = base.message
    if not message:
        message = (
            "Choose the drive."
            if state.drives
            else "No USB drive found. Plug one in, wait a few seconds, then Look again."
        )
    return replace(
        base,
        heading="Export to a USB drive",
        message=message,
        details=base.details
        or ("Every format (.koc, CSV, JSONL) and a summary are written, then read back.",),
        status=status,
        buttons=tuple(buttons),
    )


def _confirm_view(
    base: StaffScreenView, state: StaffState, status: tuple[StatusLine, ...]
) -> StaffScreenView:
    heading = "Start a new offline period"
    facts = state.facts
    if facts is None:
        return replace(base, heading=heading, message="Checking the spool…", status=status)
    back = StaffButton(Press.BACK, "Back")
    if facts.period_checkouts is None:
        return replace(
            base,
            heading=heading,
            message="The spool cannot be read: no new period can start.",
            message_ok=False,
            status=status,
            buttons=(back,),
        )
    if facts.period_pending:
        return replace(
            base,
            heading=heading,
            message=(
                f"Not yet: {facts.period_pending} of this period's {facts.period_checkouts} "
                "checkouts have not been exported or uploaded."
            ),
            message_ok=False,
            details=("Export them first; then start the new period.",),
            status=status,
            buttons=(StaffButton(Press.EXPORT, "Export to a USB drive", primary=True), back),
        )
    kept = (
        f"kept for {facts.retention_days} days after they were handed over"
        if facts.retention_days
        else "kept"
    )
    n = facts.period_checkouts
    return replace(
        base,
        heading=heading,
        message=f"Archive this period's {n} checkouts and start a new period?",
        details=(
            f"All {n} were handed over. They are archived, not deleted ({kept}).",
            "The counts on this screen start again from zero.",
        ),
        status=status,
        buttons=(
            StaffButton(
                Press.CONFIRM_NEW_PERIOD, f"Archive {n} and start", primary=True, danger=True
            ),
            StaffButton(Press.BACK, "Cancel"),
        ),
    )
