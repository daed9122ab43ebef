"""Running the kiosk: staff sign-in ([staff]), backups ([backup]) and the library system
the checkouts are uploaded to ([sip2], [ils])."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from kiosk.config.base import MODEL_CONFIG
from kiosk.domain.ils_profiles import IlsProfile
from kiosk.domain.ils_profiles import profile as ils_profile
from kiosk.domain.staff import SecretHash, parse_hash
from kiosk.errors import SettingError


class _Model(BaseModel):
    model_config = MODEL_CONFIG


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
