"""A station paused by staff: the staff's own message for patrons, and who paused it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kiosk.domain.events import OutOfService, OutOfServiceReason
from kiosk.domain.service import SnapshotLimits, assess
from kiosk.presenter import presenter as p
from kiosk.presenter.i18n import load_language

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
SETTINGS = p.Settings(library="Test Library")
AT = timedelta(hours=5)  # the monotonic clock, for the screens' timers


@pytest.mark.parametrize(
    ("code", "heading", "fine_print"),
    [
        ("en", "This station is not available right now", "Paused by staff."),
        ("es", "Esta estación no está disponible en este momento", "Pausada por el personal."),
    ],
)
def test_the_staff_message_is_what_patrons_read(code: str, heading: str, fine_print: str) -> None:
    event = OutOfService(OutOfServiceReason.PAUSED, "Back at 2 pm")
    state = p.on_event(p.initial_state(SETTINGS), event, AT, SETTINGS).state
    shown = p.view(state, AT, load_language(code), SETTINGS)
    assert (shown.screen, shown.heading) == (p.Screen.OUT_OF_SERVICE, heading)
    assert shown.message == "Back at 2 pm"
    assert shown.fine_print == fine_print


def test_a_pause_without_a_message_shows_the_standard_one() -> None:
    event = OutOfService(OutOfServiceReason.PAUSED, "")
    state = p.on_event(p.initial_state(SETTINGS), event, AT, SETTINGS).state
    shown = p.view(state, AT, load_language("en"), SETTINGS)
    assert shown.message == "Please see staff at the desk. We are sorry for the trouble."


def test_a_pause_ranks_below_a_storage_problem_and_above_the_snapshot() -> None:
    limits = SnapshotLimits(max_age_hours=1)
    old = datetime(2026, 11, 1, tzinfo=UTC)
    both = assess(
        storage_problem="disk full",
        paused="x",
        snapshot_built_at=old,
        snapshot_problem=None,
        now=NOW,
        limits=limits,
    )
    assert both.reason is OutOfServiceReason.STORAGE_ERROR
    paused = assess(
        storage_problem=None,
        paused="x",
        snapshot_built_at=old,
        snapshot_problem=None,
        now=NOW,
        limits=limits,
    )
    assert (paused.reason, paused.detail) == (OutOfServiceReason.PAUSED, "x")
