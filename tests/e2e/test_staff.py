"""Staff commands reach a running kiosk: pausing it (after the patron at it finishes),
resuming it, and a special due date for every checkout from then on. Each is audited."""

from __future__ import annotations

import subprocess

from kiosk.storage.audit import AuditLog
from tests.conftest import KioskHome, item, patron
from tests.e2e.live import LiveKiosk
from tests.e2e.test_headless import CLOCK


def staff(home: KioskHome, *args: str) -> subprocess.CompletedProcess[str]:
    result = home.kiosk("staff", *args)
    assert result.returncode == 0, result.stderr
    return result


def test_pause_waits_for_the_patron_then_resume_brings_the_station_back(
    home: KioskHome,
) -> None:
    home.import_standard_snapshot(built_at="2026-11-23T06:00:00-05:00")
    kiosk = LiveKiosk(home, "--clock", CLOCK, log_level="WARNING")
    try:
        kiosk.next("ready")
        kiosk.send(patron(1))
        kiosk.next("patron_accepted")
        staff(home, "pause", "--message", "Back at 2 pm - please use the desk")
        assert "PAUSED by staff" in home.kiosk("status").stdout
        kiosk.send(item(1))  # the patron at the kiosk finishes
        kiosk.next("item_checked_out")
        kiosk.send("@done")
        kiosk.next("session_ended")
        paused = kiosk.next("out_of_service")
        assert paused == {
            "event": "out_of_service",
            "reason": "paused",
            "detail": "Back at 2 pm - please use the desk",
        }
        kiosk.send(patron(8))  # nobody new gets in
        staff(home, "resume")
        kiosk.send(patron(8))
        assert kiosk.next("ready")["patrons"] == 8
        assert kiosk.next("patron_accepted")["patron"] == patron(8)
        assert kiosk.finish()[0] == 0
    finally:
        kiosk.stop()
    actions = [e.action for e in AuditLog(home.data_dir).entries()]
    assert "staff.pause" in actions and "staff.resume" in actions
    assert actions.index("staff.pause") < actions.index("service.out")


def test_a_special_due_date_applies_from_the_next_checkout_until_cleared(
    home: KioskHome,
) -> None:
    home.import_standard_snapshot(built_at="2026-11-23T06:00:00-05:00")
    kiosk = LiveKiosk(home, "--clock", CLOCK, log_level="WARNING")
    try:
        kiosk.next("ready")
        kiosk.send(patron(1), item(1))
        kiosk.next("patron_accepted")
        normal = kiosk.next("item_checked_out")
        assert (normal["due_date"], normal["special_due"]) == ("2026-12-14", False)
        shown = staff(home, "special-due", "set", "2027-01-15")
        assert "2027-01-15" in shown.stdout
        assert "Special due date: 2027-01-15" in home.kiosk("status").stdout
        kiosk.send(item(2))
        special = kiosk.next("item_checked_out")
        assert (special["due_date"], special["special_due"]) == ("2027-01-15", True)
        staff(home, "special-due", "clear")
        kiosk.send(item(3))
        back = kiosk.next("item_checked_out")
        assert (back["due_date"], back["special_due"]) == ("2026-12-14", False)
        assert kiosk.finish()[0] == 0
    finally:
        kiosk.stop()
    status = home.kiosk("status")
    assert "Special due date" not in status.stdout  # cleared


def test_a_special_due_date_in_the_past_is_refused(home: KioskHome) -> None:
    result = home.kiosk("staff", "special-due", "set", "2001-01-01")
    assert result.returncode == 2
    assert "in the past" in result.stderr
