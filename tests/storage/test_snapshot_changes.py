"""A file that changes while it is imported is refused, whole: nothing of it is swapped in,
and the sha256 recorded is always that of the bytes imported. And a snapshot that says it
was built after the station's clock is refused."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kiosk.domain.barcodes import BarcodeRule, CheckDigit
from kiosk.domain.ils_files import PatronFileFormat, PatronFileKind
from kiosk.domain.patrons import SnapshotMode
from kiosk.errors import SnapshotError
from kiosk.storage import building, swap
from kiosk.storage.snapshot import SnapshotStore
from kiosk.storage.textfile import FileChangedError
from tests.conftest import exported_at, patron

RULE = BarcodeRule(prefix="2", length=14, check_digit=CheckDigit.LUHN)
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
BLOCKLIST = PatronFileFormat(PatronFileKind.EVERGREEN_BLOCKLIST, SnapshotMode.DENY)


def rows(serials: range) -> str:
    return "barcode,name\n" + "".join(f"{patron(s)},Patron {s}\n" for s in serials)


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SnapshotStore:
    monkeypatch.setattr(building, "BATCH_ROWS", 50)  # progress is called every 50 rows
    return SnapshotStore(tmp_path / "data")


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return exported_at(path, T0 - timedelta(hours=1))


def import_with(
    store: SnapshotStore, source: Path, during: Callable[[], None], **options: object
) -> None:
    """Import `source`, calling `during` once, while its rows are being read."""
    done = []

    def progress(read: int, total: int) -> None:
        if not done and 0 < read < total:
            done.append(True)
            during()

    store.import_file(
        source,
        patron_rule=RULE,
        now=T0,
        progress=progress,
        **options,  # type: ignore[arg-type]
    )
    assert done, "the import never reported progress half-way"


@pytest.fixture
def big(tmp_path: Path) -> Path:
    # Bigger than one read (1 MiB), so the import is half-way through when it reports.
    return write(tmp_path / "patrons.csv", rows(range(1, 60_001)))


def assert_nothing_swapped_in(store: SnapshotStore) -> None:
    assert store.current() is None
    assert not list(store.folder.glob("*.building"))
    assert not list(store.folder.glob("snapshot-*.db"))


def test_a_file_still_being_written_is_refused(store: SnapshotStore, big: Path) -> None:
    def more_rows() -> None:
        with big.open("a", encoding="utf-8") as handle:
            handle.write(rows(range(60_001, 70_001)).split("\n", 1)[1])

    with pytest.raises(FileChangedError, match="changed while it was read") as refused:
        import_with(store, big, more_rows)
    assert "still being written" in str(refused.value)
    assert_nothing_swapped_in(store)


def test_a_file_replaced_under_its_name_is_refused(store: SnapshotStore, big: Path) -> None:
    def replace() -> None:
        other = big.with_name("other.csv")
        write(other, rows(range(1, 100)))
        other.replace(big)

    with pytest.raises(FileChangedError, match="another file now has its name"):
        import_with(store, big, replace)
    assert_nothing_swapped_in(store)


def test_a_rewrite_in_place_that_keeps_size_and_time_is_still_caught(
    store: SnapshotStore, big: Path
) -> None:
    # Only the bytes can tell: the hash of what was imported is not the file's first hash.
    stat = big.stat()

    def rewrite_a_row_near_the_end() -> None:
        with big.open("r+b") as handle:
            handle.seek(stat.st_size - 30)
            handle.write(b"X")
        os.utime(big, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    with pytest.raises(FileChangedError, match="bytes differ"):
        import_with(store, big, rewrite_a_row_near_the_end)
    assert_nothing_swapped_in(store)


def test_the_sha256_recorded_is_that_of_the_bytes_imported(store: SnapshotStore, big: Path) -> None:
    report = store.import_file(big, patron_rule=RULE, now=T0)
    assert report.info.sha256 == hashlib.sha256(big.read_bytes()).hexdigest()
    assert report.info.rows == 60_000


def test_a_deny_list_caught_between_two_bursts_is_refused(
    store: SnapshotStore, tmp_path: Path
) -> None:
    # The writer has written part of the list, up to the middle of a line: a deny list cut
    # there would let every card after it borrow.
    full = "".join(f"{patron(s)} L\n" for s in range(1, 600))
    first_burst = full[: len(full) // 2 + 3]
    source = write(tmp_path / "blocked.txt", first_burst)

    with pytest.raises(SnapshotError, match="has no line end"):
        store.import_file(source, patron_rule=RULE, file_format=BLOCKLIST, now=T0)
    assert_nothing_swapped_in(store)


# Built in the future ------------------------------------------------------------------------


def test_a_snapshot_built_after_the_clock_is_refused(store: SnapshotStore, tmp_path: Path) -> None:
    source = write(tmp_path / "patrons.csv", rows(range(1, 10)))
    with pytest.raises(SnapshotError, match="after this station's clock") as refused:
        store.import_file(source, patron_rule=RULE, now=T0, built_at=T0 + timedelta(days=365))
    message = str(refused.value)
    assert "--built-at says" in message
    assert "365 days" in message
    assert "max_age_hours" in message
    assert_nothing_swapped_in(store)


def test_a_file_modified_in_the_future_is_refused(store: SnapshotStore, tmp_path: Path) -> None:
    source = write(tmp_path / "patrons.csv", rows(range(1, 10)))
    exported_at(source, T0 + timedelta(hours=3))
    with pytest.raises(SnapshotError, match="its modification time says") as refused:
        store.import_file(source, patron_rule=RULE, now=T0)
    assert "3 hours after" in str(refused.value)


def test_a_few_minutes_ahead_is_within_the_tolerance(store: SnapshotStore, tmp_path: Path) -> None:
    source = write(tmp_path / "patrons.csv", rows(range(1, 10)))
    ahead = swap.FUTURE_TOLERANCE - timedelta(seconds=1)
    report = store.import_file(source, patron_rule=RULE, now=T0, built_at=T0 + ahead)
    assert report.info.built_at == T0 + ahead
    assert report.info.built_ahead(T0) is None
    assert report.info.built_ahead(T0 - timedelta(minutes=5)) is not None
