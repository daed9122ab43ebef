"""Printing receipts off the engine's and the screen's threads, and telling what happened."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta, tzinfo

from hardware.printer import PrinterError, PrinterState, ReceiptPrinter
from hardware.receipt import Document
from kiosk.config import KioskConfig
from kiosk.domain.checkout import SpooledCheckout
from kiosk.domain.events import (
    Event,
    ItemCheckedOut,
    ReceiptFailed,
    ReceiptPrinted,
    SessionEnd,
    SessionEnded,
)
from kiosk.presenter.i18n import Language, load_language
from kiosk.presenter.presenter import RECEIPT_FAILED, FinishedSession, Settings
from kiosk.presenter.receipt import receipt_document
from kiosk.runtime.devices import DeviceStatus, open_printer

log = logging.getLogger(__name__)

PRINT_TIMEOUT = timedelta(seconds=20)  # a printer that hangs counts as failed
TIMEOUT_MARGIN = timedelta(milliseconds=5)  # `result` fails a print strictly after the timeout

# Every `at` here is a monotonic instant (Clock.monotonic): a wall clock that NTP sets forward
# must not fail a print in progress, nor one set back keep a hung printer waiting for an hour.


class ReceiptDesk:
    """Prints on a thread of its own: a jammed printer never freezes the screen."""

    def __init__(self, printer: ReceiptPrinter | None, status: DeviceStatus | None = None) -> None:
        self.printer = printer
        self.status = status
        self.last_error: PrinterError | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="printer")
        self._job: tuple[Future[None], timedelta] | None = None
        # Called on the printer's thread when a print ends, so the screen wakes to say so.
        self.on_done: Callable[[], None] | None = None

    def start(self, document: Document, at: timedelta) -> None:
        if self.printer is None:
            return
        future = self._pool.submit(self.printer.print_document, document)
        self._job = (future, at)
        future.add_done_callback(self._done)

    def deadline(self) -> timedelta | None:
        """When the print in progress counts as failed (monotonic), None if none is."""
        return None if self._job is None else self._job[1] + PRINT_TIMEOUT + TIMEOUT_MARGIN

    def _done(self, future: Future[None]) -> None:
        if self.on_done is not None and not future.cancelled():
            self.on_done()

    @property
    def printing(self) -> bool:
        return self._job is not None

    def result(self, at: timedelta) -> bool | None:
        """True printed, False failed, None still printing (or nothing asked)."""
        if self._job is None:
            return None
        future, started = self._job
        if future.done():
            self._job = None
            error = future.exception()
            if error is None:
                self.last_error = None
                self._report(PrinterState.READY, "printed")
                return True
            if not isinstance(error, PrinterError):
                log.error("unexpected printer error", exc_info=error)
                error = PrinterError(str(error))
            log.error("receipt not printed: %s", error)
            self.last_error = error
            self._report(error.state, str(error))
            return False
        if at - started > PRINT_TIMEOUT:
            log.error("receipt not printed: the printer did not answer")
            self._job = None
            self.last_error = PrinterError("the printer did not answer", PrinterState.OFFLINE)
            self._report(PrinterState.OFFLINE, "the printer did not answer")
            return False
        return None

    def _report(self, state: PrinterState, detail: str) -> None:
        if self.status is not None and self.printer is not None:
            self.status.printer(self.printer.name, state, detail)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class SessionReceipts:
    """Headless mode: a receipt for every session that checked something out (receipt mode
    "always"; headless, nobody can answer a question). Reports each outcome as an event."""

    def __init__(
        self,
        desk: ReceiptDesk,
        *,
        settings: Settings,
        language: Language,
        kiosk_id: str,
        timezone: tzinfo,
        qr: bool = False,
    ) -> None:
        self.desk = desk
        self.settings = settings
        self.language = language
        self.kiosk_id = kiosk_id
        self.timezone = timezone
        self.qr = qr
        self._loans: dict[str, list[SpooledCheckout]] = {}
        self._sessions: dict[str, str] = {}  # patron -> current session id
        self._queue: list[tuple[str, Document]] = []
        self._printing: str | None = None

    @property
    def busy(self) -> bool:
        return self._printing is not None or bool(self._queue)

    def observe(self, events: list[Event], now: datetime, at: timedelta) -> None:
        """`now`, the wall clock, is printed on the receipt; `at` starts the print timeout."""
        for event in events:
            if isinstance(event, ItemCheckedOut):
                self._loans.setdefault(event.stored.checkout.patron, []).append(event.stored)
            elif isinstance(event, SessionEnded):
                loans = self._loans.pop(event.patron, [])
                if loans and event.reason in (SessionEnd.DONE, SessionEnd.TIMEOUT):
                    session = FinishedSession(
                        event.session_id, event.patron, tuple(loans), event.reason
                    )
                    document = receipt_document(
                        session,
                        library=self.settings.library,
                        branch=self.settings.branch,
                        kiosk_id=self.kiosk_id,
                        printed_at=now.astimezone(self.timezone),
                        lang=self.language,
                        qr=self.qr,
                    )
                    self._queue.append((event.session_id, document))
        self._next(at)

    def poll(self, at: timedelta) -> list[Event]:
        if self._printing is None:
            return []
        printed = self.desk.result(at)
        if printed is None:
            return []
        session_id, self._printing = self._printing, None
        self._next(at)
        if printed:
            return [ReceiptPrinted(session_id)]
        error = self.desk.last_error
        state = error.state.value if error else PrinterState.ERROR.value
        return [ReceiptFailed(session_id, state, self.language._(RECEIPT_FAILED))]

    def _next(self, at: timedelta) -> None:
        if self._printing is None and self._queue:
            self._printing, document = self._queue.pop(0)
            self.desk.start(document, at)


def headless_receipts(
    config: KioskConfig, status: DeviceStatus, language_code: str | None
) -> SessionReceipts | None:
    """Headless, nobody can answer "would you like a receipt?": receipts print only in
    receipt mode "always"."""
    if config.receipt.mode != "always":
        return None
    printer = open_printer(config, status)
    if printer is None:
        return None
    settings = config.presenter_settings()
    return SessionReceipts(
        ReceiptDesk(printer, status),
        settings=settings,
        language=load_language(language_code or settings.languages[0]),
        kiosk_id=config.kiosk.id,
        timezone=config.tz,
        qr=config.printer.qr,
    )
