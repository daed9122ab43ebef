"""An ESC/POS receipt printer through python-escpos.

python-escpos keeps all the command logic in one base class (`escpos.escpos.Escpos`); its
transports (Usb, Serial, Network, File, CupsPrinter, Dummy) only move bytes. This adapter
renders a `Document` with that base class and translates every library error into a
`PrinterError` with a `PrinterState`, so the kiosk never sees an escpos, pyusb, pyserial or
socket exception.

A fresh transport object comes from `connect()` for every receipt and every status query: an
unplugged printer is simply tried again next time, and python-escpos's code-page state (its
"magic encoder") starts clean with each receipt.
"""

from __future__ import annotations

import contextlib
import textwrap
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import serial  # type: ignore[import-untyped]
import usb.core  # type: ignore[import-untyped]
from escpos.escpos import Escpos  # type: ignore[import-untyped]
from escpos.exceptions import DeviceNotFoundError  # type: ignore[import-untyped]
from escpos.exceptions import Error as EscposError
from escpos.printer import Dummy, Network, Serial, Usb  # type: ignore[import-untyped]

from hardware.printer import CAN_PRINT, PrinterError, PrinterState
from hardware.receipt import Align, Columns, Document, QRCode, Rule, Text

Connect = Callable[[], Escpos]

# Transports with a back channel: python-escpos implements `_read` for them, so the DLE EOT
# real-time status queries behind `is_online()` and `paper_status()` get an answer.
# (CupsPrinter's `_read` reports the CUPS queue, not the printer, so it does not count.)
_REPORTING_TRANSPORTS: tuple[type, ...] = (Usb, Serial, Network)

_ERRNO_NO_DEVICE = 19  # ENODEV: the USB printer went away


