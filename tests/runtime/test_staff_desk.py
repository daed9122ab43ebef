"""The staff desk in-process: PIN sign-in and its lockout (kept across a restart), staff cards,
the hand-over on a drive, new periods, the retention rule, reloading the snapshot and the
status staff read. Real config files, real SQLite files, a clock that moves only when told."""

from __future__ import annotations

import hashlib
import json
import os
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from kiosk.cli.run import build_runtime
from kiosk.config import KioskConfig, load_config
from kiosk.domain.checkout import Checkout
from kiosk.domain.events import PatronRefused, StaffCardScanned
from kiosk.domain.staff import hash_secret
from kiosk.exports.drives import Drive, folder_as_drive
from kiosk.runtime.clock import ManualClock
from kiosk.runtime.devices import DeviceStatus
from kiosk.runtime.signin import LOCK_FILE, PinCheck, PinResult
from kiosk.runtime.staff import StaffDesk
from kiosk.storage.audit import AuditLog
from kiosk.storage.snapshot import SnapshotStore
from kiosk.storage.spool import Spool
from tests.conftest import KioskHome, exported_at, item, patron, standard_csv

TZ = ZoneInfo("America/New_York")
KIOSK_ID = "TEST-SC01"
T0 = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # Monday 10:00 in New York
PIN = "2580"
CARD = "STAFF-QX7-ALPHA"
OTHER_CARD = "STAFF-ZK4-BRAVO"


# Helpers -----------------------------------------------------------------------------------


def hashed(secret: str, salt: bytes | None = None) -> str:
    return hash_secret(secret, salt or os.urandom(16)).text()


def configure(
    home: KioskHome,
    *,
    staff: str | None = "",
    pins: tuple[str, ...] = (PIN,),
    cards: tuple[str, ...] = (),
    snapshot_source: Path | None = None,
) -> KioskConfig:
    """Write the home's config with a [staff] section (None: no section at all) and load it
    as the kiosk does."""
    extra = ""
    if staff is not None:
        card_salt = os.urandom(16)  # cards share one salt, as `kiosk staff add-card` writes them
        lines = ["", "[staff]", f"pins = {json.dumps([hashed(p) for p in pins])}"]
        if cards:
            lines.append(f"cards = {json.dumps([hashed(c, card_salt) for c in cards])}")
        extra = "\n".join([*lines, staff, ""])
    path = home.write_config(extra=extra)
    if snapshot_source is not None:
        text = path.read_text(encoding="utf-8")
        source = f'[snapshot]\nsource = "{snapshot_source}"\n'
        path.write_text(text.replace("[snapshot]\n", source, 1), encoding="utf-8")
    return load_config(path)


def desk_for(config: KioskConfig, clock: ManualClock) -> StaffDesk:
    return StaffDesk(config, actor="staff:test", now=clock.now)


def store_checkouts(data_dir: Path, serials: range, at: datetime) -> None:
    spool = Spool.open(data_dir, create=True)
    try:
        for n in serials:
            spool.record_checkout(
                Checkout(
                    session_id="session-1",
                    patron=patron(1),
                    item=item(n),
                    due_date=date(2026, 12, 14),
                    special_due=False,
                    occurred_at=at,
                ),
                KIOSK_ID,
                TZ,
            )
    finally:
        spool.close()


def spool_items(data_dir: Path) -> list[str]:
    spool = Spool.open(data_dir)
    try:
        return [c.checkout.item for c in spool.checkouts()]
    finally:
        spool.close()


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return exported_at(path, T0 - timedelta(hours=1))


def audit(data_dir: Path) -> list[tuple[str, dict[str, Any]]]:
    return [(e.action, e.details) for e in AuditLog(data_dir).entries()]


def actions(data_dir: Path) -> list[str]:
    return [action for action, _ in audit(data_dir)]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def usb(tmp_path: Path) -> Path:
    folder = tmp_path / "usb"
    folder.mkdir()
    return folder


# Signing in with a PIN ------------------------------------------------------------------------


def test_the_right_pin_signs_in_and_is_audited(home: KioskHome, clock: ManualClock) -> None:
    desk = desk_for(configure(home), clock)
    assert desk.check_pin(PIN) == PinCheck(PinResult.OK)
    entries = list(AuditLog(home.data_dir).entries())
    assert [(e.action, e.actor) for e in entries] == [("staff.sign_in", "staff:test")]
    assert entries[0].at == "2026-11-23T10:00:00-05:00"  # the library's time, from the clock
    assert PIN not in (home.data_dir / "audit.log").read_text(encoding="utf-8")


