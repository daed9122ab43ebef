"""The transaction spool: every checkout, durable before the patron is told it is done.

Append-only. A checkout is committed (WAL, synchronous=FULL) before `record_checkout`
returns; nothing here deletes a checkout, and triggers in the database refuse it for any
checkout that was not handed over. A missing or damaged spool is never silently replaced.
"""

from __future__ import annotations

import itertools
import json
import os
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from kiosk.domain.station import CheckoutRequest
from kiosk.errors import DiskFullError, PeriodNotHandedOver, SpoolDamagedError, StorageError
from kiosk.storage.db import database_errors, driver_connection, plain_error, sqlite_engine
from kiosk.storage.files import atomic_write_bytes, private_dir

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


@dataclass(frozen=True)
class SpooledCheckout:
    txn_id: str
    kiosk_id: str
    seq: int
    occurred_at: datetime  # aware, in the library's time zone
    patron: str
    item: str
    due_date: date
    special_due: bool
    session_id: str
    handed_over_at: datetime | None


@dataclass(frozen=True)
class StoredCheckout:
    txn_id: str
    seq: int


@dataclass(frozen=True)
class ExportRecord:
    exported_at: datetime
    format: str
    path: str
    sha256: str
    checkouts: int


# Staff's answer for a checkout sent with no answer that the ILS could not tell about.
CONFIRMED = "confirmed"  # staff found the loan in the ILS: accepted by staff, never sent again
RESEND = "resend"  # staff did not find it: the next upload sends it once more
RESENT = "resent"  # ... and it did


@dataclass(frozen=True)
class UploadState:
    """One checkout and what the library system made of it (state None: never sent)."""

    checkout: SpooledCheckout
    state: str | None  # None, "sent", "accepted", "rejected"
    attempts: int
    message: str  # the ILS's screen message
    ils_due: str  # the due date the ILS answered with
    answered_at: datetime | None
    staff_answer: str | None = None  # None, CONFIRMED, RESEND, RESENT
    staff_by: str = ""  # who gave it (the audit trail's actor)
    staff_at: datetime | None = None

    @property
    def waits_for_staff(self) -> bool:
        """Sent with no answer, and staff have not asked for it to be sent again."""
        return (
            self.state == "sent"
            and self.checkout.handed_over_at is None
            and self.staff_answer != RESEND
        )


@dataclass(frozen=True)
class UploadRun:
    started_at: datetime
    finished_at: datetime | None
    target: str
    accepted: int
    rejected: int
    still_pending: int
    error: str


@dataclass(frozen=True)
class Period:
    """An offline period: the checkouts between two staff "resets" (by sequence number)."""

    id: int
    started_at: datetime
    first_seq: int
    ended_at: datetime | None
    last_seq: int | None  # None: the open period, the one checkouts go into
    checkouts: int  # held in the spool now
    handed_over: int
    archived: int | None  # how many it held when it was closed
    purged_at: datetime | None
    purged: int

    @property
    def pending(self) -> int:
        return self.checkouts - self.handed_over

    @property
    def is_open(self) -> bool:
        return self.last_seq is None


@dataclass(frozen=True)
class SpoolSummary:
    spool_id: str
    total: int
    handed_over: int
    last_seq: int
    last_export: ExportRecord | None
    period: Period

    @property
    def pending(self) -> int:
        return self.total - self.handed_over


