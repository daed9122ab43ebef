"""The optional item snapshot: barcode, title, material type and status of the library's
items, so the station can show titles, give each material type its own loan period, and
refuse an item on hold for someone else or one that may not leave the building.

Imported and swapped in like the patron snapshot (streamed, atomic, the previous one kept, a
refused file changes nothing), into its own folder beside it. Without one the kiosk lends
exactly as it does with none: titles are not shown, every item has the normal loan period
and no item is refused for its status.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from kiosk.domain.barcodes import BarcodeRule
from kiosk.domain.ils_files import ITEM_COLUMNS, RowError, TextFormat, parse_item_row
from kiosk.domain.items import ItemRecord, ItemStatus
from kiosk.domain.patrons import SnapshotMode
from kiosk.errors import SnapshotError
from kiosk.storage.bulk import Chunk, Parsed, Table, chunks_of
from kiosk.storage.db import HeldConnections, database_errors, sqlite_engine
from kiosk.storage.swap import (
    ImportReport,
    Progress,
    Recipe,
    SnapshotInfo,
    SwappedStore,
    column_list,
)
from kiosk.storage.textfile import Row, SourceFile, csv_rows, read_header

_AVAILABLE = ItemStatus.AVAILABLE.value
# Files from before item statuses have neither column: every item in them reads as available.
ITEMS = Table[ItemRecord](
    "items",
    "CREATE TABLE items (barcode TEXT PRIMARY KEY, title TEXT NOT NULL, "
    f"material TEXT NOT NULL, status TEXT NOT NULL DEFAULT '{_AVAILABLE}', "
    "hold_for TEXT NOT NULL DEFAULT '') WITHOUT ROWID",
    "INSERT INTO items",
    lambda item: (item.barcode, item.title, item.material, item.status.value, item.hold_for),
    # A repeated barcode: the first row stays, but a status that refuses the item wins over
    # available (an export joined with holds lists an item once for each hold).
    on_conflict=(
        "ON CONFLICT (barcode) DO UPDATE SET status = excluded.status, "
        f"hold_for = excluded.hold_for WHERE items.status = '{_AVAILABLE}' "
        f"AND excluded.status <> '{_AVAILABLE}'"
    ),
)


def _csv_items(
    rule: BarcodeRule,
    status_values: tuple[tuple[str, ItemStatus], ...],
    columns: Mapping[str, str],
) -> Recipe[ItemRecord]:
    def read(source: SourceFile, handle: io.TextIOWrapper, batch_rows: int) -> Iterator[Chunk]:
        delimiter, names = read_header(handle, source)
        names = _our_names(names, columns, source)
        if "barcode" not in names:
            raise SnapshotError(
                f"{source.path}: the first line must be a header with a 'barcode' column "
                f"(and title, material, status, hold_for); found: {column_list(names, 200)}"
            )
        rows = csv_rows(handle, delimiter, names, frozenset(ITEM_COLUMNS), batch_rows)
        yield from chunks_of(_items(rows, rule, status_values), ITEMS.values, batch_rows)

    return Recipe(ITEMS, read, "items", SnapshotMode.ALLOW, "item rows")


def _our_names(names: list[str], columns: Mapping[str, str], source: SourceFile) -> list[str]:
    """The header under our column names: each column `columns` maps (ours -> the file's
    name, any case) read as ours, and a column with one of our names that `columns` gives to
    another of the file's columns left unread. A mapped column must be in the file."""
    theirs = {name.strip().lower(): ours for ours, name in columns.items()}
    missing = [
        f"{ours} = {name!r}" for ours, name in columns.items() if name.strip().lower() not in names
    ]
    if missing:
        raise SnapshotError(
            f"{source.path}: has no column {', '.join(missing)} (items.columns); "
            f"found: {column_list(names, 200)}"
        )
    return [theirs.get(name, "" if name in columns else name) for name in names]


def _items(
    rows: Iterator[tuple[int, Row | None, str]],
    rule: BarcodeRule,
    status_values: tuple[tuple[str, ItemStatus], ...],
) -> Parsed[ItemRecord]:
    """Each row as an item (and a note when its status is unknown), or why it is not one."""
    for line, row, problem in rows:
        if row is None:
            yield line, None, problem
            continue
        try:
            item, note = parse_item_row(row, status_values=status_values)
            if not (rule.has_shape(item.barcode) and rule.check_ok(item.barcode)):
                raise RowError(
                    f"barcode {item.barcode[:20]!r} does not fit the item barcode rule in "
                    "the config"
                )
        except RowError as exc:
            yield line, None, str(exc)
            continue
        yield line, item, note


@database_errors("the item snapshot cannot be used")
class ItemStore(SwappedStore):
    """The item snapshot folder of one kiosk (data_dir/items)."""

    prefix = "items"
    missing = "no item snapshot has been imported (kiosk snapshot import-items FILE)"

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir / "items")

    def open_reader(self) -> ItemReader:
        return ItemReader(self._current_or_refuse())

    def import_csv(
        self,
        source: Path,
        *,
        item_rule: BarcodeRule,
        built_at: datetime | None = None,
        now: datetime,
        max_bad_percent: float = 1.0,
        allow_shrink: bool = False,
        progress: Progress | None = None,
        text: TextFormat | None = None,
        status_values: Mapping[str, ItemStatus] | None = None,
        columns: Mapping[str, str] | None = None,
    ) -> ImportReport:
        """Import an item CSV (barcode, title, material, status, hold_for) and swap it in.
        `status_values`: the library system's own status words and the statuses they mean;
        `columns`: our column names and the export's names for them."""
        words = tuple(
            sorted((" ".join(w.split()).casefold(), s) for w, s in (status_values or {}).items())
        )
        return self._import(
            source,
            _csv_items(item_rule, words, columns or {}),
            built_at=built_at,
            now=now,
            max_bad_percent=max_bad_percent,
            allow_shrink=allow_shrink,
            progress=progress,
            text=text,
        )


@database_errors("the item snapshot cannot be read")
class ItemReader:
    """Lookups in one item snapshot file, opened read-only."""

    def __init__(self, info: SnapshotInfo) -> None:
        self.info = info
        self._engine: Engine = sqlite_engine(info.file, mode="readonly")
        self._db = HeldConnections(self._engine, durable=False)
        try:
            columns = {r[1] for r in self._db.rows("PRAGMA table_info(items)")}
        except BaseException:
            self.close()
            raise
        # A file from before item statuses: every item in it is available.
        status = "status, hold_for" if "status" in columns else f"'{_AVAILABLE}', ''"
        select = f"SELECT barcode, title, material, {status} FROM items"  # noqa: S608 (constants)
        self._select = select + " WHERE barcode = ?"

    def lookup(self, barcode: str) -> ItemRecord | None:
        found = self._db.rows(self._select, (barcode,))
        if not found:
            return None
        row = found[0]
        try:
            status = ItemStatus(row[3])
        except ValueError:  # written by a newer kiosk: refused, never guessed available
            status = ItemStatus.UNKNOWN
        return ItemRecord(row[0], row[1], row[2], status, row[4])

    def close(self) -> None:
        self._db.close()
        self._engine.dispose()
