"""Patron snapshots from real library-system exports: a CSV read through a column mapping (a
Koha `borrowers` export, a Polaris report), and Evergreen's offline block list as a deny
list. Real SQLite files in a temporary folder; the current snapshot survives every refusal."""

from __future__ import annotations

import sqlite3
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from kiosk.domain.barcodes import BarcodeRule, CheckDigit
from kiosk.domain.ils_files import PatronFileFormat, PatronFileKind, PatronLayout, TextFormat
from kiosk.domain.patrons import (
    PatronPolicy,
    PatronRecord,
    PatronRefusal,
    PatronStatus,
    SnapshotMode,
    check_patron,
)
from kiosk.storage import building, textfile
from kiosk.storage.snapshot import ImportReport, SnapshotStore
from tests.conftest import KioskHome, exported_at, patron, standard_csv
from tests.storage.conftest import refused_unchanged

RULE = BarcodeRule(prefix="2", length=14, check_digit=CheckDigit.LUHN)
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

KOHA_HEADER = "borrowernumber,cardnumber,surname,firstname,dateexpiry,balance,status"
KOHA = PatronLayout.mapped(
    barcode="cardnumber",
    name=["firstname", "surname"],
    expires="dateexpiry",
    fines="balance",
    status="status",
    status_values={"LOST": PatronStatus.LOST, "DEBARRED": PatronStatus.BLOCKED},
)
KOHA_FORMAT = PatronFileFormat(layout=KOHA)
BLOCKLIST = PatronFileFormat(PatronFileKind.EVERGREEN_BLOCKLIST, SnapshotMode.DENY)


def koha_csv(rows: list[tuple[int, str, str, str, str, str]]) -> str:
    """(serial, surname, firstname, dateexpiry, balance, status) per patron."""
    lines = [KOHA_HEADER]
    lines += [
        f"{1000 + serial},{patron(serial)},{surname},{first},{expiry},{balance},{status}"
        for serial, surname, first, expiry, balance, status in rows
    ]
    return "\r\n".join(lines) + "\r\n"


KOHA_ROWS = [
    (1, "Rivera", "Ana", "2099-01-01", "0.00", ""),
    (2, "Okafor", "Chidi", "2099-01-01", "12.50", ""),
    (3, "Haddad", "Omar", "2099-01-01", "0", "LOST"),
    (4, "Kowalski", "Ewa", "2099-01-01", "0", "debarred"),
    (5, "Smith", "John", "2020-01-01", "0", ""),
]


def blocklist(lines: dict[int, str]) -> str:
    return "".join(f"{patron(serial)} {flag}\n" for serial, flag in lines.items())


class Store:
    def __init__(self, tmp_path: Path) -> None:
        self.store = SnapshotStore(tmp_path / "data")
        self.inbox = tmp_path / "inbox"
        self.inbox.mkdir()
        self.imports = 0

    def write(self, content: str | bytes) -> Path:
        self.imports += 1
        path = self.inbox / f"export-{self.imports}.txt"
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return exported_at(path, T0 - timedelta(hours=1))

    def load(
        self, content: str | bytes, file_format: PatronFileFormat, **options: object
    ) -> ImportReport:
        source = self.write(content)
        options.setdefault("now", T0 + timedelta(minutes=self.imports))
        return self.store.import_file(
            source,
            patron_rule=RULE,
            file_format=file_format,
            **options,  # type: ignore[arg-type]
        )

    def lookup(self, barcode: str) -> PatronRecord | None:
        reader = self.store.open_reader()
        try:
            return reader.lookup(barcode)
        finally:
            reader.close()

    def refused(self, content: str, file_format: PatronFileFormat, **options: object) -> str:
        """Importing this is refused and the current snapshot stays as it was."""
        return refused_unchanged(self.store, lambda: self.load(content, file_format, **options))


@pytest.fixture
def snaps(tmp_path: Path) -> Store:
    return Store(tmp_path)


# A CSV through a column mapping -----------------------------------------------------------------


