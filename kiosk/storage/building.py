"""Building a list's new SQLite file from an export: which bytes to import (a last line
with no line end may be cut short), refusing a build time in the future, streaming the
rows through a checked read into the table, and judging what came out (bad rows). The
swapping of the finished file is kiosk.storage.swap's."""

from __future__ import annotations

import codecs
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Generic, Protocol, TypeVar

from sqlalchemy import Connection

from kiosk.domain.patrons import SnapshotMode
from kiosk.domain.service import FUTURE_TOLERANCE
from kiosk.errors import SnapshotError
from kiosk.storage.bulk import SORT_THREADS, BadRow, Chunk, Loader, Table
from kiosk.storage.db import sqlite_engine
from kiosk.storage.textfile import SourceFile, checked_read, incomplete_row, text_of

# Rows read, checked and stored at a time. Small, so that a batch's objects are gone before
# CPython's garbage collector promotes them and then scans them again and again: 2,000 rows
# a batch made a 2,000,000-row import 15% slower (docs/PERFORMANCE.md).
BATCH_ROWS = 500
MAX_REPORTED_BAD_ROWS = 20

Progress = Callable[[int, int], None]  # (bytes read, total bytes)


class _Counted(Protocol):
    count: int  # bytes read so far


R = TypeVar("R")


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


def complete_part(source: SourceFile, recipe: Recipe[R]) -> int | None:
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


def refuse_future(source: Path, built_at: datetime, now: datetime, *, given: bool) -> None:
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


def build(
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


def judge(report: ImportCounts, max_bad_percent: float, rows_word: str) -> None:
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
