"""Staff mode's types: its pages, presses, jobs and PIN results; what it knows about the
station; its state; and the effects it asks the shell for."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum

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
    """Presses that move about the staff screens or edit an entry. A button that starts a
    staff action as it is carries the action itself (a Job with `button`), not a Press."""

    DIGIT = "digit"
    BACKSPACE = "backspace"
    OK = "ok"
    CANCEL = "cancel"  # leave the PIN pad (back to the patron screens)
    BACK = "back"  # back to the staff screen
    EXIT = "exit"
    SPECIAL_DUE = "special_due"  # the special due date's page
    SET_SPECIAL_DUE = "set_special_due"
    CLEAR_SPECIAL_DUE = "clear_special_due"
    EXPORT = "export"  # the drives' page
    LOOK_AGAIN = "look_again"
    EXPORT_TO = "export_to"  # arg: the drive's index
    NEW_PERIOD = "new_period"  # the confirmation page
    CONFIRM_NEW_PERIOD = "confirm_new_period"


class PinResult(Enum):
    """What the shell's PIN check found."""

    OK = "ok"
    WRONG = "wrong"
    LOCKED = "locked"
    NOT_SET_UP = "not_set_up"


class Job(Enum):
    """Staff actions the shell carries out (each one audited there), each declared here once:
    `button`, a staff button starts it as it is (the button carries the Job); `busy`, the
    words of the page shown while it runs, for an action that takes a while (the staff
    screen goes back home when it ends), or None."""

    button: bool
    busy: str | None

    def __new__(cls, value: str, button: bool = False, busy: str | None = None) -> Job:
        job = object.__new__(cls)
        job._value_ = value
        job.button = button
        job.busy = busy
        return job

    STATUS = "status"
    DRIVES = "drives"
    SPECIAL_DUE = "special_due"  # arg: days from today, or None to clear
    PAUSE = ("pause", True)
    RESUME = ("resume", True)
    CLEAR_SESSION = ("clear_session", True)
    TEST_RECEIPT = ("test_receipt", True, "Printing a test receipt…")
    RELOAD_SNAPSHOT = ("reload_snapshot", True, "Reloading the snapshot…")
    UPLOAD = ("upload", True, "Sending the checkouts to the library system…")
    EXPORT = ("export", False, "Exporting and reading back…")  # arg: the drive's index
    NEW_PERIOD = ("new_period", False, "Starting a new period…")  # arg: checkouts confirmed
    SIGN_OUT = "sign_out"  # arg: why ("exit", "timeout")
    UNLOCK_PIN_PAD = ("unlock_pin_pad", True)  # lift a PIN lockout (a patron's wrong PINs)


StaffPress = Press | Job  # what a staff button sends


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
