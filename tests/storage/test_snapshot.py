"""The patron snapshot: importing the library system's CSV into a new SQLite file, swapping it in,
refusing bad files without touching the current snapshot, and rolling back. Real files only."""

from __future__ import annotations

import hashlib
import json
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from kiosk.domain.barcodes import BarcodeRule, CheckDigit
from kiosk.domain.ils_files import PatronFileFormat, TextFormat
from kiosk.domain.patrons import PatronRecord, PatronStatus
from kiosk.errors import InputFileError, NoSnapshotError, SnapshotError, StorageError
from kiosk.storage.snapshot import ImportReport, SnapshotInfo, SnapshotStore
from tests.conftest import STANDARD_PATRONS, KioskHome, exported_at, patron, standard_csv

RULE = BarcodeRule(prefix="2", length=14, check_digit=CheckDigit.LUHN)
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
HEADER = "barcode,name,fines,status,expires"


def rows_csv(serials: range | list[int], header: str = HEADER) -> str:
    """A good CSV with one patron per serial number."""
    lines = [header]
    lines += [f'{patron(s)},"Patron, No. {s}",0.00,ok,2099-01-01' for s in serials]
    return "\n".join(lines) + "\n"


@dataclass
class Snapshots:
    """A kiosk's snapshots folder and a place for the files it imports."""

    store: SnapshotStore
    inbox: Path
    imports: int = 0
    files: list[Path] = field(default_factory=list)

    def write(self, content: str | bytes, name: str | None = None) -> Path:
        path = self.inbox / (name or f"patrons-{len(self.files)}.csv")
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        exported_at(path, T0 - timedelta(hours=1))
        self.files.append(path)
        return path

    def import_file(self, source: Path, **options: object) -> ImportReport:
        # Every import gets its own `now`, as every real import does.
        self.imports += 1
        options.setdefault("now", T0 + timedelta(minutes=self.imports))
        return self.store.import_csv(source, patron_rule=RULE, **options)  # type: ignore[arg-type]

    def import_text(self, content: str | bytes, **options: object) -> ImportReport:
        return self.import_file(self.write(content), **options)

    def lookup(self, barcode: str) -> PatronRecord | None:
        reader = self.store.open_reader()
        try:
            return reader.lookup(barcode)
        finally:
            reader.close()

    def snapshot_files(self) -> set[str]:
        return {p.name for p in self.store.folder.glob("snapshot-*.db")}

    def leftovers(self) -> list[str]:
        return sorted(p.name for p in self.store.folder.iterdir() if p.suffix == ".building")


@pytest.fixture
def snaps(tmp_path: Path) -> Snapshots:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    return Snapshots(SnapshotStore(tmp_path / "data"), inbox)


@pytest.fixture
def with_standard(snaps: Snapshots) -> Snapshots:
    """A store whose current snapshot is the standard 8 patrons."""
    snaps.import_text(standard_csv())
    return snaps


def assert_refused(
    snaps: Snapshots, source: Path, error: type[Exception], words: str, **options: object
) -> str:
    """Importing `source` is refused and changes nothing: the same snapshot stays active, no
    snapshot file is added or removed, and no half-built file is left behind."""
    before = snaps.store.current()
    files_before = snaps.snapshot_files()
    pointer_before = snaps.store.pointer.read_bytes() if snaps.store.pointer.exists() else None

    with pytest.raises(error) as caught:
        snaps.import_file(source, **options)

    assert words in str(caught.value)
    assert snaps.store.current() == before
    assert snaps.snapshot_files() == files_before
    if snaps.store.pointer.exists() or pointer_before is not None:
        assert snaps.store.pointer.read_bytes() == pointer_before
    if snaps.store.folder.exists():
        assert snaps.leftovers() == []
    if before is not None:
        record = snaps.lookup(patron(1))
        assert record is not None
        assert record.name == "Rivera, Ana"
    return str(caught.value)


