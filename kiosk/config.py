"""The kiosk's configuration: TOML, validated into frozen models.

Every problem is reported at once with its dotted key path; unknown keys are errors (with a
"did you mean" when a known key is close). `kiosk config check` exits 78 on a bad file.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import tomllib
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path, PurePath
from types import UnionType
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hardware.printer_kinds import check_settings as check_printer_settings
from kiosk.barcode_overlap import find_overlap
from kiosk.domain.barcodes import PATTERN_FLAGS, BarcodeRule, BarcodeRules, CheckDigit
from kiosk.domain.ils_files import PatronFileFormat, PatronFileKind, PatronLayout, TextFormat
from kiosk.domain.ils_profiles import IlsProfile
from kiosk.domain.ils_profiles import profile as ils_profile
from kiosk.domain.items import ItemStatus, material_key
from kiosk.domain.loans import WEEKDAYS, LoanRules
from kiosk.domain.patrons import PatronPolicy, PatronStatus, SnapshotMode
from kiosk.domain.service import SnapshotLimits
from kiosk.domain.staff import SecretHash, parse_hash
from kiosk.domain.station import StationRules
from kiosk.errors import ConfigError, SettingError
from kiosk.presenter.presenter import Settings

DEFAULT_CONFIG_PATH = Path("/etc/kiosk/kiosk.toml")
CONFIG_ENV = "KIOSK_CONFIG"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class KioskSection(_Model):
    id: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9._-]+$")]
    library: Annotated[str, Field(min_length=1)]
    branch: str = ""
    timezone: str
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"  # ISO 4217, for fines
    data_dir: Path = Path("/var/lib/kiosk")
    # Written by `kiosk spool init` (kiosk install --enable runs it): the spool this kiosk was
    # set up with. A data folder that lost it is then refused, never given an empty spool.
    spool_id: Annotated[str, Field(pattern=r"^[0-9a-f-]{36}$")] | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"{value!r} is not an IANA time zone name (like 'America/New_York')"
            ) from exc
        return value


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


class PolicySection(_Model):
    block_fines_over: Decimal | None = None
    block_statuses: list[Literal["blocked", "lost", "expired"]] = ["blocked", "lost", "expired"]
    max_items_per_session: Annotated[int, Field(ge=0, le=1000)] = 20
    max_items_per_patron: Annotated[int, Field(ge=0)] = 0

    @field_validator("block_fines_over", mode="before")
    @classmethod
    def _amount_as_text(cls, value: Any) -> Any:
        if isinstance(value, float):
            raise ValueError('write the amount as text, like "10.00", so it is exact')
        return value

    @field_validator("block_fines_over")
    @classmethod
    def _amount(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and (value < 0 or value.as_tuple().exponent < -2):  # type: ignore[operator]
            raise ValueError("must be an amount of money, zero or more, with at most 2 decimals")
        return value


class LoansSection(_Model):
    loan_days: Annotated[int, Field(ge=1, le=365)] = 21
    closed_dates: list[date] = []
    closed_weekdays: list[str] = []
    # Loan periods per material type, for items the item snapshot lists (dvd = 7). Any
    # other item, or any item without an item snapshot, has loan_days.
    by_material: dict[str, Annotated[int, Field(ge=1, le=365)]] = {}

    @field_validator("by_material")
    @classmethod
    def _materials(cls, value: dict[str, int]) -> dict[str, int]:
        keyed: dict[str, int] = {}
        for material, days in value.items():
            key = material_key(material)
            if not key:
                raise ValueError("a material type cannot be blank")
            if key in keyed:
                raise ValueError(f"{material!r} is listed twice (case does not matter)")
            keyed[key] = days
        return keyed

    @field_validator("closed_weekdays")
    @classmethod
    def _weekdays(cls, value: list[str]) -> list[str]:
        unknown = [day for day in value if day.lower() not in WEEKDAYS]
        if unknown:
            raise ValueError(f"{unknown} are not weekdays (use {', '.join(WEEKDAYS)})")
        if len({day.lower() for day in value}) >= 7:
            raise ValueError("the library cannot be closed on every day of the week")
        return [day.lower() for day in value]


class BarcodeRuleSection(_Model):
    prefix: str = ""
    length: Annotated[int, Field(ge=1, le=64)] | None = None
    pattern: str | None = None
    check_digit: Literal["luhn", "none"] = "none"

    @model_validator(mode="after")
    def _shape(self) -> BarcodeRuleSection:
        if self.pattern is not None:
            if self.prefix or self.length is not None:
                raise ValueError("give either a pattern or prefix/length, not both")
            try:
                re.compile(self.pattern, PATTERN_FLAGS)
            except re.error as exc:
                raise ValueError(f"pattern is not a regular expression: {exc}") from exc
        elif not self.prefix and self.length is None:
            raise ValueError("give a prefix, a length, or a pattern")
        return self

    def rule(self) -> BarcodeRule:
        return BarcodeRule(self.prefix, self.length, self.pattern, CheckDigit(self.check_digit))


class BarcodesSection(_Model):
    patron: BarcodeRuleSection
    item: BarcodeRuleSection
    strip_aim_id: bool = True
    strip_codabar: bool = True
    max_length: Annotated[int, Field(ge=4, le=256)] = 64
    # Rules that can fit the same scan: refused, or told apart by the patron and item
    # snapshots (README, "Configuration").
    overlap: Literal["refuse", "lists"] = "refuse"

    @model_validator(mode="after")
    def _told_apart(self) -> BarcodesSection:
        if self.overlap == "refuse":
            patron, item = self.patron.rule(), self.item.rule()
            found = find_overlap(patron, item, self.max_length)
            if found is not None:
                raise ValueError(found.problem(patron, item))
        return self


class SessionSection(_Model):
    idle_timeout_seconds: Annotated[int, Field(ge=10, le=3600)] = 60
    countdown_seconds: Annotated[int, Field(ge=0, le=60)] = 10  # warn before the timeout
    notice_seconds: Annotated[float, Field(ge=1, le=30)] = 4  # an item problem stays this long
    refused_seconds: Annotated[float, Field(ge=2, le=60)] = 10
    finish_seconds: Annotated[float, Field(ge=3, le=120)] = 20  # the receipt question waits
    goodbye_seconds: Annotated[float, Field(ge=2, le=60)] = 8

    @model_validator(mode="after")
    def _countdown_fits(self) -> SessionSection:
        if self.countdown_seconds >= self.idle_timeout_seconds:
            raise ValueError("countdown_seconds must be shorter than idle_timeout_seconds")
        return self


_COLOUR = r"^#[0-9A-Fa-f]{6}$"
Colour = Annotated[str, Field(pattern=_COLOUR)]


class ThemeSection(_Model):
    background: Colour = "#FFFFFF"
    text: Colour = "#1B1B1B"
    muted_text: Colour = "#4A4A4A"
    accent: Colour = "#0B5394"  # buttons and headers
    accent_text: Colour = "#FFFFFF"
    problem: Colour = "#A4001D"  # problem notices (text on background)
    success: Colour = "#1E6B2E"

    @model_validator(mode="after")
    def _readable(self) -> ThemeSection:
        pairs = [
            ("text", "background"),
            ("muted_text", "background"),
            ("accent_text", "accent"),
            ("accent", "background"),  # library name, banner, secondary buttons
            ("problem", "background"),
            ("success", "background"),
            ("background", "problem"),  # notice banners: background-coloured text on problem
        ]
        low = [
            # Rounded down: 4.48 must not read as "4.5" in a message refusing it.
            f"{fg} on {bg} is {math.floor(ratio * 100) / 100:.2f}:1"
            for fg, bg in pairs
            if (ratio := contrast_ratio(getattr(self, fg), getattr(self, bg))) < 4.5
        ]
        if low:
            raise ValueError(
                "text must have a contrast of at least 4.5:1 (WCAG AA): " + "; ".join(low)
            )
        return self


def _linear(channel: int) -> float:
    c = channel / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: str) -> float:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _linear(r) + 0.7152 * _linear(g) + 0.0722 * _linear(b)


def contrast_ratio(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two #RRGGBB colours (1 to 21)."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


class DisplaySection(_Model):
    fullscreen: Literal["auto", "borderless", "windowed"] = "auto"
    width: Annotated[int, Field(ge=320, le=7680)] = 1280  # borderless and windowed
    height: Annotated[int, Field(ge=240, le=4320)] = 800
    show_cursor: bool = False
    languages: Annotated[list[Literal["en", "es"]], Field(min_length=1)] = ["en", "es"]
    show_fine_amounts: bool = False
    logo: Path | None = None  # a PNG; relative to the config file
    theme: ThemeSection = ThemeSection()

    @field_validator("languages")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("a language is listed twice")
        return value


class ReceiptSection(_Model):
    mode: Literal["ask", "always", "never"] = "ask"


class PrinterSection(_Model):
    type: Literal["none", "usb", "serial", "network", "file", "cups", "fake"] = "none"
    profile: str = "TM-T88V"  # python-escpos printer profile: paper width, code pages
    qr: bool = False  # print a QR code of the session id on receipts
    # usb
    vendor_id: Annotated[int, Field(ge=0, le=0xFFFF)] | None = None
    product_id: Annotated[int, Field(ge=0, le=0xFFFF)] | None = None
    # serial
    url: str | None = None
    baudrate: Annotated[int, Field(ge=300, le=921600)] = 9600
    # network
    host: str | None = None
    port: Annotated[int, Field(ge=1, le=65535)] = 9100
    # file (a device node such as /dev/usb/lp0, or a plain file)
    path: Path | None = None
    # cups
    name: str | None = None
    # fake: a stand-in printer with fault switches
    fail: bool = False  # every print fails
    paper_for: Annotated[int, Field(ge=0)] | None = None  # prints before the paper runs out

    @model_validator(mode="after")
    def _needs(self) -> PrinterSection:
        if self.type != "none":  # checked against the printers' own table, nowhere else
            check_printer_settings(self.type, self.settings())
        return self

    def settings(self) -> dict[str, Any]:
        """This type's settings under the names hardware.printers.make_printer takes; those
        not given are left out (the printer's own defaults apply)."""
        keys = {
            "usb": ("vendor_id", "product_id"),
            "serial": ("url", "baudrate"),
            "network": ("host", "port"),
            "file": ("path",),
            "fake": ("fail", "paper_for"),
        }.get(self.type, ())
        settings = {key: getattr(self, key) for key in keys}
        if self.type == "cups":
            settings["printer"] = self.name  # the CUPS queue; none: the default queue
        return {key: value for key, value in settings.items() if value is not None}


class ScannerSection(_Model):
    type: Literal["serial", "evdev", "keyboard", "stdin", "fake"]
    name: str = ""  # shown in logs and the staff status; default: type and device
    # serial
    url: str | None = None  # any pyserial URL: /dev/ttyACM0, loop://, socket://host:port
    baudrate: Annotated[int, Field(ge=300, le=921600)] = 9600
    terminator: Literal["any", "cr", "lf", "crlf", "idle"] = "any"
    idle_gap_ms: Annotated[int, Field(ge=5, le=2000)] = 50  # terminator = "idle"
    prefix: str = ""  # stripped from every scan
    suffix: str = ""
    # evdev
    device: str | None = None  # /dev/input/event3 or /dev/input/by-id/...-event-kbd
    device_name: str | None = None  # or match the input device's name
    grab: bool = True  # exclusive: scans never leak into other programs
    # fake
    script: list[str] = []  # scans a fake scanner sends by itself
    interval_ms: Annotated[int, Field(ge=0)] = 1000

    @model_validator(mode="after")
    def _needs(self) -> ScannerSection:
        if self.type == "serial" and not self.url:
            raise ValueError("a serial scanner needs url")
        if self.type == "evdev" and not (self.device or self.device_name):
            raise ValueError("an evdev scanner needs device or device_name")
        return self

    @property
    def label(self) -> str:
        return self.name or f"{self.type}:{self.url or self.device or self.device_name or ''}"


class SoundsSection(_Model):
    enabled: bool = True
    success: Path | None = None  # a WAV file; default: a short built-in tone
    problem: Path | None = None


class KeyboardSection(_Model):
    # A wedge scanner types a whole barcode in a burst; a person types far slower. Keys further
    # apart than this start a new scan, so stray typing never forms a barcode.
    max_key_gap_ms: Annotated[int, Field(ge=5, le=2000)] = 100
    min_scan_length: Annotated[int, Field(ge=1, le=64)] = 4


class StaffSection(_Model):
    # Salted scrypt hashes written by `kiosk staff add-pin` / `add-card`; never the PINs.
    pins: list[str] = []
    # A scan's quick check against them is kept per station, in the data folder
    # (kiosk.storage.staff_cards): never here.
    cards: list[str] = []
    # Per PIN pad: the corner's and the one a staff card opens count apart (runtime.signin).
    wrong_pin_limit: Annotated[int, Field(ge=1, le=20)] = 5
    lockout_minutes: Annotated[int, Field(ge=1, le=1440)] = 15
    idle_seconds: Annotated[int, Field(ge=15, le=600)] = 60  # staff mode closes by itself
    long_press_seconds: Annotated[float, Field(ge=1, le=10)] = 3  # on the hidden corner
    # Archived periods are removed this many days after they were handed over (0: never).
    retention_days: Annotated[int, Field(ge=0, le=3650)] = 90
    # Where removable drives are mounted (the staff screen's "Export to USB drive").
    export_roots: list[Path] = [Path("/media"), Path("/run/media"), Path("/mnt")]

    @field_validator("pins", "cards")
    @classmethod
    def _hashes(cls, value: list[str]) -> list[str]:
        for index, text in enumerate(value):
            try:
                parse_hash(text)
            except ValueError as exc:
                raise ValueError(f"entry {index + 1} {exc}") from None
        return value

    @model_validator(mode="after")
    def _cards_need_pins(self) -> StaffSection:
        if self.cards and not self.pins:
            raise ValueError("staff cards open the PIN pad: add a PIN (kiosk staff add-pin)")
        return self

    def pin_hashes(self) -> tuple[SecretHash, ...]:
        return tuple(parse_hash(text) for text in self.pins)

    def card_hashes(self) -> tuple[SecretHash, ...]:
        return tuple(parse_hash(text) for text in self.cards)


class BackupSection(_Model):
    folder: Path | None = None  # e.g. a mounted network share; None: no backups
    keep: Annotated[int, Field(ge=1, le=10000)] = 48


class Sip2Section(_Model):
    host: Annotated[str, Field(min_length=1)]
    port: Annotated[int, Field(ge=1, le=65535)] = 6001
    tls: bool = False  # TLS with certificate verification
    ca_file: Path | None = None  # with tls: a CA to trust instead of the system's
    login_user: str = ""  # empty: no login message (servers that need none)
    login_password: str = ""  # or login_password_file, or $KIOSK_SIP2_PASSWORD
    login_password_file: Path | None = None
    location: str = ""
    institution: Annotated[str, Field(min_length=1)]
    terminal_password: str = ""
    timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 10
    retries: Annotated[int, Field(ge=0, le=10)] = 3  # resends of one message (96, checksum)
    reconnects: Annotated[int, Field(ge=0, le=100)] = 5  # per upload, with back-off
    encoding: str = "utf-8"
    error_detection: bool = True  # AY/AZ sequence and checksum
    auto_upload: bool = False  # the kiosk uploads by itself once the ILS answers again
    check_interval_seconds: Annotated[int, Field(ge=10, le=86400)] = 300

    @model_validator(mode="after")
    def _one_password(self) -> Sip2Section:
        if self.login_password and self.login_password_file is not None:
            raise ValueError("give login_password or login_password_file, not both")
        try:
            "".encode(self.encoding)
        except LookupError:
            raise ValueError(f"encoding {self.encoding!r} is not a known encoding") from None
        return self

    def password(self) -> str:
        """The login password: $KIOSK_SIP2_PASSWORD, the file, or the config, in that order."""
        from_env = os.environ.get("KIOSK_SIP2_PASSWORD")
        if from_env:
            return from_env
        if self.login_password_file is not None:
            try:
                return self.login_password_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise SettingError(
                    f"sip2.login_password_file {self.login_password_file} cannot be read: "
                    f"{exc.strerror or exc}"
                ) from exc
        return self.login_password


class IlsSection(_Model):
    # What the library system does with a replayed SIP2 checkout (kiosk.domain.ils_profiles).
    kind: Literal["koha", "evergreen", "polaris", "sierra", "folio", "generic"] = "generic"
    # Send by SIP2 (the upload watcher, the staff screen, an upload without --yes) even to an
    # ILS known to ignore no-block or drop the checkout's dates.
    allow_sip2_replay: bool = False

    def profile(self) -> IlsProfile:
        return ils_profile(self.kind)


class KioskConfig(_Model):
    kiosk: KioskSection
    snapshot: SnapshotSection = SnapshotSection()
    items: ItemsSection = ItemsSection()
    policy: PolicySection = PolicySection()
    loans: LoansSection = LoansSection()
    barcodes: BarcodesSection
    session: SessionSection = SessionSection()
    display: DisplaySection = DisplaySection()
    receipt: ReceiptSection = ReceiptSection()
    printer: PrinterSection = PrinterSection()
    sounds: SoundsSection = SoundsSection()
    keyboard: KeyboardSection = KeyboardSection()
    staff: StaffSection = StaffSection()
    sip2: Sip2Section | None = None  # the library system's SIP2 server, for uploads
    ils: IlsSection = IlsSection()
    backup: BackupSection = BackupSection()
    # Devices scans come from. None: the one that fits the mode (keyboard on the screens,
    # stdin headless). An explicit list replaces it; add keyboard/stdin to keep those too.
    scanners: list[ScannerSection] | None = None

    # Derived values the rest of the kiosk uses (plain domain values, never this model).

    @property
    def data_dir(self) -> Path:
        return self.kiosk.data_dir

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.kiosk.timezone)

    def barcode_rules(self) -> BarcodeRules:
        b = self.barcodes
        return BarcodeRules(
            b.patron.rule(), b.item.rule(), b.strip_aim_id, b.strip_codabar, b.max_length
        )

    def presenter_settings(self) -> Settings:
        s = self.session
        return Settings(
            library=self.kiosk.library,
            branch=self.kiosk.branch,
            languages=tuple(self.display.languages),
            show_fine_amounts=self.display.show_fine_amounts,
            fines_limit=self.policy.block_fines_over,
            currency=self.kiosk.currency,
            receipt_mode=self.receipt.mode,
            printer=self.printer.type != "none",
            countdown=timedelta(seconds=s.countdown_seconds),
            notice=timedelta(seconds=s.notice_seconds),
            refused=timedelta(seconds=s.refused_seconds),
            finish=timedelta(seconds=s.finish_seconds),
            goodbye=timedelta(seconds=s.goodbye_seconds),
        )

    def station_rules(self) -> StationRules:
        policy = PatronPolicy(
            block_fines_over=self.policy.block_fines_over,
            block_statuses=frozenset(PatronStatus(s) for s in self.policy.block_statuses),
            max_items_per_patron=self.policy.max_items_per_patron,
        )
        loans = LoanRules(
            loan_days=self.loans.loan_days,
            closed_dates=frozenset(self.loans.closed_dates),
            closed_weekdays=frozenset(WEEKDAYS.index(d) for d in self.loans.closed_weekdays),
            material_days=tuple(sorted(self.loans.by_material.items())),
        )
        return StationRules(
            kiosk_id=self.kiosk.id,
            timezone=self.tz,
            patron_policy=policy,
            loan_rules=loans,
            max_items_per_session=self.policy.max_items_per_session,
            idle_timeout=timedelta(seconds=self.session.idle_timeout_seconds),
        )


