"""`kiosk hardware ...`: setting up a station's scanners and printer."""

from __future__ import annotations

import os
import queue
import threading
from datetime import datetime

import click

from hardware.printer import PrinterError, PrinterState
from hardware.scanner import Rejected, Scanned, ScannerMessage, StatusChanged
from kiosk.cli.common import State
from kiosk.config import ScannerSection
from kiosk.errors import KioskError
from kiosk.presenter.receipt import sample_receipt
from kiosk.runtime.devices import DeviceStatus, build_printer, build_scanners


class PrintFailed(KioskError):
    exit_code = os.EX_IOERR  # 74


class NoDevice(KioskError):
    exit_code = os.EX_UNAVAILABLE  # 69


@click.group("hardware")
def group() -> None:
    """Scanners and the receipt printer: find them, try them."""


@group.command("scanners")
def scanners() -> None:
    """List serial ports and input devices that may be barcode scanners."""
    from serial.tools import list_ports  # type: ignore[import-untyped]

    ports = list(list_ports.comports())
    click.echo('Serial ports (type = "serial", url = PORT):')
    if not ports:
        click.echo("  none")
    for port in ports:
        ids = f"{port.vid:04x}:{port.pid:04x}" if port.vid is not None else "-"
        click.echo(f"  {port.device:<22} {ids:<10} {port.description}")
    click.echo('Input devices (type = "evdev", device = PATH or device_name = NAME):')
    try:
        from hardware.evdev_scanner import list_input_devices

        devices = list_input_devices()
    except (ImportError, OSError) as exc:
        click.echo(f"  cannot be listed here: {exc}")
        return
    if not devices:
        click.echo("  none (or no permission to read /dev/input: see systemd/udev)")
    for device in devices:
        mark = "scanner?" if device.get("looks_like_scanner") else ""
        click.echo(f"  {device['path']:<22} {mark:<9} {device['name']}")


@group.command("listen")
@click.option("--url", help="Listen to this serial port instead of the configured scanners.")
@click.option("--device", help="Listen to this input device instead of the configured scanners.")
@click.option("--count", type=int, default=0, help="Stop after this many scans (0: Ctrl-C).")
@click.option("--seconds", type=float, default=0, help="Stop after this long (0: Ctrl-C).")
@click.pass_obj
def listen(state: State, url: str | None, device: str | None, count: int, seconds: float) -> None:
    """Print scans as they arrive, to check a scanner while setting up a station.

    Scans are shown in full here: scan test barcodes, not patrons' cards."""
    config = state.config
    if url:
        sections = [ScannerSection(type="serial", url=url)]
    elif device:
        sections = [ScannerSection(type="evdev", device=device)]
    else:
        sections = config.scanners or []
    adapters = build_scanners(sections, config.barcodes.max_length)
    if not adapters:
        raise NoDevice(
            "no scanner to listen to: configure [[scanners]] or give --url or --device "
            "(a keyboard-wedge scanner types into whatever has focus: try it in a text editor)"
        )
    inbox: queue.Queue[ScannerMessage] = queue.Queue()
    for adapter in adapters:
        adapter.start(inbox.put)
    click.echo(f"Listening to {', '.join(a.name for a in adapters)}. Ctrl-C stops.")
    stop_at = threading.Event()
    if seconds:
        threading.Timer(seconds, stop_at.set).start()
    scans = 0
    try:
        while not stop_at.is_set() and not (count and scans >= count):
            try:
                message = inbox.get(timeout=0.1)
            except queue.Empty:
                continue
            now = datetime.now().strftime("%H:%M:%S")
            if isinstance(message, Scanned):
                scans += 1
                click.echo(f"{now}  {message.source}: {message.text}")
            elif isinstance(message, Rejected):
                click.echo(
                    f"{now}  {message.source}: unreadable ({message.reason}): {message.shown}"
                )
            elif isinstance(message, StatusChanged):
                click.echo(f"{now}  {message.source}: {message.detail}")
    except KeyboardInterrupt:
        pass
    finally:
        stop_at.set()
        for adapter in adapters:
            adapter.stop()


@group.command("print-test")
@click.pass_obj
def print_test(state: State) -> None:
    """Print a test receipt on the configured printer and report its state."""
    config = state.config
    try:
        printer = build_printer(config)
    except PrinterError as exc:
        raise PrintFailed(f"the printer cannot be used: {exc}") from exc
    if printer is None:
        raise NoDevice('no receipt printer is configured ([printer] type = "none")')
    status = DeviceStatus(config.data_dir)
    before = printer.status()
    click.echo(f"Printer {printer.name}: {before.value}")
    document = sample_receipt(
        config.kiosk.library, config.kiosk.id, datetime.now(config.tz), config.printer.qr
    )
    try:
        printer.print_document(document)
    except PrinterError as exc:
        status.printer(printer.name, exc.state, str(exc))
        raise PrintFailed(f"the test receipt was not printed: {exc} ({exc.state.value})") from exc
    status.printer(printer.name, PrinterState.READY, "test receipt printed")
    click.echo("Test receipt printed.")