def test_wrong_pins_count_down_and_the_limit_locks_even_the_right_pin(
    home: KioskHome, clock: ManualClock
) -> None:
    desk = desk_for(configure(home, staff="lockout_minutes = 20"), clock)
    assert [desk.check_pin("1111").tries_left for _ in range(4)] == [4, 3, 2, 1]
    fifth = desk.check_pin("1111")  # wrong_pin_limit is 5
    assert fifth == PinCheck(PinResult.LOCKED, 0, T0 + timedelta(minutes=20))
    assert desk.check_pin(PIN).result == PinResult.LOCKED
    assert actions(home.data_dir) == ["staff.wrong_pin"] * 4 + ["staff.locked"]
    assert [d["tries_left"] for a, d in audit(home.data_dir) if a == "staff.wrong_pin"] == [
        4,
        3,
        2,
        1,
    ]


def test_the_lock_survives_a_restart_and_ends_after_lockout_minutes(
    home: KioskHome, clock: ManualClock
) -> None:
    config = configure(home, staff="lockout_minutes = 20")
    desk = desk_for(config, clock)
    for _ in range(5):
        desk.check_pin("1111")
    assert (home.data_dir / LOCK_FILE).exists()

    restarted = desk_for(load_config(home.config_path), clock)  # a new process, same files
    assert restarted.pin_lock() == PinCheck(PinResult.LOCKED, 0, T0 + timedelta(minutes=20))
    clock.advance(20 * 60 - 1)
    assert restarted.check_pin(PIN).result == PinResult.LOCKED
    clock.advance(1)
    assert restarted.pin_lock() is None
    assert restarted.check_pin(PIN) == PinCheck(PinResult.OK)
    assert actions(home.data_dir)[-1] == "staff.sign_in"
    # A fresh count after the lock ran out: a wrong PIN leaves all the tries but one.
    assert restarted.check_pin("1111") == PinCheck(PinResult.WRONG, 4)


def test_a_right_pin_clears_the_count_of_wrong_ones(home: KioskHome, clock: ManualClock) -> None:
    desk = desk_for(configure(home), clock)
    desk.check_pin("1111")
    desk.check_pin("1111")
    assert desk.check_pin(PIN).result == PinResult.OK
    assert desk.check_pin("1111") == PinCheck(PinResult.WRONG, 4)


def test_a_kiosk_with_no_pins_is_not_set_up(home: KioskHome, clock: ManualClock) -> None:
    desk = desk_for(configure(home, staff=None), clock)
    assert desk.check_pin(PIN) == PinCheck(PinResult.NOT_SET_UP)
    assert desk.check_pin("") == PinCheck(PinResult.NOT_SET_UP)
    assert actions(home.data_dir) == []


# Staff cards ---------------------------------------------------------------------------------


def test_only_a_configured_card_is_a_staff_card(home: KioskHome, clock: ManualClock) -> None:
    desk = desk_for(configure(home, cards=(CARD, OTHER_CARD)), clock)
    assert desk.is_staff_card(CARD)
    assert desk.is_staff_card(OTHER_CARD)
    for scan in ("STAFF-QX7-ALPHX", CARD.lower(), patron(1), PIN, ""):
        assert not desk.is_staff_card(scan), scan


def test_with_no_cards_configured_nothing_is_a_staff_card(
    home: KioskHome, clock: ManualClock
) -> None:
    desk = desk_for(configure(home), clock)
    assert not desk.is_staff_card(CARD)
    assert not desk.is_staff_card(PIN)  # a PIN is not a card


# Handing over on a drive ----------------------------------------------------------------------


def test_an_export_writes_the_bundle_reads_it_back_and_hands_everything_over(
    home: KioskHome, clock: ManualClock, usb: Path
) -> None:
    desk = desk_for(configure(home), clock)
    store_checkouts(home.data_dir, range(1, 4), T0)
    outcome = desk.export_to(folder_as_drive(usb))
    assert outcome.ok, outcome
    assert outcome.message.startswith("3 checkouts exported to usb")
    [folder] = usb.iterdir()
    assert folder.name == "kiosk-TEST-SC01-20261123-100000"
    names = {p.name for p in folder.iterdir()}
    stem = "TEST-SC01-20261123-100000"
    assert names == {f"{stem}.{ext}" for ext in ("koc", "csv", "jsonl", "xacts")} | {"SUMMARY.txt"}
    csv_text = (folder / f"{stem}.csv").read_text(encoding="utf-8")
    assert all(item(n) in csv_text for n in range(1, 4))
    period = desk.status().period
    assert period is not None and (period.checkouts, period.pending) == (3, 0)
    [(action, details)] = audit(home.data_dir)
    assert action == "spool.export"
    assert details["checkouts"] == "3" and details["folder"] == str(folder)
    assert details["files"] == {  # each file's sha256, as written and read back
        name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in names
    }

    again = desk.export_to(folder_as_drive(usb))
    assert again.ok and again.message.startswith("Nothing new to export"), again
    assert again.lines == ("Last export: 2026-11-23 10:00",)
    assert len(list(usb.iterdir())) == 1  # no empty bundle
    assert actions(home.data_dir) == ["spool.export"]


