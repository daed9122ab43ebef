"""How a big patron export is imported fast, and that fast changes nothing: a batch of rows
decoded column by column gives exactly what row-by-row decoding gives (or steps aside), an
export in any order gives the same snapshot, and bad rows keep their line numbers even
after names with line breaks. Real files and real SQLite files."""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.domain.barcodes import BarcodeRule, CheckDigit
from kiosk.domain.ils_files import (
    DEFAULT_LAYOUT,
    PatronFileFormat,
    PatronLayout,
    RowError,
    parse_patron_row,
)
from kiosk.domain.patrons import PatronStatus, SnapshotMode
from kiosk.errors import SnapshotError
from kiosk.storage import building
from kiosk.storage.patron_rows import PatronColumns, PatronRow, as_row
from kiosk.storage.snapshot import ImportReport, SnapshotStore
from tests.conftest import exported_at, patron

RULE = BarcodeRule(prefix="2", length=14, check_digit=CheckDigit.LUHN)
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
HEADER = ["barcode", "name", "fines", "status", "expires"]


# A batch at once gives what row by row gives ----------------------------------------------


def one_by_one(
    rows: list[list[str]], names: list[str], layout: PatronLayout = DEFAULT_LAYOUT
) -> list[PatronRow] | None:
    """What the row-by-row reading stores for these rows, or None if any row is bad."""
    out = []
    for fields in rows:
        if len(fields) != len(names):
            return None
        try:
            record = parse_patron_row(dict(zip(names, fields, strict=True)), layout=layout)
        except RowError:
            return None
        if not (RULE.has_shape(record.barcode) and RULE.check_ok(record.barcode)):
            return None
        out.append(as_row(record))
    return out


