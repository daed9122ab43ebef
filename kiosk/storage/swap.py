"""Lists imported from the library system's exports (patrons, items), each kept as an SQLite
file that is built beside the current one and swapped in atomically.

A store is a folder: the current file, the previous one (for rollback), and a small pointer
file naming both, replaced atomically. An import streams the export into a new file, judges
it (bad rows, a list that shrank by more than half), flushes it to disk and only then moves
the pointer. A refused file leaves the current list untouched.
"""

from __future__ import annotations

import codecs
import fcntl
import io
import json
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Generic, Protocol, TypeVar

from sqlalchemy import Connection, text

from kiosk.domain.ils_files import TextFormat
from kiosk.domain.patrons import SnapshotMode
from kiosk.domain.service import FUTURE_TOLERANCE
from kiosk.errors import NoSnapshotError, SnapshotError, StorageError
from kiosk.storage.bulk import SORT_THREADS, BadRow, Chunk, Loader, Table
from kiosk.storage.db import database_errors, plain_error, sqlite_engine
from kiosk.storage.files import atomic_write_bytes, fsync_file, private_dir
from kiosk.storage.textfile import (
    SourceFile,
    checked_read,
    incomplete_row,
    scan_source,
    text_of,
)

SCHEMA_VERSION = 1
log = logging.getLogger(__name__)
POINTER = "current.json"
# Rows read, checked and stored at a time. Small, so that a batch's objects are gone before
# CPython's garbage collector promotes them and then scans them again and again: 2,000 rows
# a batch made a 2,000,000-row import 15% slower (docs/PERFORMANCE.md).
BATCH_ROWS = 500
MAX_REPORTED_BAD_ROWS = 20

Progress = Callable[[int, int], None]  # (bytes read, total bytes)


class _Counted(Protocol):
    count: int  # bytes read so far


R = TypeVar("R")


@dataclass(frozen=True)
class SnapshotInfo:
    file: Path
    source: str
    sha256: str
    built_at: datetime
    imported_at: datetime
    rows: int
    mode: SnapshotMode = SnapshotMode.ALLOW
    kind: str = "patrons"  # or "items"
    conflicts: int = 0  # cards listed more than once with different values (resolved)
    noted: int = 0  # deny list rows with a flag the kiosk does not know (refused all the same)

    def built_ahead(self, now: datetime) -> timedelta | None:
        """How far the snapshot's build time is ahead of `now`, beyond FUTURE_TOLERANCE: the
        station's clock is behind (or the build time is wrong). None when it is not."""
        ahead = self.built_at - now
        return ahead if ahead > FUTURE_TOLERANCE else None

    def age_hours(self, now: datetime) -> float:
        return (now - self.built_at).total_seconds() / 3600

    @property
    def contents(self) -> str:
        """What the list holds, in words staff read: '1,234 patrons', 'deny list: 56 blocked
        cards', '9,870 items'."""
        if self.kind == "items":
            return f"{self.rows:,} items"
        if self.mode is SnapshotMode.DENY:
            return f"deny list: {self.rows:,} blocked cards"
        return f"{self.rows:,} patrons"

    @property
    def noun(self) -> str:
        if self.kind == "items":
            return "items"
        return "blocked cards" if self.mode is SnapshotMode.DENY else "patrons"


@dataclass
class ImportCounts:
    rows_read: int = 0
    bad_rows: int = 0
    duplicates: int = 0
    examples: list[BadRow] = field(default_factory=list)
    conflicts: int = 0  # cards listed in rows that disagreed: the most restrictive values won
    noted: int = 0  # rows stored with something unreadable (a deny list's unknown flags)
    noted_examples: list[BadRow] = field(default_factory=list)
    left_out_line: int | None = None  # the last line, left out: it had no line end
    separator: str = ""  # the separator the CSV was read with (in words), if a CSV
    encoding: str = ""

    @property
    def imported(self) -> int:
        return self.rows_read - self.bad_rows - self.duplicates


@dataclass(frozen=True)
class ImportReport:
    info: SnapshotInfo
    counts: ImportCounts


# A reader: a source file's rows, in chunks of at most the given number of rows.
Reader = Callable[[SourceFile, io.TextIOWrapper, int], Iterator[Chunk]]


@dataclass(frozen=True)
class Recipe(Generic[R]):
    """What to build from a source file: the table, how to read its rows, and what the list
    is (its kind and mode, and the words for it in messages)."""

    table: Table[R]
    read: Reader
    kind: str
    mode: SnapshotMode
    rows_word: str  # "patron rows"


