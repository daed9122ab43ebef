"""The transaction spool: every checkout durable before `record_checkout` returns, append-only,
never silently replaced. Real SQLite files; other connections are opened with sqlite3 to see
what is really on disk."""

from __future__ import annotations

import random
import sqlite3
import subprocess
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from kiosk.domain.checkout import Checkout
from kiosk.errors import KioskError, SpoolDamagedError, StorageError
from kiosk.storage.db import sqlite_engine
from kiosk.storage.spool import Spool
from tests.conftest import KioskHome, item, patron
from tests.storage.conftest import direct

TZ = ZoneInfo("America/New_York")
KIOSK_ID = "TEST-SC01"
T0 = datetime(2026, 11, 20, 15, 0, 0, 250_000, tzinfo=UTC)  # 10:00:00.250 in New York


def request(
    n: int = 1,
    *,
    patron_barcode: str | None = None,
    item_barcode: str | None = None,
    occurred_at: datetime | None = None,
    special_due: bool = False,
    session_id: str = "session-1",
) -> Checkout:
    return Checkout(
        session_id=session_id,
        patron=patron_barcode or patron(1),
        item=item_barcode or item(n),
        due_date=date(2026, 12, 11),
        special_due=special_due,
        occurred_at=occurred_at or T0 + timedelta(seconds=n),
    )


# Recording ---------------------------------------------------------------------------------


def test_sequence_numbers_start_at_1_and_txn_ids_are_unique_uuids(spool: Spool) -> None:
    stored = [spool.record_checkout(request(n), KIOSK_ID, TZ) for n in range(1, 6)]

    assert [s.seq for s in stored] == [1, 2, 3, 4, 5]
    ids = [s.txn_id for s in stored]
    assert len(set(ids)) == 5
    for txn_id in ids:
        assert str(uuid.UUID(txn_id)) == txn_id


def test_a_checkout_is_on_disk_when_record_checkout_returns(spool: Spool) -> None:
    stored = spool.record_checkout(request(1, special_due=True), KIOSK_ID, TZ)

    with direct(spool.path) as conn:
        row = conn.execute(
            "SELECT kiosk_id, seq, occurred_at, patron, item, due_date, special_due, session_id, "
            "handed_over_at FROM checkouts WHERE txn_id = ?",
            (stored.txn_id,),
        ).fetchone()

    assert row == (
        KIOSK_ID,
        1,
        "2026-11-20T10:00:01.250-05:00",  # the library's local time, with its offset
        patron(1),
        item(1),
        "2026-12-11",
        1,
        "session-1",
        None,
    )


def test_checkouts_read_back_oldest_first_in_the_librarys_time_zone(spool: Spool) -> None:
    summer = datetime(2026, 7, 1, 14, 0, tzinfo=UTC)  # 10:00 EDT
    spool.record_checkout(request(1), KIOSK_ID, TZ)
    spool.record_checkout(request(2, occurred_at=summer), KIOSK_ID, TZ)

    checkouts = list(spool.checkouts())

    assert [c.seq for c in checkouts] == [1, 2]
    assert checkouts[0].checkout.occurred_at == T0 + timedelta(seconds=1)
    assert checkouts[0].checkout.occurred_at.utcoffset() == timedelta(hours=-5)
    assert checkouts[1].checkout.occurred_at == summer
    assert checkouts[1].checkout.occurred_at.utcoffset() == timedelta(hours=-4)
    assert checkouts[1].checkout.occurred_at.hour == 10
    assert checkouts[0].kiosk_id == KIOSK_ID
    assert checkouts[0].checkout.due_date == date(2026, 12, 11)
    assert checkouts[0].handed_over_at is None


