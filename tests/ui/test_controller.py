"""The kiosk without Kivy: the KioskController over a real EngineWorker thread, a real
StationRuntime on SQLite files in a temporary kiosk home, a ManualClock, a RecordingPlayer and
a ReceiptDesk with a fake printer.

Keys go in as a fast burst, like a wedge scanner types them; `pump()` is called the way the
window calls it, polled with a bound until the expected screen appears. Time moves only with
the ManualClock; nothing here sleeps to let time pass or measures how long anything took.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

import pytest

from hardware.printer import FakePrinter, ReceiptPrinter
from hardware.receipt import Document
from kiosk.cli.run import build_runtime
from kiosk.config import load_config
from kiosk.presenter.presenter import Action, Screen, ScreenView, Sound
from kiosk.runtime import receipts as receipts_module
from kiosk.runtime.clock import ManualClock
from kiosk.runtime.station import StationRuntime
from kiosk.runtime.worker import EngineWorker
from kiosk.ui.controller import KioskController
from kiosk.ui.launch import build_controller
from kiosk.ui.sounds import RecordingPlayer
from tests.conftest import KioskHome, item, patron
from tests.ui.wedge import WAIT_SECONDS, JammedPrinter, Wedge

START = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # Monday 10:00 in New York
BUILT = "2026-11-23T06:00:00-05:00"  # the snapshot: four hours before START
DUE = "2026-12-14"  # 21 days later, a Monday

ANA = patron(1)  # "Rivera, Ana" in the standard snapshot
BLOCKED = patron(4)

FAILED_TEXT = "The receipt could not be printed. Your items are checked out all the same."


class Printer(ReceiptPrinter, Protocol):
    printed: list[Document]


@dataclass
class Station(Wedge):
    controller: KioskController
    clock: ManualClock
    printer: Printer | None
    sounds: RecordingPlayer
    runtime: StationRuntime
    worker: EngineWorker
    home: KioskHome
    keys_at: float = 1000.0
    shown: list[ScreenView] = field(default_factory=list)

    def screen(self, screen: Screen) -> ScreenView:
        shown = self.pump_until(
            lambda v: isinstance(v, ScreenView) and v.screen is screen, screen.value
        )
        assert isinstance(shown, ScreenView)
        return shown

    def checkouts(self) -> list[tuple[str, str, str, int]]:
        """(patron, item, due date, seq) of every checkout in data/spool.db, oldest first."""
        path = self.home.data_dir / "spool.db"
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return list(
                conn.execute("SELECT patron, item, due_date, seq FROM checkouts ORDER BY seq")
            )
        finally:
            conn.close()

    def check_out(self, card: str, *items: str) -> ScreenView:
        """Scan a card and items; returns the checkout screen once every item is on it."""
        self.screen(Screen.WELCOME)
        self.scan(card)
        self.screen(Screen.CHECKOUT)
        for n, barcode in enumerate(items, 1):
            self.scan(barcode)
            self.pump_until(lambda v, n=n: len(v.lines) == n, f"{n} lines")
        return self.controller.pump()


MakeStation = Callable[..., Station]


@pytest.fixture
def make_station(home: KioskHome) -> Iterator[MakeStation]:
    made: list[Station] = []

    def make(
        *, receipt_mode: str = "ask", printer: Printer | None = None, start: datetime = START
    ) -> Station:
        printer_type = "none" if printer is None else "fake"
        home.write_config(
            extra=f'\n[receipt]\nmode = "{receipt_mode}"\n\n[printer]\ntype = "{printer_type}"\n'
        )
        home.import_standard_snapshot(built_at=BUILT)
        config = load_config(home.config_path)
        clock = ManualClock(start)
        runtime = build_runtime(config, clock)
        worker = EngineWorker(runtime, tick_seconds=0.02)
        sounds = RecordingPlayer()
        controller = build_controller(
            config, runtime, clock, sounds=sounds, printer=printer, worker=worker
        )
        worker.start()
        station = Station(controller, clock, printer, sounds, runtime, worker, home)
        made.append(station)
        return station

    yield make
    for station in made:
        if isinstance(station.printer, JammedPrinter):
            station.printer.release.set()
        station.worker.stop()
        station.controller.receipts.close()


def texts(view: ScreenView) -> str:
    return "\n".join(view.texts())


# Kivy stays out -------------------------------------------------------------------------------


def test_the_controller_and_sounds_import_without_kivy() -> None:
    """The controller is tested (and the headless kiosk runs) where Kivy cannot start."""
    probe = (
        "import sys\n"
        "import kiosk.ui.sounds, kiosk.ui.controller, kiosk.ui.launch, kiosk.ui.tones\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'kivy'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# A whole visit --------------------------------------------------------------------------------


def test_a_patron_checks_out_two_items_and_takes_a_receipt(make_station: MakeStation) -> None:
    printer = FakePrinter()
    station = make_station(receipt_mode="ask", printer=printer)

    welcome = station.screen(Screen.WELCOME)
    assert welcome.heading == "Scan your library card"
    shown = station.check_out(ANA, item(1), item(2))

    assert shown.heading == "Hello, Ana!"
    assert [(line.item, line.due) for line in shown.lines] == [
        (f"Item {item(2)}", "Due Monday, December 14"),
        (f"Item {item(1)}", "Due Monday, December 14"),
    ]
    assert shown.count == "2 items checked out"
    assert [row[:3] for row in station.checkouts()] == [(ANA, item(1), DUE), (ANA, item(2), DUE)]
    assert station.sounds.played == [Sound.SUCCESS] * 3

    station.controller.press(Action.DONE)
    finish = station.screen(Screen.FINISH)
    assert finish.heading == "Would you like a receipt?"
    assert finish.message == "2 items, due December 14"
    assert printer.printed == []  # asked, not printed yet

    station.controller.press(Action.PRINT_RECEIPT)
    goodbye = station.pump_until(
        lambda v: v.fine_print == "Please take your receipt.", "the receipt printed"
    )
    assert goodbye.screen is Screen.GOODBYE
    assert goodbye.heading == "Thank you!"
    [document] = printer.printed
    receipt = document.plain_lines()
    assert item(1) in receipt
    assert item(2) in receipt
    assert receipt.count("  Due Monday, December 14") == 2
    assert "2 items checked out" in receipt
    assert f"Card ending {ANA[-4:]}" in receipt
    assert all(ANA not in line for line in receipt)
    seqs = [row[3] for row in station.checkouts()]
    assert receipt[-1] == f"Station TEST-SC01, references #{seqs[0]}, #{seqs[1]}"

    station.clock.advance(8)  # goodbye_seconds
    assert station.screen(Screen.WELCOME).heading == "Scan your library card"


def test_always_prints_in_the_language_the_patron_chose(make_station: MakeStation) -> None:
    printer = FakePrinter()
    station = make_station(receipt_mode="always", printer=printer)
    station.screen(Screen.WELCOME)

    station.controller.press(Action.LANGUAGE)
    assert station.controller.pump().heading == "Escanee su tarjeta de la biblioteca"
    shown = station.check_out(ANA, item(1))
    assert shown.heading == "¡Hola, Ana!"
    assert shown.lines[0].due == "Devolver el lunes, 14 de diciembre"
    assert shown.count == "1 artículo prestado"

    station.controller.press(Action.DONE)
    goodbye = station.pump_until(
        lambda v: v.fine_print == "Por favor, tome su recibo.", "the receipt printed"
    )
    assert goodbye.heading == "¡Gracias!"
    [document] = printer.printed
    receipt = document.plain_lines()
    assert "  Devolver el lunes, 14 de diciembre" in receipt
    assert "1 artículo prestado" in receipt

    station.clock.advance(8)
    assert station.screen(Screen.WELCOME).heading == "Scan your library card"  # English again


def test_the_receipt_shows_the_librarys_local_time(make_station: MakeStation) -> None:
    """At 21:30 on Monday in New York (02:30 UTC on Tuesday) the receipt says Monday 21:30,
    the day the due date was counted from."""
    printer = FakePrinter()
    station = make_station(
        receipt_mode="always", printer=printer, start=datetime(2026, 11, 24, 2, 30, tzinfo=UTC)
    )
    station.check_out(ANA, item(1))
    assert [row[2] for row in station.checkouts()] == [DUE]  # counted from Monday

    station.controller.press(Action.DONE)
    station.pump_until(lambda v: v.fine_print == "Please take your receipt.", "the receipt")
    [document] = printer.printed
    assert document.plain_lines()[:3] == ["Test Library", "Main", "2026-11-23 21:30"]


# The printer fails ----------------------------------------------------------------------------


def test_a_failing_printer_says_so_and_the_checkouts_stay(make_station: MakeStation) -> None:
    printer = FakePrinter(fail=True)
    station = make_station(receipt_mode="always", printer=printer)
    station.check_out(ANA, item(1), item(2))

    station.controller.press(Action.DONE)
    goodbye = station.pump_until(lambda v: v.fine_print == FAILED_TEXT, "the failure message")

    assert goodbye.screen is Screen.GOODBYE
    assert goodbye.problem is True
    assert printer.printed == []
    assert [row[:3] for row in station.checkouts()] == [(ANA, item(1), DUE), (ANA, item(2), DUE)]


def test_a_jammed_printer_never_blocks_the_screen(make_station: MakeStation) -> None:
    printer = JammedPrinter()
    station = make_station(receipt_mode="always", printer=printer)
    station.check_out(ANA, item(1))

    station.controller.press(Action.DONE)
    station.pump_until(lambda v: v.screen is Screen.GOODBYE, "goodbye")
    assert printer.started.wait(WAIT_SECONDS), "the printer never got the job"
    shown = station.controller.pump()  # returns while the printer is stuck in the job
    assert shown.screen is Screen.GOODBYE
    assert shown.fine_print == "Your receipt is printing."
    assert printer.printed == []

    station.clock.advance(10)  # past goodbye_seconds: the screen waits for the printer
    assert station.controller.pump().fine_print == "Your receipt is printing."

    timeout = receipts_module.PRINT_TIMEOUT.total_seconds()
    station.clock.advance(timeout)  # now past the printer's time limit
    failed = station.pump_until(lambda v: v.fine_print == FAILED_TEXT, "the failure message")
    assert failed.problem is True
    assert printer.printed == []
    assert [row[1] for row in station.checkouts()] == [item(1)]

    station.clock.advance(8)
    station.screen(Screen.WELCOME)


def test_a_print_tells_the_screen_when_to_wake_and_wakes_it_when_done(
    make_station: MakeStation,
) -> None:
    """The app sleeps until `next_change`: while a receipt prints, that is the print's time
    limit (the Goodbye timer waits for the printer), and the printer's end wakes it."""
    printer = JammedPrinter()
    station = make_station(receipt_mode="always", printer=printer)
    woken = threading.Event()
    station.controller.receipts.on_done = woken.set
    station.check_out(ANA, item(1))
    station.controller.press(Action.DONE)
    station.pump_until(lambda v: v.screen is Screen.GOODBYE, "goodbye")
    assert printer.started.wait(WAIT_SECONDS), "the printer never got the job"
    started = station.clock.monotonic()
    station.clock.advance(10)  # past the Goodbye screen's own time
    station.controller.pump()
    limit = station.controller.next_change()
    assert limit is not None
    assert started <= limit - receipts_module.PRINT_TIMEOUT <= started + timedelta(seconds=1)
    assert not woken.is_set()
    printer.release.set()
    assert woken.wait(WAIT_SECONDS), "the end of the print did not wake the screen"
    shown = station.pump_until(lambda v: v.fine_print == "Please take your receipt.", "taken")
    assert shown.screen is Screen.GOODBYE
    assert station.controller.next_change() == station.controller.state.screen_until


