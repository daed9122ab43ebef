"""The optional item snapshot: imported like the patron snapshot (streamed, swapped in
atomically, the previous one kept, refusals change nothing), in its own folder beside it."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kiosk.domain.barcodes import BarcodeRule, CheckDigit
from kiosk.domain.items import ItemRecord, ItemStatus
from kiosk.errors import InputFileError, NoSnapshotError
from kiosk.storage.items import ItemStore
from kiosk.storage.snapshot import ImportReport, SnapshotStore
from tests.conftest import KioskHome, exported_at, item, patron, standard_csv
from tests.storage.conftest import refused_unchanged

RULE = BarcodeRule(prefix="3", length=14, check_digit=CheckDigit.LUHN)
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def items_csv(serials: range | list[int], header: str = "barcode,title,material") -> str:
    lines = [header]
    lines += [f'{item(s)},"Title No. {s}, a novel",{"DVD" if s % 2 else "BOOK"}' for s in serials]
    return "\n".join(lines) + "\n"


class Items:
    def __init__(self, tmp_path: Path) -> None:
        self.data_dir = tmp_path / "data"
        self.store = ItemStore(self.data_dir)
        self.inbox = tmp_path / "inbox"
        self.inbox.mkdir()
        self.imports = 0

    def load(self, content: str | bytes, **options: object) -> ImportReport:
        self.imports += 1
        path = self.inbox / f"items-{self.imports}.csv"
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        exported_at(path, T0 - timedelta(hours=1))
        options.setdefault("now", T0 + timedelta(minutes=self.imports))
        return self.store.import_csv(path, item_rule=RULE, **options)  # type: ignore[arg-type]

    def lookup(self, barcode: str) -> ItemRecord | None:
        reader = self.store.open_reader()
        try:
            return reader.lookup(barcode)
        finally:
            reader.close()

    def refused(self, content: str | bytes, **options: object) -> str:
        return refused_unchanged(self.store, lambda: self.load(content, **options))


@pytest.fixture
def items(tmp_path: Path) -> Items:
    return Items(tmp_path)


def test_an_item_list_imports_and_items_can_be_looked_up(items: Items) -> None:
    report = items.load(items_csv(range(1, 11)))

    assert report.info.rows == 10
    assert report.info.kind == "items"
    assert report.info.contents == "10 items"
    assert items.lookup(item(1)) == ItemRecord(item(1), "Title No. 1, a novel", "dvd")
    assert items.lookup(item(2)) == ItemRecord(item(2), "Title No. 2, a novel", "book")
    assert items.lookup(item(99)) is None


def test_columns_in_any_order_and_case_tabs_and_extra_columns(items: Items) -> None:
    text = f"Material\tCallNumber\tBARCODE\tTitle\nDVD\tF MIY\t{item(1)}\tSpirited away /\n"
    items.load(text)
    assert items.lookup(item(1)) == ItemRecord(item(1), "Spirited away", "dvd")


def test_title_and_material_are_optional(items: Items) -> None:
    items.load(f"barcode\n{item(1)}\n")
    assert items.lookup(item(1)) == ItemRecord(item(1))


def test_it_lives_beside_the_patron_snapshot_and_does_not_touch_it(items: Items) -> None:
    patrons = SnapshotStore(items.data_dir)
    source = items.inbox / "patrons.csv"
    source.write_text(standard_csv(), encoding="utf-8")
    exported_at(source, T0)
    patrons.import_csv(source, patron_rule=BarcodeRule("2", 14, None, CheckDigit.LUHN), now=T0)

    items.load(items_csv(range(1, 4)))

    assert items.store.folder.parent == patrons.folder.parent == items.data_dir
    assert items.store.folder != patrons.folder
    current = patrons.current()
    assert current is not None and current.rows == 8
    reader = patrons.open_reader()
    try:
        assert reader.lookup(patron(1)) is not None
    finally:
        reader.close()


def test_bad_rows_are_skipped_and_counted(items: Items) -> None:
    wrong = item(7)[:-1] + str((int(item(7)[-1]) + 1) % 10)
    text = (
        items_csv(range(1, 11))
        + f"{wrong},Misread,BOOK\n{patron(1)},A card,BOOK\n{item(50)},short\n"
    )

    report = items.load(text, max_bad_percent=50)

    assert report.counts.bad_rows == 3
    problems = [b.problem for b in report.counts.examples]
    assert "item barcode rule" in problems[0]
    assert "item barcode rule" in problems[1]
    assert "fields" in problems[2]
    assert report.info.rows == 10


def test_a_repeated_barcode_keeps_the_first_row(items: Items) -> None:
    report = items.load(f"barcode,title,material\n{item(1)},First,dvd\n{item(1)},Second,book\n")
    assert report.counts.duplicates == 1
    assert items.lookup(item(1)) == ItemRecord(item(1), "First", "dvd")


KOHA_WORDS = {"Waiting": ItemStatus.ON_HOLD, "Reference": ItemStatus.NOT_FOR_LOAN}
HELD = ItemStatus.ON_HOLD


def test_statuses_and_holds_import_with_the_library_systems_words(items: Items) -> None:
    text = (
        "barcode,title,material,status,hold_for\n"
        f"{item(1)},Spirited away,DVD,,\n"
        f"{item(2)},The Hobbit,BOOK,waiting,{patron(1)}\n"
        f"{item(3)},Atlas,BOOK,REFERENCE,\n"
        f"{item(4)},Dune,BOOK,in transit,\n"
        f"{item(5)},Emma,BOOK,lost,\n"
        f"{item(6)},Ulysses,BOOK,missing,\n"
        f"{item(7)},Ivanhoe,BOOK,Damaged,\n"
        f"{item(8)},Beloved,BOOK,,{patron(2)}\n"
    )

    report = items.load(text, status_values=KOHA_WORDS)

    assert (report.info.rows, report.counts.bad_rows) == (8, 0)
    assert report.counts.noted == report.info.noted == 1  # Damaged: refused, and said
    assert report.counts.noted_examples[0].line == 8
    assert "'Damaged' is not one the kiosk knows" in report.counts.noted_examples[0].problem
    assert items.lookup(item(1)) == ItemRecord(item(1), "Spirited away", "dvd")
    assert items.lookup(item(2)) == ItemRecord(item(2), "The Hobbit", "book", HELD, patron(1))
    statuses = {serial: items.lookup(item(serial)) for serial in range(3, 9)}
    assert {serial: r.status for serial, r in statuses.items() if r} == {
        3: ItemStatus.NOT_FOR_LOAN,
        4: ItemStatus.IN_TRANSIT,
        5: ItemStatus.LOST,
        6: ItemStatus.MISSING,
        7: ItemStatus.UNKNOWN,
        8: ItemStatus.ON_HOLD,  # a holder and no status
    }


def test_the_config_can_name_the_exports_own_columns(items: Items) -> None:
    text = (
        "Item Barcode,Title,itype,status,notforloan,reserved_for\n"
        f"{item(1)},Dune,BOOK,available,Reference,{patron(1)}\n"
    )
    columns = {"barcode": "ITEM BARCODE", "material": "itype", "status": "notforloan"}

    items.load(text, columns=columns, status_values={"reference": ItemStatus.NOT_FOR_LOAN})

    # The file's own "status" column is not read: the config gives status to notforloan.
    assert items.lookup(item(1)) == ItemRecord(item(1), "Dune", "book", ItemStatus.NOT_FOR_LOAN)
    message = items.refused(text, columns={"hold_for": "holder"})
    assert "has no column hold_for = 'holder' (items.columns)" in message
    assert "found: item barcode, title, itype" in message


def test_a_repeated_barcode_keeps_a_status_that_refuses_it(items: Items) -> None:
    """An export joined with holds lists an item once per hold: held wins over available."""
    text = (
        "barcode,title,status,hold_for\n"
        f"{item(3)},Third,,\n"
        f"{item(1)},First,,\n"
        f"{item(1)},Again,on_hold,{patron(1)}\n"
        f"{item(1)},Once more,on_hold,{patron(2)}\n"
        f"{item(2)},Second,lost,\n"
        f"{item(2)},Second,,\n"
    )

    report = items.load(text)

    assert report.counts.duplicates == 3
    assert items.lookup(item(1)) == ItemRecord(item(1), "First", "", HELD, patron(1))
    assert items.lookup(item(2)) == ItemRecord(item(2), "Second", "", ItemStatus.LOST)


def test_an_item_snapshot_from_before_statuses_still_reads_every_item_as_available(
    items: Items,
) -> None:
    """The file the previous version built: no status or hold_for column in its table."""
    info = items.load(items_csv(range(1, 5))).info
    with closing(sqlite3.connect(info.file)) as db:
        db.execute("ALTER TABLE items DROP COLUMN hold_for")
        db.execute("ALTER TABLE items DROP COLUMN status")
        columns = [row[1] for row in db.execute("PRAGMA table_info(items)")]
    assert columns == ["barcode", "title", "material"]

    assert items.store.current() == info
    assert items.lookup(item(1)) == ItemRecord(item(1), "Title No. 1, a novel", "dvd")
    assert items.lookup(item(9)) is None


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("title,material\nThe Hobbit,book\n", "'barcode' column"),
        ("barcode,title,material\n", "no valid item rows"),
        (b"", "'barcode' column"),
        (items_csv(range(1, 5)).encode("utf-8") + "Café,x\n".encode("latin-1"), "not UTF-8"),
        (items_csv(range(1, 5)).replace("Title No. 2", "Tit\x00le"), "garbled"),
        (items_csv(range(1, 5)).rsplit(",", 1)[0], "cut short"),  # stops after the title
    ],
    ids=["no-barcode", "header-only", "empty", "not-utf8", "nul", "cut-short"],
)
def test_a_bad_file_is_refused_and_the_current_list_stays(
    items: Items, content: str | bytes, words: str
) -> None:
    items.load(items_csv(range(1, 5)))
    assert words in items.refused(content, max_bad_percent=100)
    assert items.lookup(item(1)) is not None


def test_a_list_with_less_than_half_the_items_is_refused_unless_allowed(items: Items) -> None:
    items.load(items_csv(range(1, 11)))

    message = items.refused(items_csv(range(1, 5)))

    assert "4 items, less than half" in message
    assert items.load(items_csv(range(1, 5)), allow_shrink=True).info.rows == 4


def test_a_missing_file_is_an_input_file_error(items: Items) -> None:
    with pytest.raises(InputFileError, match="not found"):
        items.store.import_csv(items.inbox / "nope.csv", item_rule=RULE, now=T0)


def test_rollback_brings_the_previous_list_back(items: Items) -> None:
    first = items.load(items_csv(range(1, 5))).info
    second = items.load(items_csv(range(101, 105))).info
    assert items.lookup(item(1)) is None

    assert items.store.rollback() == first
    assert items.lookup(item(1)) is not None
    assert items.store.previous() == second
    files = {p.name for p in items.store.folder.glob("items-*.db")}
    assert files == {first.file.name, second.file.name}


def test_no_item_snapshot_yet(items: Items) -> None:
    assert items.store.current() is None
    assert items.store.pointer_stamp() == 0
    with pytest.raises(NoSnapshotError, match="import-items"):
        items.store.open_reader()


@pytest.fixture
def private_umask() -> Iterator[None]:
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.usefixtures("private_umask")
def test_item_snapshots_are_readable_by_the_kiosk_user_only(items: Items) -> None:
    items.load(items_csv(range(1, 5)))
    items.load(items_csv(range(1, 5)))

    assert items.store.folder.stat().st_mode & 0o777 == 0o700
    files = list(items.store.folder.iterdir())
    assert len(files) == 3  # the pointer, the current and the previous list
    for path in files:
        assert path.stat().st_mode & 0o777 == 0o600, path.name


def test_cli_import_items_info_and_rollback(home: KioskHome) -> None:
    source = home.root / "items.csv"
    source.write_text(items_csv(range(1, 21)), encoding="utf-8")
    home.import_standard_snapshot()

    imported = home.kiosk("snapshot", "import-items", str(source), "--built-at", "2026-11-20T06:00")
    assert imported.returncode == 0, imported.stderr
    assert "Imported 20 items" in imported.stdout
    info = home.kiosk("snapshot", "info")
    assert "Item snapshot:" in info.stdout
    assert "items:    20" in info.stdout
    assert "patrons:  8" in info.stdout

    bad = home.root / "bad.csv"
    bad.write_text("barcode,title\n", encoding="utf-8")
    refused = home.kiosk("snapshot", "import-items", str(bad))
    assert refused.returncode == 65
    assert "no valid item rows" in refused.stderr

    smaller = home.root / "smaller.csv"
    smaller.write_text(items_csv(range(1, 16)), encoding="utf-8")
    assert home.kiosk("snapshot", "import-items", str(smaller)).returncode == 0
    rolled = home.kiosk("snapshot", "rollback-items")
    assert rolled.returncode == 0, rolled.stderr
    assert "(20 items)" in rolled.stdout
    audit = home.kiosk("audit", "show")
    assert "snapshot.import_items" in audit.stdout


def test_cli_info_with_a_damaged_item_snapshot_still_shows_the_patron_snapshot(
    home: KioskHome,
) -> None:
    home.import_standard_snapshot()
    source = home.root / "items.csv"
    source.write_text(items_csv(range(1, 5)), encoding="utf-8")
    assert home.kiosk("snapshot", "import-items", str(source)).returncode == 0
    (home.data_dir / "items" / "current.json").write_text("{damaged", encoding="utf-8")

    info = home.kiosk("snapshot", "info")

    assert info.returncode == 0, info.stderr
    assert "patrons:  8" in info.stdout
    assert "Item snapshot: cannot be read" in info.stdout