def test_a_koha_borrowers_export_imports_through_the_mapping(snaps: Store) -> None:
    report = snaps.load(koha_csv(KOHA_ROWS), KOHA_FORMAT)

    assert report.info.rows == 5
    assert report.info.mode is SnapshotMode.ALLOW
    assert report.counts.bad_rows == 0
    assert snaps.lookup(patron(1)) == PatronRecord(
        patron(1), "Ana Rivera", Decimal("0.00"), PatronStatus.OK, date(2099, 1, 1)
    )
    chidi = snaps.lookup(patron(2))
    assert chidi is not None
    assert (chidi.first_name, chidi.fines) == ("Chidi", Decimal("12.50"))
    omar = snaps.lookup(patron(3))
    ewa = snaps.lookup(patron(4))
    assert omar is not None and ewa is not None
    assert (omar.status, ewa.status) == (PatronStatus.LOST, PatronStatus.BLOCKED)
    john = snaps.lookup(patron(5))
    assert john is not None
    assert john.expires == date(2020, 1, 1)
    assert snaps.lookup("1001") is None  # borrowernumber is not a card number


def test_a_mapped_column_missing_from_the_header_refuses_the_file_naming_it(
    snaps: Store,
) -> None:
    snaps.load(koha_csv(KOHA_ROWS), KOHA_FORMAT)
    without = koha_csv(KOHA_ROWS).replace(",balance,", ",owed,")

    message = snaps.refused(without, KOHA_FORMAT)

    assert "'balance'" in message
    assert "snapshot.columns" in message
    # ... and the columns the file does have, so staff can fix the mapping.
    assert "borrowernumber, cardnumber, surname, firstname, dateexpiry, owed, status" in message
    still = snaps.lookup(patron(1))
    assert still is not None and still.name == "Ana Rivera"


def test_several_missing_columns_are_all_named(snaps: Store) -> None:
    message = snaps.refused(f"cardnumber,surname\n{patron(1)},Rivera\n", KOHA_FORMAT)
    for column in ("'balance'", "'dateexpiry'", "'firstname'", "'status'"):
        assert column in message


def test_header_names_are_matched_without_regard_to_case(snaps: Store) -> None:
    text = koha_csv(KOHA_ROWS).replace("cardnumber", "CardNumber").replace("surname", "SURNAME")
    report = snaps.load(text, KOHA_FORMAT)
    assert report.info.rows == 5


def test_an_unknown_status_word_is_a_bad_row(snaps: Store) -> None:
    rows = [*KOHA_ROWS, (6, "Lee", "Min", "2099-01-01", "0", "GONEAWAY")]
    report = snaps.load(koha_csv(rows), KOHA_FORMAT, max_bad_percent=50)
    assert report.counts.bad_rows == 1
    assert "goneaway" in report.counts.examples[0].problem
    assert report.counts.examples[0].line == 7
    assert snaps.lookup(patron(6)) is None


def test_a_polaris_style_report_with_us_dates(snaps: Store) -> None:
    layout = PatronLayout.mapped(
        barcode="Barcode", name=["Name"], expires="Expiration Date", date_format="%m/%d/%Y"
    )
    text = (
        "Barcode\tName\tExpiration Date\n"
        f"{patron(1)}\tRivera, Ana\t12/31/2027\n"
        f"{patron(2)}\tOkafor, Chidi\t\n"
    )
    report = snaps.load(text, PatronFileFormat(layout=layout))
    assert report.info.rows == 2
    ana = snaps.lookup(patron(1))
    assert ana is not None
    assert (ana.first_name, ana.expires) == ("Ana", date(2027, 12, 31))


def test_a_csv_can_be_a_deny_list_too(snaps: Store) -> None:
    deny = PatronFileFormat(PatronFileKind.CSV, SnapshotMode.DENY)
    report = snaps.load(f"barcode,status\n{patron(5)},lost\n{patron(4)},blocked\n", deny)
    assert report.info.mode is SnapshotMode.DENY
    assert report.info.contents == "deny list: 2 blocked cards"
    assert snaps.store.open_reader().mode is SnapshotMode.DENY


