"""Rows of the files the library system exports, read into records: a patron export in any
column layout, Evergreen's offline block list, an item list. Pure decoders: the storage layer
streams the file and stores what these return; a row that cannot be used is a RowError."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum

from kiosk.domain.items import OUR_STATUS_WORDS, ItemRecord, ItemStatus, material_key
from kiosk.domain.patrons import PatronRecord, PatronStatus, SnapshotMode


class RowError(ValueError):
    """A row that cannot be used, with a reason in plain words."""


MAX_BARCODE_LENGTH = 64  # longer than any card or item number a library system issues

_AMOUNT = re.compile(r"-?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?")


def parse_money(text: str) -> Decimal:
    """An amount like `12.50`, `-3`, `1,234.50` or `$4.00`; empty means 0.

    A comma is accepted only as a thousands separator in its right place: `1,5` is refused
    rather than guessed (it means 1.5 in much of the world).
    """
    stripped = text.strip()
    if not stripped:
        return Decimal("0")
    cleaned = stripped.replace("$", "", 1).replace("€", "", 1).replace("£", "", 1).strip()
    if not _AMOUNT.fullmatch(cleaned):
        raise RowError(f"fines {text!r} is not an amount (like 12.50)")
    try:
        value = Decimal(cleaned.replace(",", ""))
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only numbers
        raise RowError(f"fines {text!r} is not an amount (like 12.50)") from exc
    if value.as_tuple().exponent < -2:  # type: ignore[operator]
        raise RowError(f"fines {text!r} has more than two decimals")
    return value


def parse_barcode(text: str | None, max_length: int = MAX_BARCODE_LENGTH) -> str:
    """A card or item number as listed by the library system: one printable token."""
    barcode = (text or "").strip()
    if not barcode:
        raise RowError("barcode is empty")
    if len(barcode) > max_length or not barcode.isprintable() or " " in barcode:
        raise RowError(f"barcode {barcode[:20]!r} is not a barcode")
    return barcode


# Patron exports ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PatronLayout:
    """Which columns of a patron export hold what, named as in the file's header (compared in
    lower case), and how the library system writes statuses and dates.

    `required`: columns the header must have (the ones the config maps by name). The others
    are read when the header has them and take their defaults when it does not. None (or
    no name columns): not read at all.
    """

    barcode: str = "barcode"
    name: tuple[str, ...] = ("name",)  # joined with a space, in this order
    fines: str | None = "fines"
    status: str | None = "status"
    expires: str | None = "expires"
    required: frozenset[str] = frozenset({"barcode"})
    # The library system's own status words (lower case) -> our statuses. Our own words
    # (ok, blocked, lost, expired) are understood as well.
    status_values: tuple[tuple[str, PatronStatus], ...] = ()
    date_format: str | None = None  # strptime; None: YYYY-MM-DD

    @classmethod
    def mapped(
        cls,
        *,
        barcode: str | None = None,
        name: Sequence[str] = (),
        fines: str | None = None,
        status: str | None = None,
        expires: str | None = None,
        status_values: Mapping[str, PatronStatus] | None = None,
        date_format: str | None = None,
    ) -> PatronLayout:
        """A layout from a column mapping: a column given here must be in the header; one
        left out is our own name, read if the header happens to have it (unless the mapping
        gives that name to another field: `barcode = "name"` must not greet with it)."""
        given = {"barcode": barcode, "fines": fines, "status": status, "expires": expires}
        mapped = {key: _column(value) for key, value in given.items() if value}
        names = tuple(_column(n) for n in name)
        taken = set(mapped.values()) | set(names)

        def column(key: str) -> str | None:
            if key in mapped:
                return mapped[key]
            return None if key in taken else key

        if not names:
            names = () if "name" in taken else ("name",)
        return cls(
            barcode=mapped.get("barcode", "barcode"),
            name=names,
            fines=column("fines"),
            status=column("status"),
            expires=column("expires"),
            required=frozenset({mapped.get("barcode", "barcode"), *mapped.values(), *_given(name)}),
            status_values=tuple(
                sorted(
                    (
                        (word.strip().casefold(), value)
                        for word, value in (status_values or {}).items()
                    ),
                    key=lambda pair: pair[0],
                )
            ),
            date_format=date_format,
        )

    def columns(self) -> frozenset[str]:
        """Every column this layout reads."""
        optional = (self.fines, self.status, self.expires)
        return frozenset({self.barcode, *self.name, *(c for c in optional if c)})

    def look_alikes(self, header: Iterable[str]) -> list[tuple[str, str]]:
        """(header column, the column it looks like) for each column this layout reads that
        the header lacks while it has one a letter away from it, or one that holds its name
        joined to another (a damaged separator: "name;fines"). Read as "not there", such a
        column would silently drop the fines or statuses that refuse patrons."""
        present = [_column(n) for n in header]
        wanted = sorted(self.columns() - set(present))
        found = []
        for cell in present:
            if cell in self.columns():
                continue
            parts = set(re.split(r"[^0-9a-z_]+", cell))
            for column in wanted:
                if _one_edit_apart(cell, column) or (column in parts and cell != column):
                    found.append((cell, column))
        return found

    def missing(self, header: Iterable[str]) -> list[str]:
        """The required columns the header does not have, in a stable order."""
        present = {_column(n) for n in header}
        return sorted(self.required - present)

    def status_of(self, text: str) -> PatronStatus:
        word = text.strip().casefold()
        if not word:
            return PatronStatus.OK
        for known, status in self.status_values:
            if known == word:
                return status
        try:
            return PatronStatus(word)
        except ValueError:
            allowed = ", ".join(s.value for s in PatronStatus)
            theirs = ", ".join(known for known, _ in self.status_values)
            extra = f" (or {theirs})" if theirs else ""
            raise RowError(f"status {word!r} is not one of {allowed}{extra}") from None

    def expiry_of(self, text: str) -> date | None:
        text = text.strip()
        if not text:
            return None
        if self.date_format is None:
            try:
                return date.fromisoformat(text)
            except ValueError:
                raise RowError(f"expires {text!r} is not a date (YYYY-MM-DD)") from None
        try:
            return datetime.strptime(text, self.date_format).date()
        except ValueError:
            example = date(2026, 12, 31).strftime(self.date_format)
            raise RowError(
                f"expires {text!r} is not a date like {example} ({self.date_format})"
            ) from None


def _one_edit_apart(a: str, b: str) -> bool:
    """True when one letter changed, added or removed turns a into b."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


