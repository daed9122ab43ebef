"""Putting a new list's rows into its SQLite file in bulk: rows come from a reader in
chunks (the good ones as the values to store, the bad ones to report) and go into the table
in barcode order, which is what makes building a table of millions of rows fast."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import Connection

# SQLite may sort on a helper thread when it builds a table from the staging table.
SORT_THREADS = min(2, max(0, (os.cpu_count() or 1) - 1))

R = TypeVar("R")
# (line number, the record or None, the problem): what a reader makes of each row. A record
# with a problem is stored all the same, and the problem noted (a deny list fails closed).
Parsed = Iterator[tuple[int, R | None, str]]
Values = tuple[object, ...]  # one row as stored


@dataclass(frozen=True)
class BadRow:
    line: int
    problem: str


@dataclass(frozen=True)
class Table(Generic[R]):
    """How one kind of record is stored: the table, and each record as a row of values."""

    name: str
    create: str  # CREATE TABLE ... (the first column is the barcode, the primary key)
    insert: str  # INSERT [OR IGNORE] INTO <name>: the start of the statement
    values: Callable[[R], Values]
    on_conflict: str = ""  # the upsert clause, if a repeated barcode is not simply ignored
    # An upsert whose DO UPDATE runs only when a repeated row disagrees with the stored one
    # (its WHERE says so): each such update is a conflict, counted by a trigger.
    counts_conflicts: bool = False

    def insert_values(self, columns: int) -> str:
        return f"{self.insert} VALUES ({', '.join('?' * columns)}) {self.on_conflict}"

    def insert_select(self, select: str) -> str:
        """`select` must have a WHERE: without one, SQLite may read ON CONFLICT as a join's."""
        return f"{self.insert} {select} {self.on_conflict}"


@dataclass
class Chunk:
    """What a reader made of a run of rows: the good ones as stored values (in file order),
    the bad ones, how many rows it read (good, bad and repeated) and, when the run's last
    row was bad, that row."""

    values: Sequence[Values] = ()
    bad: list[BadRow] = field(default_factory=list)
    rows: int = 0
    last_bad: BadRow | None = None
    noted: list[BadRow] = field(default_factory=list)  # stored, with something unreadable


def chunks_of(parsed: Parsed[R], values: Callable[[R], Values], size: int) -> Iterator[Chunk]:
    """A reader's rows, read one at a time, in chunks of `size` rows."""
    good: list[Values] = []
    chunk = Chunk(good)
    for line, record, problem in parsed:
        chunk.rows += 1
        if record is None:
            chunk.last_bad = BadRow(line, problem)
            chunk.bad.append(chunk.last_bad)
        else:
            chunk.last_bad = None
            good.append(values(record))
            if problem:
                chunk.noted.append(BadRow(line, problem))
        if chunk.rows >= size:
            yield chunk
            good = []
            chunk = Chunk(good)
    if chunk.rows:
        yield chunk


class Loader:
    """Puts rows into the new file's table, in file order as far as a repeated barcode can
    tell (the table's insert decides which row of a repeated barcode stays).

    A B-tree is built several times faster in key order than at random. Rows go straight
    into the table while their barcodes come in ascending order (an export sorted by card
    number); from the first batch that does not, into a temporary table, which goes into
    the table sorted by barcode (then by file order) at the end.
    """

    def __init__(self, conn: Connection, table: Table[Any]) -> None:
        self._conn = conn
        self._table = table
        self._insert: str | None = None
        self._last: str = ""  # the highest barcode stored so far
        self._staging = False

    def add(self, values: Sequence[Values]) -> None:
        if not values:
            return
        if self._insert is None:
            self._insert = self._table.insert_values(len(values[0]))
        if not self._staging:
            barcodes = cast(list[str], [row[0] for row in values])
            if self._last <= barcodes[0] and barcodes == sorted(barcodes):
                self._last = barcodes[-1]
                self._conn.exec_driver_sql(self._insert, values)
                return
            self._staging = True
            like = f"SELECT * FROM main.{self._table.name} WHERE 0"  # noqa: S608 (constants only)
            self._conn.exec_driver_sql(f"CREATE TEMP TABLE staging AS {like}")
            marks = ", ".join("?" * len(values[0]))
            self._insert = f"INSERT INTO temp.staging VALUES ({marks})"  # noqa: S608 (constants)
        self._conn.exec_driver_sql(self._insert, values)

    def finish(self) -> None:
        if self._staging:
            self._conn.exec_driver_sql(
                self._table.insert_select("SELECT * FROM temp.staging WHERE true ORDER BY 1, rowid")
            )
            self._conn.exec_driver_sql("DROP TABLE temp.staging")