# Good files ---------------------------------------------------------------------------------


def test_the_standard_csv_imports_and_every_patron_can_be_looked_up(snaps: Snapshots) -> None:
    report = snaps.import_text(standard_csv())

    assert report.info.rows == len(STANDARD_PATRONS)
    assert report.counts.rows_read == len(STANDARD_PATRONS)
    assert (report.counts.bad_rows, report.counts.duplicates) == (0, 0)
    for serial, (name, fines, status, expires) in STANDARD_PATRONS.items():
        record = snaps.lookup(patron(serial))
        assert record == PatronRecord(
            barcode=patron(serial),
            name=name,
            fines=Decimal(fines or "0"),
            status=PatronStatus(status),
            expires=date.fromisoformat(expires) if expires else None,
        )


def test_lookups_give_exact_decimal_fines_and_real_dates(with_standard: Snapshots) -> None:
    record = with_standard.lookup(patron(3))

    assert record is not None
    assert isinstance(record.fines, Decimal)
    assert record.fines == Decimal("10.01")
    assert record.fines > Decimal("10.00")
    assert record.expires == date(2099, 1, 1)
    no_expiry = with_standard.lookup(patron(4))
    assert no_expiry is not None
    assert no_expiry.expires is None
    assert no_expiry.status is PatronStatus.BLOCKED


def test_an_unknown_barcode_is_not_found(with_standard: Snapshots) -> None:
    assert with_standard.lookup(patron(999)) is None


@pytest.mark.parametrize(
    ("delimiter", "bom", "newline"),
    [
        (",", False, "\r\n"),
        ("\t", False, "\n"),
        (",", True, "\n"),
        ("\t", True, "\r\n"),
    ],
    ids=["comma-crlf", "tab", "bom", "tab-bom-crlf"],
)
def test_tabs_bom_and_crlf_are_all_read(
    snaps: Snapshots, delimiter: str, bom: bool, newline: str
) -> None:
    lines = [delimiter.join(["barcode", "name", "fines", "status", "expires"])]
    for serial, (name, fines, status, expires) in STANDARD_PATRONS.items():
        shown = f'"{name}"' if delimiter == "," else name
        lines.append(delimiter.join([patron(serial), shown, fines, status, expires]))
    data = (newline.join(lines) + newline).encode("utf-8")
    if bom:
        data = b"\xef\xbb\xbf" + data

    report = snaps.import_text(data)

    assert report.info.rows == len(STANDARD_PATRONS)
    assert report.counts.bad_rows == 0
    first = snaps.lookup(patron(1))
    assert first is not None
    assert first.name == "Rivera, Ana"  # no stray BOM, quote or carriage return
    last = snaps.lookup(patron(8))
    assert last is not None
    assert last.name == "García, Lucía"
    assert last.expires is None  # an empty last field, not "\r"


def test_quoted_names_keep_their_commas_and_quotes(snaps: Snapshots) -> None:
    snaps.import_text(
        f"{HEADER}\n"
        f'{patron(1)},"Smith, John ""Jack"", Jr.",0,ok,\n'
        f'{patron(2)},"O\'Brien, Liam",0,ok,\n'
    )
    first = snaps.lookup(patron(1))
    second = snaps.lookup(patron(2))
    assert first is not None and second is not None
    assert first.name == 'Smith, John "Jack", Jr.'
    assert second.name == "O'Brien, Liam"


def test_columns_in_any_order_any_case_and_extra_columns_ignored(snaps: Snapshots) -> None:
    snaps.import_text(
        " Expires ,STATUS,Home Branch,Name,Fines,BarCode,notes\n"
        f'2030-05-01,Blocked,Main,"Rivera, Ana",$1.50,{patron(1)},"likes, commas"\n'
        f',ok,East,"Okafor, Chidi",,{patron(2)},\n'
    )
    first = snaps.lookup(patron(1))
    assert first == PatronRecord(
        patron(1), "Rivera, Ana", Decimal("1.50"), PatronStatus.BLOCKED, date(2030, 5, 1)
    )
    second = snaps.lookup(patron(2))
    assert second == PatronRecord(patron(2), "Okafor, Chidi", Decimal("0"), PatronStatus.OK)


