"""A .koc export that holds times from the repeated hour of the autumn clock change says so
(issue 16, FORMATS.md section 6): a .koc time has no offset, and Koha reads 01:30 EDT as
01:30 EST, an hour late. New York's summer time ended at 02:00 EDT on 2026-11-01, when the
clocks went back to 01:00 EST: 01:00 to 01:59 happened twice (05:00-05:59 and 06:00-06:59
UTC).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kiosk.config import load_config
from kiosk.domain.barcodes import mask
from kiosk.domain.checkout import Checkout
from kiosk.exports.bundle import SUMMARY_NAME, write_bundle
from kiosk.exports.drives import folder_as_drive
from kiosk.exports.formats import FORMATS, koc_repeated_hour, render_koc, repeated_hour_warning
from kiosk.exports.writer import export_spool
from kiosk.runtime.staff import StaffDesk
from kiosk.storage.spool import Spool
from tests.conftest import KioskHome, item, patron

TZ = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
FIRST_PASS = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT
SECOND_PASS = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # 01:30 EST
ORDINARY = [
    datetime(2026, 10, 31, 14, 0, tzinfo=UTC),  # the day before
    datetime(2026, 11, 1, 4, 59, 59, tzinfo=UTC),  # 00:59:59 EDT, just before the hour
    datetime(2026, 11, 1, 7, 0, tzinfo=UTC),  # 02:00 EST, just after it
    datetime(2026, 3, 8, 7, 30, tzinfo=UTC),  # 03:30 EDT, after the skipped hour of spring
]


def record_all(spool: Spool, moments: list[datetime]) -> None:
    for n, moment in enumerate(moments, start=1):
        spool.record_checkout(
            Checkout(
                session_id=f"session-{n}",
                patron=patron(n),
                item=item(n),
                due_date=date(2026, 11, 22),
                special_due=False,
                occurred_at=moment,
            ),
            "TEST-SC01",
            TZ,
        )


# In spool order: ORDINARY[3] (March), ORDINARY[0], ORDINARY[1], FIRST, SECOND, ORDINARY[2].
MIXED = [ORDINARY[3], ORDINARY[0], ORDINARY[1], FIRST_PASS, SECOND_PASS, ORDINARY[2]]
REPEATED_LINES = [5, 6]  # the header is line 1, the first checkout line 2


@pytest.fixture
def spool(tmp_path: Path) -> Iterator[Spool]:
    s = Spool.open(tmp_path / "data", create=True)
    record_all(s, MIXED)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "usb"
    folder.mkdir()
    return folder


def test_the_repeated_hour_lines_are_the_koc_lines_that_read_01_30(spool: Spool) -> None:
    checkouts = list(spool.checkouts())
    lines = "".join(render_koc(checkouts)).splitlines()

    found = koc_repeated_hour(checkouts, TZ)

    assert [f.line for f in found] == REPEATED_LINES
    assert [lines[n - 1].split("\t")[0] for n in REPEATED_LINES] == ["2026-11-01 01:30:00 000"] * 2
    assert [f.item for f in found] == [item(4), item(5)]
    assert [f.occurred_at.tzname() for f in found] == ["EDT", "EST"]
    assert [f.occurred_at.fold for f in found] == [0, 1]


def test_the_warning_names_the_lines_masked_patrons_items_and_what_to_do(spool: Spool) -> None:
    text = "\n".join(repeated_hour_warning(koc_repeated_hour(spool.checkouts(), TZ)))

    assert "2 checkouts" in text and "check these loans' checkout times in Koha" in text
    assert "an hour late" in text
    lines = text.splitlines()
    assert lines[1:] == [
        "  line 5: 2026-11-01 01:30:00 EDT (UTC-04:00, first pass: Koha dates it an hour late), "
        f"patron {mask(patron(4))}, item {item(4)}",
        "  line 6: 2026-11-01 01:30:00 EST (UTC-05:00, second pass), "
        f"patron {mask(patron(5))}, item {item(5)}",
    ]
    assert patron(4) not in text and patron(5) not in text
    assert text.count("  line ") == 2


def test_no_warning_without_such_times(tmp_path: Path) -> None:
    spool = Spool.open(tmp_path / "data", create=True)
    try:
        record_all(spool, ORDINARY)
        assert koc_repeated_hour(spool.checkouts(), TZ) == ()
    finally:
        spool.close()
    assert repeated_hour_warning(()) == ()


def test_a_fixed_offset_without_the_zone_finds_nothing_rather_than_guessing(
    spool: Spool,
) -> None:
    """A spooled checkout comes back with a fixed offset, which knows no clock change."""
    assert koc_repeated_hour(spool.checkouts()) == ()


def test_the_export_result_carries_the_lines_for_koc_only(spool: Spool, out_dir: Path) -> None:
    result = export_spool(spool, "koc", out_dir / "k.koc", include_all=False, now=NOW, tz=TZ)

    assert [r.line for r in result.repeated_hour] == REPEATED_LINES
    for fmt in (f for f in FORMATS if f != "koc"):
        other = export_spool(spool, fmt, out_dir / f"all.{fmt}", include_all=True, now=NOW, tz=TZ)
        assert other.repeated_hour == ()


def test_the_usb_bundle_s_summary_and_result_name_the_lines(spool: Spool, out_dir: Path) -> None:
    result = write_bundle(spool, out_dir, kiosk_id="TEST-SC01", library="Main", now=NOW, tz=TZ)

    assert [r.line for r in result.repeated_hour] == REPEATED_LINES
    assert result.folder is not None
    summary = (result.folder / SUMMARY_NAME).read_text(encoding="utf-8")
    assert "hour the clocks went back" in summary
    assert "line 5: 2026-11-01 01:30:00 EDT" in summary
    assert "line 6: 2026-11-01 01:30:00 EST" in summary
    assert patron(4) not in summary


def test_a_bundle_without_such_times_has_no_warning(tmp_path: Path, out_dir: Path) -> None:
    spool = Spool.open(tmp_path / "data", create=True)
    try:
        record_all(spool, ORDINARY)
        result = write_bundle(spool, out_dir, kiosk_id="TEST-SC01", library="Main", now=NOW, tz=TZ)
    finally:
        spool.close()
    assert result.repeated_hour == () and result.folder is not None
    assert "clocks went back" not in (result.folder / SUMMARY_NAME).read_text(encoding="utf-8")


def test_the_staff_screen_s_export_outcome_names_the_lines(home: KioskHome, out_dir: Path) -> None:
    spool = Spool.open(home.data_dir, create=True)
    try:
        record_all(spool, MIXED)
    finally:
        spool.close()
    desk = StaffDesk(load_config(home.config_path), actor="staff:test", now=lambda: NOW)

    outcome = desk.export_to(folder_as_drive(out_dir))

    assert outcome.ok, outcome
    [warning] = [line for line in outcome.lines if "clocks went back" in line]
    assert ".koc lines 5, 6" in warning and SUMMARY_NAME in warning
    assert outcome.lines[-1] == "You may remove the drive."


# Through the command line -------------------------------------------------------------------


def test_cli_export_warns_on_stderr_naming_the_lines_and_exits_0(home: KioskHome) -> None:
    spool = Spool.open(home.data_dir, create=True)
    try:
        record_all(spool, MIXED)
    finally:
        spool.close()
    out = home.root / "k.koc"

    result = home.kiosk("spool", "export", "--format", "koc", "--out", str(out))

    assert result.returncode == 0, result.stderr
    assert "Wrote 6 checkouts" in result.stdout
    assert "clocks went back" not in result.stdout
    warned = [line for line in result.stderr.splitlines() if line.startswith("  line ")]
    assert [line.split(":")[0] for line in warned] == ["  line 5", "  line 6"]
    assert all("2026-11-01 01:30:00" in line for line in warned)
    assert "check these loans' checkout times in Koha" in result.stderr
    assert patron(4) not in result.stderr


def test_cli_export_without_such_times_warns_nothing(home: KioskHome) -> None:
    spool = Spool.open(home.data_dir, create=True)
    try:
        record_all(spool, ORDINARY)
    finally:
        spool.close()

    result = home.kiosk("spool", "export", "--format", "koc", "--out", str(home.root / "k.koc"))

    assert result.returncode == 0, result.stderr
    assert "clocks went back" not in result.stderr