def test_the_spool_is_wal_with_full_sync(spool: Spool) -> None:
    with direct(spool.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    # synchronous is a per-connection setting: ask a connection of the spool's own engine
    # (there is no public accessor for it).
    with spool._engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar_one() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1


@pytest.mark.parametrize(
    ("mode", "journal", "synchronous"), [("durable", "wal", 2), ("bulk", "off", 0)]
)
def test_sqlite_engine_modes(tmp_path: Path, mode: Any, journal: str, synchronous: int) -> None:
    engine = sqlite_engine(tmp_path / "x.db", mode=mode)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == journal
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar_one() == synchronous
    finally:
        engine.dispose()


def test_a_readonly_engine_cannot_write(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    with direct(path) as conn:
        conn.execute("CREATE TABLE t (x)")
    engine = sqlite_engine(path, mode="readonly")
    try:
        with pytest.raises(OperationalError, match="readonly"), engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
    finally:
        engine.dispose()
    with direct(path) as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)


# The database keeps the spool's promises ---------------------------------------------------


def test_a_checkout_not_handed_over_cannot_be_deleted(spool: Spool) -> None:
    spool.record_checkout(request(1), KIOSK_ID, TZ)
    with direct(spool.path) as conn:
        with pytest.raises(sqlite3.DatabaseError, match="cannot be deleted"):
            conn.execute("DELETE FROM checkouts")
        assert conn.execute("SELECT count(*) FROM checkouts").fetchone() == (1,)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("txn_id", "forged"),
        ("kiosk_id", "OTHER"),
        ("seq", 99),
        ("occurred_at", "2000-01-01T00:00:00.000+00:00"),
        ("patron", "20000000000000"),
        ("item", "30000000000000"),
        ("due_date", "2099-01-01"),
        ("special_due", 1),
        ("session_id", "other"),
    ],
)
def test_a_recorded_checkout_cannot_be_changed(spool: Spool, column: str, value: object) -> None:
    spool.record_checkout(request(1), KIOSK_ID, TZ)
    before = list(spool.checkouts())
    with direct(spool.path) as conn, pytest.raises(sqlite3.DatabaseError, match="cannot be"):
        conn.execute(f"UPDATE checkouts SET {column} = ?", (value,))
    assert list(spool.checkouts()) == before


def test_a_recorded_checkout_stays_fixed_after_hand_over(spool: Spool) -> None:
    stored = spool.record_checkout(request(1), KIOSK_ID, TZ)
    spool.record_export("koc", "/x.koc", "0" * 64, [stored.txn_id], T0)
    with direct(spool.path) as conn, pytest.raises(sqlite3.DatabaseError, match="cannot be"):
        conn.execute("UPDATE checkouts SET item = 'changed'")


def test_sequence_numbers_are_never_reused(spool: Spool) -> None:
    stored = [spool.record_checkout(request(n), KIOSK_ID, TZ) for n in (1, 2, 3)]
    spool.record_export("koc", "/x.koc", "0" * 64, [s.txn_id for s in stored], T0)
    with direct(spool.path) as conn:
        # Handed over, so the database allows deleting it: the newest one.
        conn.execute("DELETE FROM export_checkouts")
        conn.execute("DELETE FROM checkouts WHERE seq = 3")
        assert conn.execute("SELECT max(seq) FROM checkouts").fetchone() == (2,)

    after = spool.record_checkout(request(4), KIOSK_ID, TZ)

    assert after.seq == 4
    assert spool.summary().last_seq == 4


# Reading -------------------------------------------------------------------------------------


def test_outstanding_counts_only_checkouts_not_handed_over(spool: Spool) -> None:
    a1 = spool.record_checkout(request(1, patron_barcode=patron(1)), KIOSK_ID, TZ)
    spool.record_checkout(request(2, patron_barcode=patron(1)), KIOSK_ID, TZ)
    spool.record_checkout(request(3, patron_barcode=patron(2)), KIOSK_ID, TZ)
    assert spool.outstanding_for(patron(1)) == 2
    assert spool.outstanding_for(patron(2)) == 1
    assert spool.outstanding_for(patron(3)) == 0

    spool.record_export("csv", "/x.csv", "0" * 64, [a1.txn_id], T0)

    assert spool.outstanding_for(patron(1)) == 1
    assert spool.outstanding_for(patron(2)) == 1
    assert [c.seq for c in spool.checkouts(pending_only=True)] == [2, 3]
    assert len(list(spool.checkouts())) == 3


