"""The patron snapshot: an allow-list built from the library system's export.

Each import builds a new SQLite file beside the current one, streaming the CSV (a snapshot of
millions of patrons never has to fit in memory), and then swaps a small pointer file
atomically. The previous snapshot is kept for `kiosk snapshot rollback`. A refused file leaves
the current snapshot untouched.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Connection, Engine, text

from kiosk.domain.barcodes import BarcodeRule
from kiosk.domain.patrons import PatronRecord, PatronStatus, RowError, parse_patron_row
from kiosk.errors import InputFileError, NoSnapshotError, SnapshotError, StorageError
from kiosk.storage.db import plain_error, sqlite_engine
from kiosk.storage.files import atomic_write_bytes, fsync_file, private_dir

SCHEMA_VERSION = 1
POINTER = "current.json"
BATCH_ROWS = 20_000
COLUMNS = ("barcode", "name", "fines", "status", "expires")
MAX_REPORTED_BAD_ROWS = 20

Progress = Callable[[int, int], None]  # (bytes read, total bytes)


@dataclass(frozen=True)
class SnapshotInfo:
    file: Path
    source: str
    sha256: str
    built_at: datetime
    imported_at: datetime
    rows: int

    def age_hours(self, now: datetime) -> float:
        return (now - self.built_at).total_seconds() / 3600


@dataclass(frozen=True)
class BadRow:
    line: int
    problem: str


@dataclass
class ImportCounts:
    rows_read: int = 0
    bad_rows: int = 0
    duplicates: int = 0
    examples: list[BadRow] = field(default_factory=list)

    @property
    def imported(self) -> int:
        return self.rows_read - self.bad_rows - self.duplicates


@dataclass(frozen=True)
class ImportReport:
    info: SnapshotInfo
    counts: ImportCounts


class SnapshotStore:
    """The snapshots folder of one kiosk: the current snapshot, the previous one, the pointer."""

    def __init__(self, data_dir: Path) -> None:
        self.folder = data_dir / "snapshots"
        self.pointer = self.folder / POINTER

    # The pointer -------------------------------------------------------------------------

    def _read_pointer(self) -> dict[str, str | None]:
        try:
            data = json.loads(self.pointer.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"current": None, "previous": None}
        except (OSError, ValueError) as exc:
            raise StorageError(f"the snapshot pointer {self.pointer} is damaged: {exc}") from exc
        return {"current": data.get("current"), "previous": data.get("previous")}

    def _write_pointer(self, current: str | None, previous: str | None) -> None:
        data = json.dumps({"current": current, "previous": previous}, indent=2).encode()
        atomic_write_bytes(self.pointer, data + b"\n")

    def pointer_stamp(self) -> float:
        """Changes whenever a new snapshot is swapped in (cheap to check on every scan)."""
        try:
            return self.pointer.stat().st_mtime_ns
        except FileNotFoundError:
            return 0

    def current(self) -> SnapshotInfo | None:
        name = self._read_pointer()["current"]
        return None if name is None else read_info(self.folder / name)

    def _current_if_readable(self) -> SnapshotInfo | None:
        """The current snapshot, or None if it is missing or damaged: a damaged snapshot
        must never stand in the way of the import that replaces it."""
        try:
            return self.current()
        except StorageError:
            return None

    def previous(self) -> SnapshotInfo | None:
        name = self._read_pointer()["previous"]
        if name is None or not (self.folder / name).exists():
            return None
        return read_info(self.folder / name)

    def open_reader(self) -> SnapshotReader:
        info = self.current()
        if info is None:
            raise NoSnapshotError(
                "no patron snapshot has been imported yet (kiosk snapshot import FILE)"
            )
        return SnapshotReader(info)

    def rollback(self) -> SnapshotInfo:
        """Make the previous snapshot current again (the current one becomes the previous)."""
        pointer = self._read_pointer()
        previous = pointer["previous"]
        if previous is None or not (self.folder / previous).exists():
            raise NoSnapshotError("there is no previous snapshot to roll back to")
        read_info(self.folder / previous)  # refuse a damaged file before switching to it
        self._write_pointer(previous, pointer["current"])
        return read_info(self.folder / previous)

    # Import --------------------------------------------------------------------------------

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
        try:
            total_bytes, sha256, ends_with_newline = _scan_file(source)
        except FileNotFoundError as exc:
            raise InputFileError(f"{source}: file not found") from exc
        except IsADirectoryError as exc:
            raise InputFileError(f"{source}: is a folder, not a file") from exc
        except OSError as exc:
            raise InputFileError(f"{source}: cannot be read: {exc.strerror}") from exc
        if built_at is None:
            built_at = datetime.fromtimestamp(source.stat().st_mtime, UTC)
        private_dir(self.folder)
        stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%S%f")
        target = self.folder / f"snapshot-{stamp}-{sha256[:8]}.db"
        building = target.with_suffix(".building")
        building.unlink(missing_ok=True)
        try:
            counts = _build(source, building, patron_rule, total_bytes, ends_with_newline, progress)
            rows = counts.imported
            _judge(counts, max_bad_percent)
            current = self._current_if_readable()
            if current is not None and not allow_shrink and rows * 2 < current.rows:
                raise SnapshotError(
                    f"{source}: has {rows:,} patrons, less than half of the current snapshot's "
                    f"{current.rows:,}; it may be cut short. Check the export, or import it "
                    "with --allow-shrink if the library really has fewer patrons now."
                )
            info = SnapshotInfo(target, str(source.resolve()), sha256, built_at, now, rows)
            _write_meta(building, info)
            fsync_file(building)
            building.replace(target)
        except BaseException:
            building.unlink(missing_ok=True)
            raise
        old = self._read_pointer()
        self._write_pointer(target.name, old["current"])
        self._prune(keep={target.name, old["current"]})
        return ImportReport(read_info(target), counts)

    def _prune(self, keep: set[str | None]) -> None:
        for path in self.folder.glob("snapshot-*.db"):
            if path.name not in keep:
                path.unlink(missing_ok=True)


def _scan_file(source: Path) -> tuple[int, str, bool]:
    digest = hashlib.sha256()
    size = 0
    last = b""
    with source.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
            last = chunk[-1:]
    return size, digest.hexdigest(), last in (b"\n", b"\r")


def _header(first_line: str) -> tuple[str, list[str]]:
    delimiter = "\t" if "\t" in first_line else ","
    names = next(csv.reader([first_line], delimiter=delimiter))
    return delimiter, [n.strip().lower() for n in names]


def _rows(
    handle: io.TextIOWrapper, delimiter: str, names: list[str]
) -> Iterator[tuple[int, dict[str, str | None] | None, str]]:
    """(line number, row or None, problem) for each data row after the header."""
    reader = csv.reader(handle, delimiter=delimiter, strict=True)
    wanted = [(i, n) for i, n in enumerate(names) if n in COLUMNS]
    width = len(names)
    line = 1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise SnapshotError(f"line {reader.line_num + 1}: the file is garbled ({exc})") from exc
        line = reader.line_num + 1  # the header was read before the csv reader started
        if not fields or fields == [""]:
            continue
        if any("\x00" in f for f in fields):
            raise SnapshotError(f"line {line}: the file is garbled (it contains NUL bytes)")
        if len(fields) != width:
            yield line, None, f"has {len(fields)} fields, the header has {width}"
            continue
        yield line, {n: fields[i] for i, n in wanted}, ""


def _build(
    source: Path,
    target: Path,
    patron_rule: BarcodeRule,
    total_bytes: int,
    ends_with_newline: bool,
    progress: Progress | None,
) -> ImportCounts:
    # A new file that is deleted if anything fails and flushed to disk before it is swapped in:
    # no journal is needed while it is built.
    engine = sqlite_engine(target, mode="bulk")
    report = ImportCounts()
    try:
        with source.open("rb") as binary, engine.begin() as conn:
            conn.exec_driver_sql(
                "CREATE TABLE patrons (barcode TEXT PRIMARY KEY, name TEXT NOT NULL, "
                "fines_cents INTEGER NOT NULL, status TEXT NOT NULL, expires TEXT) WITHOUT ROWID"
            )
            conn.exec_driver_sql("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            handle = io.TextIOWrapper(binary, encoding="utf-8-sig", errors="strict", newline="")
            try:
                first = handle.readline()
                delimiter, names = _header(first.rstrip("\r\n"))
                if "barcode" not in names:
                    raise SnapshotError(
                        f"{source}: the first line must be a header with a 'barcode' column "
                        f"(found: {', '.join(n for n in names if n)[:200] or 'nothing'})"
                    )
                batch: list[tuple[str, str, int, str, str | None]] = []
                last_problem: BadRow | None = None
                for line, row, problem in _rows(handle, delimiter, names):
                    report.rows_read += 1
                    record = None
                    if row is not None:
                        try:
                            record = parse_patron_row(row)
                            if not (
                                patron_rule.has_shape(record.barcode)
                                and patron_rule.check_ok(record.barcode)
                            ):
                                raise RowError(
                                    f"barcode {record.barcode[:20]!r} does not fit the "
                                    "patron barcode rule in the config"
                                )
                        except RowError as exc:
                            problem, record = str(exc), None
                    if record is None:
                        report.bad_rows += 1
                        last_problem = BadRow(line, problem)
                        if len(report.examples) < MAX_REPORTED_BAD_ROWS:
                            report.examples.append(last_problem)
                        continue
                    last_problem = None
                    batch.append(_as_row(record))
                    if len(batch) >= BATCH_ROWS:
                        report.duplicates += _insert(conn, batch)
                        batch = []
                        if progress is not None:
                            progress(binary.tell(), total_bytes)
                report.duplicates += _insert(conn, batch)
            except UnicodeDecodeError as exc:
                raise SnapshotError(
                    f"{source}: is not UTF-8 text (near byte {binary.tell():,}); export it "
                    "again as UTF-8 CSV"
                ) from exc
            if last_problem is not None and not ends_with_newline:
                raise SnapshotError(
                    f"{source}: looks cut short: its last line ({last_problem.line}) is "
                    f"incomplete ({last_problem.problem}). Copy the file again."
                )
            if progress is not None:
                progress(total_bytes, total_bytes)
    finally:
        engine.dispose()
    return report


def _as_row(record: PatronRecord) -> tuple[str, str, int, str, str | None]:
    cents = int((record.fines * 100).to_integral_value())
    expires = record.expires.isoformat() if record.expires else None
    return record.barcode, record.name, cents, record.status.value, expires


def _insert(conn: Connection, batch: list[tuple[str, str, int, str, str | None]]) -> int:
    """Insert a batch; return how many rows were duplicates of a barcode already in."""
    if not batch:
        return 0
    cursor = conn.exec_driver_sql("INSERT OR IGNORE INTO patrons VALUES (?, ?, ?, ?, ?)", batch)
    return len(batch) - int(cursor.rowcount)


def _judge(report: ImportCounts, max_bad_percent: float) -> None:
    rows = report.imported
    examples = "; ".join(f"line {b.line}: {b.problem}" for b in report.examples[:5])
    if rows == 0:
        detail = f" ({examples})" if examples else ""
        raise SnapshotError(f"no valid patron rows in the file{detail}")
    if report.bad_rows * 100 > max_bad_percent * report.rows_read:
        raise SnapshotError(
            f"{report.bad_rows:,} of {report.rows_read:,} rows are bad (more than "
            f"{max_bad_percent:g}%), so this does not look like a good patron export: {examples}"
        )


def _write_meta(path: Path, info: SnapshotInfo) -> None:
    engine = sqlite_engine(path, mode="bulk")
    try:
        with engine.begin() as conn:
            meta = {
                "schema_version": str(SCHEMA_VERSION),
                "source": info.source,
                "sha256": info.sha256,
                "built_at": info.built_at.isoformat(),
                "imported_at": info.imported_at.isoformat(),
                "rows": str(info.rows),
            }
            conn.exec_driver_sql("INSERT INTO meta VALUES (?, ?)", list(meta.items()))
    finally:
        engine.dispose()


def read_info(path: Path) -> SnapshotInfo:
    if not path.exists():
        raise StorageError(f"the snapshot file {path} is missing")
    engine = sqlite_engine(path, mode="readonly")
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT key, value FROM meta")).all()
            meta: dict[str, str] = {str(r[0]): str(r[1]) for r in rows}
    except Exception as exc:
        raise StorageError(f"the snapshot file {path} is damaged: {plain_error(exc)}") from exc
    finally:
        engine.dispose()
    try:
        return SnapshotInfo(
            file=path,
            source=meta["source"],
            sha256=meta["sha256"],
            built_at=datetime.fromisoformat(meta["built_at"]),
            imported_at=datetime.fromisoformat(meta["imported_at"]),
            rows=int(meta["rows"]),
        )
    except (KeyError, ValueError) as exc:
        raise StorageError(f"the snapshot file {path} has no valid description") from exc


class SnapshotReader:
    """Lookups in one snapshot file, opened read-only."""

    def __init__(self, info: SnapshotInfo) -> None:
        self.info = info
        self._engine: Engine = sqlite_engine(info.file, mode="readonly")
        self._conn = self._engine.connect()

    def lookup(self, barcode: str) -> PatronRecord | None:
        row = self._conn.exec_driver_sql(
            "SELECT barcode, name, fines_cents, status, expires FROM patrons WHERE barcode = ?",
            (barcode,),
        ).first()
        self._conn.rollback()  # end the read transaction so a reader never pins old WAL pages
        if row is None:
            return None
        return PatronRecord(
            barcode=row[0],
            name=row[1],
            fines=Decimal(row[2]) / 100,
            status=PatronStatus(row[3]),
            expires=date.fromisoformat(row[4]) if row[4] else None,
        )

    def close(self) -> None:
        self._conn.close()
        self._engine.dispose()