def test_a_file_with_only_a_barcode_column_is_enough(snaps: Snapshots) -> None:
    snaps.import_text(f"barcode\n{patron(1)}\n{patron(2)}\n")
    assert snaps.lookup(patron(2)) == PatronRecord(patron(2))


def test_blank_lines_are_not_rows(snaps: Snapshots) -> None:
    report = snaps.import_text(f"{HEADER}\n\n{patron(1)},A,0,ok,\n\n\n{patron(2)},B,0,ok,\n\n")
    assert report.info.rows == 2
    assert report.counts.rows_read == 2
    assert report.counts.bad_rows == 0


def test_a_whole_last_line_without_a_newline_is_left_out_and_said(snaps: Snapshots) -> None:
    # It may be cut short where it still reads (fines of 125.00 cut to 12): that patron is
    # refused until the next snapshot rather than let in on a row that may be wrong.
    report = snaps.import_text(standard_csv().rstrip("\n"))
    assert report.info.rows == len(STANDARD_PATRONS) - 1
    assert report.counts.left_out_line == len(STANDARD_PATRONS) + 1
    assert snaps.lookup(patron(8)) is None
    assert snaps.lookup(patron(7)) is not None


def test_a_last_line_cut_where_it_still_reads_does_not_lower_fines(snaps: Snapshots) -> None:
    text = f"barcode,name,status,fines\n{patron(1)},Ana,ok,0\n{patron(2)},Bao,ok,125.00\n"
    report = snaps.import_text(text[: text.rindex("5.00")])  # "...,ok,12", no line end
    assert snaps.lookup(patron(2)) is None  # not let in with fines of 12
    assert report.counts.left_out_line == 3


def test_a_library_system_that_writes_no_final_newline_can_say_so(snaps: Snapshots) -> None:
    source = snaps.write(standard_csv().rstrip("\n"))
    report = snaps.store.import_file(
        source,
        patron_rule=RULE,
        file_format=PatronFileFormat(text=TextFormat(ends_without_newline=True)),
        now=T0,
    )
    assert report.info.rows == len(STANDARD_PATRONS)
    assert report.counts.left_out_line is None
    last = snaps.lookup(patron(8))
    assert last is not None
    assert last.name == "García, Lucía"


# What the snapshot says about itself ------------------------------------------------------


def test_info_has_the_files_sha256_source_rows_and_the_given_built_at(snaps: Snapshots) -> None:
    source = snaps.write(standard_csv())
    built = datetime(2026, 11, 19, 23, 30, tzinfo=UTC)
    now = datetime(2026, 11, 20, 7, 0, 0, 123456, tzinfo=UTC)

    report = snaps.import_file(source, built_at=built, now=now)

    expected_sha = hashlib.sha256(source.read_bytes()).hexdigest()
    for info in (report.info, snaps.store.current()):
        assert isinstance(info, SnapshotInfo)
        assert info.sha256 == expected_sha
        assert info.built_at == built
        assert info.imported_at == now
        assert info.rows == len(STANDARD_PATRONS)
        assert info.source == str(source.resolve())
        assert info.file.parent == snaps.store.folder
        assert info.file.exists()
    assert report.info.age_hours(built + timedelta(hours=36)) == pytest.approx(36)


def test_built_at_defaults_to_the_files_modification_time(snaps: Snapshots) -> None:
    source = snaps.write(standard_csv())
    stamp = 1_763_600_000  # 2025-11-20, any fixed moment will do
    os.utime(source, (stamp, stamp))

    report = snaps.import_file(source)

    assert report.info.built_at == datetime.fromtimestamp(stamp, UTC)
    current = snaps.store.current()
    assert current is not None
    assert current.built_at == datetime.fromtimestamp(stamp, UTC)


