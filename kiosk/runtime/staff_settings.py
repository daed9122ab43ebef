"""What the running kiosk picks up from staff: a special due date, a pause, a new snapshot.

The settings go into the spool, where the station reads them at its next input; the
snapshot is swapped whole, and a reload that fails keeps the old one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from kiosk.domain.loans import next_open_day
from kiosk.errors import KioskError
from kiosk.runtime.fetch import fetch_snapshot
from kiosk.runtime.staff_context import DeskContext, Outcome
from kiosk.runtime.station import PAUSED_SETTING, SPECIAL_DUE_SETTING

MAX_SPECIAL_DUE_DAYS = 365  # further away than this is a typo, not a closure


def _set(desk: DeskContext, key: str, value: str | None) -> None:
    with desk.spool(create=True) as spool:
        spool.set_setting(key, value)


def set_special_due(desk: DeskContext, due: date | None) -> Outcome:
    today = desk.now().date()
    if due is not None and due < today:
        return Outcome(False, f"{due.isoformat()} is in the past: nothing was changed.")
    if due is not None and due > today + timedelta(days=MAX_SPECIAL_DUE_DAYS):
        return Outcome(
            False,
            f"{due.isoformat()} is more than {MAX_SPECIAL_DUE_DAYS} days away (a typo?): "
            "nothing was changed.",
        )
    try:
        _set(desk, SPECIAL_DUE_SETTING, due.isoformat() if due else None)
    except KioskError as exc:
        return Outcome(False, f"The special due date was not changed: {exc}")
    desk.record("staff.special_due", {"due_date": due.isoformat() if due else "cleared"})
    if due is None:
        days = desk.config.loans.loan_days
        return Outcome(True, f"Special due date cleared: loans are {days} days again.")
    lines: tuple[str, ...] = ()
    rules = desk.config.station_rules().loan_rules
    if due == today:
        lines = ("Note: that is today: everything lent from now on is due back today.",)
    if not rules.is_open(due):
        after = next_open_day(due, rules).isoformat()
        lines += (f"Note: the library is closed that day; the next open day is {after}.",)
    return Outcome(True, f"Every checkout from now on is due {due:%A} {due.isoformat()}.", lines)


def pause(desk: DeskContext, message: str = "") -> Outcome:
    try:
        _set(desk, PAUSED_SETTING, message.strip())
    except KioskError as exc:
        return Outcome(False, f"The station was not paused: {exc}")
    desk.record("staff.pause", {"message": message.strip()})
    return Outcome(True, "The station is paused (a patron at it finishes first).")


def resume(desk: DeskContext) -> Outcome:
    try:
        _set(desk, PAUSED_SETTING, None)
    except KioskError as exc:
        return Outcome(False, f"The station was not resumed: {exc}")
    desk.record("staff.resume", {})
    return Outcome(True, "The station is back in service.")


def reload_snapshot(
    desk: DeskContext, progress: Callable[[int, int], None] | None = None
) -> Outcome:
    config = desk.config
    source = config.snapshot.url or config.snapshot.source
    if source is None:
        return Outcome(
            False,
            "No snapshot location is configured (snapshot.source or snapshot.url).",
            ("Import a file with `kiosk snapshot import FILE`.",),
        )
    try:
        report = fetch_snapshot(config, now=desk.clock, progress=progress)
    except KioskError as exc:
        desk.record("snapshot.import", {"source": str(source), "refused": str(exc)})
        return Outcome(False, "The snapshot was NOT reloaded; the old one stays.", (str(exc),))
    info = report.info
    desk.record(
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