# Evergreen's block list: a deny list -------------------------------------------------------------


def test_a_block_list_imports_as_a_deny_list_and_records_its_mode(snaps: Store) -> None:
    report = snaps.load(blocklist({1: "L", 2: "B", 3: "D", 4: "E"}), BLOCKLIST)

    assert report.info.rows == 4
    assert report.info.mode is SnapshotMode.DENY
    assert report.info.contents == "deny list: 4 blocked cards"
    current = snaps.store.current()
    assert current is not None
    assert current.mode is SnapshotMode.DENY
    assert [snaps.lookup(patron(s)) for s in (1, 2, 3, 4)] == [
        PatronRecord(patron(1), status=PatronStatus.LOST),
        PatronRecord(patron(2), status=PatronStatus.BLOCKED),
        PatronRecord(patron(3), status=PatronStatus.BLOCKED),
        PatronRecord(patron(4), status=PatronStatus.EXPIRED),
    ]
    assert snaps.lookup(patron(9)) is None  # unlisted: card_record lets it borrow


def test_the_mode_is_written_in_the_snapshot_file_itself(snaps: Store) -> None:
    report = snaps.load(blocklist({1: "L"}), BLOCKLIST)
    conn = sqlite3.connect(f"file:{report.info.file}?mode=ro", uri=True)
    try:
        meta = dict(conn.execute("SELECT key, value FROM meta"))
    finally:
        conn.close()
    assert (meta["mode"], meta["kind"], meta["rows"]) == ("deny", "patrons", "1")


def test_a_snapshot_from_before_modes_reads_as_an_allow_list(snaps: Store) -> None:
    report = snaps.load(standard_csv(), PatronFileFormat())
    conn = sqlite3.connect(report.info.file)
    try:
        conn.execute("DELETE FROM meta WHERE key IN ('mode', 'kind')")
        conn.commit()
    finally:
        conn.close()
    current = snaps.store.current()
    assert current is not None
    assert (current.mode, current.contents) == (SnapshotMode.ALLOW, "8 patrons")


def test_a_card_listed_twice_keeps_its_most_serious_flag_in_any_order(snaps: Store) -> None:
    text = (
        f"{patron(1)} E\n{patron(1)} L\n{patron(1)} D\n"  # lost wins
        f"{patron(2)} E\n{patron(2)} B\n"  # barred beats expired
        f"{patron(3)} L\n{patron(3)} E\n"  # an earlier lost stays lost
    )
    report = snaps.load(text, BLOCKLIST)

    assert report.info.rows == 3
    assert report.counts.duplicates == 4
    statuses = [r.status for r in map(snaps.lookup, (patron(1), patron(2), patron(3))) if r]
    assert statuses == [PatronStatus.LOST, PatronStatus.BLOCKED, PatronStatus.LOST]


def test_a_card_with_a_flag_the_kiosk_does_not_know_is_refused_all_the_same(snaps: Store) -> None:
    # A list of cards to refuse fails closed: whatever its flag says, a listed card is
    # refused (as blocked, whatever the policy), and staff are told how many such lines.
    good = {s: "L" for s in range(1, 200)}
    lines = blocklist(good).splitlines()
    lines.insert(10, f"{patron(900)} X")  # an unknown flag: line 11
    lines.insert(50, "")  # a blank line is not a row
    lines.insert(100, f"{patron(901)}")  # no flag: line 101
    lines.insert(150, f"{patron(902)} L extra")  # more than a flag: line 151
    lines.insert(160, "not-a-card L")  # only this one is a bad row: no card to refuse
    text = "\n".join(lines) + "\n"

    report = snaps.load(text, BLOCKLIST, max_bad_percent=1.5)

    assert report.counts.rows_read == 203
    assert report.counts.bad_rows == 1
    assert report.counts.noted == 3
    assert report.info.noted == 3
    assert [b.line for b in report.counts.noted_examples] == [11, 101, 151]
    assert "flag 'X'" in report.counts.noted_examples[0].problem
    assert "refused as blocked" in report.counts.noted_examples[0].problem
    assert report.info.rows == 202
    for serial in (900, 901, 902):
        listed = snaps.lookup(patron(serial))
        assert listed is not None
        assert listed.status is PatronStatus.LISTED
        assert check_patron(listed, PatronPolicy(block_statuses=frozenset()), T0.date(), 0) is (
            PatronRefusal.BLOCKED
        )


