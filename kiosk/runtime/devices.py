"""The kiosk's devices: scanners feeding the engine, the printer, and their status for staff.

Scanner adapters run on threads of their own and post plain messages; the hub turns them
into the engine's typed inputs and posts them into its one inbox, so every scan is handled
by the one owner of the state machine.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, assert_never

from hardware.printer import PrinterError, PrinterState, ReceiptPrinter
from hardware.scanner import Rejected as ScannerRejected
from hardware.scanner import Scanned, Scanner, ScannerMessage, StatusChanged
from kiosk.config import KioskConfig, ScannerSection
from kiosk.logs import mask_text
from kiosk.runtime.inbox import Inbox, Rejected, Scan
from kiosk.storage.files import atomic_write_bytes

log = logging.getLogger(__name__)

STATUS_FILE = "status.json"


class DeviceStatus:
    """What staff see about the devices: each scanner's connection and the printer's state.

    Kept in memory and written to data_dir/status.json (atomically) on every change, so
    `kiosk status` can read it from another process."""

    def __init__(self, data_dir: Path, now: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.path = data_dir / STATUS_FILE
        self._now = now
        self._lock = threading.Lock()
        self._scanners: dict[str, dict[str, Any]] = {}
        self._printer: dict[str, Any] | None = None
        self._last_error: dict[str, str] | None = None

    def scanner(self, source: str, connected: bool, detail: str) -> None:
        with self._lock:
            self._scanners[source] = {
                "connected": connected,
                "detail": detail,
                "since": self._now().isoformat(timespec="seconds"),
            }
            self._write()

    def printer(self, name: str, state: PrinterState, detail: str = "") -> None:
        with self._lock:
            self._printer = {
                "name": name,
                "state": state.value,
                "detail": detail,
                "since": self._now().isoformat(timespec="seconds"),
            }
            self._write()

    def error(self, text: str) -> None:
        """The last error the kiosk logged, for the staff screen and `kiosk status`."""
        with self._lock:
            self._last_error = {"at": self._now().isoformat(timespec="seconds"), "text": text}
            self._write()

    def watch_errors(self) -> logging.Handler:
        """A logging handler that keeps the last ERROR here (masked like every log line)."""
        handler = _LastErrorHandler(self)
        logging.getLogger().addHandler(handler)
        return handler

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return self._as_dict()

    def _as_dict(self) -> dict[str, Any]:
        return {
            "updated_at": self._now().isoformat(timespec="seconds"),
            "pid": os.getpid(),
            "scanners": dict(self._scanners),
            "printer": self._printer,
            "last_error": self._last_error,
        }

    def _write(self) -> None:
        """Called with the lock held: updates from the printer's and the scanners' threads
        reach the file in the order they happened, so a newer state is never overwritten by
        an older one."""
        if not self.path.parent.is_dir():
            return  # a data folder that vanished is never made anew for a status file
        try:
            data = json.dumps(self._as_dict(), indent=2).encode() + b"\n"
            atomic_write_bytes(self.path, data)
        except OSError as exc:  # a full disk must not stop scanning; the log says why
            log.warning("the device status could not be written: %s", exc)


class _LastErrorHandler(logging.Handler):
    def __init__(self, status: DeviceStatus) -> None:
        super().__init__(logging.ERROR)
        self.status = status

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.status.error(mask_text(record.getMessage())[:300])
        except Exception:  # a logging handler must never raise into the code that logged
            self.handleError(record)


def read_status(data_dir: Path) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = json.loads((data_dir / STATUS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data


class ScannerHub:
    """Starts the scanners and posts what they read straight into the engine's inbox (from
    their threads); connection changes go to the staff status and the log."""

    def __init__(self, scanners: list[Scanner], status: DeviceStatus) -> None:
        self.scanners = scanners
        self.status = status
        self._inbox: Inbox | None = None
        self._started = False

    def post(self, message: ScannerMessage) -> None:  # called on the scanners' threads
        assert self._inbox is not None
        match message:
            case Scanned(source=source, text=text):
                self._inbox.post(Scan(text, source))
            case ScannerRejected(source=source, shown=shown, reason=reason):
                self._inbox.post(Rejected(shown, reason, source))
            case StatusChanged(source=source, connected=connected, detail=detail):
                self.status.scanner(source, connected, detail)
                (log.info if connected else log.warning)("scanner %s: %s", source, detail)
            case _:
                assert_never(message)

    def start(self, inbox: Inbox) -> None:
        self._inbox = inbox
        self._started = True
        for scanner in self.scanners:
            scanner.start(self.post)

    def stop(self) -> None:
        """Stop every scanner; safe to call more than once (Kivy calls on_stop twice on its
        way out)."""
        if not self._started:
            return
        self._started = False
        for scanner in self.scanners:
            scanner.stop()


def build_scanners(sections: list[ScannerSection], max_length: int) -> list[Scanner]:
    """Adapters for the scanners in the config (keyboard and stdin are handled by the mode)."""
    scanners: list[Scanner] = []
    for section in sections:
        if section.type == "serial":
            from hardware.serial_scanner import SerialScanner, SerialSettings

            assert section.url is not None
            settings = SerialSettings(
                url=section.url,
                baudrate=section.baudrate,
                terminator=section.terminator,
                idle_gap=section.idle_gap_ms / 1000,
                prefix=section.prefix,
                suffix=section.suffix,
                max_length=max_length,
            )
            scanners.append(SerialScanner(section.label, settings))
        elif section.type == "evdev":
            from hardware.evdev_scanner import EvdevScanner

            scanners.append(
                EvdevScanner(
                    section.label,
                    path=section.device,
                    device_name=section.device_name,
                    grab=section.grab,
                )
            )
        elif section.type == "fake":
            from hardware.fake_scanner import FakeScanner

            scanners.append(
                FakeScanner(
                    section.label, script=section.script, interval=section.interval_ms / 1000
                )
            )
    return scanners


def build_printer(config: KioskConfig) -> ReceiptPrinter | None:
    if config.printer.type == "none":
        return None
    from hardware.printers import make_printer

    return make_printer(
        config.printer.type, profile=config.printer.profile, **config.printer.settings()
    )


def build_hub(config: KioskConfig, status: DeviceStatus) -> ScannerHub | None:
    """The configured device scanners (serial, evdev, fake), or None if there are none."""
    scanners = build_scanners(config.scanners or [], config.barcodes.max_length)
    return ScannerHub(scanners, status) if scanners else None


def open_printer(config: KioskConfig, status: DeviceStatus) -> ReceiptPrinter | None:
    """The configured receipt printer; its state is asked off this thread, for staff."""
    try:
        printer = build_printer(config)
    except PrinterError as exc:  # e.g. a CUPS printer without pycups: say so, keep lending
        log.error("the receipt printer cannot be used: %s", exc)
        status.printer(config.printer.type, exc.state, str(exc))
        return None
    if printer is not None:
        threading.Thread(
            target=lambda: status.printer(printer.name, printer.status(), "at start-up"),
            name="printer-status",
            daemon=True,
        ).start()
    return printer
