"""Handing the spool over on a drive: a new folder with every export format and a summary,
each file read back from the drive and checked, and only then are the checkouts counted as
handed over. A drive that cannot be written, or reads back something else, hands over nothing.

A real spool in a temporary folder; the "drive" is a temporary folder too. A failing drive is
simulated at the one seam bundle.py has for it, `_read_from_drive`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kiosk.domain.checkout import Checkout, SpooledCheckout
from kiosk.errors import ExportError
from kiosk.exports import bundle
from kiosk.exports.bundle import SUMMARY_NAME, BundleResult, write_bundle
from kiosk.storage.spool import Spool
from tests.conftest import item, patron

TZ = ZoneInfo("America/New_York")
KIOSK_ID = "TEST-SC01"
LIBRARY = "Test Library"
NOW = datetime(2026, 11, 21, 9, 0, 5, tzinfo=TZ)
STAMP = "20261121-090005"
FOLDER = f"kiosk-{KIOSK_ID}-{STAMP}"
DATA_FILES = [
    f"{KIOSK_ID}-{STAMP}.koc",
    f"{KIOSK_ID}-{STAMP}.csv",
    f"{KIOSK_ID}-{STAMP}.jsonl",
    f"{KIOSK_ID}-{STAMP}.xacts",
]


def record(spool: Spool, n: int, patron_serial: int) -> None:
    spool.record_checkout(
        Checkout(
            session_id=f"session-{patron_serial}",
            patron=patron(patron_serial),
            item=item(n),
            due_date=date(2026, 12, 11),
            special_due=n == 3,
            occurred_at=datetime(2026, 11, 20, 10, 0, tzinfo=TZ) + timedelta(minutes=n),
        ),
        KIOSK_ID,
        TZ,
    )


@pytest.fixture
def spool(tmp_path: Path) -> Iterator[Spool]:
    s = Spool.open(tmp_path / "data", create=True)
    record(s, 1, patron_serial=1)
    record(s, 2, patron_serial=1)
    record(s, 3, patron_serial=2)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def drive(tmp_path: Path) -> Path:
    folder = tmp_path / "usb"
    folder.mkdir()
    return folder


def export(spool: Spool, drive: Path, now: datetime = NOW) -> BundleResult:
    return write_bundle(spool, drive, kiosk_id=KIOSK_ID, library=LIBRARY, now=now)


def nothing_handed_over(spool: Spool) -> None:
    assert spool.summary().pending == 3
    assert spool.exports() == []
    assert all(c.handed_over_at is None for c in spool.checkouts())


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# A good drive --------------------------------------------------------------------------------


def test_a_bundle_is_a_new_folder_with_every_format_and_a_summary(
    spool: Spool, drive: Path
) -> None:
    result = export(spool, drive)

    assert result.folder == drive / FOLDER
    assert [p.name for p in drive.iterdir()] == [FOLDER]
    assert sorted(p.name for p in result.folder.iterdir()) == sorted([*DATA_FILES, SUMMARY_NAME])
    assert [(f.path.name, f.fmt) for f in result.files] == [
        (DATA_FILES[0], "koc"),
        (DATA_FILES[1], "csv"),
        (DATA_FILES[2], "jsonl"),
        (DATA_FILES[3], "evergreen"),
        (SUMMARY_NAME, "summary"),
    ]
    for written in result.files:
        assert written.sha256 == sha256(written.path), written.path.name
        assert written.size == written.path.stat().st_size
        assert written.checkouts == 3
    assert result.checkouts == 3


def test_each_file_reads_back_as_the_same_checkouts(spool: Spool, drive: Path) -> None:
    chosen = list(spool.checkouts())
    folder = drive / FOLDER

    export(spool, drive)

    koc = (folder / DATA_FILES[0]).read_text(encoding="utf-8").splitlines()
    assert koc[0].startswith("Version=1.0\t")
    assert [line.split("\t") for line in koc[1:]] == [
        ["2026-11-20 10:01:00 000", "issue", patron(1), item(1)],
        ["2026-11-20 10:02:00 000", "issue", patron(1), item(2)],
        ["2026-11-20 10:03:00 000", "issue", patron(2), item(3)],
    ]
    text = (folder / DATA_FILES[1]).read_text(encoding="utf-8")
    assert list(csv.DictReader(io.StringIO(text))) == [as_csv(c) for c in chosen]
    lines = (folder / DATA_FILES[2]).read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [as_json(c) for c in chosen]
    # Due 2026-12-11: sent as 10:00 UTC that day (05:00 EST in New York).
    lines = (folder / DATA_FILES[3]).read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [
        {
            "timestamp": int(c.checkout.occurred_at.timestamp()),
            "type": "checkout",
            "delta": 0,
            "patron_barcode": c.checkout.patron,
            "barcode": c.checkout.item,
            "due_date": "2026-12-11T10:00:00.000Z",
            "checkout_time": f"2026-11-20T15:0{c.seq}:00.000Z",
        }
        for c in chosen
    ]


def as_json(c: SpooledCheckout) -> dict[str, object]:
    return {
        "txn_id": c.txn_id,
        "kiosk_id": c.kiosk_id,
        "seq": c.seq,
        "occurred_at": c.checkout.occurred_at.isoformat(timespec="milliseconds"),
        "patron": c.checkout.patron,
        "item": c.checkout.item,
        "due_date": c.checkout.due_date.isoformat(),
        "special_due": c.checkout.special_due,
        "session_id": c.checkout.session_id,
    }


def as_csv(c: SpooledCheckout) -> dict[str, str]:
    row = {key: str(value) for key, value in as_json(c).items()}
    row["special_due"] = "yes" if c.checkout.special_due else "no"
    return row


def test_the_summary_names_every_file_with_its_sha256_and_the_count(
    spool: Spool, drive: Path
) -> None:
    result = export(spool, drive)
    assert result.folder is not None

    summary = (result.folder / SUMMARY_NAME).read_text(encoding="utf-8")

    assert f"Offline checkouts from self-checkout {KIOSK_ID} ({LIBRARY})" in summary
    assert "Exported: 2026-11-21T09:00:05-05:00" in summary
    assert "Checkouts: 3 (sequence 1 to 3), for 2 patrons" in summary
    for name in DATA_FILES:
        path = result.folder / name
        line = f"  {name}  {path.stat().st_size} bytes  sha256 {sha256(path)}"
        assert line in summary.splitlines(), name
    assert SUMMARY_NAME not in summary


def test_afterwards_the_checkouts_are_handed_over_in_four_exports(
    spool: Spool, drive: Path
) -> None:
    result = export(spool, drive)

    assert spool.summary().pending == 0
    assert [c.handed_over_at for c in spool.checkouts()] == [NOW] * 3
    exports = spool.exports()
    assert [(e.format, e.checkouts, e.exported_at) for e in exports] == [
        ("koc", 3, NOW),
        ("csv", 3, NOW),
        ("jsonl", 3, NOW),
        ("evergreen", 3, NOW),
    ]
    assert [(e.path, e.sha256) for e in exports] == [
        (str(f.path), f.sha256) for f in result.files if f.fmt != "summary"
    ]
    assert spool.summary().last_export == exports[-1]


def test_a_second_bundle_with_nothing_pending_writes_nothing(spool: Spool, drive: Path) -> None:
    export(spool, drive)
    exports = spool.exports()

    again = export(spool, drive, NOW + timedelta(minutes=1))

    assert (again.folder, again.files, again.checkouts) == (None, (), 0)
    assert again.last_export == exports[-1]
    assert [p.name for p in drive.iterdir()] == [FOLDER]
    assert spool.exports() == exports


def test_an_empty_spool_writes_nothing_and_has_no_last_export(tmp_path: Path, drive: Path) -> None:
    empty = Spool.open(tmp_path / "empty", create=True)
    try:
        result = export(empty, drive)
    finally:
        empty.close()

    assert result == BundleResult(None, (), 0, None)
    assert list(drive.iterdir()) == []


def test_the_next_bundle_holds_only_the_checkouts_since(spool: Spool, drive: Path) -> None:
    export(spool, drive)
    record(spool, 4, patron_serial=3)
    later = NOW + timedelta(hours=2)

    result = export(spool, drive, later)

    assert result.folder == drive / f"kiosk-{KIOSK_ID}-20261121-110005"
    assert result.checkouts == 1
    jsonl = next(f.path for f in result.files if f.fmt == "jsonl")
    assert [json.loads(line)["seq"] for line in jsonl.read_text().splitlines()] == [4]
    assert spool.summary().pending == 0
    assert len(spool.exports()) == 8  # four formats, twice


# A drive that fails --------------------------------------------------------------------------


@pytest.fixture
def unwritable_drive(tmp_path: Path) -> Iterator[Path]:
    """A drive the kiosk cannot write to. A read-only folder where permissions apply; as root
    (who writes through any mode bits), a "drive" whose parent is a regular file."""
    if os.geteuid() == 0:
        blocker = tmp_path / "not-a-folder"
        blocker.write_text("a file where the mount point should be\n")
        yield blocker / "usb"
        return
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        yield folder
    finally:
        folder.chmod(0o700)


def test_a_drive_that_cannot_be_written_hands_over_nothing(
    spool: Spool, unwritable_drive: Path
) -> None:
    with pytest.raises(ExportError, match=r"could not be written.*nothing was marked"):
        export(spool, unwritable_drive)

    nothing_handed_over(spool)


def test_a_drive_that_is_a_file_hands_over_nothing(spool: Spool, tmp_path: Path) -> None:
    not_a_drive = tmp_path / "usb"
    not_a_drive.write_text("")

    with pytest.raises(ExportError, match="could not be written"):
        export(spool, not_a_drive)

    nothing_handed_over(spool)


def test_a_folder_already_there_is_not_overwritten(spool: Spool, drive: Path) -> None:
    earlier = drive / FOLDER
    earlier.mkdir()
    (earlier / "keep.txt").write_text("earlier bundle\n")

    with pytest.raises(ExportError, match="already exists"):
        export(spool, drive)

    assert [p.name for p in earlier.iterdir()] == ["keep.txt"]
    nothing_handed_over(spool)


def reading_back(
    monkeypatch: pytest.MonkeyPatch, suffix: str, alter: Callable[[bytes], bytes]
) -> list[str]:
    """The drive returns `alter(bytes)` when the file ending in `suffix` is read back.
    Returns the names of the files read back so far."""
    real = bundle._read_from_drive
    seen: list[str] = []

    def read(path: Path) -> bytes:
        seen.append(path.name)
        data = real(path)
        return alter(data) if path.name.endswith(suffix) else data

    monkeypatch.setattr(bundle, "_read_from_drive", read)
    return seen


def flip_one_bit(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1 :]


@pytest.mark.parametrize("suffix", [".koc", ".csv", ".jsonl", ".xacts", SUMMARY_NAME])
def test_a_file_that_reads_back_altered_hands_over_nothing(
    spool: Spool, drive: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    seen = reading_back(monkeypatch, suffix, flip_one_bit)

    with pytest.raises(ExportError, match="did not read back the same"):
        export(spool, drive)

    assert seen[-1].endswith(suffix)  # the altered file was the last one read
    nothing_handed_over(spool)
    # Nothing of the failed hand-over is left on the drive to be imported by mistake.
    assert list(drive.iterdir()) == []


@pytest.mark.parametrize(
    "alter",
    [lambda data: data[:-1], lambda data: b"", lambda data: data + b"\n"],
    ids=["cut-short", "empty", "extra-byte"],
)
def test_a_short_or_long_read_back_hands_over_nothing(
    spool: Spool, drive: Path, monkeypatch: pytest.MonkeyPatch, alter: Callable[[bytes], bytes]
) -> None:
    reading_back(monkeypatch, ".koc", alter)

    with pytest.raises(ExportError):
        export(spool, drive)

    nothing_handed_over(spool)


def test_after_a_failed_read_back_a_good_drive_takes_every_checkout(
    spool: Spool, drive: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    reading_back(monkeypatch, ".csv", flip_one_bit)
    with pytest.raises(ExportError):
        export(spool, drive)
    monkeypatch.undo()
    good = tmp_path / "good-usb"
    good.mkdir()

    result = export(spool, good, NOW + timedelta(minutes=1))

    assert result.checkouts == 3
    assert spool.summary().pending == 0
    assert [e.format for e in spool.exports()] == ["koc", "csv", "jsonl", "evergreen"]