def test_welcome_asks_for_no_wake_at_all(make_station: MakeStation) -> None:
    station = make_station()
    station.screen(Screen.WELCOME)
    assert station.controller.next_change() is None


# Notices, refusals and people typing ----------------------------------------------------------


def test_a_misread_shows_a_notice_until_its_time_is_up(make_station: MakeStation) -> None:
    station = make_station()
    station.check_out(ANA, item(1))
    misread = item(2)[:-1] + str((int(item(2)[-1]) + 1) % 10)  # the check digit is wrong

    station.scan(misread)
    shown = station.pump_until(lambda v: v.notice is not None, "a notice")
    assert shown.notice is not None
    assert shown.notice.text == "That did not scan correctly - please scan it again."
    assert len(shown.lines) == 1  # over the list
    assert station.sounds.played == [Sound.SUCCESS, Sound.SUCCESS, Sound.PROBLEM]

    station.clock.advance(4)  # notice_seconds
    station.pump_until(lambda v: v.notice is None, "the notice gone")
    assert [row[1] for row in station.checkouts()] == [item(1)]


def test_a_blocked_card_is_refused_then_welcome_comes_back(make_station: MakeStation) -> None:
    station = make_station()
    station.screen(Screen.WELCOME)

    station.scan(BLOCKED)
    refused = station.screen(Screen.REFUSED)
    assert refused.message == "This card is blocked."
    assert refused.fine_print == "Please see staff at the desk."
    assert station.sounds.played == [Sound.PROBLEM]

    station.clock.advance(10)  # refused_seconds
    station.screen(Screen.WELCOME)
    assert station.checkouts() == []


