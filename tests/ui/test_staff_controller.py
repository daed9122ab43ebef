"""Staff mode through the KioskController, without Kivy: a real EngineWorker thread over a real
StationRuntime, a real StaffDesk and StaffJobs (their own thread) on SQLite files in a temporary
kiosk home whose config holds a hashed staff PIN and card, a ManualClock, and a ReceiptDesk
with a fake printer.

Everything is wired by build_controller, as the kiosk wires it. `pump()` is polled with a bound
until the expected screen appears; time moves only with the ManualClock.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from hardware.printer import FakePrinter, ReceiptPrinter
from kiosk.cli.run import build_runtime
from kiosk.config import load_config
from kiosk.domain.staff import hash_secret
from kiosk.presenter.presenter import Action, Screen, ScreenView
from kiosk.presenter.staff import Job, Page, Press, StaffPress, StaffScreenView, StaffState
from kiosk.runtime.clock import ManualClock
from kiosk.runtime.worker import EngineWorker
from kiosk.storage.audit import AuditLog
from kiosk.ui.controller import KioskController
from kiosk.ui.launch import build_controller
from kiosk.ui.sounds import RecordingPlayer
from tests.conftest import KioskHome, item, patron
from tests.ui.wedge import WAIT_SECONDS, JammedPrinter, Shown, Wedge

START = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # Monday 10:00 in New York
BUILT = "2026-11-23T06:00:00-05:00"
IDLE_SECONDS = 60
LOCKOUT_MINUTES = 15

PIN = "2580"
WRONG_PIN = "1111"
STAFF_CARD = "STAFF-QX7-ALPHA"
ANA = patron(1)
NO_CARD_FIRST = "Please scan your library card first."


@dataclass
class Station(Wedge):
    controller: KioskController
    clock: ManualClock
    printer: ReceiptPrinter | None
    worker: EngineWorker
    home: KioskHome
    keys_at: float = 1000.0

    @property
    def staff(self) -> StaffState:
        return self.controller.staff_state

    def patron_screen(self, screen: Screen) -> ScreenView:
        shown = self.pump_until(
            lambda v: isinstance(v, ScreenView) and v.screen is screen, screen.value
        )
        assert isinstance(shown, ScreenView)
        return shown

    def staff_page(self, page: Page, *, facts: bool = False) -> StaffScreenView:
        """The staff screens on `page`, with no action running (and the status read back)."""

        def ready(v: Shown) -> bool:
            state = self.staff
            return (
                isinstance(v, StaffScreenView)
                and state.page is page
                and state.busy is None
                and (state.facts is not None or not facts)
            )

        shown = self.pump_until(ready, f"the staff page {page.value}")
        assert isinstance(shown, StaffScreenView)
        return shown

    def type_pin(self, pin: str) -> None:
        for digit in pin:
            self.controller.staff_press(Press.DIGIT, digit)
        self.controller.staff_press(Press.OK)

    def sign_in(self) -> StaffScreenView:
        """The hidden corner, the right PIN: the staff screen with its status."""
        self.controller.open_staff()
        self.staff_page(Page.PIN)
        self.type_pin(PIN)
        return self.staff_page(Page.HOME, facts=True)

    def run(self, press: StaffPress) -> StaffScreenView:
        """A button on the staff screen; returns the screen once the action has answered and
        the status was read again."""
        self.controller.staff_press(press)
        assert self.staff.busy is not None, f"{press} started nothing"
        return self.staff_page(Page.HOME, facts=True)

    def checkouts(self) -> list[str]:
        path = self.home.data_dir / "spool.db"
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return [row[0] for row in conn.execute("SELECT item FROM checkouts ORDER BY seq")]
        finally:
            conn.close()

    def audited(self, action: str) -> list[dict[str, object]]:
        return [e.details for e in AuditLog(self.home.data_dir).entries() if e.action == action]

    def wait_audited(self, action: str) -> list[dict[str, object]]:
        """Staff jobs run on their own thread and some (sign out) send no answer back."""
        give_up = time.monotonic() + WAIT_SECONDS
        while not (found := self.audited(action)):
            if time.monotonic() > give_up:
                pytest.fail(f"no {action} in the audit trail within {WAIT_SECONDS} s")
            threading.Event().wait(0.01)
        return found


MakeStation = Callable[..., Station]


def staff_toml(*, printer: bool, staff: bool, roots: str) -> str:
    text = f'\n[receipt]\nmode = "ask"\n\n[printer]\ntype = "{"fake" if printer else "none"}"\n'
    if staff:
        salt = os.urandom(16)
        text += (
            "\n[staff]\n"
            f"pins = {json.dumps([hash_secret(PIN, os.urandom(16)).text()])}\n"
            f"cards = {json.dumps([hash_secret(STAFF_CARD, salt).text()])}\n"
            f"idle_seconds = {IDLE_SECONDS}\n"
            f"lockout_minutes = {LOCKOUT_MINUTES}\n"
            f"export_roots = {json.dumps([roots])}\n"
        )
    return text


@pytest.fixture
def make_station(home: KioskHome) -> Iterator[MakeStation]:
    made: list[Station] = []

    def make(*, printer: ReceiptPrinter | None = None, staff: bool = True) -> Station:
        roots = home.root / "media"
        roots.mkdir(exist_ok=True)
        home.write_config(
            extra=staff_toml(printer=printer is not None, staff=staff, roots=str(roots))
        )
        home.import_standard_snapshot(built_at=BUILT)
        config = load_config(home.config_path)
        clock = ManualClock(START)
        runtime = build_runtime(config, clock)
        worker = EngineWorker(runtime, tick_seconds=0.02)
        controller = build_controller(
            config, runtime, clock, sounds=RecordingPlayer(), printer=printer, worker=worker
        )
        worker.start()
        station = Station(controller, clock, printer, worker, home)
        made.append(station)
        station.patron_screen(Screen.WELCOME)
        return station

    yield make
    for station in made:
        if isinstance(station.printer, JammedPrinter):
            station.printer.release.set()
        station.worker.stop()
        station.controller.close()


def in_session(station: Station, *items: str) -> None:
    station.scan(ANA)
    station.patron_screen(Screen.CHECKOUT)
    for n, code in enumerate(items, 1):
        station.scan(code)
        station.pump_until(lines_are(n), f"{n} lines")


def lines_are(n: int) -> Callable[[Shown], bool]:
    return lambda v: isinstance(v, ScreenView) and len(v.lines) == n


# Getting in -------------------------------------------------------------------------------------


def test_a_staff_card_at_welcome_opens_the_pin_pad(make_station: MakeStation) -> None:
    station = make_station()
    station.scan(STAFF_CARD)
    pad = station.staff_page(Page.PIN)
    assert pad.heading == "Staff: enter your PIN"
    assert pad.keypad is True
    assert station.controller.in_staff_mode
    assert station.controller.state.screen is Screen.WELCOME  # the patron screen waits behind


def test_a_patron_card_does_not_open_the_pin_pad(make_station: MakeStation) -> None:
    station = make_station()
    station.scan(ANA)
    shown = station.patron_screen(Screen.CHECKOUT)
    assert shown.heading == "Hello, Ana!"
    assert not station.controller.in_staff_mode


def test_the_right_pin_opens_the_staff_screen_with_the_status(make_station: MakeStation) -> None:
    station = make_station()
    assert station.controller.staff is not None
    answered = threading.Event()  # the app sleeps until a staff answer wakes it
    station.controller.staff.on_answer = answered.set
    station.scan(STAFF_CARD)
    station.staff_page(Page.PIN)
    station.type_pin(PIN)
    assert answered.wait(10), "the PIN check's answer did not wake the screen"

    home = station.staff_page(Page.HOME, facts=True)
    assert home.heading == "Staff"
    labels = [line.label for line in home.status]
    assert "Snapshot" in labels
    assert "Checkouts" in labels
    snapshot = next(line for line in home.status if line.label == "Snapshot")
    assert snapshot.value.startswith("8 patrons, built 2026-11-23 06:00")
    assert station.audited("staff.sign_in") == [{"pad": "card"}]


def lock_the_corner(station: Station) -> StaffScreenView:
    """Five wrong PINs at the pad the hidden corner opens (anyone can: a patron)."""
    station.controller.open_staff()
    for tries_left in (4, 3, 2, 1):
        station.type_pin(WRONG_PIN)
        shown = station.staff_page(Page.PIN)
        word = "try" if tries_left == 1 else "tries"
        assert shown.message == f"Wrong PIN. {tries_left} {word} left before staff mode locks."
    station.type_pin(WRONG_PIN)
    return station.staff_page(Page.LOCKED)


def test_five_wrong_pins_lock_staff_mode(make_station: MakeStation) -> None:
    station = make_station()
    locked = lock_the_corner(station)
    assert locked.heading == "Staff mode is locked"
    assert locked.message == "Too many wrong PINs. Try again after 10:15."  # New York time
    assert locked.details == (
        "A staff card still signs in: go back and scan it at the Welcome screen.",
        "`kiosk staff unlock` (from the console) lifts the lock now. "
        "Every attempt is in the audit trail.",
    )
    assert len(station.audited("staff.wrong_pin")) == 4
    assert station.audited("staff.locked") == [
        {"pad": "corner", "until": "2026-11-23T10:15:00-05:00", "wrong_pins": 5}
    ]

    station.controller.staff_press(Press.CANCEL)
    station.patron_screen(Screen.WELCOME)
    station.controller.open_staff()  # the corner again: still locked (the lock is on disk)
    again = station.staff_page(Page.LOCKED)
    assert again.heading == "Staff mode is locked"
    assert again.message == "Too many wrong PINs. Try again after 10:15."
    station.controller.staff_press(Press.CANCEL)

    station.clock.advance(LOCKOUT_MINUTES * 60)
    station.controller.open_staff()
    station.staff_page(Page.PIN)
    station.type_pin(PIN)
    station.staff_page(Page.HOME, facts=True)


def test_a_staff_card_signs_in_while_the_corner_is_locked_and_unlocks_it(
    make_station: MakeStation,
) -> None:
    station = make_station()
    lock_the_corner(station)
    station.controller.staff_press(Press.CANCEL)
    station.patron_screen(Screen.WELCOME)

    station.scan(STAFF_CARD)  # the card's pad counts its own wrong PINs: none yet
    station.staff_page(Page.PIN)
    station.type_pin(PIN)
    home = station.staff_page(Page.HOME, facts=True)
    assert station.audited("staff.sign_in") == [{"pad": "card"}]
    assert home.status[0].label == "PIN pad"
    assert home.status[0].warn is True
    assert home.status[0].value.startswith(
        "The PIN pad is locked until 10:15 after 5 wrong PINs. A staff card still signs in."
    )

    unlocked = station.run(Job.UNLOCK_PIN_PAD)
    assert unlocked.message == "Unlocked the PIN pad (locked until 10:15 after 5 wrong PINs)."
    assert station.audited("staff.unlocked") == [
        {"pads": ["corner"], "was_locked_until": {"corner": "2026-11-23T10:15:00-05:00"}}
    ]
    read_back = station.pump_until(
        lambda v: station.staff.facts is not None and not station.staff.facts.pin_locked,
        "the status read back after the unlock",
    )
    assert isinstance(read_back, StaffScreenView)
    assert "PIN pad" not in [line.label for line in read_back.status]
    assert "Unlock the PIN pad" not in [b.label for b in read_back.buttons]
    station.controller.staff_press(Press.EXIT)
    station.patron_screen(Screen.WELCOME)

    station.controller.open_staff()  # the corner's pad again, long before 10:15
    station.staff_page(Page.PIN)
    station.type_pin(PIN)
    station.staff_page(Page.HOME, facts=True)


def test_wrong_pins_behind_a_staff_card_lock_only_the_card_pad(
    make_station: MakeStation,
) -> None:
    station = make_station()
    station.scan(STAFF_CARD)
    station.staff_page(Page.PIN)
    for _ in range(4):
        station.type_pin(WRONG_PIN)
        station.staff_page(Page.PIN)
    station.type_pin(WRONG_PIN)
    locked = station.staff_page(Page.LOCKED)
    assert locked.details == (
        "`kiosk staff unlock` (from the console) lifts the lock now.",
        "Every attempt is in the audit trail.",
    )
    assert station.audited("staff.locked")[0]["pad"] == "card"
    station.controller.staff_press(Press.CANCEL)
    station.patron_screen(Screen.WELCOME)

    station.scan(STAFF_CARD)
    station.staff_page(Page.LOCKED)
    station.controller.staff_press(Press.CANCEL)
    station.sign_in()  # the corner's pad is not locked by the card's wrong PINs


# Nobody lends behind the staff screen -------------------------------------------------------------


def test_scans_during_staff_mode_never_reach_the_engine(make_station: MakeStation) -> None:
    station = make_station()
    station.scan(STAFF_CARD)
    station.staff_page(Page.PIN)
    station.scan(ANA)
    station.scan(item(1))
    assert station.controller.in_staff_mode
    station.controller.staff_press(Press.CANCEL)
    station.patron_screen(Screen.WELCOME)

    # The engine takes inputs in order: had the card reached it, this item would be lent.
    station.scan(item(2))
    shown = station.pump_until(lambda v: getattr(v, "notice", None) is not None, "a notice")
    assert isinstance(shown, ScreenView)
    assert shown.notice is not None
    assert shown.notice.text == NO_CARD_FIRST
    assert station.checkouts() == []


def test_scans_during_staff_mode_add_nothing_to_an_open_session(
    make_station: MakeStation,
) -> None:
    station = make_station()
    in_session(station, item(1))
    station.controller.open_staff()
    station.staff_page(Page.PIN)
    station.scan(item(2))
    station.controller.staff_press(Press.CANCEL)

    station.scan(item(3))  # once this one shows, item 2 would have shown too
    shown = station.pump_until(lines_are(2), "the second line")
    assert isinstance(shown, ScreenView)
    assert [line.item for line in shown.lines] == [f"Item {item(3)}", f"Item {item(1)}"]
    assert station.checkouts() == [item(1), item(3)]


def test_a_staff_card_in_a_patrons_session_does_not_open_the_pad(
    make_station: MakeStation,
) -> None:
    station = make_station()
    in_session(station)
    station.scan(STAFF_CARD)
    shown = station.pump_until(lambda v: getattr(v, "notice", None) is not None, "a notice")
    assert isinstance(shown, ScreenView)
    assert not station.controller.in_staff_mode


# What staff do ----------------------------------------------------------------------------------


def test_a_paused_station_is_out_of_service_after_staff_leave(make_station: MakeStation) -> None:
    station = make_station()
    station.sign_in()
    station.run(Job.PAUSE)
    paused = station.pump_until(
        lambda v: station.staff.facts is not None and station.staff.facts.paused,
        "the status read back after the pause",
    )
    assert isinstance(paused, StaffScreenView)
    assert paused.message == "The station is paused (a patron at it finishes first)."
    assert "Resume the station" in [b.label for b in paused.buttons]  # the status read it back
    assert next(s.value for s in paused.status if s.label == "Station") == "PAUSED by staff"

    station.controller.staff_press(Press.EXIT)
    down = station.patron_screen(Screen.OUT_OF_SERVICE)
    assert down.fine_print == "Paused by staff."
    assert station.audited("staff.pause") == [{"message": ""}]

    station.sign_in()
    station.run(Job.RESUME)
    station.controller.staff_press(Press.EXIT)
    station.patron_screen(Screen.WELCOME)


def test_a_special_due_date_typed_on_the_pad_applies_to_the_next_checkout(
    make_station: MakeStation,
) -> None:
    station = make_station()
    station.sign_in()
    station.controller.staff_press(Press.SPECIAL_DUE)
    station.staff_page(Page.SPECIAL_DUE)
    for digit in "28":
        station.controller.staff_press(Press.DIGIT, digit)
    assert station.controller.pump().entry == "28 days:  due Monday 2026-12-21"

    done = station.run(Press.SET_SPECIAL_DUE)
    assert done.message == "Every checkout from now on is due Monday 2026-12-21."
    assert station.audited("staff.special_due") == [{"due_date": "2026-12-21"}]
    station.controller.staff_press(Press.EXIT)

    in_session(station, item(1))
    shown = station.controller.pump()
    assert isinstance(shown, ScreenView)
    assert shown.lines[0].due == "Due Monday, December 21"
    path = station.home.data_dir / "spool.db"
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        assert list(conn.execute("SELECT due_date FROM checkouts")) == [("2026-12-21",)]
    finally:
        conn.close()


def test_clearing_a_stuck_session_ends_it_and_keeps_its_checkouts(
    make_station: MakeStation,
) -> None:
    station = make_station()
    in_session(station, item(1))
    station.sign_in()

    cleared = station.run(Job.CLEAR_SESSION)
    assert cleared.message == "Any open session was ended. Its checkouts are kept."
    assert station.audited("staff.clear_session") == [{}]
    station.controller.staff_press(Press.EXIT)
    welcome = station.patron_screen(Screen.WELCOME)
    assert welcome.lines == ()
    assert station.checkouts() == [item(1)]

    # The engine's session is over too, not only the screen's.
    station.scan(item(2))
    shown = station.pump_until(lambda v: getattr(v, "notice", None) is not None, "a notice")
    assert isinstance(shown, ScreenView)
    assert shown.notice is not None
    assert shown.notice.text == NO_CARD_FIRST
    assert station.checkouts() == [item(1)]


def test_clearing_unsticks_a_screen_waiting_for_a_jammed_printer(
    make_station: MakeStation,
) -> None:
    printer = JammedPrinter()
    station = make_station(printer=printer)
    in_session(station, item(1))
    station.controller.press(Action.DONE)
    station.patron_screen(Screen.FINISH)
    station.controller.press(Action.PRINT_RECEIPT)
    assert printer.started.wait(WAIT_SECONDS), "the printer never got the job"
    stuck = station.patron_screen(Screen.GOODBYE)
    assert stuck.fine_print == "Your receipt is printing."

    station.sign_in()
    station.controller.staff_press(Job.TEST_RECEIPT)  # the printer is busy with the patron's
    refused = station.staff_page(Page.HOME)
    assert refused.message == "A patron's receipt is printing: try again in a moment."
    assert refused.message_ok is False

    station.run(Job.CLEAR_SESSION)
    assert station.controller.state.screen is Screen.WELCOME  # the engine had no session left
    station.controller.staff_press(Press.EXIT)
    station.patron_screen(Screen.WELCOME)

    printer.release.set()  # the jam clears: the late receipt changes nothing on screen
    station.pump_until(lambda v: not station.controller.receipts.printing, "the print's end")
    assert station.controller.pump().heading == "Scan your library card"
    assert len(printer.printed) == 1
    assert station.checkouts() == [item(1)]


def test_a_test_receipt_prints(make_station: MakeStation) -> None:
    printer = FakePrinter()
    station = make_station(printer=printer)
    station.sign_in()

    station.controller.staff_press(Job.TEST_RECEIPT)
    assert (station.staff.page, station.staff.busy) == (Page.BUSY, Job.TEST_RECEIPT)
    done = station.staff_page(Page.HOME, facts=True)
    assert done.message == "The test receipt was printed."
    assert done.message_ok is True
    [document] = printer.printed
    lines = document.plain_lines()
    assert lines[:2] == ["Test Library", "Test receipt"]
    assert "Station TEST-SC01" in lines
    assert station.controller.state.screen is Screen.WELCOME  # no patron receipt was shown


def test_a_faulty_printer_says_the_test_receipt_was_not_printed(
    make_station: MakeStation,
) -> None:
    printer = FakePrinter(fail=True)
    station = make_station(printer=printer)
    station.sign_in()

    station.controller.staff_press(Job.TEST_RECEIPT)
    done = station.staff_page(Page.HOME, facts=True)
    assert done.message == "The test receipt was NOT printed: the printer reports error."
    assert done.message_ok is False
    assert printer.printed == []


def test_no_printer_says_so(make_station: MakeStation) -> None:
    station = make_station(printer=None)
    station.sign_in()
    station.controller.staff_press(Job.TEST_RECEIPT)
    done = station.staff_page(Page.HOME)
    assert done.message == "No receipt printer is configured."
    assert done.message_ok is False


# Leaving ----------------------------------------------------------------------------------------


def test_staff_mode_closes_itself_when_left_untouched(make_station: MakeStation) -> None:
    station = make_station()
    station.sign_in()

    station.clock.advance(IDLE_SECONDS - 1)
    assert isinstance(station.controller.pump(), StaffScreenView)
    assert station.controller.in_staff_mode

    station.clock.advance(1)
    welcome = station.patron_screen(Screen.WELCOME)
    assert welcome.heading == "Scan your library card"
    assert not station.controller.in_staff_mode
    assert station.wait_audited("staff.sign_out") == [{"reason": "timeout"}]


def test_exit_signs_out(make_station: MakeStation) -> None:
    station = make_station()
    station.sign_in()
    station.controller.staff_press(Press.EXIT)
    assert isinstance(station.controller.pump(), ScreenView)
    assert station.wait_audited("staff.sign_out") == [{"reason": "exit"}]


def test_without_a_staff_pin_there_is_no_staff_mode(make_station: MakeStation) -> None:
    station = make_station(staff=False)
    assert station.controller.staff is None
    station.controller.open_staff()
    assert not station.controller.in_staff_mode
    station.controller.staff_press(Press.DIGIT, "1")
    station.controller.staff_press(Press.OK)
    shown = station.controller.pump()
    assert isinstance(shown, ScreenView)
    assert shown.screen is Screen.WELCOME
    assert station.controller.staff_state == StaffState()
