"""The transaction spool: every checkout, durable before the patron is told it is done.

Append-only. A checkout is committed (WAL, synchronous=FULL) before `record_checkout`
returns; nothing here deletes a checkout, and triggers in the database refuse it for any
checkout that was not handed over. A missing or damaged spool is never silently replaced.

The spool's parts: kiosk.storage.spool_files (the file's checks and migrations),
spool_settings, spool_uploads, spool_periods (periods, retention and the export record) and
spool_records (the values). Import them from here.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, tzinfo
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from kiosk.domain.checkout import Checkout, SpooledCheckout
from kiosk.errors import SpoolDamagedError, StorageError
from kiosk.storage.db import (
    HeldConnections,
    database_errors,
    driver_connection,
    plain_error,
    sqlite_engine,
)
from kiosk.storage.files import atomic_write_bytes, private_dir
from kiosk.storage.spool_files import (
    KEEP_IT,
    MARKER_FILE,
    MIGRATIONS,
    MIN_ROOM_BYTES,
    SPOOL_FILE,
    free_bytes,
    inspect_file,
    migrate,
    one_line,
    refuse_full_disk,
)
from kiosk.storage.spool_periods import SpoolPeriods
from kiosk.storage.spool_records import (
    CHECKOUT_COLUMNS,
    CONFIRMED,
    RESEND,
    RESENT,
    ExportRecord,
    Period,
    SpoolSummary,
    UploadRun,
    UploadState,
    checkout_from_row,
    checkout_values,
)
from kiosk.storage.spool_settings import SpoolSettings
from kiosk.storage.spool_uploads import SpoolUploads

__all__ = [
    "CONFIRMED",
    "KEEP_IT",
    "MARKER_FILE",
    "MIGRATIONS",
    "MIN_ROOM_BYTES",
    "RESEND",
    "RESENT",
    "SPOOL_FILE",
    "ExportRecord",
    "Period",
    "Spool",
    "SpoolSummary",
    "UploadRun",
    "UploadState",
    "free_bytes",
    "one_line",
    "refuse_full_disk",
]

_NEXT_SEQ = "UPDATE counters SET value = value + 1 WHERE name = 'checkout_seq' RETURNING value"
_INSERT_CHECKOUT = (
    f"INSERT INTO checkouts ({', '.join(CHECKOUT_COLUMNS)}) "  # noqa: S608 (constants only)
    f"VALUES ({', '.join('?' for _ in CHECKOUT_COLUMNS)})"
)


def _insert_checkout(
    db: sqlite3.Connection, request: Checkout, kiosk_id: str, tz: tzinfo
) -> SpooledCheckout:
    """The checkout under the next sequence number and a new txn_id, in the caller's
    transaction; its moment is kept in the library's time zone `tz`."""
    (seq,) = db.execute(_NEXT_SEQ).fetchone()
    stored = SpooledCheckout(request, kiosk_id, str(uuid.uuid4()), int(seq))
    local = replace(request, occurred_at=request.occurred_at.astimezone(tz))
    db.execute(_INSERT_CHECKOUT, checkout_values(replace(stored, checkout=local)))
    return stored


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


@database_errors("the spool cannot be used")
class Spool(SpoolSettings, SpoolUploads, SpoolPeriods):
    """The spool: opening it, writing checkouts and reading them here; settings, uploads,
    periods and exports in the parts it is made of, all on one engine."""

    def __init__(self, engine: Engine, path: Path, spool_id: str) -> None:
        self._engine = engine
        self._held = HeldConnections(engine)  # for the calls made at every scan
        self.path = path
        self.spool_id = spool_id
        super().__init__()  # the settings' change counter

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
            inspect_file(path, expected_id, thorough=thorough)
        engine = sqlite_engine(path)
        try:
            spool_id = migrate(engine, path, expected_id, migrations)
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

    def close(self) -> None:
        self._held.close()
        self._engine.dispose()

    # Writing -----------------------------------------------------------------------------

    def record_checkout(self, request: Checkout, kiosk_id: str, tz: tzinfo) -> SpooledCheckout:
        """Store one checkout durably, and return it with the identity it was stored under.
        Raises StorageError if it could not be stored; then nothing was stored and the patron
        must not be told it is done."""
        try:
            with self._held() as (db, _), _immediate(db):
                return _insert_checkout(db, request, kiosk_id, tz)
        except (SQLAlchemyError, sqlite3.Error, OSError) as exc:
            free = free_bytes(self.path.parent)
            room = ""
            if free is not None and free < MIN_ROOM_BYTES:
                room = f" ({free // 1024:,} KB free on the disk)"
            raise StorageError(
                f"the checkout could not be stored: {plain_error(exc)}{room}"
            ) from exc

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
        trial = Checkout(
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
                    _insert_checkout(db, trial, "probe", UTC)
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

    # Reading -----------------------------------------------------------------------------

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
                yield checkout_from_row(row)

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


_COLUMNS = ", ".join(CHECKOUT_COLUMNS)
_ALL_QUERY = f"SELECT {_COLUMNS} FROM checkouts ORDER BY seq"  # noqa: S608 (constants only)
# Not handed over, and not sent to the library system still awaiting its answer (exporting
# one of those could give the ILS the same checkout twice).
_PENDING_QUERY = (
    f"SELECT {_COLUMNS} FROM checkouts WHERE handed_over_at IS NULL "  # noqa: S608
    "AND id NOT IN (SELECT checkout_id FROM uploads WHERE state = 'sent') ORDER BY seq"
)
