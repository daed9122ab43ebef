"""The station's state machine: idle -> patron accepted -> items -> session ends.

`step` is pure: it takes the state, one input and the time, and returns the next state, the
events to show and at most one checkout to store. The shell stores that checkout durably and
feeds back `CheckoutStored` (or `CheckoutFailed`); only then does an `ItemCheckedOut` event
exist. That ordering is what makes "spool before done" hold by construction.

The time comes twice: `now`, the wall clock, names moments (a checkout's stamp, today for due
dates and card expiry); `at`, a monotonic instant (the time since some fixed origin), measures
the idle timeout, so a wall clock that NTP sets back or forward moves no deadline.

The values it works on (rules, state, inputs, `Transition`) live in
kiosk.domain.station_types and are re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from kiosk.domain.checkout import Checkout
from kiosk.domain.events import (
    Event,
    ItemCheckedOut,
    ItemRefusal,
    ItemRefused,
    OutOfService,
    OutOfServiceReason,
    PatronAccepted,
    PatronRefused,
    Ready,
    ScanRejected,
    SessionEnd,
    SessionEnded,
)
from kiosk.domain.items import ItemRecord, ItemStatus
from kiosk.domain.loans import due_date, is_special
from kiosk.domain.patrons import PatronRefusal, check_patron
from kiosk.domain.station_types import (
    BadScan,
    CheckoutFailed,
    CheckoutStored,
    ClearSession,
    Done,
    EndOfInput,
    Input,
    ItemScan,
    Mode,
    PatronScan,
    ServiceDown,
    ServiceUp,
    Session,
    Shutdown,
    SpecialDueSet,
    StationRules,
    StationState,
    StillHere,
    Tick,
    Transition,
)

__all__ = [
    "STATUS_REFUSAL",
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
    "session_deadline",
    "step",
]


def session_deadline(state: StationState, rules: StationRules) -> timedelta | None:
    """The monotonic instant the current session times out, or None: no session."""
    if state.session is None:
        return None
    return state.session.last_activity + rules.idle_timeout


def _end_session(state: StationState, reason: SessionEnd) -> tuple[StationState, list[Event]]:
    session = state.session
    if session is None:
        return state, []
    ended = SessionEnded(session.patron, len(session.items), reason, session.session_id)
    return replace(state, session=None, mode=Mode.IDLE, pending=None), [ended]


def _go_out_of_service(
    state: StationState, reason: OutOfServiceReason, detail: str
) -> tuple[StationState, list[Event]]:
    state, events = _end_session(state, SessionEnd.OUT_OF_SERVICE)
    state = replace(
        state, mode=Mode.OUT_OF_SERVICE, out_of_service=reason, out_of_service_detail=detail
    )
    return state, [*events, OutOfService(reason, detail)]


def step(
    state: StationState, event: Input, now: datetime, rules: StationRules, at: timedelta
) -> Transition:
    """`now`: the wall clock; `at`: the monotonic clock, for the idle timeout."""
    transition = _step(state, event, _Time(now, at), rules)
    after = transition.state
    if after.deferred is not None and after.session is None and after.pending is None:
        reason, detail = after.deferred
        down, events = _go_out_of_service(replace(after, deferred=None), reason, detail)
        return Transition(down, (*transition.events, *events), transition.store)
    return transition


_PATRON_INPUTS = (PatronScan, ItemScan, BadScan, Done, Tick, StillHere)


@dataclass(frozen=True)
class _Time:
    now: datetime  # the wall clock
    at: timedelta  # the monotonic clock


def _step(state: StationState, event: Input, when: _Time, rules: StationRules) -> Transition:
    if isinstance(event, SpecialDueSet):
        return Transition(replace(state, special_due=event.special_due))
    if isinstance(event, ServiceUp):
        if state.mode in (Mode.STARTING, Mode.OUT_OF_SERVICE):
            ready = Ready(rules.kiosk_id, event.patrons, event.snapshot_built_at)
            ready = replace(
                ready,
                snapshot_stale=event.snapshot_stale,
                deny_list=True if event.deny_list else None,
            )
            up = replace(state, mode=Mode.IDLE, out_of_service=None, out_of_service_detail="")
            return Transition(up, (ready,))
        if state.deferred is None:
            return Transition(state)  # in service, and still: nothing changes (every input)
        return Transition(replace(state, deferred=None))  # the problem went away in time
    if isinstance(event, ServiceDown | CheckoutFailed):
        if isinstance(event, CheckoutFailed):
            reason, detail = OutOfServiceReason.STORAGE_ERROR, event.detail
        else:
            reason, detail = event.reason, event.detail
        if state.mode is Mode.OUT_OF_SERVICE and state.out_of_service is reason:
            return Transition(state)
        if state.mode is Mode.SESSION and reason is not OutOfServiceReason.STORAGE_ERROR:
            # An ageing snapshot does not cut a patron off mid-session: the station goes out
            # of service once the session ends. Only a spool that cannot store stops it now.
            return Transition(replace(state, deferred=(reason, detail)))
        new_state, events = _go_out_of_service(state, reason, detail)
        return Transition(new_state, tuple(events))
    if state.mode in (Mode.STARTING, Mode.OUT_OF_SERVICE):
        return Transition(state)  # nothing a patron does changes an out-of-service screen

    timed_out: tuple[Event, ...] = ()
    deadline = session_deadline(state, rules)
    if isinstance(event, _PATRON_INPUTS) and deadline is not None and when.at >= deadline:
        # The session ran out before this input arrived: it ends first, whatever comes next.
        state, ended = _end_session(state, SessionEnd.TIMEOUT)
        timed_out = tuple(ended)
        if state.deferred is not None or isinstance(event, Tick):
            return Transition(state, timed_out)
    transition = _dispatch(state, event, when, rules)
    return Transition(transition.state, (*timed_out, *transition.events), transition.store)


def _dispatch(state: StationState, event: Input, when: _Time, rules: StationRules) -> Transition:
    if isinstance(event, PatronScan):
        return _patron_scan(state, event, when, rules)
    if isinstance(event, ItemScan):
        return _item_scan(state, event, when, rules)
    if isinstance(event, CheckoutStored):
        return _checkout_stored(state, event)
    if isinstance(event, BadScan):
        touched = _touch(state, when)
        return Transition(touched, (ScanRejected(event.text, event.reason, event.detail),))
    if isinstance(event, Done):
        new_state, events = _end_session(state, SessionEnd.DONE)
        return Transition(new_state, tuple(events))
    if isinstance(event, Tick):
        return Transition(state)  # a timeout was handled above
    if isinstance(event, StillHere):
        return Transition(_touch(state, when))
    if isinstance(event, EndOfInput):
        new_state, events = _end_session(state, SessionEnd.END_OF_INPUT)
        return Transition(new_state, tuple(events))
    if isinstance(event, ClearSession):
        new_state, events = _end_session(state, SessionEnd.CLEARED)
        return Transition(new_state, tuple(events))
    if isinstance(event, Shutdown):
        new_state, events = _end_session(state, SessionEnd.SHUTDOWN)
        return Transition(new_state, tuple(events))
    raise TypeError(f"unknown input {event!r}")


def _touch(state: StationState, when: _Time) -> StationState:
    if state.session is None:
        return state
    return replace(state, session=replace(state.session, last_activity=when.at))


def _patron_scan(
    state: StationState, event: PatronScan, when: _Time, rules: StationRules
) -> Transition:
    if state.session is not None and state.session.patron == event.barcode:
        return Transition(_touch(state, when))  # the same card scanned again: carry on
    state, events = _end_session(state, SessionEnd.NEW_PATRON)
    if state.deferred is not None:
        return Transition(state, tuple(events))  # out of service now: nobody new gets in
    refusal = check_patron(
        event.record, rules.patron_policy, rules.local_date(when.now), event.outstanding
    )
    if refusal is not None:
        over = refusal is PatronRefusal.FINES_OVER_LIMIT and event.record is not None
        fines = event.record.fines if over and event.record is not None else None
        refused = PatronRefused(event.barcode, refusal, fines)
        return Transition(state, (*events, refused))
    assert event.record is not None  # check_patron refuses an unknown patron
    session = Session(event.new_session_id, event.barcode, event.record.first_name, when.at)
    accepted = PatronAccepted(event.barcode, session.first_name, session.session_id)
    return Transition(replace(state, mode=Mode.SESSION, session=session), (*events, accepted))


# Why an item whose status keeps it here is refused (an item on hold is lent to its holder).
STATUS_REFUSAL = {
    ItemStatus.ON_HOLD: ItemRefusal.ON_HOLD,
    ItemStatus.IN_TRANSIT: ItemRefusal.IN_TRANSIT,
    ItemStatus.NOT_FOR_LOAN: ItemRefusal.NOT_FOR_LOAN,
    ItemStatus.LOST: ItemRefusal.LOST_OR_MISSING,
    ItemStatus.MISSING: ItemRefusal.LOST_OR_MISSING,
    ItemStatus.UNKNOWN: ItemRefusal.UNKNOWN_STATUS,
}


def _item_scan(
    state: StationState, event: ItemScan, when: _Time, rules: StationRules
) -> Transition:
    session = state.session
    refusal: ItemRefusal | None = None
    if session is None:
        refusal = ItemRefusal.NO_PATRON
    elif session.has_item(event.barcode):
        refusal = ItemRefusal.DUPLICATE_IN_SESSION
    elif event.item is not None and not event.item.lendable_to(session.patron):
        refusal = STATUS_REFUSAL[event.item.status]
    elif 0 < rules.max_items_per_session <= len(session.items):
        refusal = ItemRefusal.SESSION_LIMIT
    elif 0 < rules.patron_policy.max_items_per_patron <= event.outstanding:
        refusal = ItemRefusal.PATRON_LIMIT
    if refusal is not None:
        return Transition(_touch(state, when), (ItemRefused(event.barcode, refusal),))
    assert session is not None  # no session is refused above
    today = rules.local_date(when.now)
    known = event.item if event.item is not None else ItemRecord(event.barcode)
    request = Checkout(
        session_id=session.session_id,
        patron=session.patron,
        item=event.barcode,
        due_date=due_date(today, rules.loan_rules, state.special_due, known.material),
        special_due=is_special(today, state.special_due),
        occurred_at=when.now,  # the wall clock: a stamp, stored and exported
        title=known.title or None,
        material=known.material or None,
    )
    return Transition(replace(_touch(state, when), pending=request), store=request)


def _checkout_stored(state: StationState, event: CheckoutStored) -> Transition:
    stored, session = event.stored, state.session
    if state.pending is None or session is None or stored.checkout != state.pending:
        raise ValueError("a checkout was stored that the station did not ask for")
    session = replace(session, items=(*session.items, stored))
    shown = ItemCheckedOut(stored)
    return Transition(replace(state, session=session, pending=None), (shown,))