def test_a_read_only_drive_is_refused_before_anything_is_written(
    home: KioskHome, clock: ManualClock, usb: Path
) -> None:
    desk = desk_for(configure(home), clock)
    store_checkouts(home.data_dir, range(1, 3), T0)
    drive = Drive(usb, "/dev/sdz1", "STICK", read_only=True, free_bytes=10**9)
    outcome = desk.export_to(drive)
    assert not outcome.ok and "read-only" in outcome.message
    assert list(usb.iterdir()) == []
    period = desk.status().period
    assert period is not None and period.pending == 2


# Offline periods --------------------------------------------------------------------------------


def test_a_new_period_is_refused_while_checkouts_are_not_handed_over(
    home: KioskHome, clock: ManualClock
) -> None:
    desk = desk_for(configure(home), clock)
    store_checkouts(home.data_dir, range(1, 3), T0)
    outcome = desk.start_new_period(expected_checkouts=2)
    assert not outcome.ok
    assert "nothing was archived" in outcome.message
    assert "2 of the period's 2 checkouts" in outcome.lines[0]
    [(action, details)] = audit(home.data_dir)
    assert action == "period.refused" and "2 of the period's 2" in details["reason"]
    spool = Spool.open(home.data_dir)
    try:
        [period] = spool.periods()
    finally:
        spool.close()
    assert period.is_open and (period.checkouts, period.archived) == (2, None)


def test_after_the_export_a_new_period_archives_the_checkouts_without_deleting_them(
    home: KioskHome, clock: ManualClock, usb: Path
) -> None:
    desk = desk_for(configure(home), clock)
    store_checkouts(home.data_dir, range(1, 3), T0)
    assert desk.export_to(folder_as_drive(usb)).ok
    clock.advance(60)
    outcome = desk.start_new_period(expected_checkouts=2)
    assert outcome.ok, outcome
    assert "2 checkouts were archived (kept for 90 days after hand-over)" in outcome.message
    assert actions(home.data_dir) == ["spool.export", "period.new"]
    assert audit(home.data_dir)[-1][1] == {
        "archived_period": 1,
        "archived_checkouts": 2,
        "new_period": 2,
    }
    spool = Spool.open(home.data_dir)
    try:
        archived, current = spool.periods()
    finally:
        spool.close()
    assert (archived.is_open, archived.archived, archived.checkouts) == (False, 2, 2)
    assert (current.is_open, current.checkouts, current.first_seq) == (True, 0, 3)
    assert current.started_at == datetime(2026, 11, 23, 10, 1, tzinfo=TZ)
    assert spool_items(home.data_dir) == [item(1), item(2)]  # archived, still there


def test_a_new_period_is_refused_if_the_count_changed_since_staff_confirmed(
    home: KioskHome, clock: ManualClock, usb: Path
) -> None:
    desk = desk_for(configure(home), clock)
    store_checkouts(home.data_dir, range(1, 3), T0)
    assert desk.export_to(folder_as_drive(usb)).ok
    outcome = desk.start_new_period(expected_checkouts=1)
    assert not outcome.ok
    assert "not the 1 you confirmed" in outcome.lines[0]
    assert actions(home.data_dir) == ["spool.export", "period.refused"]
    period = desk.status().period
    assert period is not None and period.is_open and period.checkouts == 2


# The retention rule --------------------------------------------------------------------------


def archived_and_open(home: KioskHome, desk: StaffDesk, usb: Path) -> None:
    """Two checkouts in an archived period and one in the open period, all handed over at T0."""
    store_checkouts(home.data_dir, range(1, 3), T0)
    assert desk.export_to(folder_as_drive(usb / "first")).ok
    assert desk.start_new_period(expected_checkouts=2).ok
    store_checkouts(home.data_dir, range(3, 4), T0)
    assert desk.export_to(folder_as_drive(usb / "second")).ok