def test_a_listed_card_that_does_not_fit_the_patron_rule_is_a_bad_row(snaps: Store) -> None:
    # A deny list that cannot be matched to scans would let that card through: counted.
    wrong = patron(7)[:-1] + str((int(patron(7)[-1]) + 1) % 10)
    report = snaps.load(blocklist({1: "L"}) + f"{wrong} L\n", BLOCKLIST, max_bad_percent=50)
    assert report.counts.bad_rows == 1
    assert "patron barcode rule" in report.counts.examples[0].problem


def test_too_many_bad_lines_refuse_the_list(snaps: Store) -> None:
    snaps.load(blocklist({1: "L", 2: "B"}), BLOCKLIST)
    text = blocklist({s: "L" for s in range(1, 99)}) + "garbage\nmore garbage here\n"
    message = snaps.refused(text, BLOCKLIST, max_bad_percent=1)
    assert "2 of 100 rows are bad" in message


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("", "no valid block list lines"),
        ("\n\n", "no valid block list lines"),
        (standard_csv(), "no valid block list lines"),  # a patron CSV given as a block list
        (blocklist({1: "L", 2: "E"}) + patron(3), "cut short"),  # the copy stopped mid-line
        (blocklist({1: "L"}).encode() + b"\xff\xfe L\n", "not UTF-8"),
        (blocklist({1: "L"}) + "21234\x00\x00 L\n", "garbled"),
    ],
    ids=["empty", "blank", "patron-csv", "cut-short", "not-utf8", "nul"],
)
def test_a_damaged_block_list_is_refused_and_the_old_one_stays(
    snaps: Store, content: str | bytes, words: str
) -> None:
    snaps.load(blocklist({s: "L" for s in range(1, 5)}), BLOCKLIST)
    message = snaps.refused(content, BLOCKLIST, max_bad_percent=100)  # type: ignore[arg-type]
    assert words in message
    still = snaps.lookup(patron(1))
    assert still is not None and still.status is PatronStatus.LOST


def test_a_block_list_without_a_final_newline_is_refused_unless_the_config_says(
    snaps: Store,
) -> None:
    # A deny list cut short has lost every card after the cut: refused, not read in part.
    message = snaps.refused(f"{patron(1)} L\r\n{patron(2)} E", BLOCKLIST)
    assert "has no line end" in message
    assert "ends_without_newline" in message

    writes_none = PatronFileFormat(
        BLOCKLIST.kind, BLOCKLIST.mode, text=TextFormat(ends_without_newline=True)
    )
    report = snaps.load(f"{patron(1)} L\r\n{patron(2)} E", writes_none)
    assert report.info.rows == 2


def test_a_block_list_with_crlf_line_ends_is_read(snaps: Store) -> None:
    report = snaps.load(f"{patron(1)} L\r\n{patron(2)} E\r\n", BLOCKLIST)
    assert report.info.rows == 2


def test_a_deny_list_that_shrinks_by_half_is_refused_like_any_snapshot(snaps: Store) -> None:
    snaps.load(blocklist({s: "L" for s in range(1, 11)}), BLOCKLIST)  # 10 cards
    smaller = blocklist({s: "L" for s in range(1, 5)})  # 4: less than half

    message = snaps.refused(smaller, BLOCKLIST)

    assert "4 blocked cards, less than half" in message
    assert "--allow-shrink" in message
    assert snaps.load(blocklist({s: "L" for s in range(1, 6)}), BLOCKLIST).info.rows == 5  # half
    assert snaps.load(smaller, BLOCKLIST, allow_shrink=True).info.rows == 4


