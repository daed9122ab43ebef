"""A PIN lockout cannot keep staff out: the pad a staff card opens counts its own wrong PINs,
`unlock` lifts any lock (audited), and the status says what is locked, until when, after how
many wrong PINs, and how to lift it. Real config files and data folder; a manual clock."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kiosk.config import KioskConfig, load_config
from kiosk.domain.staff import hash_secret
from kiosk.runtime.clock import ManualClock
from kiosk.runtime.signin import LOCK_FILE, Pad, PinCheck, PinLock, PinResult
from kiosk.runtime.staff import StaffDesk
from kiosk.storage.audit import AuditLog
from tests.conftest import KioskHome

T0 = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # Monday 10:00 in New York
PIN = "2580"
WRONG = "1111"
UNTIL = "2026-11-23T10:15:00-05:00"


def configure(home: KioskHome, *, cards: bool = True) -> KioskConfig:
    pins = json.dumps([hash_secret(PIN, os.urandom(16)).text()])
    extra = f"\n[staff]\npins = {pins}\n"
    if cards:
        extra += f"cards = {json.dumps([hash_secret('STAFF-QX7', os.urandom(16)).text()])}\n"
    return load_config(home.write_config(extra=extra))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def desk(home: KioskHome, clock: ManualClock) -> StaffDesk:
    return StaffDesk(configure(home), actor="cli", now=clock.now)


def audit(home: KioskHome, action: str) -> list[dict[str, Any]]:
    return [e.details for e in AuditLog(home.data_dir).entries() if e.action == action]


def lock(desk: StaffDesk, *, by_card: bool = False) -> PinCheck:
    for _ in range(4):
        assert desk.check_pin(WRONG, by_card=by_card).result == PinResult.WRONG
    return desk.check_pin(WRONG, by_card=by_card)


def test_a_locked_corner_does_not_lock_the_pad_a_staff_card_opens(
    desk: StaffDesk, home: KioskHome, clock: ManualClock
) -> None:
    """A patron typing five wrong PINs every 15 minutes cannot keep a card holder out."""
    assert lock(desk).result == PinResult.LOCKED
    assert desk.check_pin(PIN).result == PinResult.LOCKED
    assert desk.pin_lock(by_card=True) is None
    assert desk.check_pin(PIN, by_card=True) == PinCheck(PinResult.OK)
    assert audit(home, "staff.locked") == [{"pad": "corner", "until": UNTIL, "wrong_pins": 5}]
    assert audit(home, "staff.sign_in") == [{"pad": "card"}]
    assert [d["pad"] for d in audit(home, "staff.wrong_pin")] == ["corner"] * 4
    clock.advance(60)
    assert desk.pin_lock() is not None  # a card's sign-in does not lift the corner's lock


def test_wrong_pins_behind_a_card_lock_the_card_pad_only(desk: StaffDesk) -> None:
    assert lock(desk, by_card=True).result == PinResult.LOCKED
    assert desk.check_pin(PIN, by_card=True).result == PinResult.LOCKED
    assert desk.check_pin(PIN) == PinCheck(PinResult.OK)


def test_unlock_lifts_every_lock_at_once_and_is_audited(desk: StaffDesk, home: KioskHome) -> None:
    lock(desk)
    lock(desk, by_card=True)
    outcome = desk.unlock()
    assert outcome.ok
    assert outcome.message == (
        "Unlocked the PIN pad (locked until 10:15 after 5 wrong PINs); the PIN pad after a "
        "staff card (locked until 10:15 after 5 wrong PINs)."
    )
    assert audit(home, "staff.unlocked") == [
        {"pads": ["corner", "card"], "was_locked_until": {"corner": UNTIL, "card": UNTIL}}
    ]
    assert desk.pin_lock() is None and desk.pin_lock(by_card=True) is None
    assert desk.check_pin(WRONG) == PinCheck(PinResult.WRONG, 4)  # counted from zero
    assert desk.check_pin(PIN).result == PinResult.OK


def test_unlock_with_nothing_locked_says_so_and_records_nothing(
    desk: StaffDesk, home: KioskHome
) -> None:
    desk.check_pin(WRONG)
    assert desk.unlock().message == "No PIN pad is locked."
    assert audit(home, "staff.unlocked") == []
    assert desk.check_pin(WRONG) == PinCheck(PinResult.WRONG, 4)  # the count went too


def test_the_status_says_what_is_locked_until_when_and_how_to_lift_it(
    desk: StaffDesk, clock: ManualClock
) -> None:
    lock(desk)
    status = desk.status()
    until = datetime(2026, 11, 23, 15, 15, tzinfo=UTC)
    assert status.pin_locks == (PinLock(Pad.CORNER, until, 5),)
    assert status.lock_lines() == [
        "The PIN pad is locked until 10:15 after 5 wrong PINs. A staff card still signs in. "
        "`kiosk staff unlock` or Unlock the PIN pad on the staff screen lifts it now."
    ]
    clock.advance(15 * 60)
    assert desk.status().pin_locks == ()


def test_without_staff_cards_the_status_does_not_promise_one(
    home: KioskHome, clock: ManualClock
) -> None:
    desk = StaffDesk(configure(home, cards=False), actor="cli", now=clock.now)
    lock(desk)
    [line] = desk.status().lock_lines()
    assert "staff card" not in line


def test_a_lock_file_from_before_the_two_pads_locks_the_corner(
    desk: StaffDesk, home: KioskHome
) -> None:
    home.data_dir.mkdir(exist_ok=True)
    old = {"failures": 0, "locked_until": "2026-11-23T10:15:00-05:00"}
    (home.data_dir / LOCK_FILE).write_text(json.dumps(old), encoding="utf-8")
    assert desk.pin_lock() == PinCheck(
        PinResult.LOCKED, 0, datetime.fromisoformat("2026-11-23T10:15:00-05:00")
    )
    assert desk.pin_lock(by_card=True) is None


def test_a_lock_ending_another_day_names_the_day(home: KioskHome, clock: ManualClock) -> None:
    lock_ = PinLock(Pad.CARD, datetime(2026, 11, 24, 9, 0, tzinfo=UTC), 5)
    now = datetime(2026, 11, 23, 22, 0, tzinfo=UTC)
    assert lock_.describe(now) == (
        "The PIN pad after a staff card is locked until 2026-11-24 09:00 after 5 wrong PINs."
    )
    assert lock_.reason(now + timedelta(hours=3)) == "until 09:00 after 5 wrong PINs"
