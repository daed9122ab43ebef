"""Staff at a running kiosk: a staff card at the Welcome screen opens the PIN pad (and is
never written to the log), the same card during a patron's session is just a scan, and
`kiosk staff clear-session` ends a session someone walked away from, keeping its checkouts."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from kiosk.domain.staff import hash_secret
from kiosk.storage.spool import Spool
from tests.conftest import KioskHome, item, patron
from tests.e2e.live import LiveKiosk
from tests.e2e.test_headless import CLOCK
from tests.e2e.test_staff import staff

BUILT_AT = "2026-11-23T06:00:00-05:00"  # four hours before the kiosk's clock
CARD = "STAFF-QX7-ALPHA"  # letters too: the log's digit masking would not hide it


def with_staff_card(home: KioskHome) -> None:
    pin = hash_secret("2580", os.urandom(16)).text()
    card = hash_secret(CARD, os.urandom(16)).text()
    home.write_config(extra=f'\n[staff]\npins = ["{pin}"]\ncards = ["{card}"]\n')


@contextmanager
def live(home: KioskHome, *, log_level: str = "WARNING") -> Iterator[LiveKiosk]:
    kiosk = LiveKiosk(home, "--clock", CLOCK, log_level=log_level)
    try:
        yield kiosk
    finally:
        kiosk.stop()


def stored(home: KioskHome) -> list[tuple[str, str]]:
    spool = Spool.open(home.data_dir)
    try:
        return [(c.checkout.patron, c.checkout.item) for c in spool.checkouts()]
    finally:
        spool.close()


# Staff cards ---------------------------------------------------------------------------------


def test_a_staff_card_at_the_welcome_screen_opens_the_pin_pad_and_is_not_logged(
    home: KioskHome,
) -> None:
    with_staff_card(home)
    home.import_standard_snapshot(built_at=BUILT_AT)
    with live(home, log_level="DEBUG") as kiosk:
        kiosk.next("ready")
        kiosk.send(CARD)
        assert kiosk.next("staff_card") == {"event": "staff_card"}  # not patron_refused
        kiosk.send(patron(1))  # the next event after the card is the patron's
        kiosk.next("patron_accepted")
        assert kiosk.finish()[0] == 0
        log = kiosk.stderr()
    assert "a staff card was scanned" in log  # the log was on, and saw the scan
    assert CARD not in log
    assert CARD not in (home.data_dir / "audit.log").read_text(encoding="utf-8")


def test_a_staff_card_reaches_the_pin_pad_while_the_station_is_out_of_service(
    home: KioskHome,
) -> None:
    with_staff_card(home)  # and no snapshot: staff must still get in to load one
    with live(home) as kiosk:
        assert kiosk.next("out_of_service")["reason"] == "no_snapshot"
        kiosk.send(CARD)
        kiosk.next("staff_card")
        assert kiosk.finish()[0] == 0


def test_a_staff_card_during_a_session_is_an_ordinary_scan(home: KioskHome) -> None:
    with_staff_card(home)
    home.import_standard_snapshot(built_at=BUILT_AT)
    with live(home) as kiosk:
        kiosk.next("ready")
        kiosk.send(patron(1))
        kiosk.next("patron_accepted")
        kiosk.send(CARD)
        rejected = kiosk.next("scan_rejected")
        assert (rejected["scan"], rejected["reason"]) == (CARD, "unrecognised")
        kiosk.send(item(1))  # the patron's session carries on
        assert kiosk.next("item_checked_out")["item"] == item(1)
        kiosk.send("@done")
        assert kiosk.next("session_ended")["reason"] == "done"
        assert kiosk.finish()[0] == 0


# Clearing a session -----------------------------------------------------------------------


def test_clear_session_ends_the_open_session_and_keeps_its_checkouts(home: KioskHome) -> None:
    home.import_standard_snapshot(built_at=BUILT_AT)
    with live(home) as kiosk:
        kiosk.next("ready")
        kiosk.send(patron(1), item(1), item(2))
        session = kiosk.next("patron_accepted")["session_id"]
        kiosk.next("item_checked_out")
        kiosk.next("item_checked_out")
        staff(home, "clear-session")
        kiosk.send("@advance 0")  # the headless loop looks at staff requests on each input
        ended = kiosk.next("session_ended")
        assert ended == {
            "event": "session_ended",
            "patron": patron(1),
            "items": 2,
            "reason": "cleared",
            "session_id": session,
        }
        kiosk.send(patron(8))  # the station is back at Welcome for the next patron
        kiosk.next("patron_accepted")
        assert kiosk.finish()[0] == 0
    assert stored(home) == [(patron(1), item(1)), (patron(1), item(2))]
    audit = (home.data_dir / "audit.log").read_text(encoding="utf-8")
    assert '"staff.clear_session"' in audit


def test_a_clear_request_from_before_the_start_is_not_replayed(home: KioskHome) -> None:
    home.import_standard_snapshot(built_at=BUILT_AT)
    staff(home, "clear-session")  # nobody was at a kiosk: this request is stale
    with live(home) as kiosk:
        kiosk.next("ready")
        kiosk.send(patron(1), "@advance 0", item(1))
        kiosk.next("patron_accepted")
        assert kiosk.next("item_checked_out")["item"] == item(1)  # no session_ended before it
        staff(home, "clear-session")  # a new request still works
        kiosk.send("@advance 0")
        assert kiosk.next("session_ended")["reason"] == "cleared"
        assert kiosk.finish()[0] == 0
    assert stored(home) == [(patron(1), item(1))]
