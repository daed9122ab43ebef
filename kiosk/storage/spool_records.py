"""What the spool holds, as values: checkouts (kiosk.domain.checkout), their upload states,
exports and periods; and the checkouts table's columns, written and read."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any, get_type_hints

from kiosk.domain.checkout import Checkout, SpooledCheckout


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


def when_or_none(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


# The checkouts table's columns are a spooled checkout's fields, named alike: its checkout's
# (but for what only the item snapshot knows, which is shown and never stored), then the
# spool's own. Each column is written and read by its field's type.
NOT_STORED = ("title", "material")
_TYPES = {**get_type_hints(Checkout), **get_type_hints(SpooledCheckout)}
_LENT = tuple(f.name for f in fields(Checkout) if f.name not in NOT_STORED)
_SPOOLED = tuple(f.name for f in fields(SpooledCheckout) if f.name != "checkout")
CHECKOUT_COLUMNS = (*_LENT, *_SPOOLED)

_READ: dict[object, Callable[[Any], Any]] = {
    str: str,
    int: int,
    bool: bool,
    date: date.fromisoformat,
    datetime: datetime.fromisoformat,
    datetime | None: when_or_none,
}
_READERS = tuple(_READ[_TYPES[name]] for name in CHECKOUT_COLUMNS)  # a new type: add it above


def _written(value: object) -> object:
    if isinstance(value, datetime):  # before date: a datetime is a date
        return value.isoformat(timespec="milliseconds")
    if isinstance(value, date):
        return value.isoformat()
    return value  # text, numbers, booleans (1 or 0) and None as SQLite takes them


def checkout_values(c: SpooledCheckout) -> tuple[object, ...]:
    """The row of CHECKOUT_COLUMNS for a checkout (its moment as the caller gives it: in the
    library's time zone, as the spool keeps it)."""
    lent = [_written(getattr(c.checkout, name)) for name in _LENT]
    return (*lent, *(_written(getattr(c, name)) for name in _SPOOLED))


def checkout_from_row(row: Sequence[Any]) -> SpooledCheckout:
    """A checkout from the CHECKOUT_COLUMNS of a row (it may hold more columns after them)."""
    texts = row[: len(CHECKOUT_COLUMNS)]
    values = {
        name: read(text) for name, read, text in zip(CHECKOUT_COLUMNS, _READERS, texts, strict=True)
    }
    lent = Checkout(**{name: values.pop(name) for name in _LENT})
    return SpooledCheckout(lent, **values)