def test_record_export_is_remembered(spool: Spool) -> None:
    stored = [spool.record_checkout(request(n), KIOSK_ID, TZ) for n in (1, 2)]
    when = datetime(2026, 11, 21, 8, 30, 15, tzinfo=UTC)

    record = spool.record_export("koc", "/mnt/usb/a.koc", "ab" * 32, [stored[0].txn_id], when)

    assert (record.format, record.path, record.sha256, record.checkouts) == (
        "koc",
        "/mnt/usb/a.koc",
        "ab" * 32,
        1,
    )
    assert spool.exports() == [record]
    summary = spool.summary()
    assert (summary.total, summary.handed_over, summary.pending) == (2, 1, 1)
    assert summary.last_seq == 2
    assert summary.last_export == record
    first, second = spool.checkouts()
    assert first.handed_over_at == when
    assert second.handed_over_at is None
    assert spool.exports_of([stored[0].txn_id, stored[1].txn_id]) == {stored[0].txn_id: [record]}


def test_settings_set_get_and_clear(spool: Spool) -> None:
    assert spool.setting("special_due_date") is None
    spool.set_setting("special_due_date", "2026-12-24")
    assert spool.setting("special_due_date") == "2026-12-24"
    spool.set_setting("special_due_date", "2027-01-04")
    assert spool.setting("special_due_date") == "2027-01-04"
    spool.set_setting("special_due_date", None)
    assert spool.setting("special_due_date") is None
    spool.set_setting("special_due_date", None)  # clearing twice is fine
    assert spool.setting("special_due_date") is None


def test_settings_are_read_again_only_after_a_change(data_dir: Path, spool: Spool) -> None:
    """The kiosk reads the staff settings at every scan: the answer is kept, and read again
    when this spool changed a setting or another connection (a `kiosk staff` command, here a
    second Spool and a plain sqlite3 connection) committed anything."""
    statements: list[str] = []

    @event.listens_for(spool._engine, "checkout")
    def _trace(dbapi_conn: sqlite3.Connection, _record: Any, _proxy: Any) -> None:
        dbapi_conn.set_trace_callback(statements.append)

    keys = ("paused", "special_due_date")
    reads = lambda: sum("FROM settings" in s for s in statements)  # noqa: E731
    assert spool.settings(keys) == {}
    assert spool.settings(keys) == {}
    assert reads() == 1  # the second answer was the kept one

    spool.set_setting("paused", "Back at noon")  # this spool
    assert spool.settings(keys) == {"paused": "Back at noon"}
    assert spool.settings(keys)["paused"] == "Back at noon"
    assert reads() == 2

    other = Spool.open(data_dir)  # another connection, as another process has
    try:
        other.set_setting("special_due_date", "2026-12-24")
    finally:
        other.close()
    assert spool.settings(keys) == {"paused": "Back at noon", "special_due_date": "2026-12-24"}
    with direct(spool.path) as conn:
        conn.execute("DELETE FROM settings WHERE key = 'paused'")
    assert spool.settings(keys) == {"special_due_date": "2026-12-24"}
    assert reads() == 4

    spool.record_checkout(request(1), KIOSK_ID, TZ)  # a checkout changes no setting
    assert spool.settings(keys) == {"special_due_date": "2026-12-24"}
    assert spool.settings(("paused",)) == {}  # other keys: read, not taken from the kept answer
    assert reads() == 5


def test_probe_writes_on_a_healthy_spool(spool: Spool) -> None:
    assert spool.setting("last_probe") is None
    spool.probe()
    assert spool.setting("last_probe") is not None


# Opening: created once, never silently replaced ----------------------------------------------


def test_a_new_spool_is_private_and_marked(data_dir: Path, spool: Spool) -> None:
    assert spool.path == data_dir / "spool.db"
    assert data_dir.stat().st_mode & 0o777 == 0o700
    assert spool.path.stat().st_mode & 0o777 == 0o600
    marker = data_dir / "spool.id"
    assert marker.read_text(encoding="utf-8").strip() == spool.spool_id
    assert marker.stat().st_mode & 0o777 == 0o600
    assert str(uuid.UUID(spool.spool_id)) == spool.spool_id


def test_reopening_keeps_the_spool_id_and_the_checkouts(data_dir: Path) -> None:
    first = Spool.open(data_dir, create=True)
    stored = first.record_checkout(request(1), KIOSK_ID, TZ)
    first.close()

    again = Spool.open(data_dir)
    try:
        assert again.spool_id == first.spool_id
        assert [c.txn_id for c in again.checkouts()] == [stored.txn_id]
        assert again.record_checkout(request(2), KIOSK_ID, TZ).seq == 2
    finally:
        again.close()