class EscposPrinter:
    """A `ReceiptPrinter` for any python-escpos transport.

    connect: makes a new, unopened python-escpos printer object (with its profile), e.g.
        `lambda: Network("10.0.0.9", profile="TM-T88V")`.
    font: "a" or "b"; the number of columns per line comes from the printer's profile.
    qr_size: QR module size in dots (1-16).
    """

    def __init__(
        self,
        name: str,
        connect: Connect,
        *,
        font: str = "a",
        qr_size: int = 6,
    ) -> None:
        if not 1 <= qr_size <= 16:
            raise ValueError(f"qr_size must be 1-16, not {qr_size}")
        self.name = name
        self.font = font
        self.qr_size = qr_size
        self._connect = connect
        self._lock = threading.Lock()  # one conversation with the device at a time

    # ReceiptPrinter ------------------------------------------------------------------------

    def print_document(self, document: Document) -> None:
        with self._lock, self._session() as printer:
            if _can_report(printer):
                state = _query_state(printer)
                if state not in CAN_PRINT:
                    # Nothing has been sent but the status queries: the receipt is not lost
                    # into a printer that cannot print it.
                    raise PrinterError(f"the printer reports {state.value}", state)
            self._render(printer, document)
            printer.cut()
        self._printed(printer)

    def status(self) -> PrinterState:
        try:
            with self._lock, self._session(report_only=True) as printer:
                if printer is None:
                    return PrinterState.UNKNOWN
                return _query_state(printer)
        except PrinterError as exc:
            return exc.state
        except Exception:  # status() must never raise, whatever a driver does
            return PrinterState.ERROR

    # Rendering -----------------------------------------------------------------------------

    def columns(self, printer: Escpos) -> int:
        return int(printer.profile.get_columns(self.font))

    def _render(self, printer: Escpos, document: Document) -> None:
        width = self.columns(printer)
        printer.hw("INIT")  # ESC @: no bold or size left over from someone else's job
        printer.set(font=self.font)
        for block in document.blocks:
            if isinstance(block, Text):
                self._style(printer, align=block.align, bold=block.bold, large=block.large)
                for line in _wrap(block.text, width // 2 if block.large else width):
                    printer.textln(line)
            elif isinstance(block, Columns):
                self._style(printer)
                for line in _columns(block.left, block.right, width):
                    printer.textln(line)
            elif isinstance(block, Rule):
                self._style(printer)
                printer.textln("-" * width)
            elif isinstance(block, QRCode):
                self._style(printer, align=Align.CENTER)
                printer.qr(block.data, size=self.qr_size, native=_native_qr(printer))
                printer.ln()

    @staticmethod
    def _style(
        printer: Escpos, *, align: Align = Align.LEFT, bold: bool = False, large: bool = False
    ) -> None:
        # Every block states its whole style, so no block inherits another's.
        printer.set(
            align=align.value,
            bold=bold,
            normal_textsize=not large,
            double_width=large,
            double_height=large,
        )

    # Connection ----------------------------------------------------------------------------

    @contextmanager
    def _session(self, *, report_only: bool = False) -> Iterator[Any]:
        """Open a fresh connection and always close it; translate library errors.

        With report_only, a transport that cannot report is not opened at all (opening a
        File printer truncates it) and None is yielded.
        """
        printer: Any = None
        try:
            printer = self._connect()
            if report_only and not _can_report(printer):
                yield None
                return
            printer.open()
            if isinstance(printer, Serial):
                _read_one_byte_answers(printer)
            yield printer
        except PrinterError:
            raise
        except Exception as exc:
            translated = _translate(exc)
            if translated is None:
                raise
            raise translated from exc
        finally:
            if printer is not None:
                _close_quietly(printer)

    def _printed(self, printer: Escpos) -> None:
        """Called after a receipt was sent and the connection closed."""


class DummyPrinter(EscposPrinter):
    """Renders into python-escpos `Dummy` printers and keeps the bytes of every receipt
    (tests, `print-test --to-screen`)."""

    def __init__(
        self, name: str = "dummy", *, profile: str = "TM-T88V", font: str = "a", qr_size: int = 6
    ) -> None:
        super().__init__(name, lambda: Dummy(profile=profile), font=font, qr_size=qr_size)
        self.receipts: list[bytes] = []

    @property
    def output(self) -> bytes:
        return b"".join(self.receipts)

    def _printed(self, printer: Escpos) -> None:
        self.receipts.append(bytes(printer.output))


# Helpers -----------------------------------------------------------------------------------


def _can_report(printer: Escpos) -> bool:
    return isinstance(printer, _REPORTING_TRANSPORTS)


def _query_state(printer: Escpos) -> PrinterState:
    # DLE EOT 1 (printer status, bit 3 = offline), then DLE EOT 4 (roll paper sensor).
    if not printer.is_online():
        return PrinterState.OFFLINE
    paper = printer.paper_status()
    if paper == 0:
        return PrinterState.PAPER_OUT
    if paper == 1:
        return PrinterState.PAPER_LOW
    return PrinterState.READY


def _read_one_byte_answers(printer: Any) -> None:
    # escpos's Serial._read asks pyserial for 16 bytes, and pyserial on POSIX then waits out
    # the whole timeout (it ignores inter_byte_timeout); a DLE EOT answer is exactly one
    # byte, so read one and a status query takes milliseconds instead of the timeout.
    device = printer.device
    printer._read = lambda: device.read(1)


def _native_qr(printer: Escpos) -> bool:
    # Printers whose profile lists qrCode draw the code themselves from GS ( k: a few dozen
    # bytes instead of a raster image, and sharper. Others get python-escpos's image.
    return bool(printer.profile.supports("qrCode"))


def _wrap(text: str, width: int) -> list[str]:
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        lines += textwrap.wrap(paragraph, width, break_on_hyphens=False) or [""]
    return lines


def _columns(left: str, right: str, width: int) -> list[str]:
    gap = width - len(left) - len(right)
    if gap >= 1:
        return [left + " " * gap + right]
    return _wrap(left, width) + [line.rjust(width) for line in _wrap(right, width)]


def _close_quietly(printer: Escpos) -> None:
    # A close on a dead device must not hide why it died.
    with contextlib.suppress(Exception):
        printer.close()


def _translate(exc: BaseException) -> PrinterError | None:
    """The PrinterError for a library error, or None for errors that are our bugs."""
    cause = exc.__context__
    if isinstance(exc, DeviceNotFoundError):
        # escpos wraps the OSError of open/connect; a connect that timed out is a printer
        # that is there but not answering.
        if isinstance(cause, TimeoutError):
            return PrinterError("the printer did not answer", PrinterState.OFFLINE)
        return PrinterError(
            f"the printer is not connected ({_last_line(exc)})", PrinterState.UNPLUGGED
        )
    if isinstance(exc, usb.core.NoBackendError):
        return PrinterError(
            "no USB printer can be reached: libusb is not installed (Debian: libusb-1.0-0)",
            PrinterState.UNPLUGGED,
        )
    if isinstance(exc, usb.core.USBTimeoutError | serial.SerialTimeoutException | TimeoutError):
        return PrinterError("the printer did not answer in time", PrinterState.OFFLINE)
    if isinstance(exc, usb.core.USBError) and getattr(exc, "errno", None) == _ERRNO_NO_DEVICE:
        return PrinterError("the USB printer was unplugged", PrinterState.UNPLUGGED)
    if isinstance(exc, ConnectionRefusedError):
        return PrinterError("the printer refused the connection", PrinterState.UNPLUGGED)
    if isinstance(exc, EscposError | usb.core.USBError | serial.SerialException | OSError):
        return PrinterError(f"the printer failed: {_last_line(exc)}", PrinterState.ERROR)
    if isinstance(exc, RuntimeError):  # escpos: a transport's optional dependency is missing
        return PrinterError(f"the printer cannot be used: {_last_line(exc)}", PrinterState.ERROR)
    return None


def _last_line(exc: BaseException) -> str:
    # escpos puts the underlying OS error on the last line of its messages.
    text = str(getattr(exc, "msg", "") or exc).strip()
    return text.splitlines()[-1].strip() if text else type(exc).__name__


__all__ = ["Connect", "DummyPrinter", "EscposPrinter"]
