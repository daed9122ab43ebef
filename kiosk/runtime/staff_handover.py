"""Handing the checkouts over: onto a USB drive, into a new offline period, and, long after,
out of the spool by the retention rule (the only removal of a checkout)."""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from pathlib import Path

from kiosk.errors import KioskError
from kiosk.exports.bundle import SUMMARY_NAME, write_bundle
from kiosk.exports.drives import Drive
from kiosk.runtime.staff_context import DeskContext, Outcome

log = logging.getLogger(__name__)


def export_to(desk: DeskContext, drive: Drive) -> Outcome:
    """Every export format plus a summary into a new folder on the drive, read back."""
    config = desk.config
    if drive.read_only:
        return Outcome(False, f"{drive.label} is read-only: nothing was written.")
    try:
        with desk.spool() as spool:
            result = write_bundle(
                spool,
                drive.mount_point,
                kiosk_id=config.kiosk.id,
                library=config.kiosk.library,
                now=desk.now(),
                tz=config.tz,
            )
    except KioskError as exc:
        desk.record("spool.export", {"drive": drive.label, "failed": str(exc)})
        return Outcome(False, "The export FAILED: nothing counts as handed over.", (str(exc),))
    if result.folder is None:
        last = result.last_export
        when = (
            last.exported_at.astimezone(config.tz).strftime("%Y-%m-%d %H:%M") if last else "never"
        )
        return Outcome(
            True,
            "Nothing new to export: every checkout was handed over.",
            (f"Last export: {when}",),
        )
    desk.record(
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


def start_new_period(desk: DeskContext, *, expected_checkouts: int) -> Outcome:
    now = desk.now()
    try:
        with desk.spool() as spool:
            archived, new = spool.start_new_period(now, expected_checkouts=expected_checkouts)
    except KioskError as exc:
        desk.record("period.refused", {"reason": str(exc)})
        return Outcome(False, "No new period was started: nothing was archived.", (str(exc),))
    desk.record(
        "period.new",
        {
            "archived_period": archived.id,
            "archived_checkouts": archived.archived or 0,
            "new_period": new.id,
        },
    )
    kept = desk.config.staff.retention_days
    keep = f"kept for {kept} days after hand-over" if kept else "kept"
    return Outcome(
        True,
        f"New offline period started. {archived.archived or 0} checkouts were archived ({keep}).",
    )


def apply_retention(desk: DeskContext) -> Outcome | None:
    """Remove archived periods' checkouts handed over more than retention_days ago."""
    days = desk.config.staff.retention_days
    if not days:
        return None
    now = desk.now()
    try:
        with desk.spool() as spool:
            removed = spool.purge_archived(now - timedelta(days=days), now)
    except KioskError as exc:
        log.error("the retention rule could not be applied: %s", exc)
        return Outcome(False, f"The retention rule could not be applied: {exc}")
    if not removed:
        return None
    total = sum(n for _, n in removed)
    desk.record(
        "period.purged",
        {"retention_days": days, "periods": {str(p.id): n for p, n in removed}},
    )
    return Outcome(True, f"{total} archived checkouts older than {days} days were removed.")


def _sync_drive(mount_point: Path) -> None:
    """Flush every filesystem (the drive's FAT metadata too) before staff pull it out.
    Python has no syncfs(); sync() does it for all mounts, which is quick on a kiosk."""
    os.sync()