def test_switching_between_allow_and_deny_lists_is_not_a_shrink(snaps: Store) -> None:
    # 8 patrons, then a deny list of 1: another kind of list, not a list cut short.
    snaps.load(standard_csv(), PatronFileFormat())
    report = snaps.load(blocklist({5: "L"}), BLOCKLIST)
    assert report.info.mode is SnapshotMode.DENY
    previous = snaps.store.previous()
    assert previous is not None and previous.mode is SnapshotMode.ALLOW
    # ... and rolling back brings the allow list back, mode and all.
    assert snaps.store.rollback().mode is SnapshotMode.ALLOW
    assert snaps.store.open_reader().mode is SnapshotMode.ALLOW


# Streaming: memory does not grow with the file ----------------------------------------------------


def _peak_import_memory(snaps: Store, rows: int) -> tuple[int, ImportReport]:
    path = snaps.inbox / f"koha-{rows}.csv"
    with path.open("w", encoding="utf-8") as handle:
        handle.write(KOHA_HEADER + "\n")
        handle.writelines(
            f"{s},{patron(s)},Surname{s},First{s},2099-01-01,{s % 20}.00,\n"
            for s in range(1, rows + 1)
        )
    exported_at(path, T0)
    tracemalloc.start()
    try:
        report = snaps.store.import_file(
            path,
            patron_rule=RULE,
            file_format=KOHA_FORMAT,
            now=T0 + timedelta(hours=rows),
            allow_shrink=True,
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, report


def test_a_mapped_import_streams_in_constant_memory(
    snaps: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small batches and reads, so a few thousand rows make many of each (and the test quick).
    monkeypatch.setattr(building, "BATCH_ROWS", 500)
    monkeypatch.setattr(textfile, "CHUNK", 1 << 16)
    _peak_import_memory(snaps, 10)  # the first import loads modules: not what is measured
    small_peak, small = _peak_import_memory(snaps, 5_000)
    big_peak, big = _peak_import_memory(snaps, 20_000)

    assert (small.info.rows, big.info.rows) == (5_000, 20_000)
    # Four times the rows, about the same peak: one batch at a time, never the whole file.
    assert big_peak < small_peak * 1.5, (small_peak, big_peak)


# Through the command line -------------------------------------------------------------------------


def test_cli_imports_a_block_list_and_info_shows_the_deny_list(home: KioskHome) -> None:
    source = home.root / "list.txt"
    source.write_text(blocklist({s: "L" for s in range(1, 1235)}), encoding="utf-8")

    imported = home.kiosk("snapshot", "import", "--format", "evergreen-blocklist", str(source))

    assert imported.returncode == 0, imported.stderr
    assert "Imported deny list: 1,234 blocked cards" in imported.stdout
    info = home.kiosk("snapshot", "info")
    assert info.returncode == 0, info.stderr
    assert "deny list: 1,234 blocked cards" in info.stdout
    assert "No item snapshot" in info.stdout


def test_cli_uses_the_configs_mapping(home: KioskHome) -> None:
    home.write_config(
        extra="""
[snapshot.columns]
barcode = "cardnumber"
name = ["firstname", "surname"]
expires = "dateexpiry"
fines = "balance"
status = "status"

[snapshot.status_values]
"LOST" = "lost"
"DEBARRED" = "blocked"
"""
    )
    source = home.root / "borrowers.csv"
    source.write_text(koha_csv(KOHA_ROWS), encoding="utf-8")
    imported = home.kiosk("snapshot", "import", str(source))
    assert imported.returncode == 0, imported.stderr
    assert "Imported 5 patrons" in imported.stdout

    ours = home.root / "patrons.csv"
    ours.write_text(standard_csv(), encoding="utf-8")
    refused = home.kiosk("snapshot", "import", str(ours))
    assert refused.returncode == 65
    assert "'cardnumber'" in refused.stderr
    assert "barcode, name, fines, status, expires" in refused.stderr
    assert "Traceback" not in refused.stderr
