"""One checkout, declared once: what the station decided to lend, and, once the spool has
stored it, the identity the spool gave it.

Every other shape of a checkout holds these values rather than a copy of their fields: the
station's request to store one and its session's lines, the `item_checked_out` event, the
patron screens' loans, the spool's rows as read back and the lines of a merged export.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class Checkout:
    """One item lent to one patron in one session, as the station decided it."""

    session_id: str
    patron: str
    item: str
    due_date: date
    special_due: bool  # the due date is the one staff set for today, not the loan rules'
    occurred_at: datetime  # the wall clock: a stamp, stored and exported
    # From the item snapshot, when the kiosk has one that lists the item (None: it does not).
    # Shown on the screen, the receipt and the headless line; the spool does not keep them.
    title: str | None = None
    material: str | None = None


@dataclass(frozen=True)
class SpooledCheckout:
    """A checkout as the spool holds it: the checkout, the identity it was stored under, and
    when it was handed over to the library system (None: not yet)."""

    checkout: Checkout
    kiosk_id: str
    txn_id: str  # a UUID: the same checkout in two exports is the same txn_id
    seq: int  # the spool's sequence number, 1 up, never reused
    handed_over_at: datetime | None = None