def _column(name: str) -> str:
    """Header names are compared stripped and in lower case."""
    return name.strip().lower()


def _given(names: Sequence[str]) -> set[str]:
    return {_column(n) for n in names}


def _cell(row: Mapping[str, str | None], column: str | None) -> str:
    return (row.get(column) or "") if column else ""


DEFAULT_LAYOUT = PatronLayout()


def parse_patron_row(
    row: Mapping[str, str | None],
    max_barcode_length: int = MAX_BARCODE_LENGTH,
    *,
    layout: PatronLayout = DEFAULT_LAYOUT,
) -> PatronRecord:
    """One row of a patron export, keyed by the header's column names (lower case)."""
    barcode = parse_barcode(row.get(layout.barcode), max_barcode_length)
    status = layout.status_of(_cell(row, layout.status))
    expires = layout.expiry_of(_cell(row, layout.expires))
    parts = (_cell(row, column).strip() for column in layout.name)
    name = " ".join(part for part in parts if part)
    if not name.isprintable():
        raise RowError("name contains control characters")
    return PatronRecord(
        barcode=barcode,
        name=name,
        fines=parse_money(_cell(row, layout.fines)),
        status=status,
        expires=expires,
    )


@dataclass(frozen=True)
class TextFormat:
    """How the bytes of an export become text and fields: the encoding (a Python codec
    name; UTF-8 reads a byte order mark too), the separator of a CSV (None: found from the
    header), and whether the library system ends its files without a line end (then the
    last line is complete, not possibly cut short)."""

    encoding: str = "utf-8"
    separator: str | None = None
    ends_without_newline: bool = False


DEFAULT_TEXT = TextFormat()


class PatronFileKind(Enum):
    CSV = "csv"  # a header row, then one patron a row (comma- or tab-separated)
    EVERGREEN_BLOCKLIST = "evergreen-blocklist"  # `<barcode> <flag>` lines, no header


@dataclass(frozen=True)
class PatronFileFormat:
    """How to read a patron export, and whether it lists who may borrow or who may not."""

    kind: PatronFileKind = PatronFileKind.CSV
    mode: SnapshotMode = SnapshotMode.ALLOW
    layout: PatronLayout = DEFAULT_LAYOUT
    text: TextFormat = DEFAULT_TEXT

    def __post_init__(self) -> None:
        if self.kind is PatronFileKind.EVERGREEN_BLOCKLIST and self.mode is not SnapshotMode.DENY:
            raise ValueError("an Evergreen block list lists the cards that may not borrow")


# Evergreen's offline block list ---------------------------------------------------------------

# FORMATS.md section 3. A penalized patron (D) has a standing penalty that blocks
# circulation: fines over the limit, too many items out or overdue, or a block staff set by
# hand. The domain has no refusal that covers all of those truthfully, so it is "blocked".
BLOCKLIST_FLAGS = {
    "L": PatronStatus.LOST,
    "B": PatronStatus.BLOCKED,  # barred
    "D": PatronStatus.BLOCKED,  # penalized
    "E": PatronStatus.EXPIRED,
}


