"""The station's values: its rules, its state, the inputs `step` takes and what it returns.

Split from kiosk.domain.station (the state machine itself), which re-exports every name here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from enum import Enum

from kiosk.domain.checkout import Checkout, SpooledCheckout
from kiosk.domain.events import Event, OutOfServiceReason, ScanRejection
from kiosk.domain.items import ItemRecord
from kiosk.domain.loans import LoanRules
from kiosk.domain.patrons import PatronPolicy, PatronRecord

__all__ = [
    "BadScan",
    "CheckoutFailed",
    "CheckoutStored",
    "ClearSession",
    "Done",
    "EndOfInput",
    "Input",
    "ItemScan",
    "Mode",
    "PatronScan",
    "ServiceDown",
    "ServiceUp",
    "Session",
    "Shutdown",
    "SpecialDueSet",
    "StationRules",
    "StationState",
    "StillHere",
    "Tick",
    "Transition",
]


class Mode(Enum):
    STARTING = "starting"
    IDLE = "idle"
    SESSION = "session"
    OUT_OF_SERVICE = "out_of_service"


@dataclass(frozen=True)
class StationRules:
    kiosk_id: str
    timezone: tzinfo
    patron_policy: PatronPolicy = field(default_factory=PatronPolicy)
    loan_rules: LoanRules = field(default_factory=LoanRules)
    max_items_per_session: int = 20  # 0: no cap
    idle_timeout: timedelta = timedelta(seconds=60)

    def local_date(self, now: datetime) -> date:
        return now.astimezone(self.timezone).date()


@dataclass(frozen=True)
class Session:
    session_id: str
    patron: str
    first_name: str
    last_activity: timedelta  # monotonic (see kiosk.domain.station's docstring)
    items: tuple[SpooledCheckout, ...] = ()  # its checkouts, as the spool stored them

    def has_item(self, item: str) -> bool:
        return any(line.checkout.item == item for line in self.items)


@dataclass(frozen=True)
class StationState:
    mode: Mode = Mode.STARTING
    session: Session | None = None
    out_of_service: OutOfServiceReason | None = None
    out_of_service_detail: str = ""
    pending: Checkout | None = None  # asked to be stored, not yet confirmed
    special_due: date | None = None
    # A problem that takes the station out of service as soon as the current session ends
    # (an ageing snapshot does not cut a patron off, but nobody new gets in).
    deferred: tuple[OutOfServiceReason, str] | None = None


# Inputs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceUp:
    patrons: int
    snapshot_built_at: datetime
    snapshot_stale: bool = False
    deny_list: bool = False  # the snapshot lists the cards that may NOT borrow


@dataclass(frozen=True)
class ServiceDown:
    reason: OutOfServiceReason
    detail: str


@dataclass(frozen=True)
class PatronScan:
    barcode: str
    record: PatronRecord | None
    outstanding: int  # this patron's checkouts not yet handed over
    new_session_id: str  # chosen by the shell, so this stays deterministic


@dataclass(frozen=True)
class ItemScan:
    barcode: str
    outstanding: int  # the session patron's checkouts not yet handed over
    item: ItemRecord | None = None  # what the item snapshot says, if it lists the item


@dataclass(frozen=True)
class BadScan:
    text: str
    reason: ScanRejection
    detail: str


@dataclass(frozen=True)
class Done:
    pass


@dataclass(frozen=True)
class Tick:
    pass


@dataclass(frozen=True)
class StillHere:
    """The patron answered the idle countdown: the session carries on."""


@dataclass(frozen=True)
class EndOfInput:
    pass


@dataclass(frozen=True)
class ClearSession:
    """Staff end a session someone walked away from (its checkouts are stored already)."""


@dataclass(frozen=True)
class Shutdown:
    """The kiosk is being stopped: the session in progress ends (its checkouts are stored)."""


@dataclass(frozen=True)
class SpecialDueSet:
    special_due: date | None


@dataclass(frozen=True)
class CheckoutStored:
    """The spool stored the pending checkout, under this identity."""

    stored: SpooledCheckout


@dataclass(frozen=True)
class CheckoutFailed:
    detail: str


Input = (
    ServiceUp
    | ServiceDown
    | PatronScan
    | ItemScan
    | BadScan
    | Done
    | Tick
    | StillHere
    | EndOfInput
    | ClearSession
    | Shutdown
    | SpecialDueSet
    | CheckoutStored
    | CheckoutFailed
)


@dataclass(frozen=True)
class Transition:
    state: StationState
    events: tuple[Event, ...] = ()
    store: Checkout | None = None
