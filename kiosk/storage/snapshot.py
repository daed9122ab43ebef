"""The patron snapshot, built from the library system's export: an allow list (the patrons who
may borrow, with fines, status and expiry) or a deny list (the cards that may not).

Each import streams the file into a new SQLite file beside the current one (a snapshot of
millions of patrons never has to fit in memory) and swaps it in atomically; the previous one
is kept for `kiosk snapshot rollback`. A refused file leaves the current snapshot untouched.
The file records its mode, so a lookup is one indexed query either way.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine

from kiosk.domain.barcodes import BarcodeRule
from kiosk.domain.ils_files import (
    DEFAULT_LAYOUT,
    PatronFileFormat,
    PatronFileKind,
    PatronLayout,
    RowError,
    parse_blocklist_line,
    parse_denied_row,
    parse_patron_row,
)
from kiosk.domain.patrons import MOST_RESTRICTIVE_FIRST, PatronRecord, PatronStatus, SnapshotMode
from kiosk.errors import SnapshotError
from kiosk.storage.bulk import BadRow, Chunk, Parsed, Table, chunks_of
from kiosk.storage.db import HeldConnections, database_errors, sqlite_engine
from kiosk.storage.patron_rows import PatronColumns, as_row
from kiosk.storage.swap import (
    ImportCounts,
    ImportReport,
    Progress,
    Recipe,
    SnapshotInfo,
    SwappedStore,
    column_list,
    read_info,
)
from kiosk.storage.textfile import (
    Batch,
    Row,
    SourceFile,
    checked_rows,
    csv_batches,
    plain_lines,
    read_header,
)

# What this module offers, some of it from the machinery it shares with the item snapshot.
__all__ = [
    "BadRow",
    "ImportCounts",
    "ImportReport",
    "SnapshotInfo",
    "SnapshotReader",
    "SnapshotStore",
    "read_info",
]

_CREATE = (
    "CREATE TABLE patrons (barcode TEXT PRIMARY KEY, name TEXT NOT NULL, "
    "fines_cents INTEGER NOT NULL, status TEXT NOT NULL, expires TEXT) WITHOUT ROWID"
)


def _severity(column: str) -> str:
    ranks = " ".join(
        f"WHEN '{status.value}' THEN {len(MOST_RESTRICTIVE_FIRST) - i}"
        for i, status in enumerate(MOST_RESTRICTIVE_FIRST)
    )
    return f"(CASE {column} {ranks} ELSE 0 END)"


_STATUS = (
    f"status = CASE WHEN {_severity('excluded.status')} > {_severity('patrons.status')} "
    "THEN excluded.status ELSE patrons.status END"
)
# A card listed twice keeps the most restrictive of its rows, whatever their order: the
# most serious status, the highest fines, the earliest expiry (a date over none). The name
# is the first row's. Only a row that disagrees with the stored one updates it, so each
# update is a conflict (counted: see Table.counts_conflicts); a plain repeat changes nothing.
ALLOWED = Table[PatronRecord](
    "patrons",
    _CREATE,
    "INSERT INTO patrons",
    as_row,
    on_conflict=f"ON CONFLICT (barcode) DO UPDATE SET {_STATUS}, "
    "fines_cents = MAX(patrons.fines_cents, excluded.fines_cents), "
    "expires = CASE WHEN patrons.expires IS NULL THEN excluded.expires "
    "WHEN excluded.expires IS NULL THEN patrons.expires "
    "ELSE MIN(patrons.expires, excluded.expires) END "
    "WHERE excluded.status IS NOT patrons.status "
    "OR excluded.fines_cents IS NOT patrons.fines_cents "
    "OR excluded.expires IS NOT patrons.expires",
    counts_conflicts=True,
)
# A deny list keeps the most serious status of a card listed twice: a card listed both as
# expired and as lost is refused as lost, whatever the order.
DENIED = Table[PatronRecord](
    "patrons",
    _CREATE,
    "INSERT INTO patrons",
    as_row,
    on_conflict=f"ON CONFLICT (barcode) DO UPDATE SET {_STATUS} "
    "WHERE excluded.status IS NOT patrons.status",
    counts_conflicts=True,
)


def _fits(rule: BarcodeRule, barcode: str) -> None:
    if not (rule.has_shape(barcode) and rule.check_ok(barcode)):
        raise RowError(
            f"barcode {barcode[:20]!r} does not fit the patron barcode rule in the config"
        )


# A batch with a bad row is halved until it is this small, then read row by row.
ROW_BY_ROW = 16


def _csv_patrons(
    rule: BarcodeRule, layout: PatronLayout, mode: SnapshotMode
) -> Recipe[PatronRecord]:
    deny = mode is SnapshotMode.DENY

    def read(source: SourceFile, handle: io.TextIOWrapper, batch_rows: int) -> Iterator[Chunk]:
        delimiter, names = read_header(handle, source)
        missing = layout.missing(names)
        if missing and layout == DEFAULT_LAYOUT:
            raise SnapshotError(
                f"{source.path}: the first line must be a header with a 'barcode' column "
                f"(found: {column_list(names, 200)})"
            )
        if missing:
            columns = ", ".join(repr(m) for m in missing)
            raise SnapshotError(
                f"{source.path}: the header has no {columns} column (snapshot.columns in the "
                f"config names it); the file's columns are: {column_list(names)}"
            )
        alike = layout.look_alikes(names)
        if alike:
            cell, column = alike[0]
            raise SnapshotError(
                f"{source.path}: the header has a column {cell!r} where {column!r} was expected: "
                "the file is damaged or its columns are misspelt (reading it would lose every "
                f"patron's {column}; if {cell!r} is right, name it in [snapshot.columns]). "
                f"The file's columns are: {column_list(names)}"
            )
        # A file with a NUL byte anywhere is read row by row, which refuses it at that row.
        decoder = None if source.has_nul else PatronColumns(names, layout, rule, deny=deny)
        for batch in csv_batches(handle, delimiter, batch_rows):
            yield from _chunks(batch, names, decoder)

    def _chunks(batch: Batch, names: list[str], decoder: PatronColumns | None) -> Iterator[Chunk]:
        """A batch decoded at once if every row in it is good. Else it is halved, and halved
        again, down to a few rows read one by one: a few bad rows scattered through an
        export cost a few small batches, not the speed of the whole import."""
        values = decoder.decode(batch.rows) if decoder is not None else None
        if values is not None:
            yield Chunk(values, rows=len(batch.rows))
        elif decoder is None or len(batch.rows) <= ROW_BY_ROW:
            one_by_one = _patron_rows(checked_rows(batch, names, layout.columns()))
            yield from chunks_of(one_by_one, as_row, len(batch.rows))
        else:
            for half in batch.halves():
                yield from _chunks(half, names, decoder)

    def _patron_rows(rows: Iterator[tuple[int, Row | None, str]]) -> Parsed[PatronRecord]:
        for line, row, problem in rows:
            if row is None:
                yield line, None, problem
                continue
            note = ""
            try:
                if deny:
                    record, note = parse_denied_row(row, layout=layout)
                else:
                    record = parse_patron_row(row, layout=layout)
                _fits(rule, record.barcode)
            except RowError as exc:
                yield line, None, str(exc)
                continue
            yield line, record, note

    table = DENIED if deny else ALLOWED
    return Recipe(table, read, "patrons", mode, "patron rows")


def _blocklist(rule: BarcodeRule) -> Recipe[PatronRecord]:
    def read(source: SourceFile, handle: io.TextIOWrapper, batch_rows: int) -> Iterator[Chunk]:
        yield from chunks_of(_lines(handle), as_row, batch_rows)

    def _lines(handle: io.TextIOWrapper) -> Parsed[PatronRecord]:
        for line, text in plain_lines(handle):
            try:
                record, note = parse_blocklist_line(text)
                _fits(rule, record.barcode)
            except RowError as exc:
                yield line, None, str(exc)
                continue
            yield line, record, note

    return Recipe(DENIED, read, "patrons", SnapshotMode.DENY, "block list lines")


@database_errors("the patron snapshot cannot be used")
class SnapshotStore(SwappedStore):
    """The snapshots folder of one kiosk: the current snapshot, the previous one, the pointer."""

    prefix = "snapshot"
    missing = "no patron snapshot has been imported yet (kiosk snapshot import FILE)"

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir / "snapshots")

    def open_reader(self) -> SnapshotReader:
        return SnapshotReader(self._current_or_refuse())

    def import_file(
        self,
        source: Path,
        *,
        patron_rule: BarcodeRule,
        file_format: PatronFileFormat | None = None,
        built_at: datetime | None = None,
        now: datetime,
        max_bad_percent: float = 1.0,
        allow_shrink: bool = False,
        progress: Progress | None = None,
        verify: Callable[[str], None] | None = None,
    ) -> ImportReport:
        """Import a patron export in the given format (default: CSV with our own column
        names, an allow list) and swap it in. `verify` checks the sha256 of the bytes
        imported (a signature) before anything is swapped in."""
        file_format = file_format or PatronFileFormat()
        if file_format.kind is PatronFileKind.EVERGREEN_BLOCKLIST:
            recipe = _blocklist(patron_rule)
        else:
            recipe = _csv_patrons(patron_rule, file_format.layout, file_format.mode)
        return self._import(
            source,
            recipe,
            text=file_format.text,
            verify=verify,
            built_at=built_at,
            now=now,
            max_bad_percent=max_bad_percent,
            allow_shrink=allow_shrink,
            progress=progress,
        )

    def import_csv(
        self,
        source: Path,
        *,
        patron_rule: BarcodeRule,
        built_at: datetime | None = None,
        now: datetime,
        max_bad_percent: float = 1.0,
        allow_shrink: bool = False,
        progress: Progress | None = None,
    ) -> ImportReport:
        """A CSV allow list with our own column names (barcode, name, fines, status,
        expires): `import_file` with the default format."""
        return self.import_file(
            source,
            patron_rule=patron_rule,
            built_at=built_at,
            now=now,
            max_bad_percent=max_bad_percent,
            allow_shrink=allow_shrink,
            progress=progress,
        )


@database_errors("the patron snapshot cannot be read")
class SnapshotReader:
    """Lookups in one snapshot file, opened read-only. In a deny list, a card that is not
    listed is not found here: `kiosk.domain.patrons.card_record` says what that means."""

    def __init__(self, info: SnapshotInfo) -> None:
        self.info = info
        self._engine: Engine = sqlite_engine(info.file, mode="readonly")
        self._db = HeldConnections(self._engine, durable=False)

    @property
    def mode(self) -> SnapshotMode:
        return self.info.mode

    def lookup(self, barcode: str) -> PatronRecord | None:
        found = self._db.rows(
            "SELECT barcode, name, fines_cents, status, expires FROM patrons WHERE barcode = ?",
            (barcode,),
        )
        if not found:
            return None
        row = found[0]
        return PatronRecord(
            barcode=row[0],
            name=row[1],
            fines=Decimal(row[2]) / 100,
            status=PatronStatus(row[3]),
            expires=date.fromisoformat(row[4]) if row[4] else None,
        )

    def close(self) -> None:
        self._db.close()
        self._engine.dispose()
