"""A spool file before it is used: where it lives, the checks made on it before anything
may write to it (a damaged file, another kiosk's spool, a full disk), and its migrations."""

from __future__ import annotations

import os
import sqlite3
import uuid
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from sqlalchemy import Connection, Engine

from kiosk.errors import DiskFullError, SpoolDamagedError, StorageError

SPOOL_FILE = "spool.db"
MARKER_FILE = "spool.id"  # says a spool was created here: its absence is never "first start"
MIGRATIONS = Path(__file__).parent / "migrations"
# After the spool could not be written, lending resumes only with this much room on the disk
# and inside the database: a few thousand checkouts, not one.
MIN_ROOM_BYTES = 1 << 20
KEEP_IT = (
    "the kiosk will not use it. Keep the file for recovery: restoring the last backup brings "
    "back the checkouts up to that backup; those made after it are lost unless they are "
    "recovered from this file."
)


def free_bytes(folder: Path) -> int | None:
    """What an unprivileged writer may still use on the disk holding `folder` (None: the
    system cannot say)."""
    try:
        found = os.statvfs(folder)
    except OSError:
        return None
    return found.f_bavail * found.f_frsize


def refuse_full_disk(path: Path, exc: BaseException) -> None:
    """An I/O error on a disk with no room left is the full disk, not damage: SQLite cannot
    even open a spool read-only when it must make its shared-memory file. Say so, with the
    free space, instead of advising a restore that would lose checkouts."""
    free = free_bytes(path.parent)
    if free is not None and free < MIN_ROOM_BYTES:
        raise DiskFullError(
            f"the disk holding {path.parent} is full ({free // 1024:,} KB free): free some space "
            f"there (lending needs {MIN_ROOM_BYTES // 2**20} MB). The spool is not damaged and "
            "no checkout is lost"
        ) from exc


def one_line(text: object, limit: int = 200) -> str:
    """SQLite's words on a damaged file, for a screen and a log line: its reports can span
    lines (a garbled schema is quoted whole)."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[:limit] + "…"


def inspect_file(path: Path, expected_id: str | None, *, thorough: bool) -> None:
    """Look at an existing spool file before anything may write to it (switching it to WAL,
    a migration, a checkpoint), through a read-only connection: a file that is damaged or is
    not this kiosk's spool is refused exactly as it was found."""
    check = "integrity_check" if thorough else "quick_check"
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        refuse_full_disk(path, exc)
        raise SpoolDamagedError(f"the spool {path} cannot be opened: {one_line(exc)}") from exc
    try:
        rows = [one_line(r[0]) for r in conn.execute(f"PRAGMA {check}")]
        tables = {str(r[0]) for r in conn.execute("SELECT name FROM sqlite_master")}
        found_id = None
        if "spool_info" in tables:
            row = conn.execute("SELECT value FROM spool_info WHERE key = 'spool_id'").fetchone()
            found_id = None if row is None else str(row[0])
    except (sqlite3.Error, UnicodeDecodeError) as exc:  # the damage may garble the report too
        if isinstance(exc, sqlite3.Error):
            refuse_full_disk(path, exc)
        reason = one_line(exc) if isinstance(exc, sqlite3.Error) else "its report is garbled"
        raise SpoolDamagedError(f"the spool {path} is damaged ({reason}); {KEEP_IT}") from exc
    finally:
        conn.close()
    if rows != ["ok"]:
        raise SpoolDamagedError(
            f"the spool {path} failed its integrity check ({'; '.join(rows[:3])}); {KEEP_IT}"
        )
    if expected_id is None:
        if tables and "alembic_version" not in tables:
            raise SpoolDamagedError(
                f"{path} is an SQLite file but not a kiosk spool; the kiosk will not use it"
            )
        return
    if not tables:
        raise SpoolDamagedError(
            f"the spool {path} is empty, but this kiosk had a spool (id {expected_id}). "
            "Its checkouts may not have been handed over: restore it from a backup."
        )
    if found_id != expected_id:
        raise SpoolDamagedError(
            f"the spool {path} is not the one this kiosk had (its id is {found_id or 'missing'}"
            f", {path.parent / MARKER_FILE} says {expected_id}). Put the right file back."
        )


def _alembic_config(conn: Connection, migrations: Path) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(migrations))
    config.attributes["connection"] = conn
    return config


def migrate(engine: Engine, path: Path, expected_id: str | None, migrations: Path) -> str:
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
        conn.rollback()
    scripts = ScriptDirectory(str(migrations))
    head = scripts.get_current_head()
    if current is not None and current != head:
        try:
            scripts.get_revision(current)
        except (CommandError, RevisionError) as exc:
            raise StorageError(
                f"the spool {path} was written by a newer version of the kiosk (schema "
                f"{current}; this version knows up to {head}). It was not changed: "
                "install the newer version again."
            ) from exc
        _backup_before_migration(path, current)
    if current != head:
        with engine.begin() as conn:
            command.upgrade(_alembic_config(conn, migrations), "head")
    with engine.begin() as conn:
        row = conn.exec_driver_sql("SELECT value FROM spool_info WHERE key = 'spool_id'").first()
        if row is None:
            spool_id = str(uuid.uuid4())
            conn.exec_driver_sql(
                "INSERT INTO spool_info (key, value) VALUES ('spool_id', ?), ('created_at', "
                "strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))",
                (spool_id,),
            )
        else:
            spool_id = str(row[0])
    return spool_id


def _backup_before_migration(path: Path, revision: str) -> None:
    """Before changing an old spool's schema, keep a consistent copy of it beside it (made
    through SQLite's backup API on a connection of its own, holding no transaction)."""
    backup = path.with_name(f"{path.name}.before-upgrade-from-{revision}")
    source = sqlite3.connect(path)
    target = sqlite3.connect(backup)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()
    backup.chmod(0o600)
