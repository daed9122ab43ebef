"""Staff actions, one place for both the staff screen and the `kiosk staff` commands.

Each action opens what it needs (the spool, the snapshot store), does one thing, records it
in the audit trail, and returns an outcome in words staff read. None of them deletes a
checkout: the only removal is the retention rule, for archived periods long handed over.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from kiosk.config import KioskConfig
from kiosk.domain.loans import next_open_day
from kiosk.errors import KioskError
from kiosk.exports.bundle import SUMMARY_NAME, write_bundle
from kiosk.exports.drives import Drive, find_drives
from kiosk.exports.reconcile import findings_line
from kiosk.runtime.devices import read_status
from kiosk.runtime.fetch import fetch_snapshot
from kiosk.runtime.reconcile import period_reconciliation
from kiosk.runtime.signin import Pad, PinCheck, PinLock, SignIn
from kiosk.runtime.staff_cards import StaffCards
from kiosk.runtime.station import PAUSED_SETTING, SPECIAL_DUE_SETTING
from kiosk.runtime.uploads import replay_refusal, run_upload
from kiosk.storage.audit import AuditLog
from kiosk.storage.snapshot import SnapshotInfo, SnapshotStore
from kiosk.storage.spool import CONFIRMED, RESEND, Period, Spool, UploadState
from kiosk.upload.replay import upload_lock
from kiosk.upload.report import (
    ACCEPTED,
    BY_FILE,
    CONFIRMED_BY_STAFF,
    PENDING,
    REJECTED,
    TO_RESEND,
    due_differs,
    other_due_dates_line,
    result_of,
    staff_note,
    waiting_for_staff_line,
)

log = logging.getLogger(__name__)
MAX_SPECIAL_DUE_DAYS = 365  # further away than this is a typo, not a closure


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str  # one line for staff
    lines: tuple[str, ...] = ()  # details (files written, what to do next)


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


class StaffDesk:
    def __init__(
        self,
        config: KioskConfig,
        *,
        actor: str,
        now: Callable[[], datetime],
        find: Callable[[list[Path]], list[Drive]] = find_drives,
    ) -> None:
        self.config = config
        self.actor = actor
        self._now = now
        self._find = find
        self._audit = AuditLog(config.data_dir, anchored=config.kiosk.spool_id is not None)
        self._signin = SignIn(config.staff, config.data_dir, now=self.now, record=self.record)
        self._cards: StaffCards | None = None  # read when first asked

    def now(self) -> datetime:
        return self._now().astimezone(self.config.tz)

    # The audit trail ------------------------------------------------------------------------

    def record(self, action: str, details: dict[str, Any]) -> None:
        """Audit one staff action. A trail that cannot be written is logged; the action
        itself is not undone."""
        try:
            self._audit.append(action, actor=self.actor, at=self.now(), details=details)
        except KioskError as exc:
            log.error("the audit trail could not be written: %s", exc)

    @contextmanager
    def _spool(self, *, create: bool = False) -> Iterator[Spool]:
        spool = Spool.open(self.config.data_dir, create=create, anchor=self.config.kiosk.spool_id)
        try:
            yield spool
        finally:
            spool.close()

    # Signing in -------------------------------------------------------------------------------

    def staff_cards(self) -> StaffCards:
        if self._cards is None:
            self._cards = StaffCards(self.config.data_dir, self.config.staff.card_hashes())
        return self._cards

    def is_staff_card(self, scan: str) -> bool:
        return self.staff_cards().is_staff_card(scan)

    def pin_lock(self, *, by_card: bool = False) -> PinCheck | None:
        """The PIN pad (the one a staff card opens, by_card) is locked: until when."""
        return self._signin.lock(Pad.CARD if by_card else Pad.CORNER)

    def check_pin(self, pin: str, *, by_card: bool = False) -> PinCheck:
        return self._signin.check_pin(pin, Pad.CARD if by_card else Pad.CORNER)

    def pin_locks(self) -> tuple[PinLock, ...]:
        return self._signin.locks()

    def unlock(self) -> Outcome:
        """Lift any PIN lockout now (`kiosk staff unlock`, the staff screen); audited."""
        lifted = self._signin.unlock()
        if not lifted:
            return Outcome(True, "No PIN pad is locked.")
        now = self.now()
        what = "; ".join(f"{lock.name} (locked {lock.reason(now)})" for lock in lifted)
        return Outcome(True, f"Unlocked {what}.", ("Wrong PINs are counted from zero again.",))

    # Status -----------------------------------------------------------------------------------

    def status(self) -> StaffStatus:
        config = self.config
        now = self.now()
        snapshot, warning = _snapshot_lines(config, now)
        period: Period | None = None
        spool_problem = ""
        special: date | None = None
        paused: str | None = None
        ils, ils_warn = "", False
        twice, conflicts = 0, ""
        try:
            with self._spool() as spool:
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
                f"{last_error.get('at', '')} {last_error.get('text', '')}".strip()
                if last_error
                else ""
            ),
            special_due=special,
            paused=paused,
            retention_days=config.staff.retention_days,
            checked_at=now,
            ils=ils,
            ils_warn=ils_warn,
            pin_locks=self.pin_locks(),
            staff_cards=len(config.staff.cards),
            cards_without_fast_check=(
                StaffCards(config.data_dir, config.staff.card_hashes()).without_fast_check
            ),
            lent_twice=twice,
            conflicts=conflicts,
        )

    # The library system ----------------------------------------------------------------------

    def upload(self) -> Outcome:
        """Send what the library system does not have yet (SIP2), and report."""
        if self.config.sip2 is None:
            return Outcome(False, "No library system is configured ([sip2]).")
        refusal = replay_refusal(self.config)
        if refusal is not None:  # no confirmation dialog here: staff choose in the config
            return Outcome(
                False,
                "Nothing was sent: this library system would not keep these checkouts as made.",
                (
                    refusal,
                    "To send by SIP2 all the same: kiosk spool upload --yes, or set [ils] "
                    "allow_sip2_replay = true.",
                ),
            )
        try:
            outcome = run_upload(self.config, actor=self.actor, now=self._now)
        except KioskError as exc:
            return Outcome(False, "The upload did not run.", (str(exc),))
        run = outcome.run
        message = (
            f"Upload: {run.accepted} accepted, {run.rejected} refused by the library system, "
            f"{run.still_pending} still to send."
        )
        lines = [f"Report: {outcome.files[1].name} (kiosk spool report --out a USB drive)"]
        if run.error:
            advice = outcome.tally.stop_advice()
            lines.insert(0, f"Stopped: {run.error}" + (f"; {advice}" if advice else ""))
        lines[:0] = [f"Note: {note}." for note in outcome.report.notes]
        if outcome.report.other_due_dates:
            lines.insert(0, other_due_dates_line(len(outcome.report.other_due_dates)) + ".")
        if outcome.report.follow_up:
            lines.insert(
                0, f"{len(outcome.report.follow_up)} to follow up by hand (see the report)."
            )
        if outcome.report.waiting_for_staff:
            lines.insert(1, waiting_for_staff_line(len(outcome.report.waiting_for_staff)) + ".")
        return Outcome(not run.error and not run.rejected, message, tuple(lines))

    # Staff's answer for a checkout sent with no answer ------------------------------------------

    def waiting_for_staff(self) -> list[UploadState]:
        """Checkouts sent with no answer that staff have not answered for, oldest first."""
        with self._spool() as spool:
            return [s for s in spool.upload_states(to_send=True) if s.waits_for_staff]

    def resolve_unanswered(self, references: Sequence[str], answer: str) -> Outcome:
        """Staff looked in the ILS for checkouts sent with no answer (by receipt reference
        "#12", or txn id): CONFIRMED (the loan is there: accepted by staff, never sent again)
        or RESEND (it is not: the next upload sends it once more). All or nothing: one
        reference refused and none is answered. Each answer is audited. UploadBusy while an
        upload runs (it could be sending one of them)."""
        if answer not in (CONFIRMED, RESEND):
            raise ValueError(f"not a staff answer: {answer!r}")
        with self._spool() as spool, upload_lock(spool):
            found: dict[str, UploadState] = {}
            refused = []
            for ref in references:
                state = spool.find_upload(ref)
                why = _not_answerable(ref, state, answer)
                if why:
                    refused.append(why)
                elif state is not None:
                    found.setdefault(state.checkout.txn_id, state)
            if refused or not found:
                return Outcome(
                    False,
                    "Nothing was changed.",
                    (*refused, "`kiosk spool resolve` lists the ones waiting for staff."),
                )
            now = self.now()
            done = []
            for state in found.values():
                c = state.checkout
                if spool.record_staff_answer(c.txn_id, answer, by=self.actor, when=now):
                    done.append(c.seq)
                    self.record(
                        "spool.resolve",
                        {"answer": answer, "checkout": f"#{c.seq}", "txn_id": c.txn_id},
                    )
        if not done:  # each one changed since it was read
            return Outcome(False, "Nothing was changed: run `kiosk spool resolve` again.")
        refs = ", ".join(f"#{seq}" for seq in done)
        if answer == CONFIRMED:
            return Outcome(
                True,
                f"Confirmed by staff: {refs}. They count as accepted and are never sent again.",
            )
        return Outcome(
            True,
            f"To be sent again at staff's request: {refs}.",
            ("The next upload sends each once more (kiosk spool upload).",),
        )

    # Settings a running kiosk picks up ---------------------------------------------------------

    def _set(self, key: str, value: str | None) -> None:
        with self._spool(create=True) as spool:
            spool.set_setting(key, value)

    def set_special_due(self, due: date | None) -> Outcome:
        today = self.now().date()
        if due is not None and due < today:
            return Outcome(False, f"{due.isoformat()} is in the past: nothing was changed.")
        if due is not None and due > today + timedelta(days=MAX_SPECIAL_DUE_DAYS):
            return Outcome(
                False,
                f"{due.isoformat()} is more than {MAX_SPECIAL_DUE_DAYS} days away (a typo?): "
                "nothing was changed.",
            )
        try:
            self._set(SPECIAL_DUE_SETTING, due.isoformat() if due else None)
        except KioskError as exc:
            return Outcome(False, f"The special due date was not changed: {exc}")
        self.record("staff.special_due", {"due_date": due.isoformat() if due else "cleared"})
        if due is None:
            days = self.config.loans.loan_days
            return Outcome(True, f"Special due date cleared: loans are {days} days again.")
        lines: tuple[str, ...] = ()
        rules = self.config.station_rules().loan_rules
        if due == today:
            lines = ("Note: that is today: everything lent from now on is due back today.",)
        if not rules.is_open(due):
            after = next_open_day(due, rules).isoformat()
            lines += (f"Note: the library is closed that day; the next open day is {after}.",)
        return Outcome(
            True, f"Every checkout from now on is due {due:%A} {due.isoformat()}.", lines
        )

    def pause(self, message: str = "") -> Outcome:
        try:
            self._set(PAUSED_SETTING, message.strip())
        except KioskError as exc:
            return Outcome(False, f"The station was not paused: {exc}")
        self.record("staff.pause", {"message": message.strip()})
        return Outcome(True, "The station is paused (a patron at it finishes first).")

    def resume(self) -> Outcome:
        try:
            self._set(PAUSED_SETTING, None)
        except KioskError as exc:
            return Outcome(False, f"The station was not resumed: {exc}")
        self.record("staff.resume", {})
        return Outcome(True, "The station is back in service.")

    # The snapshot -------------------------------------------------------------------------------

    def reload_snapshot(self, progress: Callable[[int, int], None] | None = None) -> Outcome:
        config = self.config
        source = config.snapshot.url or config.snapshot.source
        if source is None:
            return Outcome(
                False,
                "No snapshot location is configured (snapshot.source or snapshot.url).",
                ("Import a file with `kiosk snapshot import FILE`.",),
            )
        try:
            report = fetch_snapshot(config, now=self._now, progress=progress)
        except KioskError as exc:
            self.record("snapshot.import", {"source": str(source), "refused": str(exc)})
            return Outcome(False, "The snapshot was NOT reloaded; the old one stays.", (str(exc),))
        info = report.info
        self.record(
            "snapshot.import",
            {
                "source": info.source,
                "sha256": info.sha256,
                "patrons": str(info.rows),
                "built_at": info.built_at.isoformat(timespec="seconds"),
                "bad_rows": str(report.counts.bad_rows),
            },
        )
        built = info.built_at.astimezone(config.tz).strftime("%Y-%m-%d %H:%M")
        lines = []
        if report.counts.bad_rows:
            lines.append(f"{report.counts.bad_rows} bad rows were skipped.")
        return Outcome(True, f"Snapshot reloaded: {info.contents}, built {built}.", tuple(lines))

    # Handing over on a drive ----------------------------------------------------------------

    def drives(self) -> list[Drive]:
        return [d for d in self._find(self.config.staff.export_roots) if not d.read_only]

    def export_to(self, drive: Drive) -> Outcome:
        """Every export format plus a summary into a new folder on the drive, read back."""
        config = self.config
        if drive.read_only:
            return Outcome(False, f"{drive.label} is read-only: nothing was written.")
        try:
            with self._spool() as spool:
                result = write_bundle(
                    spool,
                    drive.mount_point,
                    kiosk_id=config.kiosk.id,
                    library=config.kiosk.library,
                    now=self.now(),
                    tz=config.tz,
                )
        except KioskError as exc:
            self.record("spool.export", {"drive": drive.label, "failed": str(exc)})
            return Outcome(False, "The export FAILED: nothing counts as handed over.", (str(exc),))
        if result.folder is None:
            last = result.last_export
            when = (
                last.exported_at.astimezone(config.tz).strftime("%Y-%m-%d %H:%M")
                if last
                else "never"
            )
            return Outcome(
                True,
                "Nothing new to export: every checkout was handed over.",
                (f"Last export: {when}",),
            )
        self.record(
            "spool.export",
            {
                "drive": drive.label,
                "folder": str(result.folder),
                "checkouts": str(result.checkouts),
                "files": {f.path.name: f.sha256 for f in result.files},
            },
        )
        _sync_drive(drive.mount_point)
        names = ", ".join(f.path.name for f in result.files)
        lines = [f"Folder: {result.folder.name}", f"Files: {names}"]
        if result.repeated_hour:
            numbers = ", ".join(str(r.line) for r in result.repeated_hour)
            lines.append(
                f"Koha: {len(result.repeated_hour)} checkouts were made in the hour the clocks "
                f"went back (.koc lines {numbers}): Koha may date them an hour late. Check "
                f"their times in Koha after the upload; {SUMMARY_NAME} names them."
            )
        return Outcome(
            True,
            f"{result.checkouts} checkouts exported to {drive.label} and read back: all correct.",
            (*lines, "You may remove the drive."),
        )

    # Offline periods ------------------------------------------------------------------------------

    def start_new_period(self, *, expected_checkouts: int) -> Outcome:
        now = self.now()
        try:
            with self._spool() as spool:
                archived, new = spool.start_new_period(now, expected_checkouts=expected_checkouts)
        except KioskError as exc:
            self.record("period.refused", {"reason": str(exc)})
            return Outcome(False, "No new period was started: nothing was archived.", (str(exc),))
        self.record(
            "period.new",
            {
                "archived_period": archived.id,
                "archived_checkouts": archived.archived or 0,
                "new_period": new.id,
            },
        )
        kept = self.config.staff.retention_days
        keep = f"kept for {kept} days after hand-over" if kept else "kept"
        return Outcome(
            True,
            f"New offline period started. {archived.archived or 0} checkouts were archived "
            f"({keep}).",
        )

    def apply_retention(self) -> Outcome | None:
        """Remove archived periods' checkouts handed over more than retention_days ago."""
        days = self.config.staff.retention_days
        if not days:
            return None
        now = self.now()
        try:
            with self._spool() as spool:
                removed = spool.purge_archived(now - timedelta(days=days), now)
        except KioskError as exc:
            log.error("the retention rule could not be applied: %s", exc)
            return Outcome(False, f"The retention rule could not be applied: {exc}")
        if not removed:
            return None
        total = sum(n for _, n in removed)
        self.record(
            "period.purged",
            {"retention_days": days, "periods": {str(p.id): n for p, n in removed}},
        )
        return Outcome(True, f"{total} archived checkouts older than {days} days were removed.")


