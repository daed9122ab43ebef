"""NTP sets the wall clock of a board without a real-time clock (issue 17, point 5): the idle
timeout and the print timeout are measured on the monotonic clock, so a wall clock set back an
hour or forward a day in the middle of a session or a print changes no schedule, while what is
stored (a checkout's time, its due date) still comes from the wall clock.

The station runs in-process on real SQLite files with a ManualClock: `advance` is time
passing (both clocks), `jump` is NTP setting the wall clock alone."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, date, datetime, timedelta

import pytest

from hardware.printer import FakePrinter, PrinterState
from hardware.receipt import Document
from kiosk.cli.run import build_runtime
from kiosk.config import load_config
from kiosk.domain.events import (
    Event,
    ItemCheckedOut,
    PatronAccepted,
    ReceiptFailed,
    ReceiptPrinted,
    SessionEnd,
    SessionEnded,
)
from kiosk.presenter.i18n import load_language
from kiosk.presenter.presenter import Settings
from kiosk.runtime.clock import ManualClock, SystemClock
from kiosk.runtime.receipts import PRINT_TIMEOUT, ReceiptDesk, SessionReceipts
from kiosk.runtime.station import StationRuntime
from kiosk.storage.spool import SPOOL_FILE
from tests.conftest import KioskHome, item, patron

START = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # Monday 10:00 in New York
BUILT = "2026-11-23T06:00:00-05:00"
IDLE = 60  # idle_timeout_seconds in the test config
HOUR, DAY = 3600, 24 * 3600
ANA = patron(1)


@pytest.fixture
def station(home: KioskHome) -> Iterator[tuple[StationRuntime, ManualClock]]:
    home.import_standard_snapshot(built_at=BUILT)
    clock = ManualClock(START)
    runtime = build_runtime(load_config(home.config_path), clock)
    runtime.start()
    yield runtime, clock
    runtime.close()


def ended(events: list[Event]) -> list[SessionEnd]:
    return [e.reason for e in events if isinstance(e, SessionEnded)]


def stored_times(home: KioskHome) -> list[tuple[str, datetime, date]]:
    path = home.data_dir / SPOOL_FILE
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        rows = db.execute("SELECT item, occurred_at, due_date FROM checkouts ORDER BY seq")
        return [(i, datetime.fromisoformat(at), date.fromisoformat(due)) for i, at, due in rows]


# The clocks themselves ------------------------------------------------------------------------


def test_the_manual_clock_moves_the_wall_alone_when_told() -> None:
    clock = ManualClock(START)
    clock.advance(5)
    assert (clock.now(), clock.monotonic()) == (START + timedelta(seconds=5), timedelta(seconds=5))
    clock.jump(-HOUR)
    clock.set_wall(clock.now() - timedelta(minutes=1))  # backwards too, as NTP may
    assert clock.now() == START + timedelta(seconds=5 - HOUR - 60)
    assert clock.monotonic() == timedelta(seconds=5)
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)


def test_the_system_clocks_monotonic_time_never_goes_back() -> None:
    clock = SystemClock()
    first = clock.monotonic()
    assert clock.monotonic() >= first


# The idle timeout -----------------------------------------------------------------------------


def test_a_wall_clock_set_back_an_hour_times_out_on_schedule(
    station: tuple[StationRuntime, ManualClock], home: KioskHome
) -> None:
    runtime, clock = station
    assert any(isinstance(e, PatronAccepted) for e in runtime.scan(ANA))
    clock.advance(10)
    clock.jump(-HOUR)
    lent = runtime.scan(item(1))
    assert [e.stored.checkout.item for e in lent if isinstance(e, ItemCheckedOut)] == [item(1)]
    # Stored with the wall clock's time, set back or not: that is what the wall says.
    [(_, occurred_at, due)] = stored_times(home)
    assert occurred_at == START + timedelta(seconds=10 - HOUR)
    assert due == date(2026, 12, 14)

    clock.jump(-HOUR)  # set back again, after the last scan
    clock.advance(IDLE - 1)
    assert ended(runtime.tick()) == []
    clock.advance(1)  # a minute after the last scan, not an hour and a minute
    assert ended(runtime.tick()) == [SessionEnd.TIMEOUT]


def test_a_wall_clock_set_forward_a_day_does_not_end_the_session(
    station: tuple[StationRuntime, ManualClock], home: KioskHome
) -> None:
    runtime, clock = station
    runtime.scan(ANA)
    clock.advance(5)
    clock.jump(DAY)
    assert ended(runtime.tick()) == []
    assert runtime.state.session is not None
    lent = runtime.scan(item(1))
    assert [e.stored.checkout.item for e in lent if isinstance(e, ItemCheckedOut)] == [item(1)]
    [(_, occurred_at, due)] = stored_times(home)
    assert occurred_at == START + timedelta(seconds=5 + DAY)  # the jumped wall time
    assert due == date(2026, 12, 15)  # 21 days from the wall clock's (new) day

    clock.advance(IDLE - 1)
    assert ended(runtime.tick()) == []
    clock.advance(1)
    assert ended(runtime.tick()) == [SessionEnd.TIMEOUT]


def test_the_deadline_is_on_the_monotonic_clock(
    station: tuple[StationRuntime, ManualClock],
) -> None:
    runtime, clock = station
    clock.advance(100)
    runtime.scan(ANA)
    clock.jump(-HOUR)
    assert runtime.deadline() == timedelta(seconds=100 + IDLE)


# The print timeout ----------------------------------------------------------------------------


class HungPrinter:
    """Takes a job and answers only when the test lets it go."""

    name = "hung"

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()

    def print_document(self, document: Document) -> None:
        self.started.set()
        self.release.wait(30)

    def status(self) -> PrinterState:
        return PrinterState.UNKNOWN


@pytest.fixture
def hung() -> Iterator[tuple[ReceiptDesk, HungPrinter]]:
    printer = HungPrinter()
    desk = ReceiptDesk(printer)
    yield desk, printer
    printer.release.set()
    desk.close()


def test_a_wall_clock_set_forward_does_not_fail_a_print_in_progress(
    hung: tuple[ReceiptDesk, HungPrinter],
) -> None:
    desk, printer = hung
    clock = ManualClock(START)
    desk.start(Document(()), clock.monotonic())
    assert printer.started.wait(10)
    clock.advance(1)
    clock.jump(DAY)
    assert desk.result(clock.monotonic()) is None  # still printing
    clock.jump(-DAY - HOUR)
    clock.advance(PRINT_TIMEOUT.total_seconds())  # past the limit, whatever the wall says
    assert desk.result(clock.monotonic()) is False
    assert desk.last_error is not None
    assert desk.last_error.state is PrinterState.OFFLINE


def test_headless_receipts_keep_the_print_timeout_through_a_wall_jump(
    station: tuple[StationRuntime, ManualClock],
) -> None:
    runtime, clock = station
    printer = FakePrinter(delay=0.05)
    desk = ReceiptDesk(printer)
    receipts = SessionReceipts(
        desk,
        settings=Settings(library="Test Library"),
        language=load_language("en"),
        kiosk_id="TEST-SC01",
        timezone=runtime.rules.timezone,
    )
    try:
        events = runtime.scan(ANA) + runtime.scan(item(1))
        clock.jump(DAY)
        events += runtime.done()
        receipts.observe(events, clock.now(), clock.monotonic())
        clock.jump(DAY)  # a day forward while it prints: no timeout
        outcome: list[Event] = []
        for _ in range(500):
            outcome = receipts.poll(clock.monotonic())
            if outcome:
                break
            threading.Event().wait(0.01)
        assert [type(e) for e in outcome] == [ReceiptPrinted]
        assert not any(isinstance(e, ReceiptFailed) for e in outcome)
        [document] = printer.printed
        # The receipt names the (jumped) wall time it was printed at, in the library's zone.
        assert "2026-11-24 10:00" in document.plain_lines()
    finally:
        desk.close()
