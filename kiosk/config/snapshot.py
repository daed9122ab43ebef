"""The patron snapshot ([snapshot]) and the optional item snapshot ([items]): where the
library system's exports come from and how their columns and status words are read."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from kiosk.config.base import MODEL_CONFIG
from kiosk.domain.ils_files import PatronFileFormat, PatronFileKind, PatronLayout, TextFormat
from kiosk.domain.items import ItemStatus
from kiosk.domain.patrons import PatronStatus, SnapshotMode
from kiosk.domain.service import SnapshotLimits


class _Model(BaseModel):
    model_config = MODEL_CONFIG


def _column_name(value: str) -> str:
    if not value.strip():
        raise ValueError("a column name cannot be blank")
    return value


ColumnName = Annotated[str, Field(max_length=200)]
StatusWord = Literal["ok", "blocked", "lost", "expired"]


class SnapshotColumnsSection(_Model):
    """Which column of the library system's export holds what, by the header's names (case
    does not matter). A column named here must be in the file; one left out is read under
    our own name (barcode, name, fines, status, expires) when the file has it."""

    barcode: ColumnName | None = None
    name: ColumnName | list[ColumnName] | None = None  # several: joined with a space
    fines: ColumnName | None = None
    status: ColumnName | None = None
    expires: ColumnName | None = None

    @field_validator("barcode", "fines", "status", "expires")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        return None if value is None else _column_name(value)

    @field_validator("name")
    @classmethod
    def _names(cls, value: str | list[str] | None) -> str | list[str] | None:
        if isinstance(value, list):
            if not value:
                raise ValueError("give at least one column (or leave name out)")
            for name in value:
                _column_name(name)
        elif value is not None:
            _column_name(value)
        return value

    @model_validator(mode="after")
    def _each_column_once(self) -> SnapshotColumnsSection:
        seen: dict[str, str] = {}
        for key in ("barcode", "name", "fines", "status", "expires"):
            for column in self.names_of(key):
                other = seen.setdefault(column.strip().lower(), key)
                if other != key or self.names_of(key).count(column) > 1:
                    raise ValueError(f"the column {column!r} is named twice ({other}, {key})")
        return self

    def names_of(self, key: str) -> list[str]:
        value = getattr(self, key)
        if value is None:
            return []
        return list(value) if isinstance(value, list) else [value]


class SnapshotSection(_Model):
    # Where staff reload the snapshot from (the staff screen, `kiosk staff reload-snapshot`):
    # a file on a mounted share, for example. None: only `kiosk snapshot import FILE`.
    source: Path | None = None
    # Or an HTTPS address the morning timer fetches it from (`kiosk snapshot fetch`).
    url: Annotated[str, Field(pattern=r"^https://\S+$")] | None = None
    # The library's Ed25519 public key (`kiosk snapshot keygen`): when set, only snapshots
    # signed with its private key (`kiosk snapshot sign`) are fetched and reloaded.
    public_key: str | None = None
    max_age_hours: Annotated[float, Field(ge=0)] = 0
    warn_age_hours: Annotated[float, Field(ge=0)] = 36
    # An import with more bad rows than this is refused as a damaged or wrong file.
    max_bad_rows_percent: Annotated[float, Field(ge=0, le=100)] = 1.0
    # How the patron export is read: CSV with a header, or Evergreen's offline block list.
    # Default: csv, or the block list with mode = "deny" (the usual deny list).
    format: Literal["csv", "evergreen-blocklist"] | None = None
    # allow: only the patrons listed may borrow. deny: every card that fits the patron
    # barcode rule may borrow unless it is listed. Default: allow (deny for a block list).
    mode: Literal["allow", "deny"] | None = None
    columns: SnapshotColumnsSection | None = None  # CSV only
    status_values: dict[str, StatusWord] = {}  # the export's own status words
    date_format: str | None = None  # of the expiry column (strptime); default YYYY-MM-DD
    # The export's text encoding (utf-8 reads a byte order mark too; cp1252 is what Excel
    # and many Windows programs write) and, for a CSV, its separator (auto: found from the
    # header among comma, tab, semicolon and vertical bar).
    encoding: str = "utf-8"
    separator: Literal["auto", ",", ";", "tab", "|"] = "auto"
    # The library system writes its export without a line end after the last line: then
    # that line is read as complete (otherwise it may be cut short: see the README).
    ends_without_newline: bool = False

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, value: str) -> str:
        try:
            "barcode".encode(value).decode(value)  # only a text encoding does both
        except LookupError:
            raise ValueError(
                f"{value!r} is not a text encoding Python knows (utf-8, cp1252, latin-1, ...)"
            ) from None
        return value

    @field_validator("public_key")
    @classmethod
    def _key(cls, value: str | None) -> str | None:
        if value is not None:
            from kiosk.storage.signing import public_key

            public_key(value)  # ValueError says what is wrong
        return value

    @field_validator("status_values")
    @classmethod
    def _status_words(cls, value: dict[str, str]) -> dict[str, str]:
        return _status_words(value, "an empty status is ok")

    @field_validator("date_format")
    @classmethod
    def _date_format(cls, value: str | None) -> str | None:
        if value is None:
            return None
        sample = date(2026, 12, 31)
        try:
            back = datetime.strptime(sample.strftime(value), value).date()
        except ValueError:
            back = None
        if back != sample:
            raise ValueError(
                f"{value!r} does not read a whole date: it needs a year, a month and a day, "
                "like '%m/%d/%Y' or '%Y-%m-%d'"
            )
        return value

    @model_validator(mode="after")
    def _fits_format(self) -> SnapshotSection:
        if self.file_kind is PatronFileKind.EVERGREEN_BLOCKLIST:
            if self.mode == "allow":
                raise ValueError(
                    "an Evergreen block list lists the cards that may NOT borrow: "
                    'set mode = "deny" or leave mode out'
                )
            csv_only = [
                key
                for key in ("columns", "status_values", "date_format")
                if getattr(self, key) not in (None, {})
            ]
            if csv_only:
                raise ValueError(f'{", ".join(csv_only)}: only for format = "csv"')
        return self

    @property
    def file_kind(self) -> PatronFileKind:
        if self.format is not None:
            return PatronFileKind(self.format)
        deny = self.mode == "deny"
        return PatronFileKind.EVERGREEN_BLOCKLIST if deny else PatronFileKind.CSV

    def limits(self) -> SnapshotLimits:
        return SnapshotLimits(self.max_age_hours, self.warn_age_hours)

    def layout(self) -> PatronLayout:
        """The CSV column mapping as the domain reads rows with it."""
        columns = self.columns or SnapshotColumnsSection()
        return PatronLayout.mapped(
            barcode=columns.barcode,
            name=columns.names_of("name"),
            fines=columns.fines,
            status=columns.status,
            expires=columns.expires,
            status_values={
                word: PatronStatus(status) for word, status in self.status_values.items()
            },
            date_format=self.date_format,
        )

    def file_format(self, kind: str | None = None) -> PatronFileFormat:
        """How to read a patron export: this section's format, or `kind` (the command
        line's --format) instead. A block list is always a deny list."""
        chosen = PatronFileKind(kind) if kind else self.file_kind
        if chosen is PatronFileKind.EVERGREEN_BLOCKLIST:
            return PatronFileFormat(chosen, SnapshotMode.DENY, text=self.text_format())
        mode = SnapshotMode(self.mode or "allow")
        return PatronFileFormat(chosen, mode, self.layout(), self.text_format())

    def text_format(
        self,
        *,
        encoding: str | None = None,
        separator: str | None = None,
        ends_without_newline: bool = False,
    ) -> TextFormat:
        """How the export's bytes are read: this section's settings, or the command line's."""
        chosen = separator or self.separator
        return TextFormat(
            encoding=encoding or self.encoding,
            separator=None if chosen == "auto" else "\t" if chosen == "tab" else chosen,
            ends_without_newline=ends_without_newline or self.ends_without_newline,
        )