def test_a_card_number_typed_by_hand_is_not_a_scan(make_station: MakeStation) -> None:
    station = make_station()
    station.screen(Screen.WELCOME)

    station.scan(ANA, gap=0.5)  # a person typing the card number
    station.scan(item(1))  # then a real scan: with no card, it is refused
    shown = station.pump_until(lambda v: v.notice is not None, "a notice")

    assert shown.screen is Screen.WELCOME
    assert shown.notice is not None
    assert shown.notice.text == "Please scan your library card first."
    assert station.sounds.played == [Sound.PROBLEM]
    assert station.checkouts() == []


# Time: the countdown and the timeout ----------------------------------------------------------


def test_the_countdown_still_here_and_the_timeout(make_station: MakeStation) -> None:
    printer = FakePrinter()
    station = make_station(receipt_mode="ask", printer=printer)
    station.check_out(ANA, item(1))
    assert station.controller.pump().countdown == ""

    station.clock.advance(51)  # idle_timeout_seconds is 60: 9 s left
    shown = station.pump_until(lambda v: v.countdown != "", "the countdown")
    assert shown.countdown == "Are you still there? This session ends in 9 seconds."
    assert [b.action for b in shown.buttons] == [Action.STILL_HERE, Action.DONE]
    assert shown.buttons[0].label == "I'm still here"

    station.controller.press(Action.STILL_HERE)
    shown = station.pump_until(lambda v: v.countdown == "", "the countdown gone")
    assert [b.action for b in shown.buttons] == [Action.DONE]

    station.clock.advance(59)  # a minute after "still here", less one second
    shown = station.pump_until(lambda v: v.countdown != "", "the countdown again")
    assert shown.countdown == "Are you still there? This session ends in 1 second."

    station.clock.advance(1)
    goodbye = station.screen(Screen.GOODBYE)
    assert goodbye.heading == "Your session has ended."
    assert goodbye.message == "1 item, due December 14"
    assert goodbye.fine_print == ""  # the patron walked away: nothing is printed
    assert printer.printed == []
    assert [row[1] for row in station.checkouts()] == [item(1)]

    station.clock.advance(8)
    station.screen(Screen.WELCOME)


