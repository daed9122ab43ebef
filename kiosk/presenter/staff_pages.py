"""What the staff screens show: a StaffState drawn as a StaffScreenView (in English, like
the `kiosk staff` commands)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

from kiosk.domain.loans import LoanRules
from kiosk.presenter.staff_types import (
    MAX_DAYS,
    Job,
    Page,
    Press,
    StaffPress,
    StaffState,
    StatusLine,
)


@dataclass(frozen=True)
class StaffButton:
    press: StaffPress
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
            heading=(state.busy.busy if state.busy else None) or "Working…",
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
        (StaffButton(Job.UPLOAD, "Upload to the library system"),)
        if state.facts and state.facts.can_upload
        else ()
    )
    unlock = (
        (StaffButton(Job.UNLOCK_PIN_PAD, "Unlock the PIN pad"),)
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
            StaffButton(Job.RESUME, "Resume the station")
            if paused
            else StaffButton(Job.PAUSE, "Pause the station"),
            StaffButton(Job.CLEAR_SESSION, "Clear a stuck session"),
            StaffButton(Job.TEST_RECEIPT, "Print a test receipt"),
            StaffButton(Job.RELOAD_SNAPSHOT, "Reload the snapshot"),
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
