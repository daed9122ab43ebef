"""The devices: the receipt printer ([printer]), scanners ([[scanners]]), sounds
([sounds]) and how a keyboard-wedge scanner is told from typing ([keyboard])."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, model_validator

from hardware.printer_kinds import check_settings as check_printer_settings
from kiosk.config.base import MODEL_CONFIG


class _Model(BaseModel):
    model_config = MODEL_CONFIG


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