_NEXT_SEQ = "UPDATE counters SET value = value + 1 WHERE name = 'checkout_seq' RETURNING value"
_INSERT_CHECKOUT = (
    "INSERT INTO checkouts (txn_id, kiosk_id, seq, occurred_at, patron, item, "
    "due_date, special_due, session_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_SETTINGS_QUERY = "SELECT key, value FROM settings WHERE key IN (SELECT value FROM json_each(?))"


def _insert_checkout(
    db: sqlite3.Connection, txn_id: str, kiosk_id: str, occurred: str, request: CheckoutRequest
) -> int:
    """The next sequence number and the checkout's row, in the caller's transaction."""
    (seq,) = db.execute(_NEXT_SEQ).fetchone()
    db.execute(
        _INSERT_CHECKOUT,
        (
            txn_id,
            kiosk_id,
            seq,
            occurred,
            request.patron,
            request.item,
            request.due_date.isoformat(),
            request.special_due,
            request.session_id,
        ),
    )
    return int(seq)


@contextmanager
def _immediate(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction on a driver connection: BEGIN IMMEDIATE (the write lock up front,
    as every durable transaction takes it), COMMIT when the block ends, ROLLBACK if it fails."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


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


def _inspect(path: Path, expected_id: str | None, *, thorough: bool) -> None:
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


@database_errors("the spool cannot be used")
class Spool:
    def __init__(self, engine: Engine, path: Path, spool_id: str) -> None:
        self._engine = engine
        self.path = path
        self.spool_id = spool_id
        # Moved on by every change this object makes to the settings: with SQLite's
        # data_version (which moves when another connection commits) it says when a kept
        # read is stale. Each value is new (next() on a count is atomic), so two threads
        # changing settings at once cannot bring it back to a value a read was kept under.
        self._settings_counter = itertools.count(1)
        self._settings_changes = 0

    # Opening -----------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        data_dir: Path,
        *,
        create: bool = False,
        migrations: Path = MIGRATIONS,
        thorough: bool = False,
        anchor: str | None = None,
    ) -> Spool:
        """Open the spool in `data_dir`, migrating its schema to this version if needed.

        create: make a new spool if this folder never had one. A folder that had one (its
        marker file is there) but lost the database is an error, never a fresh start.
        migrations: the Alembic scripts (tests pass a folder with a later migration added).
        thorough: check every index against its table (integrity_check), not only the pages
        (quick_check): what the kiosk does when it starts. It takes longer on a large spool
        (about 0.2 s per 100,000 checkouts on the development machine).
        anchor: the spool id the config names (kiosk.spool_id, set by `kiosk spool init`),
        kept outside the data folder: with it, a missing spool is never made anew.
        """
        path = data_dir / SPOOL_FILE
        marker = data_dir / MARKER_FILE
        expected_id = marker.read_text(encoding="utf-8").strip() if marker.exists() else None
        if anchor is not None:
            # The config says which spool this kiosk was set up with: a data folder that
            # vanished (its marker with it) or holds another spool never passes for new.
            if expected_id is not None and expected_id != anchor:
                raise SpoolDamagedError(
                    f"the spool in {data_dir} (id {expected_id}) is not the one this kiosk was "
                    f"set up with (kiosk.spool_id = {anchor}). Put the right data folder back."
                )
            if not path.exists():
                raise SpoolDamagedError(
                    f"the spool {path} is missing, but this kiosk was set up with one "
                    f"(kiosk.spool_id = {anchor}): is the data folder's disk mounted? Its "
                    "checkouts may not have been handed over: restore it, or a backup. The "
                    "kiosk will not start an empty spool in its place."
                )
            expected_id = anchor
        if not path.exists():
            if expected_id is not None:
                raise SpoolDamagedError(
                    f"the spool {path} is missing, but this kiosk had one (see {marker}). "
                    "Its checkouts may not have been handed over: restore it from a backup. "
                    f"To start an empty spool on purpose, delete {marker} first."
                )
            if not create:
                raise StorageError(f"there is no spool yet at {path}: no checkouts were made")
            private_dir(data_dir)
        if path.exists():
            _inspect(path, expected_id, thorough=thorough)
        engine = sqlite_engine(path)
        try:
            spool_id = cls._migrate(engine, path, expected_id, migrations)
        except StorageError:
            engine.dispose()
            raise
        except (SQLAlchemyError, sqlite3.Error, OSError) as exc:
            engine.dispose()
            raise SpoolDamagedError(
                f"the spool {path} cannot be opened: {plain_error(exc)}"
            ) from exc
        path.chmod(0o600)
        if expected_id is None:
            atomic_write_bytes(marker, spool_id.encode() + b"\n")
        return cls(engine, path, spool_id)

    @staticmethod
    def _migrate(engine: Engine, path: Path, expected_id: str | None, migrations: Path) -> str:
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
            row = conn.exec_driver_sql(
                "SELECT value FROM spool_info WHERE key = 'spool_id'"
            ).first()
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

    def close(self) -> None:
        self._engine.dispose()

    # Writing -----------------------------------------------------------------------------

    def record_checkout(
        self, request: CheckoutRequest, kiosk_id: str, tz: tzinfo
    ) -> StoredCheckout:
        """Store one checkout durably. Raises StorageError if it could not be stored; then
        nothing was stored and the patron must not be told it is done."""
        txn_id = str(uuid.uuid4())
        occurred = request.occurred_at.astimezone(tz).isoformat(timespec="milliseconds")
        try:
            with driver_connection(self._engine) as (db, _), _immediate(db):
                seq = _insert_checkout(db, txn_id, kiosk_id, occurred, request)
        except (SQLAlchemyError, sqlite3.Error, OSError) as exc:
            free = free_bytes(self.path.parent)
            room = ""
            if free is not None and free < MIN_ROOM_BYTES:
                room = f" ({free // 1024:,} KB free on the disk)"
            raise StorageError(
                f"the checkout could not be stored: {plain_error(exc)}{room}"
            ) from exc
        return StoredCheckout(txn_id, int(seq))

    def probe(self) -> None:
        """Prove the spool can take checkouts: at start, and again after it could not (a full
        disk, say). A trial checkout (rolled back), room to spare on the disk and inside the
        database (MIN_ROOM_BYTES: a station that fits just one more checkout would go out of
        service again at the next patron's first item), and a write that reaches the disk."""
        free = free_bytes(self.path.parent)
        if free is not None and free < MIN_ROOM_BYTES:
            raise StorageError(
                f"the disk is full ({free // 1024:,} KB free; lending resumes once "
                f"{MIN_ROOM_BYTES // 2**20} MB is free)"
            )
        trial = CheckoutRequest(
            session_id=str(uuid.uuid4()),
            patron="2" * 14,
            item="3" * 14,
            due_date=date(2000, 1, 1),
            special_due=False,
            occurred_at=datetime(2000, 1, 1, tzinfo=UTC),
        )
        try:
            # A checkout as the next one will be, rolled back: the table, its indexes and the
            # counter take it (a spool whose structure was damaged does not).
            with driver_connection(self._engine) as (db, _):
                db.execute("BEGIN IMMEDIATE")
                try:
                    _insert_checkout(db, str(uuid.uuid4()), "probe", "2000-01-01", trial)
                finally:
                    if db.in_transaction:  # SQLite may have rolled back a failed write itself
                        db.execute("ROLLBACK")
            with self._changing_settings(), self._engine.begin() as conn:
                pages, limit, size = (
                    int(conn.exec_driver_sql(f"PRAGMA {name}").scalar_one())
                    for name in ("page_count", "max_page_count", "page_size")
                )
                if (limit - pages) * size < MIN_ROOM_BYTES:
                    raise StorageError(
                        f"the spool is at its size limit ({limit:,} pages of {size:,} bytes)"
                    )
                conn.exec_driver_sql(
                    "INSERT INTO settings (key, value) VALUES ('last_probe', "
                    "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
                )
        except (SQLAlchemyError, sqlite3.Error, OSError) as exc:
            raise StorageError(f"the spool cannot be written: {plain_error(exc)}") from exc

    def record_export(
        self, fmt: str, path: str, sha256: str, txn_ids: list[str], when: datetime
    ) -> ExportRecord:
        """Remember that these checkouts were written to an export file: from now on they
        count as handed over (they no longer count toward a patron's limit)."""
        stamp = when.isoformat(timespec="seconds")
        with self._engine.begin() as conn:
            export_id = conn.exec_driver_sql(
                "INSERT INTO exports (exported_at, format, path, sha256, checkouts) "
                "VALUES (?, ?, ?, ?, ?) RETURNING id",
                (stamp, fmt, path, sha256, len(txn_ids)),
            ).scalar_one()
            wanted = json.dumps(txn_ids)
            conn.exec_driver_sql(
                "INSERT INTO export_checkouts (export_id, checkout_id) SELECT ?, id "
                "FROM checkouts WHERE txn_id IN (SELECT value FROM json_each(?))",
                (export_id, wanted),
            )
            conn.exec_driver_sql(
                "UPDATE checkouts SET handed_over_at = ? WHERE handed_over_at IS NULL "
                "AND txn_id IN (SELECT value FROM json_each(?))",
                (stamp, wanted),
            )
        return ExportRecord(when, fmt, path, sha256, len(txn_ids))

    @contextmanager
    def _changing_settings(self) -> Iterator[None]:
        """Around every write to the settings table: a kept read (`settings`) is stale after
        it. Counted before and after, so a read made in between is not kept either."""
        self._settings_changes = next(self._settings_counter)
        try:
            yield
        finally:
            self._settings_changes = next(self._settings_counter)

    def set_setting(self, key: str, value: str | None) -> None:
        with self._changing_settings(), self._engine.begin() as conn:
            if value is None:
                conn.exec_driver_sql("DELETE FROM settings WHERE key = ?", (key,))
            else:
                conn.exec_driver_sql(
                    "INSERT INTO settings (key, value) VALUES (?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (key, value),
                )

    # Reading -----------------------------------------------------------------------------

    def setting(self, key: str) -> str | None:
        return self.settings((key,)).get(key)

    def settings(self, keys: tuple[str, ...]) -> dict[str, str]:
        """Several settings in one read. The kiosk looks at the staff settings at every scan,
        and they seldom change: the answer is kept with the connection and read again only
        when the database changed under it (PRAGMA data_version: a commit by any other
        connection, such as a `kiosk staff` command) or this object changed a setting."""
        with driver_connection(self._engine) as (db, notes):
            (version,) = db.execute("PRAGMA data_version").fetchone()
            stamp = (version, self._settings_changes, keys)
            kept = notes.get("settings")
            if kept is not None and kept[0] == stamp:
                return dict(kept[1])
            rows = db.execute(_SETTINGS_QUERY, (json.dumps(list(keys)),)).fetchall()
            values = {str(k): str(v) for k, v in rows}
            notes["settings"] = (stamp, values)
        return dict(values)

    def outstanding_for(self, patron: str) -> int:
        """This patron's checkouts not yet handed over to the library system."""
        with self._engine.connect() as conn:
            return int(
                conn.exec_driver_sql(
                    "SELECT count(*) FROM checkouts WHERE patron = ? AND handed_over_at IS NULL",
                    (patron,),
                ).scalar_one()
            )

    def checkouts(self, *, pending_only: bool = False) -> Iterator[SpooledCheckout]:
        """Checkouts oldest first (by sequence number)."""
        query = _PENDING_QUERY if pending_only else _ALL_QUERY
        with self._engine.connect() as conn:
            result = conn.exec_driver_sql(query)
            for row in result:
                yield _checkout(row)

    def exports_of(self, txn_ids: list[str]) -> dict[str, list[ExportRecord]]:
        """Earlier exports that contained each of these checkouts."""
        found: dict[str, list[ExportRecord]] = {}
        with self._engine.connect() as conn:
            for row in conn.exec_driver_sql(
                "SELECT c.txn_id, e.exported_at, e.format, e.path, e.sha256, e.checkouts "
                "FROM export_checkouts x JOIN checkouts c ON c.id = x.checkout_id "
                "JOIN exports e ON e.id = x.export_id "
                "WHERE c.txn_id IN (SELECT value FROM json_each(?)) ORDER BY e.id",
                (json.dumps(txn_ids),),
            ):
                found.setdefault(row[0], []).append(_export(row[1:]))
        return found

    def exports(self) -> list[ExportRecord]:
        with self._engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT exported_at, format, path, sha256, checkouts FROM exports ORDER BY id"
            ).all()
        return [_export(r) for r in rows]

    def summary(self) -> SpoolSummary:
        with self._engine.connect() as conn:
            total, handed_over = conn.exec_driver_sql(
                "SELECT count(*), count(handed_over_at) FROM checkouts"
            ).one()
            last_seq = conn.exec_driver_sql(
                "SELECT value FROM counters WHERE name = 'checkout_seq'"
            ).scalar_one()
        exports = self.exports()
        return SpoolSummary(
            self.spool_id,
            int(total),
            int(handed_over),
            int(last_seq),
            exports[-1] if exports else None,
            self.current_period(),
        )

    # Uploading to the library system ------------------------------------------------------

    def upload_states(
        self, *, to_send: bool = False, retry_rejected: bool = False
    ) -> list[UploadState]:
        """Every checkout with its upload state, oldest first. to_send: only those an upload
        must still deal with (not handed over; never sent, or sent and not answered, or
        rejected when retry_rejected)."""
        query = _UPLOAD_QUERY
        if to_send:
            query += _to_send_where(retry_rejected)
        with self._engine.connect() as conn:
            rows = conn.exec_driver_sql(query + "ORDER BY c.seq").all()
        return [_upload_state(r) for r in rows]

    def find_upload(self, reference: str) -> UploadState | None:
        """One checkout's upload state by its txn id, or by the reference on the receipt and
        in the report (its sequence number: "#12" or "12")."""
        ref = reference.strip()
        seq = ref.removeprefix("#")
        by_seq = seq.isdigit()
        where = "WHERE c.seq = ? " if by_seq else "WHERE c.txn_id = ? "
        value: int | str = int(seq) if by_seq else ref
        with self._engine.connect() as conn:
            row = conn.exec_driver_sql(_UPLOAD_QUERY + where, (value,)).first()
        return None if row is None else _upload_state(row)

    def record_staff_answer(self, txn_id: str, answer: str, *, by: str, when: datetime) -> bool:
        """Staff's answer for a checkout sent with no answer (CONFIRMED or RESEND), in one
        transaction with the check that it still is one. CONFIRMED hands it over as accepted
        in the same commit. False: it is not (any longer) sent with no answer; nothing
        changed."""
        if answer not in (CONFIRMED, RESEND):
            raise ValueError(f"not a staff answer: {answer!r}")
        stamp = when.isoformat(timespec="seconds")
        with self._engine.begin() as conn:  # BEGIN IMMEDIATE: the check and the change are one
            current = conn.exec_driver_sql(
                "SELECT u.state, c.handed_over_at, u.staff_answer FROM checkouts c "
                "JOIN uploads u ON u.checkout_id = c.id WHERE c.txn_id = ?",
                (txn_id,),
            ).first()
            if current is None or current[0] != "sent" or current[1] is not None:
                return False
            if answer == RESEND and current[2] == RESEND:
                return False
            accepted = answer == CONFIRMED
            conn.exec_driver_sql(
                "UPDATE uploads SET staff_answer = ?, staff_by = ?, staff_at = ?, "
                "state = ?, answered_at = ? "
                "WHERE checkout_id = (SELECT id FROM checkouts WHERE txn_id = ?)",
                (
                    answer,
                    by,
                    stamp,
                    "accepted" if accepted else "sent",
                    stamp if accepted else None,
                    txn_id,
                ),
            )
            if accepted:
                conn.exec_driver_sql(
                    "UPDATE checkouts SET handed_over_at = ? WHERE txn_id = ?", (stamp, txn_id)
                )
        return True

    def to_send_count(self) -> int:
        """How many checkouts an upload must still deal with (upload_states(to_send=True),
        counted by the database instead of read)."""
        with self._engine.connect() as conn:
            return int(conn.exec_driver_sql(_TO_SEND_COUNT).scalar_one())

    def mark_sent(self, txn_id: str, when: datetime, *, expected: str | None = None) -> bool:
        """Before a checkout goes to the ILS: durable, so a crash mid-send is resolved by the
        next run instead of being sent blind a second time. Only if its state is still
        `expected` (what the caller read; None: never sent): False means someone else dealt
        with it meanwhile, and it must not be sent."""
        stamp = when.isoformat(timespec="seconds")
        with self._engine.begin() as conn:  # BEGIN IMMEDIATE: the check and the claim are one
            current = conn.exec_driver_sql(
                "SELECT u.state, c.handed_over_at FROM checkouts c LEFT JOIN uploads u "
                "ON u.checkout_id = c.id WHERE c.txn_id = ?",
                (txn_id,),
            ).first()
            if current is None or current[0] != expected or current[1] is not None:
                return False
            conn.exec_driver_sql(
                "INSERT INTO uploads (checkout_id, state, attempts, sent_at) "
                "SELECT id, 'sent', 1, ? FROM checkouts WHERE txn_id = ? "
                "ON CONFLICT (checkout_id) DO UPDATE SET state = 'sent', "
                "attempts = attempts + 1, sent_at = excluded.sent_at, "
                # the one send staff asked for is this one
                "staff_answer = CASE staff_answer WHEN 'resend' THEN 'resent' "
                "ELSE staff_answer END",
                (stamp, txn_id),
            )
        return True

    def mark_answered(
        self, txn_id: str, *, accepted: bool, message: str, ils_due: str, when: datetime
    ) -> None:
        """The ILS's answer. Accepted: the checkout is handed over (in the same commit)."""
        stamp = when.isoformat(timespec="seconds")
        with self._engine.begin() as conn:
            conn.exec_driver_sql(
                "UPDATE uploads SET state = ?, message = ?, ils_due = ?, answered_at = ? "
                "WHERE checkout_id = (SELECT id FROM checkouts WHERE txn_id = ?)",
                ("accepted" if accepted else "rejected", message, ils_due, stamp, txn_id),
            )
            if accepted:
                conn.exec_driver_sql(
                    "UPDATE checkouts SET handed_over_at = ? WHERE txn_id = ? "
                    "AND handed_over_at IS NULL",
                    (stamp, txn_id),
                )

    def record_upload_run(self, run: UploadRun) -> None:
        with self._engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO upload_runs (started_at, finished_at, target, accepted, rejected, "
                "still_pending, error) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    run.started_at.isoformat(timespec="seconds"),
                    run.finished_at.isoformat(timespec="seconds") if run.finished_at else None,
                    run.target,
                    run.accepted,
                    run.rejected,
                    run.still_pending,
                    run.error,
                ),
            )

    def last_upload_run(self) -> UploadRun | None:
        with self._engine.connect() as conn:
            row = conn.exec_driver_sql(
                "SELECT started_at, finished_at, target, accepted, rejected, still_pending, "
                "error FROM upload_runs ORDER BY id DESC LIMIT 1"
            ).first()
        if row is None:
            return None
        return UploadRun(
            datetime.fromisoformat(row[0]),
            _when(row[1]),
            row[2],
            int(row[3]),
            int(row[4]),
            int(row[5]),
            row[6],
        )

    # Offline periods ----------------------------------------------------------------------

    def periods(self) -> list[Period]:
        """Every offline period, oldest first; the last one is open."""
        with self._engine.connect() as conn:
            rows = conn.exec_driver_sql(_PERIODS_QUERY).all()
        return [_period(r) for r in rows]

    def current_period(self) -> Period:
        return self.periods()[-1]

    def start_new_period(self, now: datetime, *, expected_checkouts: int) -> tuple[Period, Period]:
        """Archive the open period and open the next (the staff "reset").

        Refused (PeriodNotHandedOver) while any checkout of the open period has not been
        handed over, or if the period no longer holds `expected_checkouts` (what staff were
        shown when they confirmed). Nothing is deleted: the archived checkouts stay in the
        spool until the retention rule removes them. Returns (archived, new).
        """
        stamp = now.isoformat(timespec="seconds")
        try:
            with self._engine.begin() as conn:  # BEGIN IMMEDIATE: no checkout slips in
                row = conn.exec_driver_sql(
                    "SELECT p.id, p.first_seq, count(c.id), count(c.handed_over_at), "
                    "(SELECT value FROM counters WHERE name = 'checkout_seq') "
                    "FROM periods p LEFT JOIN checkouts c ON c.seq >= p.first_seq "
                    "WHERE p.last_seq IS NULL GROUP BY p.id"
                ).one()
                period_id, _first, held, handed_over, last_seq = (int(v) for v in row)
                if held != handed_over:
                    raise PeriodNotHandedOver(held - handed_over, held)
                if held != expected_checkouts:
                    raise PeriodNotHandedOver(0, held, changed_from=expected_checkouts)
                conn.exec_driver_sql(
                    "UPDATE periods SET ended_at = ?, last_seq = ?, archived = ? WHERE id = ?",
                    (stamp, last_seq, held, period_id),
                )
                conn.exec_driver_sql(
                    "INSERT INTO periods (started_at, first_seq) VALUES (?, ?)",
                    (stamp, last_seq + 1),
                )
        except (SQLAlchemyError, sqlite3.Error) as exc:
            raise StorageError(f"the new period could not be started: {plain_error(exc)}") from exc
        periods = self.periods()
        return periods[-2], periods[-1]

    def purge_archived(self, cutoff: datetime, now: datetime) -> list[tuple[Period, int]]:
        """The retention rule: remove checkouts of *archived* periods that were handed over
        before `cutoff`. The open period is never touched, and the database refuses to delete
        a checkout that was not handed over. Returns (period, checkouts removed) pairs."""
        try:
            return self._purge_archived(cutoff, now)
        except (SQLAlchemyError, sqlite3.Error, OSError) as exc:
            raise StorageError(f"the spool cannot be cleaned up: {plain_error(exc)}") from exc

    def _purge_archived(self, cutoff: datetime, now: datetime) -> list[tuple[Period, int]]:
        removed: list[tuple[Period, int]] = []
        stamp = now.isoformat(timespec="seconds")
        closed = [p for p in self.periods() if not p.is_open and p.checkouts]
        for period in closed:
            with self._engine.begin() as conn:
                rows = conn.exec_driver_sql(
                    "SELECT id, handed_over_at FROM checkouts WHERE seq BETWEEN ? AND ?",
                    (period.first_seq, period.last_seq),
                ).all()
                due = [
                    int(r[0])
                    for r in rows
                    if r[1] is not None and datetime.fromisoformat(r[1]) < cutoff
                ]
                if not due:
                    continue
                wanted = json.dumps(due)
                for table in ("export_checkouts", "uploads"):
                    conn.exec_driver_sql(
                        f"DELETE FROM {table} WHERE checkout_id IN "  # noqa: S608 (constant)
                        "(SELECT value FROM json_each(?))",
                        (wanted,),
                    )
                conn.exec_driver_sql(
                    "DELETE FROM checkouts WHERE id IN (SELECT value FROM json_each(?))",
                    (wanted,),
                )
                conn.exec_driver_sql(
                    "UPDATE periods SET purged_at = ?, purged = purged + ? WHERE id = ?",
                    (stamp, len(due), period.id),
                )
            removed.append((period, len(due)))
        return removed