def test_no_snapshot_yet(snaps: Snapshots) -> None:
    assert snaps.store.current() is None
    assert snaps.store.previous() is None
    with pytest.raises(NoSnapshotError):
        snaps.store.open_reader()


def test_a_damaged_pointer_is_a_storage_error(with_standard: Snapshots) -> None:
    with_standard.store.pointer.write_text("{not json", encoding="utf-8")
    with pytest.raises(StorageError, match="pointer"):
        with_standard.store.current()


# Bad rows, duplicates ---------------------------------------------------------------------


def test_a_few_bad_rows_are_skipped_and_reported(snaps: Snapshots) -> None:
    good = rows_csv(range(1, 201)).splitlines()
    bad_lines = [
        f"{patron(900)},Too Few Fields",
        f"{patron(901)},Bad Status,0,wandering,",
    ]
    # 2 bad of 202 rows is under 1%.
    text = "\n".join([*good[:50], bad_lines[0], *good[50:150], bad_lines[1], *good[150:]]) + "\n"

    report = snaps.import_text(text, max_bad_percent=1.0)

    assert report.info.rows == 200
    assert report.counts.rows_read == 202
    assert report.counts.bad_rows == 2
    problems = [bad.problem for bad in report.counts.examples]
    assert len(problems) == 2
    assert "fields" in problems[0]
    assert "wandering" in problems[1]
    assert snaps.lookup(patron(900)) is None
    assert snaps.lookup(patron(901)) is None
    assert snaps.lookup(patron(200)) is not None


def test_bad_rows_are_reported_with_their_line_numbers_in_the_file(snaps: Snapshots) -> None:
    # Line 1 is the header, so the bad rows below are on lines 3 and 6 of the file.
    text = (
        f"{HEADER}\n"
        f"{patron(1)},A,0,ok,\n"
        f"{patron(2)},too few fields\n"
        f"{patron(3)},C,0,ok,\n"
        f"{patron(4)},D,0,ok,\n"
        f"{patron(5)},E,0,unknown-status,\n"
        f"{patron(6)},F,0,ok,\n"
    )

    report = snaps.import_text(text, max_bad_percent=50)

    assert [bad.line for bad in report.counts.examples] == [3, 6]


def test_reported_examples_are_capped(snaps: Snapshots) -> None:
    good = rows_csv(range(1, 3001)).splitlines()
    bad = [f"{patron(5000 + i)},only two" for i in range(25)]
    report = snaps.import_text("\n".join(good + bad) + "\n", max_bad_percent=1.0)

    assert report.counts.bad_rows == 25
    assert len(report.counts.examples) == 20
    assert report.info.rows == 3000


def test_a_barcode_that_does_not_fit_the_patron_rule_is_a_bad_row(snaps: Snapshots) -> None:
    wrong_check = patron(7)[:-1] + str((int(patron(7)[-1]) + 1) % 10)
    text = rows_csv(range(1, 11)) + f"{wrong_check},Misread,0,ok,\n31234000000016,Item,0,ok,\n"

    report = snaps.import_text(text, max_bad_percent=50)

    assert report.counts.bad_rows == 2
    assert all("patron barcode rule" in bad.problem for bad in report.counts.examples)
    assert snaps.lookup(wrong_check) is None


def test_a_card_listed_twice_keeps_its_most_restrictive_values(snaps: Snapshots) -> None:
    text = (
        f"{HEADER}\n"
        f"{patron(1)},First Ana,0,ok,2099-01-01\n"
        f"{patron(2)},Chidi,0,ok,\n"
        f"{patron(1)},Second Ana,5.00,blocked,\n"
        f"{patron(1)},Third Ana,0,ok,2030-06-30\n"
        f"{patron(2)},Chidi,0,ok,\n"  # the same row again: no conflict
    )

    report = snaps.import_text(text)

    assert report.counts.duplicates == 3
    assert report.counts.conflicts == 1  # one card, listed with different values
    assert report.info.conflicts == 1
    assert report.counts.bad_rows == 0
    assert report.info.rows == 2
    record = snaps.lookup(patron(1))
    assert record is not None
    assert (record.name, record.status, record.fines, record.expires) == (
        "First Ana",
        PatronStatus.BLOCKED,
        Decimal("5.00"),
        date(2030, 6, 30),
    )


