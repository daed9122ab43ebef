"""What the spool holds, as values: checkouts, their upload states, exports and periods,
and the row reading shared by the spool's queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True)
class SpooledCheckout:
    txn_id: str
    kiosk_id: str
    seq: int
    occurred_at: datetime  # aware, in the library's time zone
    patron: str
    item: str
    due_date: date
    special_due: bool
    session_id: str
    handed_over_at: datetime | None


@dataclass(frozen=True)
class StoredCheckout:
    txn_id: str
    seq: int


@dataclass(frozen=True)
class ExportRecord:
    exported_at: datetime
    format: str
    path: str
    sha256: str
    checkouts: int


# Staff's answer for a checkout sent with no answer that the ILS could not tell about.
CONFIRMED = "confirmed"  # staff found the loan in the ILS: accepted by staff, never sent again
RESEND = "resend"  # staff did not find it: the next upload sends it once more
RESENT = "resent"  # ... and it did


@dataclass(frozen=True)
class UploadState:
    """One checkout and what the library system made of it (state None: never sent)."""

    checkout: SpooledCheckout
    state: str | None  # None, "sent", "accepted", "rejected"
    attempts: int
    message: str  # the ILS's screen message
    ils_due: str  # the due date the ILS answered with
    answered_at: datetime | None
    staff_answer: str | None = None  # None, CONFIRMED, RESEND, RESENT
    staff_by: str = ""  # who gave it (the audit trail's actor)
    staff_at: datetime | None = None

    @property
    def waits_for_staff(self) -> bool:
        """Sent with no answer, and staff have not asked for it to be sent again."""
        return (
            self.state == "sent"
            and self.checkout.handed_over_at is None
            and self.staff_answer != RESEND
        )


@dataclass(frozen=True)
class UploadRun:
    started_at: datetime
    finished_at: datetime | None
    target: str
    accepted: int
    rejected: int
    still_pending: int
    error: str


@dataclass(frozen=True)
class Period:
    """An offline period: the checkouts between two staff "resets" (by sequence number)."""

    id: int
    started_at: datetime
    first_seq: int
    ended_at: datetime | None
    last_seq: int | None  # None: the open period, the one checkouts go into
    checkouts: int  # held in the spool now
    handed_over: int
    archived: int | None  # how many it held when it was closed
    purged_at: datetime | None
    purged: int

    @property
    def pending(self) -> int:
        return self.checkouts - self.handed_over

    @property
    def is_open(self) -> bool:
        return self.last_seq is None


@dataclass(frozen=True)
class SpoolSummary:
    spool_id: str
    total: int
    handed_over: int
    last_seq: int
    last_export: ExportRecord | None
    period: Period

    @property
    def pending(self) -> int:
        return self.total - self.handed_over


CHECKOUT_COLUMNS = (
    "txn_id, kiosk_id, seq, occurred_at, patron, item, due_date, special_due, session_id, "
    "handed_over_at"
)


def checkout_from_row(row: Any) -> SpooledCheckout:
    return SpooledCheckout(
        txn_id=row[0],
        kiosk_id=row[1],
        seq=int(row[2]),
        occurred_at=datetime.fromisoformat(row[3]),
        patron=row[4],
        item=row[5],
        due_date=date.fromisoformat(row[6]),
        special_due=bool(row[7]),
        session_id=row[8],
        handed_over_at=datetime.fromisoformat(row[9]) if row[9] else None,
    )


def when_or_none(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
