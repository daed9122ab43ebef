"""Spool backups: a consistent copy through SQLite's backup API while the kiosk keeps
lending, restorable as a spool, private, rotated to the last N, and the command that the
hourly timer runs."""

from __future__ import annotations

import re
import shutil
import sqlite3
import stat
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import kiosk.storage.backup as backup_module
from kiosk.domain.checkout import Checkout
from kiosk.errors import StorageError
from kiosk.storage.audit import AuditLog
from kiosk.storage.backup import Backup, NothingToBackUp, backup_spool
from kiosk.storage.spool import SPOOL_FILE, Spool
from tests.conftest import KioskHome, item, patron

TZ = ZoneInfo("America/New_York")
KIOSK_ID = "TEST-SC01"
T0 = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # 10:00 in New York
LIMIT = 30.0  # a guard against a hang, not a measure of speed
CLOCK = "2026-11-23T10:00:00-05:00"


def checkout(n: int) -> Checkout:
    return Checkout(
        session_id=f"session-{n}",
        patron=patron(1),
        item=item(n),
        due_date=date(2026, 12, 14),
        special_due=False,
        occurred_at=T0 + timedelta(seconds=n),
    )


def new_spool(data_dir: Path, checkouts: int = 0, kiosk_id: str = KIOSK_ID) -> None:
    spool = Spool.open(data_dir, create=True)
    try:
        for n in range(1, checkouts + 1):
            spool.record_checkout(checkout(n), kiosk_id, TZ)
    finally:
        spool.close()


def add_checkout(data_dir: Path, n: int) -> None:
    spool = Spool.open(data_dir)
    try:
        spool.record_checkout(checkout(n), KIOSK_ID, TZ)
    finally:
        spool.close()


def restore(backup: Path, into: Path) -> list[int]:
    """Put a backup back as a kiosk's spool (what staff do after losing one): it must pass
    SQLite's full check and open as a spool. Returns the seqs it holds."""
    into.mkdir()
    shutil.copyfile(backup, into / SPOOL_FILE)
    conn = sqlite3.connect(into / SPOOL_FILE)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        conn.close()
    spool = Spool.open(into)
    try:
        return [c.seq for c in spool.checkouts()]
    finally:
        spool.close()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