@pytest.mark.parametrize("order", [(0, 1), (1, 0)])
def test_a_block_wins_over_ok_whichever_row_comes_first(
    snaps: Snapshots, order: tuple[int, int]
) -> None:
    rows = [f"{patron(1)},Ana,0.00,ok,", f"{patron(1)},Ana,25.00,blocked,"]
    report = snaps.import_text("\n".join([HEADER, *(rows[i] for i in order)]) + "\n")
    record = snaps.lookup(patron(1))
    assert record is not None
    assert (record.status, record.fines) == (PatronStatus.BLOCKED, Decimal("25.00"))
    assert report.counts.conflicts == 1


# Refusals: the current snapshot stays active ------------------------------------------------


def test_a_file_without_a_barcode_column_is_refused(with_standard: Snapshots) -> None:
    source = with_standard.write(f"card,name\n{patron(1)},Ana\n")
    assert_refused(with_standard, source, SnapshotError, "barcode")


def test_a_file_without_a_header_is_refused(with_standard: Snapshots) -> None:
    source = with_standard.write("\n".join(standard_csv().splitlines()[1:]) + "\n")
    assert_refused(with_standard, source, SnapshotError, "barcode")


def test_a_header_only_file_is_refused(with_standard: Snapshots) -> None:
    source = with_standard.write(HEADER + "\n")
    assert_refused(with_standard, source, SnapshotError, "no valid patron rows")


def test_an_empty_file_is_refused(with_standard: Snapshots) -> None:
    source = with_standard.write(b"")
    assert_refused(with_standard, source, SnapshotError, "header")


def test_a_file_of_only_bad_rows_is_refused(with_standard: Snapshots) -> None:
    source = with_standard.write(f"{HEADER}\n{patron(1)},short\n{patron(2)},short\n")
    message = assert_refused(
        with_standard, source, SnapshotError, "no valid patron rows", max_bad_percent=100
    )
    assert "fields" in message  # the examples say why


def test_a_file_that_is_not_utf8_is_refused(with_standard: Snapshots) -> None:
    source = with_standard.write(standard_csv().encode("latin-1"))  # "García, Lucía"
    assert_refused(with_standard, source, SnapshotError, "not UTF-8")


def test_a_file_with_a_nul_byte_is_refused_as_garbled(with_standard: Snapshots) -> None:
    # A block of zeros is what a copy interrupted by a power cut often leaves behind.
    source = with_standard.write(standard_csv().replace("Okafor", "Oka\x00\x00\x00for"))
    assert_refused(with_standard, source, SnapshotError, "")


def test_an_unterminated_quote_is_refused_as_garbled(with_standard: Snapshots) -> None:
    source = with_standard.write(standard_csv().replace('"Okafor, Chidi"', '"Okafor, Chidi'))
    assert_refused(with_standard, source, SnapshotError, "garbled")


def test_a_file_cut_mid_line_is_refused(with_standard: Snapshots) -> None:
    full = rows_csv(range(1, 1001))
    cut = full[: full.rindex(",ok,")]  # the last row stops inside its fields, no newline
    assert not cut.endswith("\n")
    source = with_standard.write(cut)
    assert_refused(with_standard, source, SnapshotError, "cut short")


def test_a_file_cut_inside_a_quoted_name_is_refused(with_standard: Snapshots) -> None:
    full = rows_csv(range(1, 1001))
    source = with_standard.write(full[: full.rindex("No. 1000")])
    message = assert_refused(with_standard, source, SnapshotError, "cut short")
    assert "stops inside a quoted field" in message


