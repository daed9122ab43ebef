"""The staff status: the snapshot, the period, the devices, the library system, the PIN pads.

Read fresh for each ask, from the files the running kiosk writes; nothing here changes them.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from kiosk.config import KioskConfig
from kiosk.errors import KioskError
from kiosk.exports.reconcile import findings_line
from kiosk.runtime.devices import read_status
from kiosk.runtime.reconcile import period_reconciliation
from kiosk.runtime.signin import Pad, PinLock
from kiosk.runtime.staff_cards import StaffCards
from kiosk.runtime.staff_context import DeskContext
from kiosk.runtime.station import PAUSED_SETTING, SPECIAL_DUE_SETTING
from kiosk.storage.snapshot import SnapshotInfo, SnapshotStore
from kiosk.storage.spool import Period, Spool
from kiosk.upload.report import due_differs, other_due_dates_line, waiting_for_staff_line

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeviceLine:
    name: str  # "scanner desk", "printer receipt"
    ok: bool
    state: str  # "connected", "NOT CONNECTED", or the printer's state
    detail: str
    since: str


@dataclass(frozen=True)
class StaffStatus:
    snapshot: str  # one line: rows, built when, how old
    snapshot_warning: str  # past warn_age_hours, missing or unreadable: else ""
    snapshot_source: str
    period: Period | None
    spool_problem: str
    devices: tuple[DeviceLine, ...]
    free_disk: str
    last_error: str
    special_due: date | None
    paused: str | None  # the patrons' message (may be ""); None: not paused
    retention_days: int
    checked_at: datetime = field(compare=False)
    ils: str = ""  # the last upload to the library system ("" when no [sip2])
    ils_warn: bool = False  # something to follow up, or the last upload stopped
    pin_locks: tuple[PinLock, ...] = ()  # PIN pads locked now
    staff_cards: int = 0
    cards_without_fast_check: int = 0  # staff cards with no tag here: scrypt at every scan
    lent_twice: int = 0  # items lent to more than one patron this period
    conflicts: str = ""  # what the period's reconciliation found, in one line ("" nothing)

    def lock_lines(self) -> list[str]:
        """Each PIN pad locked now, and how to get past it, in words staff read."""
        lines = []
        for lock in self.pin_locks:
            card = self.staff_cards and lock.pad is Pad.CORNER
            lines.append(
                lock.describe(self.checked_at)
                + (" A staff card still signs in." if card else "")
                + " `kiosk staff unlock` or Unlock the PIN pad on the staff screen lifts it now."
            )
        return lines

    def fast_check_line(self) -> str:
        """Staff cards checked with scrypt at every scan here (a config from elsewhere)."""
        n = self.cards_without_fast_check
        if not n:
            return ""
        return (
            f"{n} of {self.staff_cards} staff cards have no fast check on this station, so "
            "every patron card is checked the slow way: scan each staff card once at the "
            "Welcome screen, or add them again with `kiosk staff add-card`."
        )


def staff_status(desk: DeskContext, pin_locks: Callable[[], tuple[PinLock, ...]]) -> StaffStatus:
    config = desk.config
    now = desk.now()
    snapshot, warning = _snapshot_lines(config, now)
    period: Period | None = None
    spool_problem = ""
    special: date | None = None
    paused: str | None = None
    ils, ils_warn = "", False
    twice, conflicts = 0, ""
    try:
        with desk.spool() as spool:
            period = spool.current_period()
            try:  # a snapshot that cannot be read says so on its own line
                found = period_reconciliation(config, spool, now)
                twice, conflicts = len(found.lent_twice), findings_line(found)
            except KioskError as exc:
                log.error("the period's reconciliation failed: %s", exc)
            settings = spool.settings((PAUSED_SETTING, SPECIAL_DUE_SETTING))
            if config.sip2 is not None:
                ils, ils_warn = _ils_line(spool, config)
        paused = settings.get(PAUSED_SETTING)
        if SPECIAL_DUE_SETTING in settings:
            special = date.fromisoformat(settings[SPECIAL_DUE_SETTING])
    except (KioskError, ValueError) as exc:
        spool_problem = str(exc)
    report = read_status(config.data_dir) or {}
    devices = [
        DeviceLine(
            f"scanner {name}",
            bool(s.get("connected")),
            "connected" if s.get("connected") else "NOT CONNECTED",
            str(s.get("detail", "")),
            str(s.get("since", "")),
        )
        for name, s in sorted(report.get("scanners", {}).items())
    ]
    printer = report.get("printer")
    if printer:
        devices.append(
            DeviceLine(
                f"printer {printer['name']}",
                printer["state"] == "ready",
                str(printer["state"]),
                str(printer.get("detail", "")),
                str(printer.get("since", "")),
            )
        )
    try:
        free = shutil.disk_usage(config.data_dir).free
        free_disk = f"{free / 1e9:.1f} GB free"
    except OSError as exc:
        free_disk = f"unknown ({exc.strerror or exc})"
    last_error = report.get("last_error") or {}
    return StaffStatus(
        snapshot=snapshot,
        snapshot_warning=warning,
        snapshot_source=str(config.snapshot.source or ""),
        period=period,
        spool_problem=spool_problem,
        devices=tuple(devices),
        free_disk=free_disk,
        last_error=(
            f"{last_error.get('at', '')} {last_error.get('text', '')}".strip() if last_error else ""
        ),
        special_due=special,
        paused=paused,
        retention_days=config.staff.retention_days,
        checked_at=now,
        ils=ils,
        ils_warn=ils_warn,
        pin_locks=pin_locks(),
        staff_cards=len(config.staff.cards),
        cards_without_fast_check=(
            StaffCards(config.data_dir, config.staff.card_hashes()).without_fast_check
        ),
        lent_twice=twice,
        conflicts=conflicts,
    )


def _ils_line(spool: Spool, config: KioskConfig) -> tuple[str, bool]:
    waiting = spool.to_send_count()
    run = spool.last_upload_run()
    if run is None:
        return f"not uploaded yet; {waiting} to send", False
    when = run.started_at.astimezone(config.tz).strftime("%Y-%m-%d %H:%M")
    text = f"last upload {when}: {run.accepted} accepted, {run.rejected} refused; {waiting} to send"
    if run.error:
        text += f" (stopped: {run.error})"
    first = spool.current_period().first_seq
    period = [s for s in spool.upload_states() if s.checkout.seq >= first]
    other = sum(due_differs(s, config.tz) for s in period)
    if other:
        text += f"; {other_due_dates_line(other)}"
    waiting = sum(s.waits_for_staff for s in period)
    if waiting:
        text += f"; {waiting_for_staff_line(waiting)}"
    return text, bool(run.error or run.rejected or other or waiting)


def _snapshot_lines(config: KioskConfig, now: datetime) -> tuple[str, str]:
    try:
        current = SnapshotStore(config.data_dir).current()
    except KioskError as exc:
        return "Snapshot damaged", str(exc)
    if current is None:
        return "No snapshot", "No patron list is loaded: the station is out of service."
    age = current.age_hours(now)
    built = current.built_at.astimezone(config.tz).strftime("%Y-%m-%d %H:%M")
    text = f"{current.contents}, built {built} ({age_words(current, now)})"
    if current.noted:
        text += f"; {plural(current.noted, 'listed card')} with an unknown flag, refused"
    if current.conflicts:
        text += f"; {plural(current.conflicts, 'card')} listed twice, most restrictive kept"
    ahead = current.built_ahead(now)
    if ahead is not None:
        return text, (
            "This station's clock is behind its snapshot "
            f"({human_age(ahead.total_seconds() / 3600)} before the time it was built): set "
            "the clock (timedatectl), or due dates and the snapshot's age are wrong."
        )
    limits = config.snapshot
    if limits.max_age_hours and age > limits.max_age_hours:
        return text, "Too old: the station is out of service. Reload the snapshot."
    if limits.warn_age_hours and age > limits.warn_age_hours:
        return text, f"Older than {limits.warn_age_hours:g} hours: reload it soon."
    return text, ""


def plural(count: int, noun: str) -> str:
    """'1 minute', '5 minutes', '1,234 cards'."""
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def human_age(hours: float) -> str:
    """A span of time in words: '1 minute', '45 minutes', '5.5 hours', '3.0 days'."""
    if hours < 1:
        return plural(round(hours * 60), "minute")
    if hours < 48:
        return f"{hours:.1f} hours"
    return f"{hours / 24:.1f} days"


def age_words(info: SnapshotInfo, now: datetime) -> str:
    """How old a snapshot is, in words: '5 minutes ago', or, when it says it was built after
    `now`, that the clock is behind it."""
    ahead = info.built_ahead(now)
    if ahead is not None:
        return f"{human_age(ahead.total_seconds() / 3600)} after this station's clock: check it"
    return f"{human_age(max(info.age_hours(now), 0))} ago"