@database_errors("the snapshot files cannot be used")
class SwappedStore:
    """One folder of swapped files: `<prefix>-<time>-<sha>.db` and the pointer."""

    prefix = "snapshot"
    missing = "nothing has been imported yet"

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.pointer = folder / POINTER

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
        """Changes whenever a new file is swapped in (cheap to check on every scan)."""
        try:
            return self.pointer.stat().st_mtime_ns
        except FileNotFoundError:
            return 0

    def current(self) -> SnapshotInfo | None:
        name = self._read_pointer()["current"]
        return None if name is None else read_info(self.folder / name)

    def _current_if_readable(self) -> SnapshotInfo | None:
        """The current file, or None if it is missing or damaged: a damaged file must never
        stand in the way of the import that replaces it."""
        try:
            return self.current()
        except StorageError:
            return None

    def previous(self) -> SnapshotInfo | None:
        name = self._read_pointer()["previous"]
        if name is None or not (self.folder / name).exists():
            return None
        return read_info(self.folder / name)

    def _current_or_refuse(self) -> SnapshotInfo:
        info = self.current()
        if info is None:
            raise NoSnapshotError(self.missing)
        return info

    def rollback(self) -> SnapshotInfo:
        """Make the previous file current again (the current one becomes the previous)."""
        pointer = self._read_pointer()
        previous = pointer["previous"]
        if previous is None or not (self.folder / previous).exists():
            raise NoSnapshotError("there is no previous snapshot to roll back to")
        read_info(self.folder / previous)  # refuse a damaged file before switching to it
        self._write_pointer(previous, pointer["current"])
        return read_info(self.folder / previous)

    # Import --------------------------------------------------------------------------------

    def _import(
        self,
        source: Path,
        recipe: Recipe[R],
        *,
        built_at: datetime | None,
        now: datetime,
        max_bad_percent: float,
        allow_shrink: bool,
        progress: Progress | None,
        text: TextFormat | None = None,
        verify: Callable[[str], None] | None = None,
    ) -> ImportReport:
        """`verify`, if given, is called with the sha256 of exactly the bytes imported (a
        signature check) before anything is swapped in."""
        private_dir(self.folder)
        # One import at a time in a folder: it swaps the one pointer, and while it holds the
        # lock every build file there not its own is a leftover of an import cut short.
        with _folder_lock(self.folder, wait=True):
            _remove_stale_builds(self.folder)
            scanned = scan_source(source, text)
            limit = _complete_part(scanned, recipe)
            if verify is not None:
                verify(scanned.sha256)  # checked_read makes sure these are the bytes imported
            given = built_at is not None
            if built_at is None:
                assert scanned.identity is not None
                built_at = datetime.fromtimestamp(scanned.identity.mtime_ns / 1e9, UTC)
            _refuse_future(source, built_at, now, given=given)
            stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%S%f")
            target = self.folder / f"{self.prefix}-{stamp}-{scanned.sha256[:8]}.db"
            building = target.with_suffix(".building")
            building.unlink(missing_ok=True)
            try:
                counts = _build(scanned, building, recipe, progress, limit)
                if limit is not None:
                    counts.left_out_line = scanned.last_line
                _judge(counts, max_bad_percent, recipe.rows_word)
                info = SnapshotInfo(
                    target,
                    str(source.resolve()),
                    scanned.sha256,
                    built_at,
                    now,
                    counts.imported,
                    recipe.mode,
                    recipe.kind,
                    counts.conflicts,
                    counts.noted,
                )
                current = self._current_if_readable()
                # A list of another mode is another kind of list: its size says nothing.
                if (
                    current is not None
                    and current.mode is info.mode
                    and not allow_shrink
                    and info.rows * 2 < current.rows
                ):
                    raise SnapshotError(
                        f"{source}: has {info.rows:,} {info.noun}, less than half of the current "
                        f"snapshot's {current.rows:,}; it may be cut short. Check the export, or "
                        f"import it with --allow-shrink if there really are fewer {info.noun} now."
                    )
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

    def remove_stale_builds(self) -> list[Path]:
        """Remove build files left by an import that was killed (a 2-million-patron build is
        about 50 MB), unless an import is running now: then it leaves everything alone."""
        if not self.folder.is_dir():
            return []
        with _folder_lock(self.folder, wait=False) as locked:
            return _remove_stale_builds(self.folder) if locked else []

    def _prune(self, keep: set[str | None]) -> None:
        for path in self.folder.glob(f"{self.prefix}-*.db"):
            if path.name not in keep:
                path.unlink(missing_ok=True)