def test_more_bad_rows_than_allowed_is_refused(with_standard: Snapshots) -> None:
    text = rows_csv(range(1, 99)) + f"{patron(500)},short\n{patron(501)},short\n"  # 2 of 100
    source = with_standard.write(text)

    message = assert_refused(
        with_standard, source, SnapshotError, "rows are bad", max_bad_percent=1
    )

    assert "2 of 100" in message
    report = with_standard.import_file(source, max_bad_percent=2)
    assert report.info.rows == 98


def test_exactly_the_allowed_share_of_bad_rows_is_accepted(with_standard: Snapshots) -> None:
    text = rows_csv(range(1, 100)) + f"{patron(500)},short\n"  # 1 of 100 rows
    report = with_standard.import_text(text, max_bad_percent=1)
    assert report.counts.bad_rows == 1
    assert report.info.rows == 99


def test_a_file_with_less_than_half_the_patrons_is_refused(with_standard: Snapshots) -> None:
    source = with_standard.write(rows_csv(range(1, 4)))  # 3 patrons, the current one has 8

    assert_refused(with_standard, source, SnapshotError, "less than half")

    report = with_standard.import_file(source, allow_shrink=True)
    assert report.info.rows == 3
    current = with_standard.store.current()
    assert current is not None
    assert current.rows == 3


def test_exactly_half_the_patrons_is_accepted(with_standard: Snapshots) -> None:
    report = with_standard.import_text(rows_csv(range(1, 5)))  # 4 of 8
    assert report.info.rows == 4


def test_less_than_half_of_an_odd_number_of_patrons_is_refused(snaps: Snapshots) -> None:
    snaps.import_text(standard_csv().rstrip("\n") + f"\n{patron(9)},Ninth,0,ok,\n")  # 9 patrons
    source = snaps.write(rows_csv(range(1, 5)))  # 4 is less than half of 9
    assert_refused(snaps, source, SnapshotError, "less than half")


def test_a_missing_file_is_an_input_file_error(with_standard: Snapshots) -> None:
    assert_refused(
        with_standard, with_standard.inbox / "not-there.csv", InputFileError, "not found"
    )


def test_a_folder_is_an_input_file_error(with_standard: Snapshots) -> None:
    folder = with_standard.inbox / "a-folder.csv"
    folder.mkdir()
    assert_refused(with_standard, folder, InputFileError, "folder")


def test_a_refused_first_import_leaves_no_snapshot(snaps: Snapshots) -> None:
    source = snaps.write(HEADER + "\n")
    assert_refused(snaps, source, SnapshotError, "no valid patron rows")
    assert snaps.store.current() is None


@pytest.mark.parametrize("damage", ["garbage", "deleted"])
def test_a_good_import_replaces_a_broken_current_snapshot(
    with_standard: Snapshots, damage: str
) -> None:
    # Importing a fresh export is how staff repair a kiosk whose snapshot file was lost or
    # damaged; the broken file must not block that.
    broken = with_standard.store.current()
    assert broken is not None
    if damage == "garbage":
        broken.file.write_bytes(b"not a database " * 100)
    else:
        broken.file.unlink()

    report = with_standard.import_text(rows_csv(range(1, 11)))

    assert with_standard.store.current() == report.info
    assert report.info.rows == 10
    assert with_standard.lookup(patron(10)) is not None


# Rollback and pruning -----------------------------------------------------------------------


