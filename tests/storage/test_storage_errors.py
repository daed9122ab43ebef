"""Storage errors stay inside kiosk.storage (issue 17, point 4): a database that fails under a
method of the spool or a snapshot arrives as the kiosk's own StorageError, with the driver's
one-line reason, never as an SQLAlchemy or sqlite3 exception."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kiosk.domain.barcodes import BarcodeRule, CheckDigit
from kiosk.errors import StorageError
from kiosk.storage.snapshot import SnapshotStore
from kiosk.storage.spool import Spool, UploadRun
from tests.conftest import patron, standard_csv

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


def damage(db: Path, *tables: str) -> None:
    """Another connection takes tables away under an open spool or snapshot."""
    with closing(sqlite3.connect(db, isolation_level=None)) as conn:
        for table in tables:
            conn.execute(f"DROP TABLE {table}")


CALLS: dict[str, Callable[[Spool], Any]] = {
    "settings": lambda s: s.settings(("paused",)),
    "set_setting": lambda s: s.set_setting("paused", "back soon"),
    "outstanding_for": lambda s: s.outstanding_for(patron(1)),
    "checkouts": lambda s: list(s.checkouts()),
    "summary": lambda s: s.summary(),
    "upload_states": lambda s: s.upload_states(),
    "to_send_count": lambda s: s.to_send_count(),
    "find_upload": lambda s: s.find_upload("#1"),
    "mark_answered": lambda s: s.mark_answered(
        "x", accepted=True, message="", ils_due="", when=NOW
    ),
    "record_upload_run": lambda s: s.record_upload_run(UploadRun(NOW, NOW, "ils", 0, 0, 0, "")),
    "last_upload_run": lambda s: s.last_upload_run(),
    "exports": lambda s: s.exports(),
    "record_export": lambda s: s.record_export("koc", "x.koc", "0" * 64, [], NOW),
    "periods": lambda s: s.periods(),
}


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
def test_a_spool_database_error_arrives_as_a_storage_error(
    tmp_path: Path, call: Callable[[Spool], Any]
) -> None:
    spool = Spool.open(tmp_path, create=True)
    try:
        damage(spool.path, "settings", "checkouts", "exports", "upload_runs", "periods", "uploads")
        with pytest.raises(StorageError, match=r"^the spool cannot be used: no such table: "):
            call(spool)
    finally:
        spool.close()


def test_a_patron_snapshot_lookup_error_arrives_as_a_storage_error(tmp_path: Path) -> None:
    source = tmp_path / "patrons.csv"
    source.write_text(standard_csv(), encoding="utf-8")
    store = SnapshotStore(tmp_path / "data")
    rule = BarcodeRule("2", 14, check_digit=CheckDigit.LUHN)
    store.import_csv(source, patron_rule=rule, built_at=NOW - timedelta(hours=1), now=NOW)
    reader = store.open_reader()
    try:
        damage(reader.info.file, "patrons")
        with pytest.raises(StorageError, match=r"^the patron snapshot cannot be read: no such"):
            reader.lookup(patron(1))
    finally:
        reader.close()