def test_opening_without_create_when_there_is_no_spool_is_an_error(data_dir: Path) -> None:
    with pytest.raises(StorageError, match="no spool yet") as caught:
        Spool.open(data_dir, create=False)
    assert not isinstance(caught.value, SpoolDamagedError)
    assert not (data_dir / "spool.db").exists()
    assert not (data_dir / "spool.id").exists()


def test_a_spool_that_is_not_a_database_is_damaged(data_dir: Path) -> None:
    data_dir.mkdir()
    garbage = random.Random(7).randbytes(16_384)
    (data_dir / "spool.db").write_bytes(garbage)

    for create in (False, True):
        with pytest.raises(SpoolDamagedError):
            Spool.open(data_dir, create=create)

    assert (data_dir / "spool.db").read_bytes() == garbage  # kept for recovery, untouched


def test_a_deleted_spool_is_not_replaced_by_a_new_one(data_dir: Path) -> None:
    Spool.open(data_dir, create=True).close()
    (data_dir / "spool.db").unlink()

    for create in (False, True):
        with pytest.raises(SpoolDamagedError, match="restore it from a backup"):
            Spool.open(data_dir, create=create)

    assert not (data_dir / "spool.db").exists()


def test_an_emptied_spool_file_is_not_replaced_by_a_new_one(data_dir: Path) -> None:
    # A spool file cut to nothing (a bad disk or a careless copy) lost every checkout in it.
    first = Spool.open(data_dir, create=True)
    first.record_checkout(request(1), KIOSK_ID, TZ)
    first.close()
    (data_dir / "spool.db").write_bytes(b"")

    with pytest.raises(SpoolDamagedError):
        Spool.open(data_dir, create=True).close()


def test_the_schema_is_at_the_head_revision(spool: Spool) -> None:
    with direct(spool.path) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0004",)]


def test_opening_a_current_spool_makes_no_upgrade_backup(data_dir: Path) -> None:
    Spool.open(data_dir, create=True).close()
    Spool.open(data_dir).close()
    Spool.open(data_dir, create=True).close()
    assert list(data_dir.glob("*.before-upgrade-from-*")) == []


def test_a_spool_from_another_schema_version_is_refused_clearly(home: KioskHome) -> None:
    # This version knows revisions up to 0004. A spool written by a newer kiosk (a software
    # rollback) must be refused with one clear line, and its checkouts kept. The timeout is a
    # guard against a hang, not a measure of speed: `spool info` takes well under a second.
    spool = Spool.open(home.data_dir, create=True)
    spool.record_checkout(request(1), KIOSK_ID, TZ)
    spool.close()
    with direct(home.data_dir / "spool.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")

    try:
        result = home.kiosk("spool", "info", timeout=10)
    except subprocess.TimeoutExpired:
        pytest.fail("opening a spool at another schema revision hangs (`kiosk spool info`)")

    assert result.returncode == StorageError.exit_code, result.stderr
    assert "Traceback" not in result.stderr
    with direct(home.data_dir / "spool.db") as conn:
        assert conn.execute("SELECT count(*) FROM checkouts").fetchone() == (1,)


# A full disk ---------------------------------------------------------------------------------


