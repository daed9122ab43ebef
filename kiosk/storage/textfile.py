"""Reading an export from the library system as a stream: CSV rows a batch at a time, or
plain lines, so a file of millions of rows never has to fit in memory. A file that is
garbled (NUL bytes, an unclosed quote) is refused as a whole; a row that is merely wrong is
reported, with its line number in the file."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from kiosk.errors import InputFileError, SnapshotError

CHUNK = 1 << 20  # bytes read at a time to hash a file


@dataclass(frozen=True)
class SourceFile:
    path: Path
    size: int
    sha256: str
    ends_with_newline: bool
    has_nul: bool = False  # a NUL byte anywhere: the rows are checked for it one by one


def scan_source(path: Path) -> SourceFile:
    """Size, sha256, whether the last line is complete and whether there is a NUL byte
    anywhere, in one pass over the bytes."""
    digest = hashlib.sha256()
    size = 0
    last = b""
    has_nul = False
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
                last = chunk[-1:]
                has_nul = has_nul or b"\x00" in chunk
    except FileNotFoundError as exc:
        raise InputFileError(f"{path}: file not found") from exc
    except IsADirectoryError as exc:
        raise InputFileError(f"{path}: is a folder, not a file") from exc
    except OSError as exc:
        raise InputFileError(f"{path}: cannot be read: {exc.strerror}") from exc
    return SourceFile(path, size, digest.hexdigest(), last in (b"\n", b"\r"), has_nul)


def text_of(binary: io.BufferedReader) -> io.TextIOWrapper:
    """UTF-8 with or without a byte order mark; line ends are left to the readers."""
    return io.TextIOWrapper(binary, encoding="utf-8-sig", errors="strict", newline="")


def read_header(handle: io.TextIOWrapper) -> tuple[str, list[str]]:
    """The delimiter (tab if the header has one, else comma) and the column names, stripped
    and in lower case."""
    first_line = handle.readline().rstrip("\r\n")
    delimiter = "\t" if "\t" in first_line else ","
    names = next(csv.reader([first_line], delimiter=delimiter))
    return delimiter, [n.strip().lower() for n in names]


Row = dict[str, str | None]
_LINE_END = re.compile(r"\r\n|\r|\n")  # how a text file read with newline="" splits lines


@dataclass(frozen=True)
class Batch:
    """Rows as the csv module splits them, with where they are in the file."""

    rows: Sequence[list[str]]
    lines_before: int  # the lines of the file before the first row (the header's included)
    lines: int | None  # the lines the rows take up (None: not known, count them)

    def line_numbers(self) -> list[int]:
        """Each row's line number in the file: its last line, for a row with a quoted line
        break (where the csv module is when it has read the row)."""
        first = self.lines_before + 1
        if self.lines == len(self.rows):  # one line each: the usual case, nothing to count
            return list(range(first, first + len(self.rows)))
        numbers = []
        line = first - 1
        for fields in self.rows:
            line += 1 + sum(len(_LINE_END.findall(field)) for field in fields)
            numbers.append(line)
        return numbers

    def halves(self) -> tuple[Batch, Batch]:
        half = len(self.rows) // 2
        if self.lines == len(self.rows):
            return (
                Batch(self.rows[:half], self.lines_before, half),
                Batch(self.rows[half:], self.lines_before + half, len(self.rows) - half),
            )
        second_before = self.line_numbers()[half - 1] if half else self.lines_before
        return (
            Batch(self.rows[:half], self.lines_before, None),
            Batch(self.rows[half:], second_before, None),
        )


def csv_batches(handle: io.TextIOWrapper, delimiter: str, size: int) -> Iterator[Batch]:
    """Up to `size` rows at a time after the header. Nothing is checked but the CSV syntax
    (a garbled file is refused)."""
    reader = csv.reader(handle, delimiter=delimiter, strict=True)
    while True:
        before = reader.line_num
        rows: list[list[str]] = []
        try:
            rows.extend(islice(reader, size))
        except csv.Error as exc:
            line = reader.line_num + 1
            if rows:  # the rows before it are judged first, as if read one at a time
                yield Batch(rows, before + 1, None)
            raise SnapshotError(f"line {line}: the file is garbled ({exc})") from exc
        if not rows:
            return
        # The header was read before the reader started: one line more.
        yield Batch(rows, before + 1, reader.line_num - before)


def checked_rows(
    batch: Batch, names: list[str], wanted: frozenset[str]
) -> Iterator[tuple[int, Row | None, str]]:
    """(line number, the wanted columns of a row or None, problem) for each row of a batch
    that is not blank."""
    picked = [(i, n) for i, n in enumerate(names) if n in wanted]
    width = len(names)
    for line, fields in zip(batch.line_numbers(), batch.rows, strict=True):
        if not fields or fields == [""]:
            continue
        if any("\x00" in f for f in fields):
            raise SnapshotError(f"line {line}: the file is garbled (it contains NUL bytes)")
        if len(fields) != width:
            yield line, None, f"has {len(fields)} fields, the header has {width}"
            continue
        yield line, {n: fields[i] for i, n in picked}, ""


def csv_rows(
    handle: io.TextIOWrapper,
    delimiter: str,
    names: list[str],
    wanted: frozenset[str],
    batch_rows: int = 2_000,
) -> Iterator[tuple[int, Row | None, str]]:
    """(line number, the wanted columns of a row or None, problem) for each data row after
    the header."""
    for batch in csv_batches(handle, delimiter, batch_rows):
        yield from checked_rows(batch, names, wanted)


def plain_lines(handle: io.TextIOWrapper) -> Iterator[tuple[int, str]]:
    """(line number, text) for each line that is not blank; CR, LF and CRLF all end a line."""
    for number, raw in enumerate(handle, start=1):
        if "\x00" in raw:
            raise SnapshotError(f"line {number}: the file is garbled (it contains NUL bytes)")
        text = raw.rstrip("\r\n")
        if text.strip():
            yield number, text