def _not_answerable(ref: str, state: UploadState | None, answer: str) -> str:
    """Why staff cannot answer `answer` for this checkout ("" if they can)."""
    if state is None:
        what = f"checkout {ref}" if ref.removeprefix("#").isdigit() else f"txn id {ref}"
        return f"{ref}: no such checkout in this spool (no {what})."
    name = f"#{state.checkout.seq}"
    result = result_of(state)
    if state.waits_for_staff:
        return ""
    if result == TO_RESEND:
        if answer == CONFIRMED:
            return ""  # staff found it after all: safer than a second loan
        return f"{name} is already to be sent again ({staff_note(state)})."
    reasons = {
        ACCEPTED: "was accepted by the library system: there is nothing to answer",
        CONFIRMED_BY_STAFF: f"is already {staff_note(state)}",
        REJECTED: "was refused by the library system (see the report; kiosk spool upload "
        "--retry-rejected sends it again)",
        PENDING: "was never sent: the next upload sends it",
        BY_FILE: "was handed over in an export file, not sent by SIP2",
    }
    why = reasons.get(result, "was handed over already")
    return f"{name} is not a checkout sent with no answer: it {why}."


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


def _sync_drive(mount_point: Path) -> None:
    """Flush every filesystem (the drive's FAT metadata too) before staff pull it out.
    Python has no syncfs(); sync() does it for all mounts, which is quick on a kiosk."""
    os.sync()