def full_disk_spool(path: Path, spool_id: str, spare_pages: int) -> Spool:
    """The same spool file, opened so that it can grow by only `spare_pages` pages.

    SQLite's max_page_count is a per-connection setting, so it is applied on every connection
    of a durable engine; Spool takes its engine from whoever builds it.
    """
    with direct(path) as conn:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
    engine = sqlite_engine(path)

    @event.listens_for(engine, "connect")
    def _limit(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        dbapi_conn.execute(f"PRAGMA max_page_count = {pages + spare_pages}")

    return Spool(engine, path, spool_id)


def test_a_full_disk_refuses_the_checkout_and_keeps_the_ones_before(data_dir: Path) -> None:
    healthy = Spool.open(data_dir, create=True)
    healthy.close()
    cramped = full_disk_spool(healthy.path, healthy.spool_id, spare_pages=4)
    bulky = "3" * 3000  # each checkout takes most of a page
    stored = []
    try:
        with pytest.raises(StorageError, match="full"):
            for n in range(1, 1000):
                stored.append(cramped.record_checkout(request(n, item_barcode=bulky), "K", TZ))
    finally:
        cramped.close()

    assert len(stored) >= 1
    assert [s.seq for s in stored] == list(range(1, len(stored) + 1))
    reopened = Spool.open(data_dir)
    try:
        assert [c.txn_id for c in reopened.checkouts()] == [s.txn_id for s in stored]
        # The refused checkout left nothing behind, not even a used sequence number.
        assert reopened.summary().last_seq == len(stored)
        assert reopened.record_checkout(request(0), "K", TZ).seq == len(stored) + 1
    finally:
        reopened.close()


def test_the_probe_refuses_until_the_spool_has_room_for_more_than_one_checkout(
    data_dir: Path,
) -> None:
    # After a full disk, the station comes back only with room to spare: a spool that fits
    # just one more checkout would take the next patron's first item and fail again.
    healthy = Spool.open(data_dir, create=True)
    healthy.close()
    cramped = full_disk_spool(healthy.path, healthy.spool_id, spare_pages=4)
    try:
        with pytest.raises(StorageError, match="full"):
            for n in range(1, 1000):
                cramped.record_checkout(request(n), "K", TZ)
        with direct(healthy.path) as conn:  # what a freed page or two would look like
            conn.execute("DELETE FROM settings")
        with pytest.raises(StorageError, match=r"full|size limit"):
            cramped.probe()
    finally:
        cramped.close()
    roomy = Spool.open(data_dir)
    try:
        roomy.probe()
    finally:
        roomy.close()


def test_the_probe_tries_a_checkout_and_leaves_nothing_behind(spool: Spool) -> None:
    spool.record_checkout(request(1), KIOSK_ID, TZ)
    spool.probe()
    assert [c.seq for c in spool.checkouts()] == [1]
    assert spool.record_checkout(request(2), KIOSK_ID, TZ).seq == 2  # no number used up


def test_the_probe_refuses_a_spool_whose_checkouts_table_was_damaged(data_dir: Path) -> None:
    # A bit flip in the schema's text can rename a column: SQLite's checks pass (it is only
    # text to them), but no checkout could be stored. The kiosk must find out at start.
    Spool.open(data_dir, create=True).close()
    with direct(data_dir / "spool.db") as conn:
        conn.execute("PRAGMA writable_schema = ON")
        conn.execute(
            "UPDATE sqlite_master SET sql = replace(sql, 'due_date TEXT', 'dve_date TEXT') "
            "WHERE name = 'checkouts'"
        )
    spool = Spool.open(data_dir, thorough=True)
    try:
        with pytest.raises(StorageError, match="due_date"):
            spool.probe()
    finally:
        spool.close()


def test_a_damaged_index_is_found_by_the_thorough_check_at_start(data_dir: Path) -> None:
    # One changed byte in an index entry: every page still looks fine (quick_check), but the
    # index no longer matches its table. The kiosk checks the whole spool when it starts.
    spool = Spool.open(data_dir, create=True)
    stored = spool.record_checkout(request(1), KIOSK_ID, TZ)
    spool.close()
    path = data_dir / "spool.db"
    data = bytearray(path.read_bytes())
    # The txn_id is in the table's row and in its unique index: change the copy in the index
    # (the later page), one character for another that is just as valid.
    with direct(path) as conn:
        (table_root,) = conn.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'checkouts'"
        ).fetchone()
    needle = stored.txn_id.encode()
    places = [i for i in range(len(data)) if data.startswith(needle, i)]
    in_index = [i for i in places if i // 4096 != table_root - 1]
    assert len(places) == 2 and len(in_index) == 1, places
    at = in_index[0]
    data[at] = ord("0") if data[at] != ord("0") else ord("1")
    path.write_bytes(bytes(data))

    Spool.open(data_dir).close()  # the quick check alone does not see it
    with pytest.raises(SpoolDamagedError, match="integrity check") as caught:
        Spool.open(data_dir, thorough=True)
    assert "\n" not in str(caught.value)


def test_a_garbled_integrity_report_is_damage_not_a_crash(data_dir: Path) -> None:
    # SQLite quotes the damaged schema in its error, bytes that are not UTF-8 included.
    Spool.open(data_dir, create=True).close()
    with direct(data_dir / "spool.db") as conn:
        conn.execute("PRAGMA writable_schema = ON")
        conn.execute(
            "UPDATE sqlite_master SET name = CAST(X'73657474ff' AS TEXT), "
            "sql = 'CREATE TABLE s (' WHERE name = 'settings'"
        )
    damaged = (data_dir / "spool.db").read_bytes()
    for thorough in (False, True):
        with pytest.raises(SpoolDamagedError, match="damaged"):
            Spool.open(data_dir, thorough=thorough)
    assert (data_dir / "spool.db").read_bytes() == damaged


def test_another_sqlite_file_in_the_spools_place_is_refused_untouched(
    data_dir: Path, tmp_path: Path
) -> None:
    # Say, a patron snapshot copied over it: an SQLite file, sound, but not this spool. It is
    # refused before anything writes to it (not even switching it to WAL).
    Spool.open(data_dir, create=True).close()
    stranger = tmp_path / "other.db"
    with direct(stranger) as conn:
        conn.execute("CREATE TABLE patrons (barcode TEXT PRIMARY KEY)")
        conn.execute("INSERT INTO patrons VALUES ('21234000000018')")
    (data_dir / "spool.db").write_bytes(stranger.read_bytes())

    with pytest.raises(SpoolDamagedError, match=r"is empty|not the one"):
        Spool.open(data_dir, create=True)
    assert (data_dir / "spool.db").read_bytes() == stranger.read_bytes()

    # In a folder that never had a spool it is refused too, not turned into one.
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / "spool.db").write_bytes(stranger.read_bytes())
    with pytest.raises(SpoolDamagedError, match="not a kiosk spool"):
        Spool.open(fresh, create=True)
    assert (fresh / "spool.db").read_bytes() == stranger.read_bytes()
    assert not (fresh / "spool.id").exists()