def test_retention_removes_archived_checkouts_handed_over_long_enough_ago(
    home: KioskHome, clock: ManualClock, usb: Path
) -> None:
    (usb / "first").mkdir()
    (usb / "second").mkdir()
    desk = desk_for(configure(home, staff="retention_days = 30"), clock)
    archived_and_open(home, desk, usb)
    clock.advance(timedelta(days=30).total_seconds())  # exactly 30 days: not yet "more than"
    assert desk.apply_retention() is None
    assert spool_items(home.data_dir) == [item(1), item(2), item(3)]

    clock.advance(1)
    outcome = desk.apply_retention()
    assert outcome is not None and outcome.ok
    assert outcome.message == "2 archived checkouts older than 30 days were removed."
    # The open period's checkout was handed over just as long ago, and stays.
    assert spool_items(home.data_dir) == [item(3)]
    assert audit(home.data_dir)[-1] == (
        "period.purged",
        {"retention_days": 30, "periods": {"1": 2}},
    )
    spool = Spool.open(home.data_dir)
    try:
        archived, current = spool.periods()
    finally:
        spool.close()
    assert (archived.archived, archived.checkouts, archived.purged) == (2, 0, 2)
    assert current.is_open and (current.checkouts, current.handed_over) == (1, 1)
    assert desk.apply_retention() is None  # nothing left to remove: no second audit entry
    assert actions(home.data_dir).count("period.purged") == 1


def test_retention_days_0_keeps_archived_checkouts_for_ever(
    home: KioskHome, clock: ManualClock, usb: Path
) -> None:
    (usb / "first").mkdir()
    (usb / "second").mkdir()
    desk = desk_for(configure(home, staff="retention_days = 0"), clock)
    archived_and_open(home, desk, usb)
    clock.advance(timedelta(days=3650).total_seconds())
    assert desk.apply_retention() is None
    assert spool_items(home.data_dir) == [item(1), item(2), item(3)]
    assert "period.purged" not in actions(home.data_dir)


def test_the_kiosk_applies_the_retention_rule_when_it_starts(
    home: KioskHome, clock: ManualClock, usb: Path
) -> None:
    (usb / "first").mkdir()
    (usb / "second").mkdir()
    config = configure(home, staff="retention_days = 30")
    archived_and_open(home, desk_for(config, clock), usb)
    clock.advance(timedelta(days=31).total_seconds())
    runtime = build_runtime(config, clock)
    runtime.close()
    assert spool_items(home.data_dir) == [item(3)]
    [purged] = [e for e in AuditLog(home.data_dir).entries() if e.action == "period.purged"]
    assert purged.actor == "kiosk" and purged.details["periods"] == {"1": 2}


def test_the_kiosk_knows_its_staff_cards_from_the_config(
    home: KioskHome, clock: ManualClock
) -> None:
    config = configure(home, cards=(CARD,))
    SnapshotStore(home.data_dir).import_csv(
        write_csv(home.root / "patrons.csv", standard_csv()),
        patron_rule=config.barcode_rules().patron,
        built_at=T0 - timedelta(hours=1),
        now=T0,
    )
    runtime = build_runtime(config, clock)
    try:
        runtime.start()
        events = runtime.scan(CARD)
    finally:
        runtime.close()
    assert events == [StaffCardScanned()]
    assert not any(isinstance(e, PatronRefused) for e in events)


# Reloading the snapshot ----------------------------------------------------------------------


def test_reloading_with_no_source_configured_says_so(home: KioskHome, clock: ManualClock) -> None:
    outcome = desk_for(configure(home), clock).reload_snapshot()
    assert not outcome.ok
    assert "snapshot.source" in outcome.message
    assert outcome.lines == ("Import a file with `kiosk snapshot import FILE`.",)
    assert SnapshotStore(home.data_dir).current() is None


def test_a_garbage_source_is_refused_and_the_old_snapshot_stays(
    home: KioskHome, clock: ManualClock
) -> None:
    source = write_csv(home.root / "patrons.csv", standard_csv())
    desk = desk_for(configure(home, snapshot_source=source), clock)
    first = desk.reload_snapshot()
    assert first.ok and first.message.startswith("Snapshot reloaded: 8 patrons"), first
    before = SnapshotStore(home.data_dir).current()
    assert before is not None and before.rows == 8

    source.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe garbage")
    exported_at(source, T0)
    clock.advance(60)
    outcome = desk.reload_snapshot()
    assert not outcome.ok
    assert outcome.message == "The snapshot was NOT reloaded; the old one stays."
    assert "not UTF-8" in outcome.lines[0]
    assert SnapshotStore(home.data_dir).current() == before
    refused = audit(home.data_dir)[-1]
    assert refused[0] == "snapshot.import" and "refused" in refused[1]


