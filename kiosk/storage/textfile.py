"""Reading an export from the library system as a stream: CSV rows or plain lines, one at a
time, so a file of millions of rows never has to fit in memory. A file that is garbled (NUL
bytes, an unclosed quote) is refused as a whole; a row that is merely wrong is reported."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kiosk.errors import InputFileError, SnapshotError

CHUNK = 1 << 20  # bytes read at a time to hash a file


@dataclass(frozen=True)
class SourceFile:
    path: Path
    size: int
    sha256: str
    ends_with_newline: bool


def scan_source(path: Path) -> SourceFile:
    """Size, sha256 and whether the last line is complete, in one pass over the bytes."""
    digest = hashlib.sha256()
    size = 0
    last = b""
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
                last = chunk[-1:]
    except FileNotFoundError as exc:
        raise InputFileError(f"{path}: file not found") from exc
    except IsADirectoryError as exc:
        raise InputFileError(f"{path}: is a folder, not a file") from exc
    except OSError as exc:
        raise InputFileError(f"{path}: cannot be read: {exc.strerror}") from exc
    return SourceFile(path, size, digest.hexdigest(), last in (b"\n", b"\r"))


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


def csv_rows(
    handle: io.TextIOWrapper, delimiter: str, names: list[str], wanted: frozenset[str]
) -> Iterator[tuple[int, Row | None, str]]:
    """(line number, the wanted columns of a row or None, problem) for each data row after
    the header."""
    reader = csv.reader(handle, delimiter=delimiter, strict=True)
    picked = [(i, n) for i, n in enumerate(names) if n in wanted]
    width = len(names)
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
        yield line, {n: fields[i] for i, n in picked}, ""


def plain_lines(handle: io.TextIOWrapper) -> Iterator[tuple[int, str]]:
    """(line number, text) for each line that is not blank; CR, LF and CRLF all end a line."""
    for number, raw in enumerate(handle, start=1):
        if "\x00" in raw:
            raise SnapshotError(f"line {number}: the file is garbled (it contains NUL bytes)")
        text = raw.rstrip("\r\n")
        if text.strip():
            yield number, text
