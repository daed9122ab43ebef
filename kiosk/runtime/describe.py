"""What the screen says for each event, in plain English, for the text view of the headless
mode (`--show text`, used by `make demo`). The full-screen kiosk renders the same events."""

from __future__ import annotations

from datetime import date

from kiosk.domain.events import (
    Event,
    ItemCheckedOut,
    ItemRefusal,
    ItemRefused,
    OutOfService,
    PatronAccepted,
    PatronRefused,
    Ready,
    ScanRejected,
    ScanRejection,
    SessionEnd,
    SessionEnded,
)
from kiosk.domain.patrons import PatronRefusal

PATRON_REASONS = {
    PatronRefusal.UNKNOWN_PATRON: "we could not find this card",
    PatronRefusal.BLOCKED: "this card is blocked",
    PatronRefusal.LOST: "this card has been reported lost",
    PatronRefusal.EXPIRED: "this card has expired",
    PatronRefusal.FINES_OVER_LIMIT: "there are fines on this card over the limit",
    PatronRefusal.PATRON_LIMIT: "this card has reached its limit of items",
}
ITEM_REASONS = {
    ItemRefusal.NO_PATRON: "please scan your library card first",
    ItemRefusal.DUPLICATE_IN_SESSION: "you have already scanned this item",
    ItemRefusal.SESSION_LIMIT: "you have reached the limit of items for one visit",
    ItemRefusal.PATRON_LIMIT: "this card has reached its limit of items",
}
ENDINGS = {
    SessionEnd.DONE: "Thank you!",
    SessionEnd.TIMEOUT: "Your session has ended because nothing was scanned for a while.",
    SessionEnd.NEW_PATRON: "Session ended: another card was scanned.",
    SessionEnd.END_OF_INPUT: "Session ended.",
    SessionEnd.OUT_OF_SERVICE: "Session ended: the station had to stop.",
}


def long_date(day: date) -> str:
    return f"{day.strftime('%A')} {day.day} {day.strftime('%B %Y')}"


def describe(event: Event) -> str:
    if isinstance(event, Ready):
        stale = (
            "  [staff: the patron snapshot is old - load a new one]" if event.snapshot_stale else ""
        )
        return f"[Welcome] Please scan your library card.{stale}"
    if isinstance(event, PatronAccepted):
        name = event.first_name or f"card ending {event.patron[-4:]}"
        return f"[Checkout] Hello, {name}! Scan your items, then press Done."
    if isinstance(event, PatronRefused):
        reason = PATRON_REASONS[event.reason]
        return f"[Sorry] {reason[0].upper()}{reason[1:]}. Please see staff at the desk."
    if isinstance(event, ItemCheckedOut):
        special = " (special due date)" if event.special_due else ""
        return f"    + item ...{event.item[-4:]}  due {long_date(event.due_date)}{special}"
    if isinstance(event, ItemRefused):
        return f"    x item ...{event.item[-4:]}: {ITEM_REASONS[event.reason]}"
    if isinstance(event, ScanRejected):
        if event.reason is ScanRejection.INVALID_CHECK_DIGIT:
            return "    ! That did not scan correctly - please scan it again."
        return "    ! That is not a library card or a library item."
    if isinstance(event, SessionEnded):
        count = f"{event.items} item{'s' if event.items != 1 else ''} checked out."
        return f"[Goodbye] {count} {ENDINGS[event.reason]}"
    if isinstance(event, OutOfService):
        return f"[Out of service] This station is not available. Please see staff. ({event.detail})"
    return f"[{event.name}]"