def _status_words(value: dict[str, str], empty: str) -> dict[str, str]:
    """A mapping of an export's status words: none blank, none twice (in any case)."""
    seen: set[str] = set()
    for word in value:
        folded = word.strip().casefold()
        if not folded:
            raise ValueError(f"a status word cannot be blank ({empty})")
        if folded in seen:
            raise ValueError(f"{word!r} is listed twice (case does not matter)")
        seen.add(folded)
    return value


ItemStatusWord = Literal["available", "on_hold", "in_transit", "not_for_loan", "lost", "missing"]


class ItemColumnsSection(_Model):
    """Which column of the item export holds what, by the header's names (case does not
    matter). A column named here must be in the file; one left out is read under our name."""

    barcode: ColumnName | None = None
    title: ColumnName | None = None
    material: ColumnName | None = None
    status: ColumnName | None = None
    hold_for: ColumnName | None = None

    @field_validator("barcode", "title", "material", "status", "hold_for")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        return None if value is None else _column_name(value)

    @model_validator(mode="after")
    def _each_column_once(self) -> ItemColumnsSection:
        seen: dict[str, str] = {}
        for key, column in self.mapping().items():
            other = seen.setdefault(column.strip().lower(), key)
            if other != key:
                raise ValueError(f"the column {column!r} is named twice ({other}, {key})")
        return self

    def mapping(self) -> dict[str, str]:
        """Our column name -> the export's, for each column named here."""
        return {key: value for key, value in self.model_dump().items() if value is not None}


class ItemsSection(_Model):
    """The optional item snapshot (kiosk snapshot import-items)."""

    columns: ItemColumnsSection | None = None
    # The export's own status words -> ours ("On hold shelf" = "on_hold"). A word neither
    # here nor ours is not guessed: its item is refused at the kiosk, and the import counts it.
    status_values: dict[str, ItemStatusWord] = {}

    @field_validator("status_values")
    @classmethod
    def _status_words(cls, value: dict[str, str]) -> dict[str, str]:
        return _status_words(value, "an empty status is available")

    def status_map(self) -> dict[str, ItemStatus]:
        return {word: ItemStatus(status) for word, status in self.status_values.items()}

    def column_map(self) -> dict[str, str]:
        return self.columns.mapping() if self.columns else {}