_COLUMNS = (
    "txn_id, kiosk_id, seq, occurred_at, patron, item, due_date, special_due, session_id, "
    "handed_over_at"
)
_ALL_QUERY = f"SELECT {_COLUMNS} FROM checkouts ORDER BY seq"  # noqa: S608 (constants only)
# Not handed over, and not sent to the library system still awaiting its answer (exporting
# one of those could give the ILS the same checkout twice).
_PENDING_QUERY = (
    f"SELECT {_COLUMNS} FROM checkouts WHERE handed_over_at IS NULL "  # noqa: S608
    "AND id NOT IN (SELECT checkout_id FROM uploads WHERE state = 'sent') ORDER BY seq"
)


def _checkout(row: Any) -> SpooledCheckout:
    return SpooledCheckout(
        txn_id=row[0],
        kiosk_id=row[1],
        seq=int(row[2]),
        occurred_at=datetime.fromisoformat(row[3]),
        patron=row[4],
        item=row[5],
        due_date=date.fromisoformat(row[6]),
        special_due=bool(row[7]),
        session_id=row[8],
        handed_over_at=datetime.fromisoformat(row[9]) if row[9] else None,
    )


_UPLOAD_QUERY = (
    f"SELECT {', '.join('c.' + c.strip() for c in _COLUMNS.split(','))}, "  # noqa: S608
    "u.state, u.attempts, u.message, u.ils_due, u.answered_at, "
    "u.staff_answer, u.staff_by, u.staff_at "
    "FROM checkouts c LEFT JOIN uploads u ON u.checkout_id = c.id "
)


