"""What the station shows, as values. The headless mode prints them as JSON lines; the screens
render them. Field names are the headless contract (README, "Headless mode")."""

from __future__ import annotations

from dataclasses import dataclass, fields, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, ClassVar

from kiosk.domain.checkout import SpooledCheckout
from kiosk.domain.patrons import PatronRefusal


class OutOfServiceReason(Enum):
    PAUSED = "paused"  # by staff, with a message for patrons
    NO_SNAPSHOT = "no_snapshot"
    SNAPSHOT_TOO_OLD = "snapshot_too_old"
    STORAGE_ERROR = "storage_error"


class ItemRefusal(Enum):
    NO_PATRON = "no_patron"
    DUPLICATE_IN_SESSION = "duplicate_in_session"
    SESSION_LIMIT = "session_limit"
    PATRON_LIMIT = "patron_limit"
    # The item snapshot's status for the item (README, "The item snapshot"): the patron is
    # sent to the desk. An item on hold is lent to the patron it is kept for.
    ON_HOLD = "on_hold"  # kept for another patron
    IN_TRANSIT = "in_transit"
    NOT_FOR_LOAN = "not_for_loan"
    LOST_OR_MISSING = "lost_or_missing"
    UNKNOWN_STATUS = "unknown_status"  # a status word the kiosk does not know


class ScanRejection(Enum):
    INVALID_CHECK_DIGIT = "invalid_check_digit"
    UNRECOGNISED = "unrecognised"
    LIBRARY_CARD = "library_card"  # a card (a patron's or staff's) scanned during a session
    CARD_OR_ITEM = "card_or_item"  # fits both barcode rules and the kiosk cannot tell which


class SessionEnd(Enum):
    DONE = "done"
    TIMEOUT = "timeout"
    NEW_PATRON = "new_patron"
    END_OF_INPUT = "end_of_input"
    OUT_OF_SERVICE = "out_of_service"
    CLEARED = "cleared"  # staff cleared a stuck session
    SHUTDOWN = "shutdown"  # the kiosk was stopped (SIGTERM: systemctl stop, a shutdown)


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _flat(value: Any) -> dict[str, Any]:
    """A dataclass's fields by name, in order, with the fields of a value it holds (itself a
    dataclass) in that value's place, as if they were its own."""
    out: dict[str, Any] = {}
    for f in fields(value):
        inner = getattr(value, f.name)
        nested = is_dataclass(inner) and not isinstance(inner, type)
        for key, item in (_flat(inner) if nested else {f.name: inner}).items():
            if key in out:
                raise TypeError(f"{type(value).__name__} has two fields named {key}")
            out[key] = item
    return out


@dataclass(frozen=True)
class Event:
    name: ClassVar[str] = ""
    # The keys of the headless line, in order, for an event whose line is not simply all its
    # fields: one that carries a domain value shows only some of it (() : every field).
    keys: ClassVar[tuple[str, ...]] = ()

    def to_dict(self) -> dict[str, Any]:
        """The headless line: the event's name, then its fields (a value it holds flattened
        into them, see _flat), or those named in `keys`, in their order."""
        values = _flat(self)
        out: dict[str, Any] = {"event": self.name}
        for key in self.keys or tuple(values):
            value = values[key]
            if value is not None:  # an optional field appears only when it has a value
                out[key] = _plain(value)
        return out


@dataclass(frozen=True)
class Ready(Event):
    name: ClassVar[str] = "ready"
    kiosk_id: str
    patrons: int
    snapshot_built_at: datetime
    snapshot_stale: bool = False  # older than snapshot.warn_age_hours: staff should reload it
    # A deny list (shown only then): `patrons` counts the cards it refuses, and every other
    # card that fits the patron barcode rule may borrow.
    deny_list: bool | None = None


@dataclass(frozen=True)
class PatronAccepted(Event):
    name: ClassVar[str] = "patron_accepted"
    patron: str
    first_name: str
    session_id: str


@dataclass(frozen=True)
class PatronRefused(Event):
    name: ClassVar[str] = "patron_refused"
    patron: str
    reason: PatronRefusal
    fines: Decimal | None = None  # for fines_over_limit: the amount (screens may show it)


@dataclass(frozen=True)
class ItemCheckedOut(Event):
    """A checkout the spool has stored: only now is the patron shown it."""

    name: ClassVar[str] = "item_checked_out"
    # Not its session, moment or kiosk; title and material only when the item snapshot
    # lists the item (they are None otherwise).
    keys: ClassVar[tuple[str, ...]] = (
        "patron",
        "item",
        "due_date",
        "txn_id",
        "seq",
        "special_due",
        "title",
        "material",
    )
    stored: SpooledCheckout


@dataclass(frozen=True)
class ItemRefused(Event):
    name: ClassVar[str] = "item_refused"
    item: str
    reason: ItemRefusal


@dataclass(frozen=True)
class ScanRejected(Event):
    name: ClassVar[str] = "scan_rejected"
    scan: str
    reason: ScanRejection
    detail: str


@dataclass(frozen=True)
class SessionEnded(Event):
    name: ClassVar[str] = "session_ended"
    patron: str
    items: int
    reason: SessionEnd
    session_id: str


@dataclass(frozen=True)
class OutOfService(Event):
    name: ClassVar[str] = "out_of_service"
    reason: OutOfServiceReason
    detail: str


@dataclass(frozen=True)
class ReceiptPrinted(Event):
    name: ClassVar[str] = "receipt_printed"
    session_id: str


@dataclass(frozen=True)
class ReceiptFailed(Event):
    """The checkouts are in the spool all the same; only the paper is missing."""

    name: ClassVar[str] = "receipt_failed"
    session_id: str
    printer_state: str  # paper_out, cover_open, offline, unplugged, error ...
    message: str  # what the patron is told


@dataclass(frozen=True)
class StaffCardScanned(Event):
    """A staff card at the Welcome (or out-of-service) screen: the PIN pad opens. The card
    number is not carried: it is a credential."""

    name: ClassVar[str] = "staff_card"
