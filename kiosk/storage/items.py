"""The optional item snapshot: barcode, title and material type of the library's items, so the
station can show titles and give each material type its own loan period.

Imported and swapped in like the patron snapshot (streamed, atomic, the previous one kept, a
refused file changes nothing), into its own folder beside it. Without one the kiosk lends
exactly as it does with none: titles are not shown and every item has the normal loan period.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from kiosk.domain.barcodes import BarcodeRule
from kiosk.domain.ils_files import ITEM_COLUMNS, RowError, TextFormat, parse_item_row
from kiosk.domain.items import ItemRecord
from kiosk.domain.patrons import SnapshotMode
from kiosk.errors import SnapshotError
from kiosk.storage.bulk import Chunk, Parsed, Table, chunks_of
from kiosk.storage.db import sqlite_engine
from kiosk.storage.swap import (
    ImportReport,
    Progress,
    Recipe,
    SnapshotInfo,
    SwappedStore,
    column_list,
)
from kiosk.storage.textfile import Row, SourceFile, csv_rows, read_header

ITEMS = Table[ItemRecord](
    "items",
    "CREATE TABLE items (barcode TEXT PRIMARY KEY, title TEXT NOT NULL, "
    "material TEXT NOT NULL) WITHOUT ROWID",
    "INSERT OR IGNORE INTO items",  # a repeated barcode: the first row stays
    lambda item: (item.barcode, item.title, item.material),
)


def _csv_items(rule: BarcodeRule) -> Recipe[ItemRecord]:
    def read(source: SourceFile, handle: io.TextIOWrapper, batch_rows: int) -> Iterator[Chunk]:
        delimiter, names = read_header(handle, source)
        if "barcode" not in names:
            raise SnapshotError(
                f"{source.path}: the first line must be a header with a 'barcode' column "
                f"(and title, material); found: {column_list(names, 200)}"
            )
        rows = csv_rows(handle, delimiter, names, frozenset(ITEM_COLUMNS), batch_rows)
        yield from chunks_of(_items(rows, rule), ITEMS.values, batch_rows)

    return Recipe(ITEMS, read, "items", SnapshotMode.ALLOW, "item rows")


def _items(rows: Iterator[tuple[int, Row | None, str]], rule: BarcodeRule) -> Parsed[ItemRecord]:
    """Each row as an item, or why it is not one."""
    for line, row, problem in rows:
        if row is None:
            yield line, None, problem
            continue
        try:
            item = parse_item_row(row)
            if not (rule.has_shape(item.barcode) and rule.check_ok(item.barcode)):
                raise RowError(
                    f"barcode {item.barcode[:20]!r} does not fit the item barcode rule in "
                    "the config"
                )
        except RowError as exc:
            yield line, None, str(exc)
            continue
        yield line, item, ""


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
    ) -> ImportReport:
        """Import an item CSV (barcode, title, material) and swap it in."""
        return self._import(
            source,
            _csv_items(item_rule),
            built_at=built_at,
            now=now,
            max_bad_percent=max_bad_percent,
            allow_shrink=allow_shrink,
            progress=progress,
            text=text,
        )


class ItemReader:
    """Lookups in one item snapshot file, opened read-only."""

    def __init__(self, info: SnapshotInfo) -> None:
        self.info = info
        self._engine: Engine = sqlite_engine(info.file, mode="readonly")
        self._conn = self._engine.connect()

    def lookup(self, barcode: str) -> ItemRecord | None:
        row = self._conn.exec_driver_sql(
            "SELECT barcode, title, material FROM items WHERE barcode = ?", (barcode,)
        ).first()
        self._conn.rollback()
        if row is None:
            return None
        return ItemRecord(barcode=row[0], title=row[1], material=row[2])

    def close(self) -> None:
        self._conn.close()
        self._engine.dispose()