def test_storage_errors_are_kiosk_errors() -> None:
    # The CLI and the station turn a KioskError into one clear line or an out-of-service screen.
    assert issubclass(SpoolDamagedError, StorageError)
    assert issubclass(StorageError, KioskError)
    assert StorageError.exit_code == 74


# A later version of the kiosk upgrading an old spool -------------------------------------------

LATER_MIGRATION = '''"""A later schema: checkouts gain a title column.

Revision ID: 9999
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "9999"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("checkouts") as batch:
        batch.add_column(sa.Column("title", sa.Text, nullable=True))


def downgrade() -> None:
    raise NotImplementedError
'''


def test_a_later_version_upgrades_an_old_spool_keeping_every_checkout_and_a_backup(
    tmp_path: Path,
) -> None:
    import shutil

    from kiosk.storage.spool import MIGRATIONS

    data = tmp_path / "data"
    old = Spool.open(data, create=True)
    stored = [old.record_checkout(request(n), "K1", TZ) for n in range(1, 6)]
    spool_id = old.spool_id
    old.close()

    later = tmp_path / "later-migrations"
    shutil.copytree(MIGRATIONS, later)
    (later / "versions" / "9999_titles.py").write_text(LATER_MIGRATION, encoding="utf-8")

    upgraded = Spool.open(data, migrations=later)
    try:
        assert upgraded.spool_id == spool_id
        assert [(c.txn_id, c.seq) for c in upgraded.checkouts()] == [
            (s.txn_id, s.seq) for s in stored
        ]
        # The database's promises survive the table rebuild of the migration.
        with (
            pytest.raises(sqlite3.DatabaseError, match="cannot be deleted"),
            sqlite3.connect(data / "spool.db") as raw,
        ):
            raw.execute("DELETE FROM checkouts")
        nxt = upgraded.record_checkout(request(6), "K1", TZ)
        assert nxt.seq == 6
    finally:
        upgraded.close()
    with sqlite3.connect(data / "spool.db") as raw:
        assert raw.execute("SELECT version_num FROM alembic_version").fetchone() == ("9999",)
        columns = [r[1] for r in raw.execute("PRAGMA table_info(checkouts)")]
    assert "title" in columns
    backup = data / "spool.db.before-upgrade-from-0004"
    assert backup.exists()
    assert backup.stat().st_mode & 0o777 == 0o600
    with sqlite3.connect(backup) as raw:
        assert raw.execute("SELECT count(*) FROM checkouts").fetchone() == (5,)
        assert raw.execute("SELECT version_num FROM alembic_version").fetchone() == ("0004",)