def test_rollback_swaps_current_and_previous_and_back(with_standard: Snapshots) -> None:
    first = with_standard.store.current()
    assert first is not None
    second = with_standard.import_text(rows_csv(range(101, 111))).info
    assert with_standard.lookup(patron(101)) is not None
    assert with_standard.lookup(patron(1)) is None

    restored = with_standard.store.rollback()

    assert restored == first
    assert with_standard.store.current() == first
    assert with_standard.store.previous() == second
    assert with_standard.lookup(patron(1)) is not None
    assert with_standard.lookup(patron(101)) is None

    again = with_standard.store.rollback()

    assert again == second
    assert with_standard.store.current() == second
    assert with_standard.store.previous() == first
    assert with_standard.lookup(patron(101)) is not None


def test_rollback_without_a_previous_snapshot_is_refused(with_standard: Snapshots) -> None:
    current = with_standard.store.current()
    with pytest.raises(NoSnapshotError, match="no previous snapshot"):
        with_standard.store.rollback()
    assert with_standard.store.current() == current


def test_rollback_with_no_snapshot_at_all_is_refused(snaps: Snapshots) -> None:
    with pytest.raises(NoSnapshotError):
        snaps.store.rollback()


def test_only_the_current_and_previous_snapshot_files_are_kept(snaps: Snapshots) -> None:
    infos = [snaps.import_text(rows_csv(range(1, 11 + n))).info for n in range(4)]

    pointer = json.loads(snaps.store.pointer.read_text(encoding="utf-8"))
    assert pointer == {"current": infos[3].file.name, "previous": infos[2].file.name}
    assert snaps.snapshot_files() == {infos[3].file.name, infos[2].file.name}
    assert snaps.leftovers() == []
    previous = snaps.store.previous()
    assert previous is not None
    assert previous.rows == 12


# File modes --------------------------------------------------------------------------------