# The engine dies ------------------------------------------------------------------------------


def test_an_engine_that_fails_takes_the_station_out_of_service(
    make_station: MakeStation, monkeypatch: pytest.MonkeyPatch
) -> None:
    station = make_station()
    station.check_out(ANA, item(1))

    def broken_scan(raw: str) -> list[object]:
        raise RuntimeError("the engine broke")

    monkeypatch.setattr(station.runtime, "scan", broken_scan)
    station.scan(item(2))
    down = station.screen(Screen.OUT_OF_SERVICE)

    assert down.heading == "This station is not available right now"
    assert down.fine_print.startswith("Checkouts cannot be saved.")
    assert down.lines == ()
    assert isinstance(station.worker.failed, RuntimeError)
    assert [row[1] for row in station.checkouts()] == [item(1)]

    station.scan(item(3))  # nobody is listening any more: the screen stays down
    assert station.controller.pump().screen is Screen.OUT_OF_SERVICE
    assert [row[1] for row in station.checkouts()] == [item(1)]


# NTP sets the wall clock (a board without a real-time clock) ----------------------------------
#
# `advance` is time passing; `jump` moves only the wall clock, as NTP does. The screens' timers,
# the idle timeout and the print timeout keep their schedule; what is stored keeps the wall's.

HOUR, DAY = 3600, 24 * 3600


