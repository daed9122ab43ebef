"""Reading an export from the library system as a stream: CSV rows a batch at a time, or
plain lines, so a file of millions of rows never has to fit in memory. A file that is
garbled (NUL bytes, an unclosed quote) is refused as a whole; a row that is merely wrong is
reported, with its line number in the file."""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from kiosk.domain.ils_files import DEFAULT_TEXT, TextFormat
from kiosk.errors import InputFileError, SnapshotError

CHUNK = 1 << 20  # bytes read at a time
TAIL_KEPT = 1 << 16  # of a last line left out, kept to say why
SEPARATORS = {",": "comma", "\t": "tab", ";": "semicolon", "|": "vertical bar"}


@dataclass(frozen=True)
class FileIdentity:
    """What says a file is the same file, unchanged: checked before and after each read."""

    device: int
    inode: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, st: os.stat_result) -> FileIdentity:
        return cls(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


@dataclass(frozen=True)
class SourceFile:
    path: Path
    size: int
    sha256: str
    ends_with_newline: bool
    has_nul: bool = False  # a NUL byte anywhere: the rows are checked for it one by one
    identity: FileIdentity | None = None
    # The bytes up to and with the last line end, and the number of the line after it (the
    # last line, when it has no line end: the file may be cut short there).
    complete_bytes: int = 0
    last_line: int = 0
    text: TextFormat = DEFAULT_TEXT
    # What the reader found: the separator it used ("separator"), the encoding it read.
    found: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def unterminated_tail(self) -> bool:
        """The last line has no line end (and is not blank): it may be cut short."""
        return not self.ends_with_newline and self.complete_bytes < self.size


class FileChangedError(SnapshotError):
    """The file changed while it was read: still being written, or replaced."""


def _changed(path: Path, what: str) -> FileChangedError:
    return FileChangedError(
        f"{path}: changed while it was read ({what}): it is still being written, or it was "
        "replaced. Wait until the library system has finished writing it and import it "
        "again. The current snapshot stays active."
    )


def _open_error(path: Path, exc: OSError) -> InputFileError:
    if isinstance(exc, FileNotFoundError):
        return InputFileError(f"{path}: file not found")
    if isinstance(exc, IsADirectoryError):
        return InputFileError(f"{path}: is a folder, not a file")
    return InputFileError(f"{path}: cannot be read: {exc.strerror}")


def scan_source(path: Path, text: TextFormat | None = None) -> SourceFile:
    """Size, sha256, where the last complete line ends and whether there is a NUL byte
    anywhere, in one pass over the bytes, with the file's identity before and after."""
    digest = hashlib.sha256()
    size = 0
    last = b""
    has_nul = False
    complete = 0
    line_ends = 0
    try:
        with path.open("rb") as handle:
            before = FileIdentity.of(os.fstat(handle.fileno()))
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
                end = max(chunk.rfind(b"\n"), chunk.rfind(b"\r"))
                if end >= 0:
                    complete = size + end + 1
                line_ends += chunk.count(b"\n") or chunk.count(b"\r")
                size += len(chunk)
                last = chunk[-1:]
                has_nul = has_nul or b"\x00" in chunk
            after = FileIdentity.of(os.fstat(handle.fileno()))
    except OSError as exc:
        raise _open_error(path, exc) from exc
    if after != before or size != after.size:
        raise _changed(path, f"{before.size:,} bytes, then {size:,}")
    return SourceFile(
        path,
        size,
        digest.hexdigest(),
        last in (b"\n", b"\r"),
        has_nul,
        identity=after,
        complete_bytes=complete,
        last_line=line_ends + 1,
        text=text or DEFAULT_TEXT,
    )


class _CheckedRaw(io.RawIOBase):
    """The source file's bytes as they are read, hashed on the way; stops at `limit` bytes
    (the rest is still read and hashed by `finish`)."""

    def __init__(self, fd: int, limit: int) -> None:
        self.fd = fd
        self.limit = limit
        self.count = 0
        self.digest = hashlib.sha256()
        self.tail = b""  # the start of what was left unread (up to TAIL_KEPT bytes)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        room = min(len(buffer), self.limit - self.count)
        if room <= 0:
            return 0
        data = os.read(self.fd, room)
        buffer[: len(data)] = data
        self.count += len(data)
        self.digest.update(data)
        return len(data)

    def finish(self) -> None:
        while data := os.read(self.fd, CHUNK):
            if len(self.tail) < TAIL_KEPT:
                self.tail += data[: TAIL_KEPT - len(self.tail)]
            self.count += len(data)
            self.digest.update(data)


@contextmanager
def checked_read(source: SourceFile, limit: int | None = None) -> Iterator[_CheckedRaw]:
    """The file as scan_source saw it, read once more for the import: its bytes (up to
    `limit`) are hashed as they are read, and when the reading is done the file must still
    be the same file, with the same size, modification time and sha256 (a file still being
    written or replaced meanwhile is refused with FileChangedError)."""
    try:
        fd = os.open(source.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise _open_error(source.path, exc) from exc
    try:
        if FileIdentity.of(os.fstat(fd)) != source.identity:
            raise _changed(source.path, "it is not the file that was checked a moment ago")
        raw = _CheckedRaw(fd, source.size if limit is None else limit)
        try:
            yield raw
        except (SnapshotError, UnicodeDecodeError) as exc:
            # A file that changed under the reader can look garbled: say what happened.
            if _identities(fd, source.path) != (source.identity, source.identity):
                raise _changed(source.path, "it changed while its rows were read") from exc
            raise
        raw.finish()
        now, there = _identities(fd, source.path)
        if raw.count != source.size or now != source.identity:
            raise _changed(source.path, f"{source.size:,} bytes, then {raw.count:,}")
        if there != source.identity:
            raise _changed(source.path, "another file now has its name")
        if raw.digest.hexdigest() != source.sha256:
            raise _changed(source.path, "its bytes differ from the first reading")
    finally:
        os.close(fd)


def _identities(fd: int, path: Path) -> tuple[FileIdentity, FileIdentity | None]:
    """The open file's identity, and that of the file its name names now (None: gone)."""
    try:
        there: FileIdentity | None = FileIdentity.of(path.stat())
    except OSError:
        there = None
    return FileIdentity.of(os.fstat(fd)), there


def text_of(raw: io.RawIOBase, text: TextFormat) -> io.TextIOWrapper:
    """The file as text: UTF-8 with or without a byte order mark unless the config names
    another encoding; line ends are left to the readers."""
    binary = io.BufferedReader(raw, CHUNK)
    return io.TextIOWrapper(binary, encoding=text_encoding(text), errors="strict", newline="")


def read_header(handle: io.TextIOWrapper, source: SourceFile) -> tuple[str, list[str]]:
    """The separator (the configured one, else whichever of comma, tab, semicolon and
    vertical bar the header has most of; a comma when it has none) and the column names,
    stripped and in lower case. The separator used is noted in `source.found`."""
    first_line = handle.readline().rstrip("\r\n")
    separator = source.text.separator or _likely_separator(first_line)
    source.found["separator"] = SEPARATORS.get(separator, repr(separator))
    source.found["separator_char"] = separator
    names = next(csv.reader([first_line], delimiter=separator))
    source.found["columns"] = str(len(names))
    return separator, [n.strip().lower() for n in names]


def incomplete_row(source: SourceFile, tail: bytes) -> str | None:
    """Why a CSV's last line, left out for having no line end, is cut short (it does not
    split into as many fields as the header), or None if it looks like a whole row."""
    if "columns" not in source.found:
        return None  # not a CSV with a header
    width = int(source.found["columns"])
    try:
        text = tail.decode(text_encoding(source.text), errors="replace")
        fields = next(csv.reader([text], delimiter=source.found["separator_char"], strict=True))
    except (csv.Error, StopIteration):
        return "it stops inside a quoted field"
    if len(fields) != width:
        return f"it has {len(fields)} fields, the header has {width}"
    return None


def text_encoding(text: TextFormat) -> str:
    """The codec to read with: UTF-8 with or without a byte order mark."""
    return "utf-8-sig" if codecs.lookup(text.encoding).name == "utf-8" else text.encoding


def _likely_separator(header: str) -> str:
    counts = {sep: header.count(sep) for sep in SEPARATORS}
    best = max(counts, key=lambda sep: counts[sep])  # ties: the first, a comma
    return best if counts[best] else ","


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