class Writer(threading.Thread):
    """The kiosk lending: checkouts committed one after another on its own connection."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(daemon=True)
        self.data_dir = data_dir
        self.seqs: list[int] = []  # each appended once its checkout is committed
        self.errors: list[BaseException] = []
        self._halt = threading.Event()

    def run(self) -> None:
        spool = Spool.open(self.data_dir)
        try:
            n = 0
            while not self._halt.is_set():
                n += 1
                self.seqs.append(spool.record_checkout(checkout(n), KIOSK_ID, TZ).seq)
        except BaseException as exc:
            self.errors.append(exc)
        finally:
            spool.close()

    def wait_for(self, count: int) -> None:
        deadline = time.monotonic() + LIMIT
        while len(self.seqs) < count and not self.errors and time.monotonic() < deadline:
            time.sleep(0.01)  # polling for progress, bounded: not a timing assumption
        assert not self.errors, self.errors
        assert len(self.seqs) >= count

    def finish(self) -> None:
        self._halt.set()
        self.join(LIMIT)
        assert not self.is_alive()


# The copy ----------------------------------------------------------------------------------


def test_a_backup_taken_while_checkouts_are_written_holds_every_one_committed_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Copy a few pages a step, so the writer commits between the steps of one backup.
    monkeypatch.setattr(backup_module, "PAGES_PER_STEP", 2)
    data = tmp_path / "data"
    new_spool(data)
    # Another connection stays open (a staff command reading the spool, say), so the last
    # checkouts live in the write-ahead log, not yet in spool.db: a plain copy of spool.db
    # would miss them.
    reader = sqlite3.connect(data / SPOOL_FILE)
    assert reader.execute("SELECT count(*) FROM checkouts").fetchone() == (0,)
    writer = Writer(data)
    writer.start()
    try:
        writer.wait_for(300)
        committed = list(writer.seqs)  # every one of these returned: it is on disk
        made = backup_spool(data, tmp_path / "backups", kiosk_id=KIOSK_ID, now=T0, keep=5)
        writer.wait_for(len(writer.seqs) + 20)  # and the kiosk went on lending
    finally:
        writer.finish()
        reader.close()
    assert not writer.errors, writer.errors  # the backup never made a checkout fail
    held = restore(made.path, tmp_path / "restored")
    assert set(committed) <= set(held)
    assert held == list(range(1, len(held) + 1))  # a consistent prefix, no holes
    assert made.checkouts == len(held)
    assert len(held) <= len(writer.seqs)


def test_a_backup_is_private_and_carries_the_audit_trail(tmp_path: Path) -> None:
    data = tmp_path / "data"
    new_spool(data, checkouts=3)
    AuditLog(data).append("staff.pause", actor="staff", at=T0.astimezone(TZ))
    folder = tmp_path / "backups"
    made = backup_spool(data, folder, kiosk_id=KIOSK_ID, now=T0.astimezone(TZ), keep=5)
    assert made.path == folder / "spool-TEST-SC01-20261123T150000Z.db"  # named in UTC
    assert made.checkouts == 3
    assert made.size == made.path.stat().st_size
    assert made.removed == ()
    trail = folder / "spool-TEST-SC01-20261123T150000Z.audit.log"
    assert trail.read_bytes() == (data / "audit.log").read_bytes()
    assert mode(folder) == 0o700
    assert mode(made.path) == 0o600
    assert mode(trail) == 0o600
    assert sorted(p.name for p in folder.iterdir()) == sorted([made.path.name, trail.name])
    assert restore(made.path, tmp_path / "restored") == [1, 2, 3]


def test_keep_n_keeps_only_the_newest_n(tmp_path: Path) -> None:
    data = tmp_path / "data"
    new_spool(data)
    AuditLog(data).append("staff.pause", actor="staff", at=T0.astimezone(TZ))
    folder = tmp_path / "backups"
    made: list[Backup] = []
    for hour in range(1, 6):
        add_checkout(data, hour)
        now = (T0 + timedelta(hours=hour)).astimezone(TZ)
        made.append(backup_spool(data, folder, kiosk_id=KIOSK_ID, now=now, keep=3))
    assert [m.checkouts for m in made] == [1, 2, 3, 4, 5]
    assert [m.removed for m in made] == [(), (), (), (made[0].path,), (made[1].path,)]
    kept = sorted(folder.glob("*.db"))
    assert kept == [m.path for m in made[2:]]
    assert sorted(folder.glob("*.audit.log")) == [p.with_suffix(".audit.log") for p in kept]
    assert all(mode(p) == 0o600 for p in folder.iterdir())


def test_keep_keeps_the_newest_across_the_autumn_clock_change(tmp_path: Path) -> None:
    """The CLI names backups by local time. On 2026-11-01 New York's clocks go back from
    02:00 EDT to 01:00 EST, so a backup at 01:10 EST is newer than one at 01:50 EDT."""
    data = tmp_path / "data"
    new_spool(data, checkouts=1)
    folder = tmp_path / "backups"
    first_at = datetime(2026, 11, 1, 5, 50, tzinfo=UTC).astimezone(TZ)  # 01:50 EDT
    later_at = datetime(2026, 11, 1, 6, 10, tzinfo=UTC).astimezone(TZ)  # 01:10 EST
    assert later_at.timestamp() > first_at.timestamp()
    assert later_at.strftime("%H%M") < first_at.strftime("%H%M")
    first = backup_spool(data, folder, kiosk_id=KIOSK_ID, now=first_at, keep=1)
    add_checkout(data, 2)
    later = backup_spool(data, folder, kiosk_id=KIOSK_ID, now=later_at, keep=1)
    assert later.path.exists()
    assert later.removed == (first.path,)
    assert sorted(folder.glob("*.db")) == [later.path]


def test_kiosks_sharing_a_backup_folder_rotate_only_their_own_backups(tmp_path: Path) -> None:
    """Backups are named after the kiosk so that several can share one network folder; ids
    like MAIN and MAIN-2 are both valid."""
    folder = tmp_path / "share"
    for kiosk_id in ("MAIN", "MAIN-2"):
        new_spool(tmp_path / kiosk_id, checkouts=1, kiosk_id=kiosk_id)
    other = backup_spool(tmp_path / "MAIN-2", folder, kiosk_id="MAIN-2", now=T0, keep=1)
    ours = backup_spool(tmp_path / "MAIN", folder, kiosk_id="MAIN", now=T0, keep=1)
    assert other.path.exists(), "kiosk MAIN's rotation deleted kiosk MAIN-2's backup"
    assert ours.path.exists()
    assert ours.removed == ()


# Refusals ----------------------------------------------------------------------------------


def test_a_backup_folder_that_is_a_file_is_a_clear_storage_error(tmp_path: Path) -> None:
    data = tmp_path / "data"
    new_spool(data, checkouts=1)
    folder = tmp_path / "backups"
    folder.write_text("not a folder\n", encoding="utf-8")
    with pytest.raises(StorageError) as refused:
        backup_spool(data, folder, kiosk_id=KIOSK_ID, now=T0, keep=3)
    assert str(refused.value) == f"the backup folder {folder} cannot be used: File exists"
    assert folder.read_text(encoding="utf-8") == "not a folder\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backups", "data"]


def test_no_spool_to_back_up_says_so_and_makes_nothing(tmp_path: Path) -> None:
    with pytest.raises(NothingToBackUp, match="nothing to back up yet"):
        backup_spool(tmp_path / "data", tmp_path / "backups", kiosk_id=KIOSK_ID, now=T0, keep=3)
    assert not (tmp_path / "backups").exists()


def test_the_hourly_backup_of_a_kiosk_that_has_not_lent_yet_succeeds(
    home: KioskHome, tmp_path: Path
) -> None:
    """The timer runs from the first hour on: a station that has not lent is not a failure."""
    folder = tmp_path / "backups"
    result = home.kiosk("spool", "backup", "--to", str(folder))
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "Nothing to back up yet: this kiosk has not lent anything "
        f"(no spool at {home.data_dir / SPOOL_FILE}).\n"
    )
    assert not folder.exists()


# The command the timer runs --------------------------------------------------------------


@pytest.fixture
def lent(home: KioskHome) -> KioskHome:
    """A kiosk that has lent two items through the real headless kiosk."""
    home.import_standard_snapshot()
    lines = "".join(f"{line}\n" for line in [patron(1), item(1), item(2), "@done"])
    result = home.kiosk("run", "--headless", "--clock", CLOCK, input=lines)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count('"event": "item_checked_out"') == 2
    return home


def test_spool_backup_prints_the_count_and_is_audited(lent: KioskHome, tmp_path: Path) -> None:
    folder = tmp_path / "backups"
    result = lent.kiosk("spool", "backup", "--to", str(folder))
    assert result.returncode == 0, result.stderr
    match = re.fullmatch(
        rf"Backed up 2 checkouts to ({re.escape(str(folder))}/spool-TEST-SC01-\d{{8}}T\d{{6}}Z"
        r"\.db) \([\d,]+ bytes\)\.\n",
        result.stdout,
    )
    assert match, result.stdout
    path = Path(match.group(1))
    assert mode(folder) == 0o700 and mode(path) == 0o600
    assert restore(path, tmp_path / "restored") == [1, 2]
    audit = lent.kiosk("audit", "show")
    assert audit.returncode == 0, audit.stderr
    [line] = [row for row in audit.stdout.splitlines() if "spool.backup" in row]
    assert re.search(r"\btimer\s+spool\.backup\s+path=", line)
    assert f"path={path}, checkouts=2" in line


def test_spool_backup_uses_the_configured_folder(lent: KioskHome, tmp_path: Path) -> None:
    folder = tmp_path / "share"
    lent.write_config(extra=f'\n[backup]\nfolder = "{folder}"\nkeep = 2\n')
    result = lent.kiosk("spool", "backup")
    assert result.returncode == 0, result.stderr
    assert f"Backed up 2 checkouts to {folder}/" in result.stdout
    assert len(list(folder.glob("spool-TEST-SC01-*.db"))) == 1


def test_spool_backup_without_a_folder_says_how_to_give_one(lent: KioskHome) -> None:
    result = lent.kiosk("spool", "backup")
    assert result.returncode == 2
    assert "give --to FOLDER or set backup.folder in the config" in result.stderr


def test_a_configured_backup_folder_that_is_a_file_exits_74_with_one_clear_line(
    lent: KioskHome, tmp_path: Path
) -> None:
    folder = tmp_path / "backups"
    folder.write_text("", encoding="utf-8")
    lent.write_config(extra=f'\n[backup]\nfolder = "{folder}"\n')
    result = lent.kiosk("spool", "backup")
    assert result.returncode == 74  # EX_IOERR: the timer's failure shows in the journal
    assert result.stderr == f"kiosk: the backup folder {folder} cannot be used: File exists\n"
    assert "spool.backup" not in lent.kiosk("audit", "show").stdout


def test_the_hourly_backup_also_applies_the_retention_rule(home: KioskHome) -> None:
    """A kiosk that is never restarted still loses archived periods on time: the backup timer
    applies the rule (the default keeps archived checkouts 90 days after hand-over)."""
    long_ago = datetime.now(UTC) - timedelta(days=120)
    spool = Spool.open(home.data_dir, create=True)
    try:
        stored = [spool.record_checkout(checkout(n), KIOSK_ID, TZ) for n in (1, 2)]
        spool.record_export(
            "koc", "/media/usb/old.koc", "0" * 64, [s.txn_id for s in stored], long_ago
        )
        spool.start_new_period(long_ago, expected_checkouts=2)
        fresh = spool.record_checkout(checkout(3), KIOSK_ID, TZ)  # the open period: kept
    finally:
        spool.close()

    result = home.kiosk("spool", "backup", "--to", str(home.root / "backups"))

    assert result.returncode == 0, result.stderr
    assert "2 archived checkouts older than 90 days were removed" in result.stdout
    spool = Spool.open(home.data_dir)
    try:
        assert [c.txn_id for c in spool.checkouts()] == [fresh.txn_id]
    finally:
        spool.close()
    actions = [e.action for e in AuditLog(home.data_dir).entries()]
    assert "period.purged" in actions