def test_a_good_source_replaces_the_snapshot(home: KioskHome, clock: ManualClock) -> None:
    source = write_csv(home.root / "patrons.csv", standard_csv())
    desk = desk_for(configure(home, snapshot_source=source), clock)
    assert desk.reload_snapshot().ok
    grown = standard_csv() + f'{patron(9)},"Park, Jae",0,ok,\n{patron(10)},"Ito, Ren",0,ok,\n'
    write_csv(source, grown)
    clock.advance(3600)
    outcome = desk.reload_snapshot()
    assert outcome.ok, outcome
    assert outcome.message.startswith("Snapshot reloaded: 10 patrons")
    current = SnapshotStore(home.data_dir).current()
    assert current is not None and current.rows == 10
    loads = [d for a, d in audit(home.data_dir) if a == "snapshot.import"]
    assert [d["patrons"] for d in loads] == ["8", "10"]


# What staff see -----------------------------------------------------------------------------------


def test_status_reports_the_period_the_staff_settings_the_disk_and_the_last_error(
    home: KioskHome, clock: ManualClock, usb: Path
) -> None:
    desk = desk_for(configure(home, staff="retention_days = 45"), clock)
    store_checkouts(home.data_dir, range(1, 4), T0)
    assert desk.export_to(folder_as_drive(usb)).ok
    store_checkouts(home.data_dir, range(4, 6), T0)
    assert desk.set_special_due(date(2027, 1, 15)).ok
    assert desk.pause("Back at 2 pm").ok
    DeviceStatus(home.data_dir, now=lambda: T0).error("the receipt printer is out of paper")

    status = desk.status()
    assert status.period is not None
    assert (status.period.checkouts, status.period.handed_over, status.period.pending) == (5, 3, 2)
    assert status.spool_problem == ""
    assert status.paused == "Back at 2 pm"
    assert status.special_due == date(2027, 1, 15)
    assert re.fullmatch(r"\d+\.\d GB free", status.free_disk), status.free_disk
    assert status.last_error == "2026-11-23T15:00:00+00:00 the receipt printer is out of paper"
    assert status.retention_days == 45
    assert status.snapshot == "No snapshot"
    assert status.checked_at == T0

    assert desk.resume().ok
    assert desk.set_special_due(None).ok
    after = desk.status()
    assert (after.paused, after.special_due) == (None, None)


def test_status_before_anything_happened(home: KioskHome, clock: ManualClock) -> None:
    status = desk_for(configure(home), clock).status()
    assert status.period is None
    assert "no spool yet" in status.spool_problem
    assert (status.paused, status.special_due, status.last_error) == (None, None, "")
    assert status.devices == ()


# Words staff read ----------------------------------------------------------------------------


def test_a_special_due_date_more_than_a_year_away_is_refused(
    home: KioskHome, clock: ManualClock
) -> None:
    desk = desk_for(configure(home), clock)
    today = T0.astimezone(ZoneInfo("America/New_York")).date()
    refused = desk.set_special_due(date(2099, 1, 1))
    assert not refused.ok
    assert "more than 365 days away" in refused.message
    assert desk.status().special_due is None
    assert desk.set_special_due(today + timedelta(days=365)).ok


def test_a_special_due_date_of_today_is_set_with_a_warning(
    home: KioskHome, clock: ManualClock
) -> None:
    desk = desk_for(configure(home), clock)
    today = T0.astimezone(ZoneInfo("America/New_York")).date()
    outcome = desk.set_special_due(today)
    assert outcome.ok
    assert any("that is today" in line for line in outcome.lines)
    assert not any("today" in line for line in desk.set_special_due(today + timedelta(1)).lines)


def test_snapshot_age_in_words(home: KioskHome, clock: ManualClock) -> None:
    source = write_csv(home.root / "patrons.csv", standard_csv())
    exported_at(source, T0 - timedelta(minutes=1))
    desk = desk_for(configure(home, snapshot_source=source), clock)
    assert desk.reload_snapshot().ok
    assert "(1 minute ago)" in desk.status().snapshot
    clock.advance(4 * 60)
    assert "(5 minutes ago)" in desk.status().snapshot


def test_a_station_whose_clock_falls_behind_its_snapshot_tells_staff(
    home: KioskHome, clock: ManualClock
) -> None:
    source = write_csv(home.root / "patrons.csv", standard_csv())
    desk = desk_for(configure(home, snapshot_source=source), clock)
    assert desk.reload_snapshot().ok
    behind = desk_for(configure(home, snapshot_source=source), ManualClock(T0 - timedelta(days=3)))
    status = behind.status()
    assert "after this station's clock: check it" in status.snapshot
    assert "-" not in status.snapshot.split("(")[1]  # no "-4320 minutes ago"
    assert "clock is behind its snapshot" in status.snapshot_warning