@contextmanager
def _folder_lock(folder: Path, *, wait: bool) -> Iterator[bool]:
    """An exclusive lock on the folder's imports: flock on the folder itself (no file of
    its own, and SQLite's locks on the build files are never touched). Yields whether it was
    taken; the kernel releases it if the process dies."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def _remove_stale_builds(folder: Path) -> list[Path]:
    removed = []
    for path in sorted(folder.glob("*.building")):
        size = path.stat().st_size
        path.unlink(missing_ok=True)
        removed.append(path)
        log.warning(
            "removed %s (%.1f MB), left by a snapshot import that was cut short",
            path.name,
            size / 1e6,
        )
    return removed


def _complete_part(source: SourceFile, recipe: Recipe[R]) -> int | None:
    """How many bytes of the file to import when its last line has no line end, or None for
    all of them. Such a line may be a copy or an export cut short, and a row cut short can
    still read (fines of 125.00 cut to 12): in a list of who may borrow, that row is left out
    (that patron is refused until the next snapshot, and the report says so); a deny list cut
    short has lost every card after the cut, so it is refused. A library system that writes
    its files without a final line end is named in the config (snapshot.ends_without_newline)
    and its last line is read like any other."""
    if not source.unterminated_tail or source.text.ends_without_newline:
        return None
    if recipe.mode is SnapshotMode.DENY:
        raise SnapshotError(
            f"{source.path}: its last line ({source.last_line:,}) has no line end, so the file "
            "may be cut short, and a deny list cut short lets every card after the cut borrow. "
            "Copy the file again; if the library system always writes it this way, set "
            "snapshot.ends_without_newline = true (or import with --ends-without-newline)."
        )
    if source.complete_bytes == 0:
        return None  # one line and no line end at all: the header, nothing to leave out
    return source.complete_bytes


def _refuse_future(source: Path, built_at: datetime, now: datetime, *, given: bool) -> None:
    ahead = built_at - now
    if ahead <= FUTURE_TOLERANCE:
        return
    said = "--built-at says" if given else "its modification time says"
    raise SnapshotError(
        f"{source}: {said} it was built at {built_at.isoformat(timespec='minutes')}, "
        f"{_span(ahead)} after this station's clock ({now.isoformat(timespec='minutes')}). "
        "Either this station's clock is behind (check it: timedatectl) or the build time is "
        "wrong; a snapshot from the future would never grow old enough for "
        "snapshot.max_age_hours to stop it. The current snapshot stays active."
    )


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} hours"
    return f"{hours // 24:,} days"


def _build(
    source: SourceFile,
    target: Path,
    recipe: Recipe[R],
    progress: Progress | None,
    limit: int | None = None,
) -> ImportCounts:
    # A new file that is deleted if anything fails and flushed to disk before it is swapped in:
    # no journal is needed while it is built.
    engine = sqlite_engine(target, mode="bulk")
    counts = ImportCounts()
    table = recipe.table
    try:
        with checked_read(source, limit) as raw, engine.begin() as conn:
            conn.exec_driver_sql(table.create)
            conn.exec_driver_sql("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            conn.exec_driver_sql(f"PRAGMA threads = {SORT_THREADS}")  # see Loader
            if table.counts_conflicts:
                # Each card whose rows disagreed, once (see Table.counts_conflicts).
                conn.exec_driver_sql("CREATE TEMP TABLE conflicted (barcode TEXT PRIMARY KEY)")
                conn.exec_driver_sql(
                    f"CREATE TEMP TRIGGER conflict AFTER UPDATE ON main.{table.name} "  # noqa: S608
                    "BEGIN INSERT INTO conflicted SELECT new.barcode WHERE NOT EXISTS "
                    "(SELECT 1 FROM conflicted WHERE barcode = new.barcode); END"
                )
            counts.encoding = source.text.encoding
            try:
                chunks = recipe.read(source, text_of(raw, source.text), BATCH_ROWS)
                last_problem = _load(conn, recipe, chunks, counts, raw, source.size, progress)
            except UnicodeDecodeError as exc:
                raise SnapshotError(_not_text(source, raw.count, exc)) from exc
            counts.separator = source.found.get("separator", "")
            if last_problem is not None and not source.ends_with_newline and limit is None:
                raise SnapshotError(
                    f"{source.path}: looks cut short: its last line ({last_problem.line}) is "
                    f"incomplete ({last_problem.problem}). Copy the file again."
                )
            if limit is not None:
                raw.finish()  # the last line, left out: is it a whole row?
                cut = incomplete_row(source, raw.tail)
                if cut is not None:
                    raise SnapshotError(
                        f"{source.path}: looks cut short: its last line ({source.last_line:,}) "
                        f"has no line end and is incomplete ({cut}). Copy the file again."
                    )
            count = f"SELECT COUNT(*) FROM {table.name}"  # noqa: S608 (constants only)
            stored = conn.exec_driver_sql(count).scalar()
            counts.duplicates = counts.rows_read - counts.bad_rows - int(stored or 0)
            if table.counts_conflicts:
                conflicts = conn.exec_driver_sql("SELECT COUNT(*) FROM temp.conflicted").scalar()
                counts.conflicts = int(conflicts or 0)
                conn.exec_driver_sql("DROP TRIGGER temp.conflict")
                conn.exec_driver_sql("DROP TABLE temp.conflicted")
        if progress is not None:
            progress(source.size, source.size)
    finally:
        engine.dispose()
    return counts


def _not_text(source: SourceFile, read: int, exc: UnicodeDecodeError) -> str:
    """Why the file is not text in its encoding, and what it probably is."""
    bad = exc.object[exc.start : exc.start + 4] if isinstance(exc.object, bytes) else b""
    where = f"near byte {read:,}" + (f": {bad.hex(' ')}" if bad else "")
    name = source.text.encoding
    guess = ""
    if codecs.lookup(name).name == "utf-8":
        try:
            sample = bad.decode("cp1252")
            guess = (
                f" It reads as Windows-1252 ({sample!r}), which Excel and many Windows "
                'programs write: set snapshot.encoding = "cp1252" (or import with '
                "--encoding cp1252)."
            )
        except UnicodeDecodeError:
            guess = ' If it is Latin-1, set snapshot.encoding = "latin-1".'
        return f"{source.path}: is not UTF-8 text ({where}).{guess} Or export it again as UTF-8."
    return (
        f"{source.path}: is not {name} text ({where}): set snapshot.encoding to the file's "
        "encoding (utf-8, cp1252, latin-1, ...)."
    )


def _load(
    conn: Connection,
    recipe: Recipe[R],
    chunks: Iterator[Chunk],
    counts: ImportCounts,
    raw: _Counted,
    size: int,
    progress: Progress | None,
) -> BadRow | None:
    """Store each chunk's good rows; count and keep examples of the bad ones. Returns the
    last row's problem when the last row was bad (a file cut short ends that way)."""
    table = Loader(conn, recipe.table)
    last_problem: BadRow | None = None
    for chunk in chunks:
        counts.rows_read += chunk.rows
        counts.bad_rows += len(chunk.bad)
        room = MAX_REPORTED_BAD_ROWS - len(counts.examples)
        counts.examples += chunk.bad[: max(room, 0)]
        counts.noted += len(chunk.noted)
        room = MAX_REPORTED_BAD_ROWS - len(counts.noted_examples)
        counts.noted_examples += chunk.noted[: max(room, 0)]
        if chunk.rows:
            last_problem = chunk.last_bad
        table.add(chunk.values)
        if progress is not None:
            progress(raw.count, size)
    table.finish()
    return last_problem