def default_config_path() -> Path:
    return Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG_PATH)


def _known_keys(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """The keys allowed where an unknown key `loc[-1]` was found."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        current = field.annotation
        args = getattr(current, "__args__", ())
        models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        if models:
            current = models[0]
    return list(getattr(current, "model_fields", {}))


def _describe(error: Any) -> str:
    loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    path = ".".join(str(p) for p in loc) or "(top level)"
    if error["type"] == "extra_forbidden":
        close = difflib.get_close_matches(str(loc[-1]), _known_keys(KioskConfig, loc), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"{path}: unknown key{hint}"
    if error["type"] == "missing":
        return f"{path}: required but missing"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{path}: {message}"


def parse_config(text: str, source: str, base_dir: Path | None = None) -> KioskConfig:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, [f"is not valid TOML: {exc}"], whole_file=True) from exc
    try:
        config = KioskConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(source, [_describe(e) for e in exc.errors()]) from exc
    if base_dir is not None:
        config = resolve_paths(config, base_dir)
    return config


M = TypeVar("M", bound=BaseModel)


def resolve_paths(model: M, base: Path) -> M:
    """Relative paths are relative to the config file, not to wherever the kiosk started.

    Which settings are paths is read from the model's own types (Path, Path | None,
    list[Path], in every section and list of sections), so a new path setting is resolved
    without being listed here."""
    updates = {}
    for name, field in type(model).model_fields.items():
        value = getattr(model, name)
        new = _resolved(field.annotation, value, base)
        if new is not value:
            updates[name] = new
    return model.model_copy(update=updates) if updates else model


def _resolved(annotation: Any, value: Any, base: Path) -> Any:
    """`value`, of type `annotation`, with every relative path in it put under `base`."""
    if value is None:
        return None
    origin = get_origin(annotation)
    if origin is Annotated:
        return _resolved(get_args(annotation)[0], value, base)
    if origin is Union or origin is UnionType:
        for member in get_args(annotation):  # the member of the union the value is
            kind = get_origin(_bare(member)) or _bare(member)
            if isinstance(kind, type) and isinstance(value, kind):
                return _resolved(member, value, base)
        return value
    if origin is list:
        (item,) = get_args(annotation)
        items = [_resolved(item, v, base) for v in value]
        return items if any(a is not b for a, b in zip(items, value, strict=True)) else value
    if isinstance(annotation, type) and issubclass(annotation, PurePath):
        return value if value.is_absolute() else base / value
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return resolve_paths(value, base)
    return value


def _bare(annotation: Any) -> Any:
    """The type under Annotated[...]."""
    return get_args(annotation)[0] if get_origin(annotation) is Annotated else annotation


def load_config(path: Path) -> KioskConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(
            str(path),
            [f"was not found (give --config PATH or set ${CONFIG_ENV})"],
            whole_file=True,
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), [f"cannot be read: {exc}"], whole_file=True) from exc
    return parse_config(text, str(path), base_dir=path.parent.resolve())
