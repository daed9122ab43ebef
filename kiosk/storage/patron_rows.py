"""Patron rows as the snapshot stores them, and a fast way to decode a whole batch of an
export's rows into them: a snapshot of millions of patrons is imported every morning."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from typing import Generic, TypeVar

from kiosk.domain.barcodes import BarcodeRule
from kiosk.domain.ils_files import MAX_BARCODE_LENGTH, PatronLayout, RowError, parse_money
from kiosk.domain.patrons import PatronRecord, PatronStatus

PatronRow = tuple[str, str, int, str, str | None]


def _cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def as_row(record: PatronRecord) -> PatronRow:
    return (
        record.barcode,
        record.name,
        _cents(record.fines),
        record.status.value,
        _iso(record.expires),
    )


# Distinct cells remembered per column (fines, status, expiry): a bound on memory, far above
# what a real export has (a few dozen amounts, a few statuses, some thousands of dates).
MAX_REMEMBERED = 20_000
V = TypeVar("V")


class _Cells(Generic[V]):
    """One column of cells that repeat (fines, status, expiry), each distinct text decoded
    once. None for a column the file does not have: every cell is empty."""

    def __init__(self, index: int | None, decode: Callable[[str], V]) -> None:
        self.index = index
        self.decode = decode
        self.known: dict[str, V] = {}

    def values(self, columns: Sequence[Sequence[str]], count: int) -> list[V] | None:
        """Each cell's value, or None if any cell is not good."""
        cells: Sequence[str] = [""] * count if self.index is None else columns[self.index]
        known = self.known
        try:
            return list(map(known.__getitem__, cells))  # every text seen before: the usual case
        except KeyError:
            pass
        new = set(cells).difference(known)
        if len(known) + len(new) > MAX_REMEMBERED:
            known.clear()
            new = set(cells)
        try:
            for text in new:
                known[text] = self.decode(text)
        except RowError:
            return None
        return list(map(known.__getitem__, cells))


class PatronColumns:
    """A batch of an export's rows decoded column by column, when every row in it is good:
    the same values as parse_patron_row (parse_denied_row for a deny list), the barcode
    rule and as_row give row by row, at a fraction of the cost. Anything else (a bad row, a
    blank line) gives None: that batch is then read row by row, which finds each problem
    and words it."""

    def __init__(
        self, names: list[str], layout: PatronLayout, rule: BarcodeRule, *, deny: bool = False
    ) -> None:
        # A column named twice: the last one, as checked_rows picks it.
        where = {name: i for i, name in enumerate(names)}
        self.width = len(names)
        self.rule = rule
        self.barcode = where.get(layout.barcode)
        self.name = [where[column] for column in layout.name if column in where]

        def column(name: str | None) -> int | None:
            return where.get(name) if name else None

        self.fines = _Cells(column(layout.fines), lambda text: _cents(parse_money(text)))

        def status(text: str) -> str:
            found = layout.status_of(text)
            if deny and found is PatronStatus.OK:
                if text.strip():  # "ok" on a deny list: read row by row, which notes it
                    raise RowError(f"status {text.strip()!r} on a deny list")
                return PatronStatus.LISTED.value  # listed, reason not given: refused
            return found.value

        self.status = _Cells(column(layout.status), status)
        self.expires = _Cells(column(layout.expires), lambda text: _iso(layout.expiry_of(text)))

    def decode(self, rows: Sequence[list[str]]) -> list[PatronRow] | None:
        count = len(rows)
        if self.barcode is None or set(map(len, rows)) != {self.width}:
            return None
        columns = list(zip(*rows, strict=True))  # the rows are all of one width
        barcodes = columns[self.barcode]
        # parse_barcode: one printable token each, no longer than the limit. With no space
        # and nothing unprintable anywhere, stripping changes nothing.
        joined = "".join(barcodes)
        lengths = set(map(len, barcodes))
        if not (
            joined.isprintable()
            and " " not in joined
            and min(lengths) > 0
            and max(lengths) <= MAX_BARCODE_LENGTH
        ):
            return None
        status = self.status.values(columns, count)
        expires = self.expires.values(columns, count)
        names = self._names(columns, count)
        fines = self.fines.values(columns, count)
        if (
            status is None
            or expires is None
            or fines is None
            or not "".join(names).isprintable()
            or not self.rule.all_fit(barcodes)
        ):
            return None
        return list(zip(barcodes, names, fines, status, expires, strict=True))

    def _names(self, columns: Sequence[Sequence[str]], count: int) -> list[str]:
        """The name columns stripped and joined with a space, as parse_patron_row does."""
        if not self.name:
            return [""] * count
        if len(self.name) == 1:
            return list(map(str.strip, columns[self.name[0]]))
        parts = zip(*(columns[i] for i in self.name), strict=True)
        return [" ".join(p for p in (cell.strip() for cell in cells) if p) for cells in parts]
