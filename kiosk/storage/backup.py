"""Backups of the spool: a consistent copy made through SQLite's backup API (a file copy of
a live database can catch it half-written), checked, then renamed into place, keeping the
last N. The kiosk keeps lending meanwhile: the copy reads a snapshot of the database."""

from __future__ import annotations

import os
import re
import sqlite3
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from kiosk.errors import SpoolDamagedError, StorageError
from kiosk.storage.audit import AUDIT_FILE
from kiosk.storage.files import atomic_write_bytes, fsync_dir, private_dir, user_name
from kiosk.storage.spool import SPOOL_FILE

STAMP = "%Y%m%dT%H%M%SZ"
PAGES_PER_STEP = 256  # copy in steps so a busy kiosk is never held up for long


@dataclass(frozen=True)
class Backup:
    path: Path
    checkouts: int
    size: int
    removed: tuple[Path, ...]  # older backups beyond `keep`


def not_ours(folder: Path) -> str:
    """Why this user cannot write a folder, in words staff can act on."""
    me = user_name()
    try:
        st = folder.stat()
    except FileNotFoundError:
        return f"it does not exist, and {me} cannot create it"
    except OSError as exc:
        return f"{me} cannot reach it ({exc.strerror or exc})"
    return (
        f"it belongs to {user_name(st.st_uid)} (mode {stat.S_IMODE(st.st_mode):04o}) and the kiosk "
        f"runs as {me}: give it to the kiosk (chown {me}: {folder}) or mount the share for it"
    )


class NothingToBackUp(StorageError):
    """No spool yet: a kiosk that has not lent anything. Not a failure of the backup."""


def backup_spool(
    data_dir: Path,
    folder: Path,
    *,
    kiosk_id: str,
    now: datetime,
    keep: int,
    anchor: str | None = None,
) -> Backup:
    source_path = data_dir / SPOOL_FILE
    if not source_path.exists() and anchor is not None:
        raise SpoolDamagedError(
            f"the spool {source_path} is missing, but this kiosk was set up with one "
            f"(kiosk.spool_id = {anchor}): is the data folder's disk mounted? Nothing was "
            "backed up, and no backup was removed"
        )
    if not source_path.exists():
        raise NothingToBackUp(
            f"nothing to back up yet: this kiosk has not lent anything (no spool at {source_path})"
        )
    try:
        private_dir(folder)
    except PermissionError as exc:
        why = not_ours(folder)
        raise StorageError(f"the backup folder {folder} cannot be used: {why}") from exc
    except OSError as exc:
        raise StorageError(
            f"the backup folder {folder} cannot be used: {exc.strerror or exc}"
        ) from exc
    # Named by UTC time: local names would sort wrongly when the clocks go back.
    stem = f"spool-{kiosk_id}-{now.astimezone(UTC).strftime(STAMP)}"
    final = folder / f"{stem}.db"
    partial = folder / f".{stem}.db.partial"
    try:
        partial.unlink(missing_ok=True)
        os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))  # private at once
        source = sqlite3.connect(source_path, timeout=30)  # reads only; waits out a write
        try:
            target = sqlite3.connect(partial)
            try:
                source.backup(target, pages=PAGES_PER_STEP)
                check = target.execute("PRAGMA integrity_check").fetchone()
                checkouts = int(target.execute("SELECT count(*) FROM checkouts").fetchone()[0])
            finally:
                target.close()
        finally:
            source.close()
        if check != ("ok",):
            partial.unlink(missing_ok=True)
            raise StorageError(f"the backup copy failed its check ({check}); nothing was kept")
        with partial.open("rb") as handle:
            os.fsync(handle.fileno())
        partial.replace(final)
        fsync_dir(folder)
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise StorageError(f"the spool could not be backed up: {exc}") from exc
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise StorageError(
            f"the backup could not be written to {folder}: {exc.strerror or exc}"
        ) from exc
    audit = data_dir / AUDIT_FILE
    if audit.exists():  # the audit trail travels with it (small, append-only), durably
        atomic_write_bytes(folder / f"{stem}.audit.log", audit.read_bytes(), mode=0o600)
    # Only this kiosk's own backups (another kiosk's id may start with this one's).
    mine = re.compile(rf"spool-{re.escape(kiosk_id)}-(\d{{8}}T\d{{6}}Z)\.db")
    ours = sorted(
        (m.group(1), path)
        for path in folder.iterdir()
        if (m := mine.fullmatch(path.name)) is not None and path != final
    )
    removed = []
    for _stamp, old in ours[: max(len(ours) - (keep - 1), 0)]:
        old.unlink()
        old.with_name(old.name[: -len(".db")] + ".audit.log").unlink(missing_ok=True)
        removed.append(old)
    return Backup(final, checkouts, final.stat().st_size, tuple(removed))