GOOD_BARCODES = st.integers(1, 10**8 - 1).map(patron)
BARCODES = st.one_of(
    GOOD_BARCODES,
    GOOD_BARCODES.map(lambda b: f" {b} "),  # good once stripped
    GOOD_BARCODES.map(lambda b: b[:-1] + str((int(b[-1]) + 1) % 10)),  # wrong check digit
    st.sampled_from(["", "   ", "2123 4000000018", "x" * 70, "21234000000018\x0b"]),
)
NAMES = st.one_of(
    st.sampled_from(["Rivera, Ana", "  Okafor, Chidi ", "", "García, Lucía", 'O"Brien']),
    st.text(max_size=12),  # now and then a control character
)
FINES = st.sampled_from(["0.00", "", "12.50", "1,234.50", "$4.00", "-3", "1,5", "abc", "0.005"])
STATUSES = st.sampled_from(["ok", "", "LOST", " blocked ", "expired", "wandering"])
EXPIRES = st.sampled_from(["2099-01-01", "", " 2027-03-04 ", "2026-02-30", "someday"])
ROWS = st.lists(
    st.one_of(
        st.tuples(BARCODES, NAMES, FINES, STATUSES, EXPIRES).map(list),
        st.sampled_from([[], [""], ["21234000000018", "too few"]]),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(rows=ROWS)
def test_a_batch_decodes_to_what_row_by_row_gives_or_steps_aside(rows: list[list[str]]) -> None:
    columns = PatronColumns(HEADER, DEFAULT_LAYOUT, RULE)
    expected = one_by_one(rows, HEADER)
    decoded = columns.decode(rows)
    if expected is None:
        assert decoded is None  # a bad row: row by row finds it and words it
    elif decoded is not None:
        assert decoded == expected
    # Decoded again (every distinct cell now remembered), the same answer.
    assert columns.decode(rows) == decoded


def test_plain_good_rows_take_the_fast_way() -> None:
    rows = [
        [patron(s), f"Patron, No. {s}", f"{s % 7}.25", ["ok", "LOST", ""][s % 3], "2099-01-01"]
        for s in range(1, 501)
    ]
    decoded = PatronColumns(HEADER, DEFAULT_LAYOUT, RULE).decode(rows)
    assert decoded is not None
    assert decoded == one_by_one(rows, HEADER)
    assert decoded[0] == (patron(1), "Patron, No. 1", 125, "lost", "2099-01-01")


def test_a_mapped_export_decodes_to_what_row_by_row_gives() -> None:
    names = ["borrowernumber", "cardnumber", "surname", "firstname", "dateexpiry", "balance"]
    layout = PatronLayout.mapped(
        barcode="cardnumber",
        name=["firstname", "surname"],
        expires="dateexpiry",
        fines="balance",
        date_format="%d/%m/%Y",
    )
    rows = [
        [str(s), patron(s), f"Surname{s}", "" if s % 5 else " ", "31/12/2027", f"{s}.50"]
        for s in range(1, 101)
    ]
    decoded = PatronColumns(names, layout, RULE).decode(rows)
    assert decoded is not None
    assert decoded == one_by_one(rows, names, layout)
    assert decoded[4] == (patron(5), "Surname5", 550, "ok", "2027-12-31")


def test_remembered_cells_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from kiosk.storage import patron_rows

    monkeypatch.setattr(patron_rows, "MAX_REMEMBERED", 10)
    columns = PatronColumns(HEADER, DEFAULT_LAYOUT, RULE)
    for start in range(0, 100, 20):
        rows = [[patron(s), "A", f"{s}.00", "ok", ""] for s in range(start + 1, start + 21)]
        assert columns.decode(rows) == one_by_one(rows, HEADER)
        assert len(columns.fines.known) <= 20  # one batch's worth at most


# Whole imports ------------------------------------------------------------------------------


class Store:
    def __init__(self, tmp_path: Path) -> None:
        self.store = SnapshotStore(tmp_path / "data")
        self.inbox = tmp_path / "inbox"
        self.inbox.mkdir()
        self.imports = 0

    def load(self, text: str, file_format: PatronFileFormat | None = None) -> ImportReport:
        self.imports += 1
        source = self.inbox / f"export-{self.imports}.csv"
        source.write_text(text, encoding="utf-8", newline="")
        exported_at(source, T0)
        return self.store.import_file(
            source,
            patron_rule=RULE,
            file_format=file_format,
            now=T0 + timedelta(minutes=self.imports),
            max_bad_percent=50,
            allow_shrink=True,
        )

    def table(self) -> list[tuple[object, ...]]:
        info = self.store.current()
        assert info is not None
        with sqlite3.connect(f"file:{info.file}?mode=ro", uri=True) as conn:
            return conn.execute("SELECT * FROM patrons ORDER BY barcode").fetchall()


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    monkeypatch.setattr(building, "BATCH_ROWS", 7)  # many batches from a few rows
    return Store(tmp_path)


def csv_text(lines: list[str], newline: str = "\n") -> str:
    return newline.join([",".join(HEADER), *lines]) + newline


def test_an_export_in_any_order_gives_the_same_snapshot(store: Store) -> None:
    lines = [f"{patron(s)},Patron {s},{s % 13}.00,ok,2099-01-01" for s in range(1, 301)]
    lines += [f"{patron(7)},Repeated Late,0,lost,", f"{patron(250)},Repeated Too,0,lost,"]
    in_order = store.load(csv_text(lines))
    sorted_table = store.table()
    shuffled = lines[:-2]
    random.Random(2026).shuffle(shuffled)
    # The repeats still come after the rows they repeat, so those rows' names stay; the
    # most restrictive values win whatever the order.
    out_of_order = store.load(csv_text([*shuffled, *lines[-2:]]))
    shuffled_all = list(lines)
    random.Random(2027).shuffle(shuffled_all)
    all_shuffled = store.load(csv_text(shuffled_all))

    assert store.table()[6][2:] == sorted_table[6][2:]
    assert (in_order.info.rows, in_order.counts.duplicates) == (300, 2)
    assert (out_of_order.info.rows, out_of_order.counts.duplicates) == (300, 2)
    assert (all_shuffled.counts.duplicates, all_shuffled.counts.conflicts) == (2, 2)
    assert sorted_table[6] == (patron(7), "Patron 7", 700, "lost", "2099-01-01")
    store.load(csv_text([*shuffled, *lines[-2:]]))
    assert store.table() == sorted_table


def test_a_repeated_card_is_resolved_the_same_when_the_order_breaks_later(
    store: Store,
) -> None:
    # In order for a few batches (straight into the table), then not (the staging table):
    # either way a repeat keeps the first row's name and the most restrictive values.
    lines = [f"{patron(s)},First {s},0,ok," for s in range(1, 40)]
    lines += [f"{patron(s)},Later {s},0,ok," for s in (90, 80, 70)]
    lines += [f"{patron(3)},Second 3,1.50,lost,", f"{patron(80)},Second 80,0,lost,2030-01-01"]
    report = store.load(csv_text(lines))

    table = {row[0]: row for row in store.table()}
    assert report.counts.duplicates == 2
    assert report.counts.conflicts == 2
    assert table[patron(3)] == (patron(3), "First 3", 150, "lost", None)
    assert table[patron(80)] == (patron(80), "Later 80", 0, "lost", "2030-01-01")


def test_a_deny_list_in_any_order_keeps_each_cards_most_serious_status(store: Store) -> None:
    deny = PatronFileFormat(mode=SnapshotMode.DENY)
    lines = [f"{patron(s)},,0,expired," for s in range(30, 0, -1)]  # descending: staging
    lines += [f"{patron(5)},,0,lost,", f"{patron(5)},,0,expired,", f"{patron(9)},,0,blocked,"]
    report = store.load(csv_text(lines), deny)

    statuses = {row[0]: row[3] for row in store.table()}
    assert report.info.mode is SnapshotMode.DENY
    assert statuses[patron(5)] == PatronStatus.LOST.value
    assert statuses[patron(9)] == PatronStatus.BLOCKED.value
    assert statuses[patron(1)] == PatronStatus.EXPIRED.value


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_bad_rows_keep_their_line_numbers_after_cells_with_line_breaks(
    store: Store, newline: str
) -> None:
    # An export with addresses: quoted cells that span lines. Line 1 is the header; a row
    # is reported by its last line, as the csv module counts them.
    lines = [
        f'{patron(1)},A,0,ok,,"12 Main St{newline}Springfield"',  # lines 2-3
        f"{patron(2)},B,0,ok,,",  # 4
        f'{patron(3)},C,0,ok,,"Flat 2{newline}9 Elm Rd{newline}Shelbyville"',  # 5-7
        f"{patron(4)},too few fields",  # 8: bad
        f"{patron(5)},E,0,ok,,",  # 9
        f"{patron(6)},F,0,wandering,,",  # 10: bad
        f'{patron(7)},"G{newline}H",0,ok,,',  # 11-12: bad (a name is one line)
        *(f"{patron(s)},N,0,ok,," for s in range(8, 20)),  # 13-24, in later batches
        f"{patron(20)},T,0,ok,someday,",  # 25: bad
    ]
    report = store.load(newline.join([",".join([*HEADER, "address"]), *lines]) + newline)

    assert [(bad.line, bad.problem[:8]) for bad in report.counts.examples] == [
        (8, "has 2 fi"),
        (10, "status '"),
        (12, "name con"),
        (25, "expires "),
    ]
    assert report.info.rows == 16


def test_bad_rows_scattered_through_big_batches_are_all_found_and_numbered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Batches big enough to be halved (and halved again) around each bad row.
    monkeypatch.setattr(building, "BATCH_ROWS", 200)
    store = Store(tmp_path)
    lines, bad_lines, line = [], [], 1
    for s in range(1, 1201):
        line += 1
        if s % 97 == 0:
            lines.append(f"{patron(s)},Bad,0,wandering,,")
            bad_lines.append(line)
        elif s % 45 == 0:
            lines.append(f'{patron(s)},N,0,ok,,"two\nlines"')
            line += 1
        else:
            lines.append(f"{patron(s)},N,0,ok,,")
    lines.append("")  # a blank line before the end is not a row
    report = store.load("\n".join([",".join([*HEADER, "address"]), *lines]) + "\n")

    assert [bad.line for bad in report.counts.examples] == bad_lines
    assert report.counts.rows_read == 1200
    assert report.info.rows == 1200 - len(bad_lines)


def test_a_nul_byte_before_a_garbled_quote_in_the_same_batch_is_what_is_reported(
    store: Store,
) -> None:
    text = csv_text([f"{patron(1)},A,0,ok,", f"{patron(2)},B\x00,0,ok,", f'{patron(3)},"C,0,ok,'])
    with pytest.raises(SnapshotError, match="line 3: the file is garbled \\(it contains NUL"):
        store.load(text)


def test_rows_before_a_garbled_line_are_judged_first(store: Store) -> None:
    # As when rows were read one at a time: the garbled line is the reason given.
    text = csv_text([f"{patron(1)},A,0,ok,", f'{patron(2)},"B,0,ok,', f"{patron(3)},C,0,ok,"])
    with pytest.raises(SnapshotError, match="the file is garbled"):
        store.load(text)
    assert store.store.current() is None
