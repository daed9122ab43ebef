"""The kiosk's configuration: TOML, validated into frozen models.

Every problem is reported at once with its dotted key path; unknown keys are errors (with a
"did you mean" when a known key is close). `kiosk config check` exits 78 on a bad file.

The sections live in modules of their own (snapshot, lending, screen, devices, operations),
the path resolution in paths; this module holds the whole config, its loading and the
public names, re-exported so `from kiosk.config import ...` keeps one place to import from.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, ValidationError, field_validator

from kiosk.config.base import MODEL_CONFIG
from kiosk.config.devices import KeyboardSection, PrinterSection, ScannerSection, SoundsSection
from kiosk.config.lending import (
    BarcodeRuleSection,
    BarcodesSection,
    LoansSection,
    PolicySection,
)
from kiosk.config.operations import BackupSection, IlsSection, Sip2Section, StaffSection
from kiosk.config.paths import resolve_paths
from kiosk.config.screen import (
    Colour,
    DisplaySection,
    ReceiptSection,
    SessionSection,
    ThemeSection,
    contrast_ratio,
    relative_luminance,
)
from kiosk.config.snapshot import (
    ColumnName,
    ItemColumnsSection,
    ItemsSection,
    ItemStatusWord,
    SnapshotColumnsSection,
    SnapshotSection,
    StatusWord,
)
from kiosk.domain.barcodes import BarcodeRules
from kiosk.domain.loans import WEEKDAYS, LoanRules
from kiosk.domain.patrons import PatronPolicy, PatronStatus
from kiosk.domain.station import StationRules
from kiosk.errors import ConfigError
from kiosk.presenter.presenter import Settings

__all__ = [
    "CONFIG_ENV",
    "DEFAULT_CONFIG_PATH",
    "BackupSection",
    "BarcodeRuleSection",
    "BarcodesSection",
    "Colour",
    "ColumnName",
    "DisplaySection",
    "IlsSection",
    "ItemColumnsSection",
    "ItemStatusWord",
    "ItemsSection",
    "KeyboardSection",
    "KioskConfig",
    "KioskSection",
    "LoansSection",
    "PolicySection",
    "PrinterSection",
    "ReceiptSection",
    "ScannerSection",
    "SessionSection",
    "Sip2Section",
    "SnapshotColumnsSection",
    "SnapshotSection",
    "SoundsSection",
    "StaffSection",
    "StatusWord",
    "ThemeSection",
    "contrast_ratio",
    "default_config_path",
    "load_config",
    "parse_config",
    "relative_luminance",
    "resolve_paths",
]

DEFAULT_CONFIG_PATH = Path("/etc/kiosk/kiosk.toml")
CONFIG_ENV = "KIOSK_CONFIG"


class _Model(BaseModel):
    model_config = MODEL_CONFIG


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