def stored_at(station: Station) -> list[datetime]:
    path = station.home.data_dir / "spool.db"
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT occurred_at FROM checkouts ORDER BY seq")
        return [datetime.fromisoformat(at) for (at,) in rows]
    finally:
        conn.close()


def test_a_wall_clock_set_back_changes_no_screen_timer(make_station: MakeStation) -> None:
    station = make_station()
    station.check_out(ANA, item(1))
    station.clock.jump(-HOUR)
    station.scan(item(2))
    station.pump_until(lambda v: len(v.lines) == 2, "2 lines")
    assert stored_at(station) == [START, START - timedelta(hours=1)]  # the wall's times

    station.clock.jump(-HOUR)  # set back again, after the last scan
    station.clock.advance(59)  # a minute after the last scan, less one second
    shown = station.pump_until(lambda v: v.countdown != "", "the countdown")
    assert shown.countdown == "Are you still there? This session ends in 1 second."
    station.clock.advance(1)
    assert station.screen(Screen.GOODBYE).heading == "Your session has ended."

    station.clock.jump(-HOUR)
    station.clock.advance(8)  # goodbye_seconds, not an hour and 8 seconds
    station.screen(Screen.WELCOME)

    station.scan(BLOCKED)
    station.screen(Screen.REFUSED)
    station.clock.jump(-HOUR)
    station.clock.advance(10)  # refused_seconds
    station.screen(Screen.WELCOME)


def test_a_wall_clock_set_forward_a_day_ends_nothing_early(make_station: MakeStation) -> None:
    station = make_station()
    station.check_out(ANA, item(1))
    station.clock.jump(DAY)
    shown = station.controller.pump()
    assert (shown.screen, shown.countdown) == (Screen.CHECKOUT, "")
    station.scan(item(2))
    shown = station.pump_until(lambda v: len(v.lines) == 2, "2 lines")
    assert shown.screen is Screen.CHECKOUT
    assert stored_at(station) == [START, START + timedelta(days=1)]

    station.scan(item(3)[:-1] + str((int(item(3)[-1]) + 1) % 10))  # a misread: a notice
    station.pump_until(lambda v: v.notice is not None, "a notice")
    station.clock.jump(DAY)
    assert station.controller.pump().notice is not None  # not gone at once
    station.clock.advance(4)  # notice_seconds
    station.pump_until(lambda v: v.notice is None, "the notice gone")


def test_a_wall_clock_set_forward_does_not_fail_a_receipt_printing(
    make_station: MakeStation,
) -> None:
    printer = JammedPrinter()
    station = make_station(receipt_mode="always", printer=printer)
    station.check_out(ANA, item(1))
    station.controller.press(Action.DONE)
    station.pump_until(lambda v: v.screen is Screen.GOODBYE, "goodbye")
    assert printer.started.wait(WAIT_SECONDS), "the printer never got the job"

    station.clock.jump(DAY)
    shown = station.controller.pump()
    assert shown.fine_print == "Your receipt is printing."  # not failed by the jump

    station.clock.jump(-DAY - HOUR)
    station.clock.advance(receipts_module.PRINT_TIMEOUT.total_seconds() + 1)
    failed = station.pump_until(lambda v: v.fine_print == FAILED_TEXT, "the failure message")
    assert failed.problem is True
