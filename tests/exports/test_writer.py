"""Writing an export file from a real spool: whole or not at all, remembered in the spool, and
the checkouts in it counted as handed over. Also `kiosk spool export|list|info`."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kiosk import __version__
from kiosk.domain.barcodes import mask
from kiosk.domain.checkout import Checkout, SpooledCheckout
from kiosk.errors import ExportError
from kiosk.exports.writer import export_spool
from kiosk.storage.spool import Spool
from tests.conftest import KioskHome, item, patron

TZ = ZoneInfo("America/New_York")
KIOSK_ID = "TEST-SC01"
NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
KOC_HEADER = f"Version=1.0\tGenerator=offline-kiosk\tGeneratorVersion={__version__}\n"


def record(spool: Spool, n: int, occurred_at: datetime, item_barcode: str | None = None) -> str:
    stored: SpooledCheckout = spool.record_checkout(
        Checkout(
            session_id="s-1",
            patron=patron(1),
            item=item_barcode or item(n),
            due_date=date(2026, 12, 11),
            special_due=False,
            occurred_at=occurred_at,
        ),
        KIOSK_ID,
        TZ,
    )
    return stored.txn_id


@pytest.fixture
def spool(tmp_path: Path) -> Iterator[Spool]:
    s = Spool.open(tmp_path / "data", create=True)
    # Recorded from UTC clock readings; the library is in New York (EST, -05:00).
    record(s, 1, datetime(2026, 11, 20, 15, 0, 1, 5_000, tzinfo=UTC))
    record(s, 2, datetime(2026, 11, 20, 15, 0, 2, 250_000, tzinfo=UTC))
    record(s, 3, datetime(2026, 11, 21, 2, 30, 0, tzinfo=UTC))  # still the 20th in New York
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "usb"
    folder.mkdir()
    return folder


EXPECTED_KOC = (
    KOC_HEADER
    + f"2026-11-20 10:00:01 005\tissue\t{patron(1)}\t{item(1)}\n"
    + f"2026-11-20 10:00:02 250\tissue\t{patron(1)}\t{item(2)}\n"
    + f"2026-11-20 21:30:00 000\tissue\t{patron(1)}\t{item(3)}\n"
)


def test_a_koc_export_has_local_times_oldest_first(spool: Spool, out_dir: Path) -> None:
    out = out_dir / "kiosk.koc"

    result = export_spool(spool, "koc", out, include_all=False, now=NOW)

    assert out.read_text(encoding="utf-8") == EXPECTED_KOC
    assert result.record is not None
    assert result.record.checkouts == 3
    assert result.exported_before == 0
    assert result.pending_total == 3


def test_an_export_is_written_whole_and_remembered(spool: Spool, out_dir: Path) -> None:
    out = out_dir / "kiosk.koc"

    result = export_spool(spool, "koc", out, include_all=False, now=NOW)

    assert sorted(p.name for p in out_dir.iterdir()) == ["kiosk.koc"]  # no temporary file
    assert out.stat().st_mode & 0o777 == 0o600
    assert result.record is not None
    assert result.record.format == "koc"
    assert result.record.path == str(out.resolve())
    assert result.record.sha256 == hashlib.sha256(out.read_bytes()).hexdigest()
    assert result.record.exported_at == NOW
    assert spool.exports() == [result.record]
    summary = spool.summary()
    assert (summary.total, summary.handed_over, summary.pending) == (3, 3, 0)
    assert all(c.handed_over_at == NOW for c in spool.checkouts())
    assert spool.outstanding_for(patron(1)) == 0


def test_a_second_export_has_nothing_new(spool: Spool, out_dir: Path) -> None:
    export_spool(spool, "koc", out_dir / "first.koc", include_all=False, now=NOW)

    again = export_spool(
        spool, "koc", out_dir / "second.koc", include_all=False, now=NOW + timedelta(hours=1)
    )

    assert again.record is None
    assert (again.exported_before, again.pending_total) == (0, 0)
    assert again.earlier_exports == ()
    assert not (out_dir / "second.koc").exists()
    assert len(spool.exports()) == 1


def test_exporting_everything_again_says_how_many_were_exported_before(
    spool: Spool, out_dir: Path
) -> None:
    first = export_spool(spool, "koc", out_dir / "first.koc", include_all=False, now=NOW)
    later = NOW + timedelta(hours=1)
    new_txn = record(spool, 4, datetime(2026, 11, 21, 14, 0, tzinfo=UTC))

    everything = export_spool(spool, "koc", out_dir / "all.koc", include_all=True, now=later)

    assert everything.record is not None
    assert everything.record.checkouts == 4
    assert everything.exported_before == 3
    assert everything.pending_total == 1
    assert (out_dir / "all.koc").read_text(encoding="utf-8").count("\tissue\t") == 4
    assert spool.exports() == [first.record, everything.record]
    handed = {c.txn_id: c.handed_over_at for c in spool.checkouts()}
    assert handed[new_txn] == later
    # Checkouts handed over before keep the moment they were first handed over.
    assert sorted(v for k, v in handed.items() if k != new_txn) == [NOW, NOW, NOW]
    assert all(len(v) == 2 for k, v in spool.exports_of(list(handed)).items() if k != new_txn)
    # Staff are told which earlier export already held some of these checkouts.
    assert everything.earlier_exports == (first.record,)


def test_a_new_checkout_after_an_export_is_exported_alone(spool: Spool, out_dir: Path) -> None:
    export_spool(spool, "koc", out_dir / "first.koc", include_all=False, now=NOW)
    record(spool, 4, datetime(2026, 11, 21, 14, 0, tzinfo=UTC))

    result = export_spool(
        spool, "jsonl", out_dir / "next.jsonl", include_all=False, now=NOW + timedelta(hours=1)
    )

    assert result.record is not None
    assert result.record.checkouts == 1
    lines = (out_dir / "next.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [4]
    assert result.exported_before == 0


def test_an_empty_spool_has_nothing_to_export(tmp_path: Path) -> None:
    empty = Spool.open(tmp_path / "empty", create=True)
    try:
        result = export_spool(empty, "csv", tmp_path / "x.csv", include_all=True, now=NOW)
    finally:
        empty.close()
    assert result.record is None
    assert not (tmp_path / "x.csv").exists()


def test_csv_export_of_a_real_spool(spool: Spool, out_dir: Path) -> None:
    out = out_dir / "kiosk.csv"
    export_spool(spool, "csv", out, include_all=False, now=NOW)
    lines = out.read_bytes().split(b"\r\n")
    assert lines[0].startswith(b"txn_id,kiosk_id,seq,occurred_at,")
    assert lines[1].split(b",")[3] == b"2026-11-20T10:00:01.005-05:00"
    assert len(lines) == 5  # header, three checkouts, and the end of the last line


# Failures: nothing is marked handed over ---------------------------------------------------


def assert_nothing_handed_over(spool: Spool) -> None:
    assert spool.exports() == []
    assert spool.summary().handed_over == 0
    assert spool.outstanding_for(patron(1)) == 3


def test_an_unwritable_destination_is_an_export_error(spool: Spool, tmp_path: Path) -> None:
    not_a_folder = tmp_path / "regular-file"
    not_a_folder.write_text("I am a file", encoding="utf-8")

    with pytest.raises(ExportError, match="regular-file is not a folder; nothing was exported"):
        export_spool(spool, "koc", not_a_folder / "kiosk.koc", include_all=False, now=NOW)

    assert not_a_folder.read_text(encoding="utf-8") == "I am a file"
    assert_nothing_handed_over(spool)


def test_a_folder_in_the_way_is_an_export_error_and_leaves_no_temp_file(
    spool: Spool, out_dir: Path
) -> None:
    (out_dir / "kiosk.koc").mkdir()

    with pytest.raises(ExportError):
        export_spool(spool, "koc", out_dir / "kiosk.koc", include_all=False, now=NOW)

    assert sorted(p.name for p in out_dir.iterdir()) == ["kiosk.koc"]
    assert (out_dir / "kiosk.koc").is_dir()
    assert_nothing_handed_over(spool)


def test_an_unknown_format_is_an_export_error(spool: Spool, out_dir: Path) -> None:
    with pytest.raises(ExportError, match="unknown export format"):
        export_spool(spool, "marc", out_dir / "x.mrc", include_all=False, now=NOW)
    assert list(out_dir.iterdir()) == []
    assert_nothing_handed_over(spool)


def test_a_checkout_that_cannot_be_written_as_koc_fails_cleanly(tmp_path: Path) -> None:
    # The station never stores such a barcode; if one were in the spool, the export must fail
    # as an ExportError (one clear line from the CLI), write nothing and hand nothing over.
    spool = Spool.open(tmp_path / "data", create=True)
    try:
        record(spool, 1, datetime(2026, 11, 20, 15, 0, tzinfo=UTC))
        record(spool, 2, datetime(2026, 11, 20, 15, 1, tzinfo=UTC), item_barcode="3123\t4")
        out = tmp_path / "usb" / "kiosk.koc"
        with pytest.raises(Exception) as caught:  # its type is checked below
            export_spool(spool, "koc", out, include_all=False, now=NOW)
        assert not out.exists()
        assert not out.parent.exists() or list(out.parent.iterdir()) == []
        assert spool.exports() == []
        assert spool.summary().handed_over == 0
        assert isinstance(caught.value, ExportError), repr(caught.value)
    finally:
        spool.close()


# Through the command line -------------------------------------------------------------------


def spool_two_checkouts(home: KioskHome) -> None:
    """Patron 1 borrows items 1 and 2 at a kiosk whose clock stands at 10:15 in New York."""
    home.import_standard_snapshot(built_at="2026-11-20T06:00:00")
    scans = "\n".join([patron(1), item(1), item(2), "@done"]) + "\n"
    result = home.kiosk("run", "--headless", "--clock", "2026-11-20T10:15:00", input=scans)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    stored = [e for e in events if e["event"] == "item_checked_out"]
    assert [(e["item"], e["seq"]) for e in stored] == [(item(1), 1), (item(2), 2)]


def test_cli_export_writes_the_koc_file_and_hands_over(home: KioskHome) -> None:
    spool_two_checkouts(home)
    out = home.root / "usb" / "kiosk.koc"
    out.parent.mkdir()

    blocked = home.kiosk("spool", "export", "--format", "koc", "--out", str(home.config_path / "x"))
    assert blocked.returncode == 73  # EX_CANTCREAT
    assert "Traceback" not in blocked.stderr

    exported = home.kiosk("spool", "export", "--format", "koc", "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    assert "Wrote 2 checkouts" in exported.stdout
    assert out.read_text(encoding="utf-8") == (
        KOC_HEADER
        + f"2026-11-20 10:15:00 000\tissue\t{patron(1)}\t{item(1)}\n"
        + f"2026-11-20 10:15:00 000\tissue\t{patron(1)}\t{item(2)}\n"
    )

    info = home.kiosk("spool", "info")
    assert info.returncode == 0, info.stderr
    assert "checkouts:      2" in info.stdout
    assert "handed over:    2" in info.stdout
    assert "not yet:        0" in info.stdout
    assert "last sequence:  2" in info.stdout
    assert f"koc, 2 checkouts, {out.resolve()}" in info.stdout

    nothing = home.kiosk("spool", "export", "--format", "koc", "--out", str(out.with_name("b")))
    assert nothing.returncode == 0, nothing.stderr
    assert "Nothing to export" in nothing.stdout
    assert not out.with_name("b").exists()

    again = home.root / "again.jsonl"
    everything = home.kiosk("spool", "export", "--format", "jsonl", "--out", str(again), "--all")
    assert everything.returncode == 0, everything.stderr
    assert "2 of them were exported before" in everything.stderr
    assert len(again.read_text(encoding="utf-8").splitlines()) == 2


def test_cli_list_masks_patron_barcodes_unless_unmasked(home: KioskHome) -> None:
    spool_two_checkouts(home)

    masked = home.kiosk("spool", "list")
    assert masked.returncode == 0, masked.stderr
    assert patron(1) not in masked.stdout
    assert masked.stdout.count(mask(patron(1))) == 2
    assert item(1) in masked.stdout and item(2) in masked.stdout
    assert "2026-11-20 10:15:00" in masked.stdout
    assert "2 shown; 2 in the spool, 2 not handed over yet" in masked.stdout

    unmasked = home.kiosk("spool", "list", "--unmask", "--pending")
    assert unmasked.returncode == 0, unmasked.stderr
    assert unmasked.stdout.count(patron(1)) == 2


def test_cli_spool_commands_without_a_spool_exit_74(home: KioskHome) -> None:
    result = home.kiosk("spool", "info")
    assert result.returncode == 74  # EX_IOERR
    assert "no spool yet" in result.stderr
    assert not (home.data_dir / "spool.db").exists()


def test_an_export_never_replaces_a_file(spool: Spool, out_dir: Path) -> None:
    """Day two's export to day one's path would leave only day two on the drive while the
    spool counts both as handed over: it is refused, and nothing changes."""
    out = out_dir / "kiosk.koc"
    out.write_text("yesterday's export, not imported yet\n", encoding="utf-8")
    with pytest.raises(ExportError) as refused:
        export_spool(spool, "koc", out, include_all=False, now=NOW)
    assert str(refused.value) == (
        f"{out} exists already: it may hold checkouts not imported yet. Import it into the "
        "library system and move it away, or give another --out name; nothing was exported"
    )
    assert out.read_text(encoding="utf-8") == "yesterday's export, not imported yet\n"
    assert_nothing_handed_over(spool)


def test_an_export_into_a_missing_folder_makes_none(spool: Spool, tmp_path: Path) -> None:
    """An unmounted USB mount point must not become a folder on the kiosk's own disk."""
    out = tmp_path / "media" / "usb" / "kiosk.koc"
    with pytest.raises(ExportError, match=r"does not exist \(is the drive plugged in"):
        export_spool(spool, "koc", out, include_all=False, now=NOW)
    assert not (tmp_path / "media").exists()
    assert_nothing_handed_over(spool)


def test_the_cli_refuses_a_second_export_to_the_same_path(home: KioskHome) -> None:
    spool_two_checkouts(home)
    out = home.root / "kiosk.koc"
    first = home.kiosk("spool", "export", "--format", "koc", "--out", str(out))
    assert first.returncode == 0, first.stderr
    day_one = out.read_bytes()
    again = home.kiosk("spool", "export", "--all", "--format", "koc", "--out", str(out))
    assert again.returncode == 73
    assert again.stderr == (
        f"kiosk: {out} exists already: it may hold checkouts not imported yet. Import it into "
        "the library system and move it away, or give another --out name; nothing was "
        "exported\n"
    )
    assert out.read_bytes() == day_one