def parse_blocklist_line(
    line: str, max_barcode_length: int = MAX_BARCODE_LENGTH
) -> tuple[PatronRecord, str]:
    """One `<barcode> <flag>` line of Evergreen's offline block list, and a note when its
    flag is not one the kiosk knows. A deny list fails closed: the card a line names is
    refused whatever its flag says (an unknown flag, none, or more words than one), as
    blocked; only a line whose first word is not a barcode is a bad row."""
    fields = line.split()
    barcode = parse_barcode(fields[0] if fields else "", max_barcode_length)
    flag = " ".join(fields[1:])
    if len(fields) == 2 and flag.upper() in BLOCKLIST_FLAGS:
        return PatronRecord(barcode=barcode, status=BLOCKLIST_FLAGS[flag.upper()]), ""
    said = f"flag {flag[:12]!r} is not one of L, B, D, E" if flag else "no flag"
    return PatronRecord(barcode=barcode, status=PatronStatus.LISTED), f"{said}: refused as blocked"


def parse_denied_row(
    row: Mapping[str, str | None],
    max_barcode_length: int = MAX_BARCODE_LENGTH,
    *,
    layout: PatronLayout = DEFAULT_LAYOUT,
) -> tuple[PatronRecord, str]:
    """One row of a CSV deny list, and a note when part of it could not be read. Every card
    a deny list names is refused: a status the kiosk does not know, or `ok`, makes it
    `listed` (refused as blocked), and fines or an expiry that do not read are left out
    (they cannot let a listed card borrow). Only a row without a usable barcode is bad."""
    barcode = parse_barcode(row.get(layout.barcode), max_barcode_length)
    notes = []
    try:
        status = layout.status_of(_cell(row, layout.status))
    except RowError as exc:
        status = PatronStatus.LISTED
        notes.append(str(exc))
    if status is PatronStatus.OK:
        if _cell(row, layout.status).strip():
            notes.append(f"status {_cell(row, layout.status).strip()!r} on a deny list")
        status = PatronStatus.LISTED
    try:
        fines = parse_money(_cell(row, layout.fines))
    except RowError as exc:
        fines = Decimal("0")
        notes.append(str(exc))
    try:
        expires = layout.expiry_of(_cell(row, layout.expires))
    except RowError as exc:
        expires = None
        notes.append(str(exc))
    parts = (_cell(row, column).strip() for column in layout.name)
    name = " ".join(part for part in parts if part)
    if not name.isprintable():
        name = ""
    record = PatronRecord(barcode=barcode, name=name, fines=fines, status=status, expires=expires)
    note = "; ".join(notes)
    return record, f"{note}: refused as blocked" if note else ""


# Item lists -----------------------------------------------------------------------------------

ITEM_COLUMNS = ("barcode", "title", "material", "status", "hold_for")
# ISBD punctuation that MARC titles often end with ("The hobbit /"): not part of the title.
_TITLE_TAIL = " /:;,=."


def item_status_of(
    text: str, status_values: Iterable[tuple[str, ItemStatus]] = ()
) -> tuple[ItemStatus, str]:
    """An item status as the export writes it: the library system's own word (mapped in the
    config, compared without regard to case) or ours (`on hold` and `on-hold` read as
    `on_hold`); empty is available. Fails closed: a word the kiosk does not know is
    `unknown` (refused at the kiosk), with a note saying so."""
    word = " ".join(text.split()).casefold()
    if not word:
        return ItemStatus.AVAILABLE, ""
    for known, status in status_values:
        if known == word:
            return status, ""
    ours = word.replace(" ", "_").replace("-", "_")
    if ours in OUR_STATUS_WORDS:
        return ItemStatus(ours), ""
    return ItemStatus.UNKNOWN, f"status {text.strip()[:30]!r} is not one the kiosk knows: refused"


def parse_item_row(
    row: Mapping[str, str | None],
    max_barcode_length: int = MAX_BARCODE_LENGTH,
    *,
    status_values: Iterable[tuple[str, ItemStatus]] = (),
) -> tuple[ItemRecord, str]:
    """One row of an item list (columns barcode, title, material, status, hold_for), and a
    note when its status is a word the kiosk does not know (the item is refused, not lent).
    An item with a `hold_for` card and no status that refuses it is on hold for that card."""
    barcode = parse_barcode(row.get("barcode"), max_barcode_length)
    title = " ".join((row.get("title") or "").split()).rstrip(_TITLE_TAIL)
    if not title.isprintable():
        raise RowError("title contains control characters")
    material = material_key(row.get("material") or "")
    if not material.isprintable():
        raise RowError("material contains control characters")
    hold_for = (row.get("hold_for") or "").strip()
    if len(hold_for) > max_barcode_length or not hold_for.isprintable() or " " in hold_for:
        raise RowError(f"hold_for {hold_for[:20]!r} is not a card number")
    status, note = item_status_of(row.get("status") or "", status_values)
    if hold_for and status is ItemStatus.AVAILABLE:
        status = ItemStatus.ON_HOLD
    record = ItemRecord(barcode, title, material, status, hold_for)
    return record, note