def _upload_state(r: Any) -> UploadState:
    return UploadState(
        _checkout(r[:10]),
        r[10],
        int(r[11] or 0),
        r[12] or "",
        r[13] or "",
        _when(r[14]),
        r[15],
        r[16] or "",
        _when(r[17]),
    )


def _to_send_where(retry_rejected: bool) -> str:
    states = "('sent', 'rejected')" if retry_rejected else "('sent')"
    return f"WHERE c.handed_over_at IS NULL AND (u.state IS NULL OR u.state IN {states}) "


_TO_SEND_COUNT = (
    "SELECT count(*) FROM checkouts c LEFT JOIN uploads u ON u.checkout_id = c.id "  # noqa: S608
    + _to_send_where(False)
)

_PERIODS_QUERY = (
    "SELECT p.id, p.started_at, p.first_seq, p.ended_at, p.last_seq, "
    "(SELECT count(*) FROM checkouts c WHERE c.seq >= p.first_seq "
    " AND (p.last_seq IS NULL OR c.seq <= p.last_seq)), "
    "(SELECT count(handed_over_at) FROM checkouts c WHERE c.seq >= p.first_seq "
    " AND (p.last_seq IS NULL OR c.seq <= p.last_seq)), "
    "p.archived, p.purged_at, p.purged FROM periods p ORDER BY p.id"
)


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _period(row: Any) -> Period:
    return Period(
        id=int(row[0]),
        started_at=datetime.fromisoformat(row[1]),
        first_seq=int(row[2]),
        ended_at=_when(row[3]),
        last_seq=None if row[4] is None else int(row[4]),
        checkouts=int(row[5]),
        handed_over=int(row[6]),
        archived=None if row[7] is None else int(row[7]),
        purged_at=_when(row[8]),
        purged=int(row[9]),
    )


def _export(row: Any) -> ExportRecord:
    return ExportRecord(datetime.fromisoformat(row[0]), row[1], row[2], row[3], int(row[4]))


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