@pytest.fixture
def private_umask() -> Iterator[None]:
    """The umask the kiosk command sets for itself (kiosk.cli.main)."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.usefixtures("private_umask")
def test_snapshots_are_readable_by_the_kiosk_user_only(snaps: Snapshots) -> None:
    snaps.import_text(standard_csv())
    snaps.import_text(standard_csv())

    assert snaps.store.folder.stat().st_mode & 0o777 == 0o700
    files = list(snaps.store.folder.iterdir())
    assert {p.name for p in files} >= {"current.json"}
    assert len(files) >= 3
    for path in files:
        assert path.stat().st_mode & 0o777 == 0o600, path.name


def test_an_open_snapshots_folder_is_tightened(snaps: Snapshots) -> None:
    snaps.store.folder.mkdir(parents=True)
    snaps.store.folder.chmod(0o755)
    snaps.import_text(standard_csv())
    assert snaps.store.folder.stat().st_mode & 0o777 == 0o700


# A big file ---------------------------------------------------------------------------------

BIG = 200_000


def test_a_large_file_imports_and_random_lookups_work(snaps: Snapshots) -> None:
    source = snaps.inbox / "big.csv"
    with source.open("w", encoding="utf-8", newline="") as handle:
        handle.write(HEADER + "\r\n")
        handle.writelines(
            f'{patron(s)},"Patron, No. {s}",{s % 50}.{s % 100:02d},ok,2099-01-01\r\n'
            for s in range(1, BIG + 1)
        )
        handle.write(f"{patron(1)},Repeated At The End,0,ok,\r\n")  # in a later batch
    exported_at(source, T0 - timedelta(hours=1))
    size = source.stat().st_size
    calls: list[tuple[int, int]] = []

    report = snaps.import_file(source, progress=lambda done, total: calls.append((done, total)))

    assert report.info.rows == BIG
    assert report.counts.rows_read == BIG + 1
    assert report.counts.duplicates == 1
    assert report.counts.bad_rows == 0
    assert report.info.sha256 == hashlib.sha256(source.read_bytes()).hexdigest()

    done = [d for d, _ in calls]
    assert all(total == size for _, total in calls)
    assert len(set(done)) >= 5  # progress is reported along the way, not only at the end
    assert done == sorted(done)
    assert done[0] > 0
    assert done[-1] == size

    reader = snaps.store.open_reader()
    try:
        for s in [1, BIG, *random.Random(20261120).sample(range(2, BIG), 200)]:
            record = reader.lookup(patron(s))
            assert record is not None, s
            assert record.name == f"Patron, No. {s}"
            assert record.fines == Decimal(f"{s % 50}.{s % 100:02d}")
        assert reader.lookup(patron(BIG + 1)) is None
    finally:
        reader.close()


# Through the command line -------------------------------------------------------------------


def test_cli_import_info_refusal_and_rollback(home: KioskHome) -> None:
    home.import_standard_snapshot(built_at="2026-11-20T06:00:00")
    info = home.kiosk("snapshot", "info")
    assert info.returncode == 0, info.stderr
    assert "built at: 2026-11-20T06:00:00-05:00" in info.stdout  # naive: the library's zone
    assert "patrons:  8" in info.stdout

    bad = home.root / "bad.csv"
    bad.write_text(HEADER + "\n", encoding="utf-8")
    refused = home.kiosk("snapshot", "import", str(bad))
    assert refused.returncode == 65  # EX_DATAERR
    assert "no valid patron rows" in refused.stderr
    assert "Traceback" not in refused.stderr

    missing = home.kiosk("snapshot", "import", str(home.root / "missing.csv"))
    assert missing.returncode == 66  # EX_NOINPUT

    no_previous = home.kiosk("snapshot", "rollback")
    assert no_previous.returncode == 69  # EX_UNAVAILABLE
    assert "no previous snapshot" in no_previous.stderr

    bigger = home.root / "bigger.csv"
    bigger.write_text(rows_csv(range(1, 21)), encoding="utf-8")
    imported = home.kiosk("snapshot", "import", str(bigger), "--built-at", "2026-11-21T06:00Z")
    assert imported.returncode == 0, imported.stderr
    assert "Imported 20 patrons" in imported.stdout

    rolled = home.kiosk("snapshot", "rollback")
    assert rolled.returncode == 0, rolled.stderr
    assert "(8 patrons)" in rolled.stdout
    after = home.kiosk("snapshot", "info")
    assert "patrons:  8" in after.stdout
    assert "Previous snapshot (for rollback): 20 patrons" in after.stdout


def test_cli_import_reports_bad_rows_with_line_numbers(home: KioskHome) -> None:
    source = home.root / "patrons.csv"
    source.write_text(rows_csv(range(1, 10)) + f"{patron(50)},short\n", encoding="utf-8")

    result = home.kiosk("snapshot", "import", str(source), "--max-bad-percent", "20")

    assert result.returncode == 0, result.stderr
    assert "Imported 9 patrons" in result.stdout
    assert "1 bad rows were skipped" in result.stderr
    assert "line 11: has 2 fields" in result.stderr  # header + 9 rows before it


def test_a_build_left_by_a_killed_import_is_removed_by_the_next_import(snaps: Snapshots) -> None:
    snaps.store.folder.mkdir(parents=True)
    stale = snaps.store.folder / "snapshot-20261201T000000000000-deadbeef.building"
    stale.write_bytes(b"\0" * 4096)  # what a SIGKILL mid-import leaves
    snaps.import_text(rows_csv([1, 2]))
    assert snaps.leftovers() == []


def test_stale_builds_are_never_removed_while_an_import_runs(snaps: Snapshots) -> None:
    """The running import holds the folder's lock: its build file is not stale."""
    import fcntl

    snaps.store.folder.mkdir(parents=True)
    building = snaps.store.folder / "snapshot-20261201T000000000000-deadbeef.building"
    building.write_bytes(b"being written")
    running = os.open(snaps.store.folder, os.O_RDONLY | os.O_DIRECTORY)  # another process's
    try:
        fcntl.flock(running, fcntl.LOCK_EX)
        assert snaps.store.remove_stale_builds() == []
        assert building.exists()
    finally:
        os.close(running)
    assert snaps.store.remove_stale_builds() == [building]
    assert not building.exists()
