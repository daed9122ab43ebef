"""Build a receipt printer from its kind and settings (the config's `[printer]` table).

Construction never touches the device: a printer that is unplugged when the kiosk starts
fails its first receipt with PrinterError(UNPLUGGED) and is tried again on the next one.
"""

from __future__ import annotations

from typing import Any

from escpos.printer import (  # type: ignore[import-untyped]
    CupsPrinter,
    File,
    Network,
    Serial,
    Usb,
)
from escpos.printer import cups as escpos_cups

from hardware.escpos_printer import Connect, DummyPrinter, EscposPrinter
from hardware.printer import FakePrinter, PrinterError, PrinterState, ReceiptPrinter
from hardware.printer_kinds import COMMON, KINDS, check_settings

__all__ = ["KINDS", "make_printer"]


def make_printer(kind: str, *, profile: str = "TM-T88V", **settings: Any) -> ReceiptPrinter:
    """A receipt printer of `kind` (one of KINDS).

    usb: vendor_id, product_id (ints); in_ep, out_ep, timeout (ms) optional.
    serial: url or devfile (e.g. /dev/ttyUSB0); baudrate (9600); timeout (s, 1).
    network: host; port (9100); timeout (s, 5).
    file: path (e.g. /dev/usb/lp0).
    cups: printer (the CUPS queue name; the default queue if omitted); host, port optional.
    dummy: keeps the bytes of every receipt (`.receipts`, `.output`).
    fake: hardware.printer.FakePrinter with its fault switches.
    All ESC/POS kinds also take name, font ("a"/"b") and qr_size.
    """
    check_settings(kind, settings)  # hardware.printer_kinds: the one table of settings
    if kind == "fake":
        return FakePrinter(**settings)

    common = {key: settings.pop(key) for key in COMMON & set(settings)}
    name = common.pop("name", kind)
    if kind == "dummy":
        return DummyPrinter(name, profile=profile, **common)
    return EscposPrinter(name, _connector(kind, profile, settings), **common)


def _connector(kind: str, profile: str, settings: dict[str, Any]) -> Connect:
    if kind == "usb":
        usb_args: dict[str, Any] = {
            "idVendor": settings["vendor_id"],
            "idProduct": settings["product_id"],
        }
        for ours, theirs in (("in_ep", "in_ep"), ("out_ep", "out_ep"), ("timeout", "timeout")):
            if ours in settings:
                usb_args[theirs] = settings[ours]
        return lambda: Usb(profile=profile, **usb_args)

    if kind == "serial":
        devfile = settings.get("devfile") or settings["url"]
        baudrate = int(settings.get("baudrate", 9600))
        timeout = float(settings.get("timeout", 1.0))
        return lambda: Serial(devfile=devfile, baudrate=baudrate, timeout=timeout, profile=profile)

    if kind == "network":
        host = settings["host"]
        port = int(settings.get("port", 9100))
        timeout = float(settings.get("timeout", 5.0))
        return lambda: Network(host=host, port=port, timeout=timeout, profile=profile)

    if kind == "file":
        path = str(settings["path"])
        return lambda: File(devfile=path, profile=profile)

    # cups
    if not escpos_cups.is_usable():
        raise PrinterError(
            "printing through CUPS needs pycups: install the Debian package python3-cups "
            "(or `pip install pycups`, which builds against libcups2-dev)",
            PrinterState.ERROR,
        )
    cups_args = {key: settings[key] for key in ("host", "port") if key in settings}
    printer_name = str(settings.get("printer", ""))
    return lambda: CupsPrinter(printer_name, profile=profile, **cups_args)