def _judge(report: ImportCounts, max_bad_percent: float, rows_word: str) -> None:
    rows = report.imported
    examples = "; ".join(f"line {b.line}: {b.problem}" for b in report.examples[:5])
    if rows == 0:
        detail = f" ({examples})" if examples else ""
        raise SnapshotError(f"no valid {rows_word} in the file{detail}")
    if report.bad_rows * 100 > max_bad_percent * report.rows_read:
        raise SnapshotError(
            f"{report.bad_rows:,} of {report.rows_read:,} rows are bad (more than "
            f"{max_bad_percent:g}%), so this does not look like a good export: {examples}"
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
                "mode": info.mode.value,
                "kind": info.kind,
                "conflicts": str(info.conflicts),
                "noted": str(info.noted),
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
            # Files from before deny lists and item lists say neither: patron allow lists.
            mode=SnapshotMode(meta.get("mode", SnapshotMode.ALLOW.value)),
            kind=meta.get("kind", "patrons"),
            conflicts=int(meta.get("conflicts", "0")),
            noted=int(meta.get("noted", "0")),
        )
    except (KeyError, ValueError) as exc:
        raise StorageError(f"the snapshot file {path} has no valid description") from exc


def column_list(names: Sequence[str], limit: int = 300) -> str:
    shown = ", ".join(n for n in names if n)
    return (shown[:limit] + "…" if len(shown) > limit else shown) or "nothing"
