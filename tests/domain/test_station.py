"""The station's state machine, driven input by input with a fixed clock.

NOW is 15:00 UTC on Tuesday 2026-03-10, which is 11:00 in New York (daylight time since
2026-03-08). A 21-day loan from 2026-03-10 is due Tuesday 2026-03-31.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.domain.checkout import Checkout, SpooledCheckout
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
    ScanRejection,
    SessionEnd,
    SessionEnded,
)
from kiosk.domain.items import ItemRecord, ItemStatus
from kiosk.domain.loans import LoanRules
from kiosk.domain.patrons import (
    PatronPolicy,
    PatronRecord,
    PatronRefusal,
    PatronStatus,
    SnapshotMode,
    card_record,
)
from kiosk.domain.station import (
    STATUS_REFUSAL,
    BadScan,
    CheckoutFailed,
    CheckoutStored,
    Done,
    EndOfInput,
    Input,
    ItemScan,
    Mode,
    PatronScan,
    ServiceDown,
    ServiceUp,
    SpecialDueSet,
    StationRules,
    StationState,
    Tick,
    Transition,
    session_deadline,
)
from kiosk.domain.station import step as core_step
from tests.conftest import item, patron

NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
DUE = date(2026, 3, 31)
BUILT = datetime(2026, 3, 10, 6, 0, tzinfo=UTC)
FOREVER = date(2099, 1, 1)

RULES = StationRules(
    kiosk_id="TEST-SC01",
    timezone=NEW_YORK,
    patron_policy=PatronPolicy(block_fines_over=Decimal("10.00")),
    loan_rules=LoanRules(loan_days=21, closed_dates=frozenset({date(2026, 12, 25)})),
    max_items_per_session=3,
    idle_timeout=timedelta(seconds=60),
)

ANA = PatronRecord(patron(1), "Rivera, Ana", Decimal("0.00"), PatronStatus.OK, FOREVER)
CHIDI = PatronRecord(patron(2), "Okafor, Chidi", Decimal("10.00"), PatronStatus.OK, FOREVER)
BAO = PatronRecord(patron(3), "Nguyen, Bao", Decimal("10.01"), PatronStatus.OK, FOREVER)
EWA = PatronRecord(patron(4), "Kowalski, Ewa", Decimal("0"), PatronStatus.BLOCKED, None)
OMAR = PatronRecord(patron(5), "Haddad, Omar", Decimal("0"), PatronStatus.LOST, None)
JOHN = PatronRecord(patron(6), "Smith, John", Decimal("0"), PatronStatus.OK, date(2020, 1, 1))
MIN = PatronRecord(patron(7), "Lee, Min", Decimal("0"), PatronStatus.EXPIRED, None)


def at(seconds: float) -> datetime:
    return NOW + timedelta(seconds=seconds)


def mono(wall: datetime) -> timedelta:
    """The monotonic instant that goes with a wall time, while nobody sets the wall clock."""
    return wall - NOW


def step(
    state: StationState,
    event: Input,
    now: datetime,
    rules: StationRules,
    monotonic: timedelta | None = None,
) -> Transition:
    """The core, its monotonic clock keeping pace with the wall clock unless told otherwise
    (the tests of a wall clock that NTP sets pass both)."""
    return core_step(state, event, now, rules, mono(now) if monotonic is None else monotonic)


def card(record: PatronRecord, session_id: str = "S1", outstanding: int = 0) -> PatronScan:
    return PatronScan(record.barcode, record, outstanding, session_id)


def ready_state(rules: StationRules = RULES) -> StationState:
    return step(StationState(), ServiceUp(8, BUILT), NOW, rules).state


def session_state(
    record: PatronRecord = ANA, now: datetime = NOW, rules: StationRules = RULES
) -> StationState:
    transition = step(ready_state(rules), card(record), now, rules)
    assert transition.state.mode is Mode.SESSION
    return transition.state


def check_out(
    state: StationState,
    barcode: str,
    seq: int,
    now: datetime = NOW,
    rules: StationRules = RULES,
) -> tuple[StationState, ItemCheckedOut]:
    """Scan an item and store it, as the shell does; returns the event that was shown."""
    asked = step(state, ItemScan(barcode, 0), now, rules)
    stored = step(asked.state, spooled(asked.store, f"T{seq}", seq), now, rules)
    (shown,) = stored.events
    assert isinstance(shown, ItemCheckedOut)
    return stored.state, shown


def spooled(lent: Checkout | None, txn_id: str, seq: int) -> CheckoutStored:
    """What the shell feeds back once the spool has stored the checkout a step asked for."""
    assert lent is not None, "the step asked to store nothing"
    return CheckoutStored(SpooledCheckout(lent, RULES.kiosk_id, txn_id, seq))


# A checkout the station never asked to store.
UNASKED = Checkout("S0", patron(1), item(1), DUE, False, NOW)


# Starting up ----------------------------------------------------------------------------------

PATRON_INPUTS: list[Input] = [
    card(ANA),
    ItemScan(item(1), 0),
    BadScan("garbage", ScanRejection.UNRECOGNISED, "not a barcode"),
    Done(),
    Tick(),
    EndOfInput(),
]


@pytest.mark.parametrize("event", PATRON_INPUTS, ids=lambda e: type(e).__name__)
def test_starting_ignores_everything_a_patron_does(event: Input) -> None:
    transition = step(StationState(), event, NOW, RULES)
    assert transition == Transition(StationState())
    assert transition.state.mode is Mode.STARTING


def test_service_up_makes_the_station_ready() -> None:
    transition = step(StationState(), ServiceUp(8, BUILT), NOW, RULES)
    assert transition.events == (Ready("TEST-SC01", 8, BUILT, snapshot_stale=False),)
    assert transition.state.mode is Mode.IDLE
    assert transition.store is None


def test_ready_says_when_the_snapshot_is_stale() -> None:
    transition = step(StationState(), ServiceUp(8, BUILT, snapshot_stale=True), NOW, RULES)
    assert transition.events == (Ready("TEST-SC01", 8, BUILT, snapshot_stale=True),)


def test_service_up_when_already_up_says_nothing() -> None:
    idle = ready_state()
    assert step(idle, ServiceUp(9, BUILT), NOW, RULES) == Transition(idle)
    in_session = session_state()
    assert step(in_session, ServiceUp(9, BUILT), NOW, RULES) == Transition(in_session)


def test_scans_work_once_ready() -> None:
    state = step(StationState(), card(ANA), NOW, RULES).state
    state = step(state, ServiceUp(8, BUILT), NOW, RULES).state
    assert step(state, card(ANA), NOW, RULES).events == (PatronAccepted(patron(1), "Ana", "S1"),)


# Patrons --------------------------------------------------------------------------------------


def test_patron_accepted() -> None:
    transition = step(ready_state(), card(ANA, "S-42"), NOW, RULES)
    assert transition.events == (PatronAccepted(patron(1), "Ana", "S-42"),)
    assert transition.store is None
    session = transition.state.session
    assert session is not None
    assert transition.state.mode is Mode.SESSION
    assert (session.session_id, session.patron, session.first_name) == ("S-42", patron(1), "Ana")
    assert session.last_activity == mono(NOW)
    assert session.items == ()


def test_fines_exactly_at_the_limit_are_allowed() -> None:
    transition = step(ready_state(), card(CHIDI), NOW, RULES)
    assert transition.events == (PatronAccepted(patron(2), "Chidi", "S1"),)


@pytest.mark.parametrize(
    ("scan", "reason"),
    [
        (PatronScan(patron(99), None, 0, "S1"), PatronRefusal.UNKNOWN_PATRON),
        (card(BAO), PatronRefusal.FINES_OVER_LIMIT),
        (card(EWA), PatronRefusal.BLOCKED),
        (card(OMAR), PatronRefusal.LOST),
        (card(JOHN), PatronRefusal.EXPIRED),
        (card(MIN), PatronRefusal.EXPIRED),
    ],
)
def test_patron_refused(scan: PatronScan, reason: PatronRefusal) -> None:
    idle = ready_state()
    transition = step(idle, scan, NOW, RULES)
    # Only a refusal for fines carries the amount (the screen may show it).
    fines = BAO.fines if reason is PatronRefusal.FINES_OVER_LIMIT else None
    assert transition.events == (PatronRefused(scan.barcode, reason, fines),)
    assert transition.state == idle
    assert transition.store is None


def test_patron_limit_refuses_the_card() -> None:
    rules = replace(RULES, patron_policy=PatronPolicy(max_items_per_patron=5))
    idle = ready_state(rules)
    refused = step(idle, card(ANA, outstanding=5), NOW, rules)
    assert refused.events == (PatronRefused(patron(1), PatronRefusal.PATRON_LIMIT),)
    accepted = step(idle, card(ANA, outstanding=4), NOW, rules)
    assert accepted.events == (PatronAccepted(patron(1), "Ana", "S1"),)


@pytest.mark.parametrize(
    ("now", "accepted"),
    [
        # 03:59 UTC on the 10th is still 23:59 on the 9th in New York: the card's last day.
        (datetime(2026, 3, 10, 3, 59, tzinfo=UTC), True),
        # 04:00 UTC is midnight in New York: the 10th, the card has expired.
        (datetime(2026, 3, 10, 4, 0, tzinfo=UTC), False),
        (datetime(2026, 3, 9, 23, 0, tzinfo=NEW_YORK), True),
    ],
)
def test_expiry_uses_the_library_local_date(now: datetime, accepted: bool) -> None:
    record = replace(ANA, expires=date(2026, 3, 9))
    transition = step(ready_state(), card(record), now, RULES)
    (event,) = transition.events
    if accepted:
        assert isinstance(event, PatronAccepted)
    else:
        assert event == PatronRefused(patron(1), PatronRefusal.EXPIRED)


def test_the_same_card_again_keeps_the_session() -> None:
    state, _ = check_out(session_state(), item(1), 1)
    transition = step(state, card(ANA, "S-other"), at(30), RULES)
    assert transition.events == ()
    session = transition.state.session
    assert session is not None
    assert session.session_id == "S1"
    assert [line.checkout.item for line in session.items] == [item(1)]
    assert session.last_activity == mono(at(30))


def test_another_card_ends_the_session_and_starts_a_new_one() -> None:
    state, _ = check_out(session_state(), item(1), 1)
    transition = step(state, card(CHIDI, "S2"), at(10), RULES)
    assert transition.events == (
        SessionEnded(patron(1), 1, SessionEnd.NEW_PATRON, "S1"),
        PatronAccepted(patron(2), "Chidi", "S2"),
    )
    session = transition.state.session
    assert session is not None
    assert (session.session_id, session.patron, session.items) == ("S2", patron(2), ())
    assert session.last_activity == mono(at(10))


def test_another_card_that_is_refused_ends_the_session_and_leaves_the_station_idle() -> None:
    state, _ = check_out(session_state(), item(1), 1)
    transition = step(state, card(BAO, "S2"), at(10), RULES)
    assert transition.events == (
        SessionEnded(patron(1), 1, SessionEnd.NEW_PATRON, "S1"),
        PatronRefused(patron(3), PatronRefusal.FINES_OVER_LIMIT, Decimal("10.01")),
    )
    assert transition.state.mode is Mode.IDLE
    assert transition.state.session is None
    # Items now belong to nobody.
    after = step(transition.state, ItemScan(item(2), 0), at(11), RULES)
    assert after.events == (ItemRefused(item(2), ItemRefusal.NO_PATRON),)


# Items ----------------------------------------------------------------------------------------


def test_an_item_without_a_patron_is_refused() -> None:
    idle = ready_state()
    transition = step(idle, ItemScan(item(1), 0), NOW, RULES)
    assert transition.events == (ItemRefused(item(1), ItemRefusal.NO_PATRON),)
    assert transition.store is None
    assert transition.state == idle


def test_an_item_in_a_session_asks_to_store_a_checkout_and_shows_nothing_yet() -> None:
    state = session_state()
    transition = step(state, ItemScan(item(1), 0), at(5), RULES)
    expected = Checkout(
        session_id="S1",
        patron=patron(1),
        item=item(1),
        due_date=DUE,
        special_due=False,
        occurred_at=at(5),
    )
    assert transition.store == expected
    assert transition.events == ()  # nothing is "checked out" before it is stored
    assert transition.state.pending == expected
    assert transition.state.session is not None
    assert transition.state.session.items == ()


def test_stored_checkout_is_shown_with_its_transaction() -> None:
    asked = step(session_state(), ItemScan(item(1), 0), NOW, RULES)
    stored = step(asked.state, spooled(asked.store, "txn-7", 7), NOW, RULES)
    lent = Checkout("S1", patron(1), item(1), DUE, False, NOW)
    spool_row = SpooledCheckout(lent, RULES.kiosk_id, "txn-7", 7)
    assert stored.events == (ItemCheckedOut(spool_row),)
    assert stored.store is None
    assert stored.state.pending is None
    assert stored.state.session is not None
    assert stored.state.session.items == (spool_row,)


def test_due_date_uses_the_library_local_date() -> None:
    # 02:00 UTC on the 10th is 22:00 on the 9th in New York: due 21 days after the 9th.
    late = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
    state = session_state(now=late)
    transition = step(state, ItemScan(item(1), 0), late, RULES)
    assert transition.store is not None
    assert transition.store.due_date == date(2026, 3, 30)


def test_due_date_is_moved_off_a_closed_day() -> None:
    # 2026-12-04 + 21 days is Christmas, closed: due the 26th.
    december = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)
    state = session_state(now=december)
    _, shown = check_out(state, item(1), 1, december)
    assert shown.stored.checkout.due_date == date(2026, 12, 26)


def test_a_failed_checkout_ends_the_session_and_takes_the_station_out_of_service() -> None:
    state, _ = check_out(session_state(), item(1), 1)
    asked = step(state, ItemScan(item(2), 0), at(1), RULES)
    assert asked.store is not None
    failed = step(asked.state, CheckoutFailed("disk full"), at(1), RULES)
    assert failed.events == (
        SessionEnded(patron(1), 1, SessionEnd.OUT_OF_SERVICE, "S1"),
        OutOfService(OutOfServiceReason.STORAGE_ERROR, "disk full"),
    )
    assert not any(isinstance(e, ItemCheckedOut) for e in failed.events)
    assert failed.store is None
    assert failed.state.mode is Mode.OUT_OF_SERVICE
    assert failed.state.out_of_service is OutOfServiceReason.STORAGE_ERROR
    assert failed.state.out_of_service_detail == "disk full"
    assert failed.state.session is None
    assert failed.state.pending is None
    # Nothing a patron does reaches the core now.
    for event in PATRON_INPUTS:
        assert step(failed.state, event, at(2), RULES) == Transition(failed.state)
    # A stored confirmation arriving late cannot conjure the item back.
    late = spooled(asked.store, "late", 2)
    assert step(failed.state, late, at(2), RULES).events == ()


def test_a_checkout_stored_that_was_not_asked_for_is_an_error() -> None:
    with pytest.raises(ValueError, match="did not ask for"):
        step(ready_state(), spooled(UNASKED, "T1", 1), NOW, RULES)
    with pytest.raises(ValueError, match="did not ask for"):
        step(session_state(), spooled(UNASKED, "T1", 1), NOW, RULES)
    state, shown = check_out(session_state(), item(1), 1)
    with pytest.raises(ValueError, match="did not ask for"):
        step(state, CheckoutStored(shown.stored), NOW, RULES)  # the same confirmation twice


def test_a_stored_checkout_other_than_the_one_asked_for_is_an_error() -> None:
    asked = step(session_state(), ItemScan(item(1), 0), NOW, RULES)
    assert asked.store is not None
    other = replace(asked.store, item=item(2))
    with pytest.raises(ValueError, match="did not ask for"):
        step(asked.state, spooled(other, "T1", 1), NOW, RULES)


def test_the_same_item_twice_in_a_session_is_refused() -> None:
    state, _ = check_out(session_state(), item(1), 1)
    transition = step(state, ItemScan(item(1), 0), at(3), RULES)
    assert transition.events == (ItemRefused(item(1), ItemRefusal.DUPLICATE_IN_SESSION),)
    assert transition.store is None
    assert transition.state.session is not None
    assert len(transition.state.session.items) == 1


def test_the_same_item_in_a_new_session_is_not_a_duplicate() -> None:
    state, _ = check_out(session_state(), item(1), 1)
    state = step(state, card(CHIDI, "S2"), NOW, RULES).state
    assert step(state, ItemScan(item(1), 0), NOW, RULES).store is not None


def test_session_limit() -> None:
    state = session_state()
    for serial in (1, 2, 3):
        state, _ = check_out(state, item(serial), serial)
    transition = step(state, ItemScan(item(4), 0), NOW, RULES)
    assert transition.events == (ItemRefused(item(4), ItemRefusal.SESSION_LIMIT),)
    assert transition.store is None
    # A duplicate at the limit is reported as the duplicate it is.
    transition = step(state, ItemScan(item(2), 0), NOW, RULES)
    assert transition.events == (ItemRefused(item(2), ItemRefusal.DUPLICATE_IN_SESSION),)
    # The session goes on; Done reports the three items.
    done = step(state, Done(), NOW, RULES)
    assert done.events == (SessionEnded(patron(1), 3, SessionEnd.DONE, "S1"),)


def test_no_session_limit_when_zero() -> None:
    rules = replace(RULES, max_items_per_session=0)
    state = session_state(rules=rules)
    for serial in range(1, 26):
        state, _ = check_out(state, item(serial), serial, rules=rules)
    assert state.session is not None
    assert len(state.session.items) == 25


@pytest.mark.parametrize(
    ("cap", "outstanding", "refused"),
    [(5, 4, False), (5, 5, True), (5, 9, True), (0, 1000, False)],
)
def test_patron_limit_counts_outstanding_checkouts(
    cap: int, outstanding: int, refused: bool
) -> None:
    rules = replace(RULES, patron_policy=PatronPolicy(max_items_per_patron=cap))
    state = session_state(rules=rules)
    transition = step(state, ItemScan(item(1), outstanding), NOW, rules)
    if refused:
        assert transition.events == (ItemRefused(item(1), ItemRefusal.PATRON_LIMIT),)
        assert transition.store is None
    else:
        assert transition.events == ()
        assert transition.store is not None


def test_a_bad_scan_is_shown_and_keeps_the_session() -> None:
    bad = BadScan("21234000000019", ScanRejection.INVALID_CHECK_DIGIT, "looks like a patron")
    idle = ready_state()
    transition = step(idle, bad, NOW, RULES)
    assert transition.events == (
        ScanRejected("21234000000019", ScanRejection.INVALID_CHECK_DIGIT, "looks like a patron"),
    )
    assert transition.state == idle
    in_session = step(session_state(), bad, at(20), RULES)
    assert in_session.state.mode is Mode.SESSION
    assert in_session.state.session is not None
    assert in_session.state.session.last_activity == mono(at(20))


# Ending a session -----------------------------------------------------------------------------


def test_done_ends_the_session() -> None:
    state, _ = check_out(session_state(), item(1), 1)
    state, _ = check_out(state, item(2), 2)
    transition = step(state, Done(), at(5), RULES)
    assert transition.events == (SessionEnded(patron(1), 2, SessionEnd.DONE, "S1"),)
    assert transition.state.mode is Mode.IDLE
    assert transition.state.session is None


def test_done_without_a_session_says_nothing() -> None:
    idle = ready_state()
    assert step(idle, Done(), NOW, RULES) == Transition(idle)


def test_end_of_input_ends_the_session() -> None:
    transition = step(session_state(), EndOfInput(), NOW, RULES)
    assert transition.events == (SessionEnded(patron(1), 0, SessionEnd.END_OF_INPUT, "S1"),)
    assert transition.state.mode is Mode.IDLE
    idle = ready_state()
    assert step(idle, EndOfInput(), NOW, RULES) == Transition(idle)


def test_tick_before_the_idle_timeout_changes_nothing() -> None:
    state = session_state()
    assert session_deadline(state, RULES) == mono(at(60))
    assert step(state, Tick(), at(59.999), RULES) == Transition(state)


def test_tick_at_the_idle_timeout_ends_the_session() -> None:
    state = session_state()
    transition = step(state, Tick(), at(60), RULES)
    assert transition.events == (SessionEnded(patron(1), 0, SessionEnd.TIMEOUT, "S1"),)
    assert transition.state.mode is Mode.IDLE
    assert session_deadline(transition.state, RULES) is None


def test_tick_without_a_session_says_nothing() -> None:
    idle = ready_state()
    assert session_deadline(idle, RULES) is None
    assert step(idle, Tick(), at(10_000), RULES) == Transition(idle)


# NTP sets the wall clock of a board without a real-time clock ----------------------------------


def test_a_wall_clock_set_back_an_hour_does_not_stretch_the_idle_timeout() -> None:
    state = session_state()
    back = NOW - timedelta(hours=1)
    assert step(state, Tick(), back, RULES, mono(at(59.999))).events == ()
    transition = step(state, Tick(), back + timedelta(seconds=60), RULES, mono(at(60)))
    assert transition.events == (SessionEnded(patron(1), 0, SessionEnd.TIMEOUT, "S1"),)


def test_a_wall_clock_set_forward_a_day_does_not_end_the_session() -> None:
    state = session_state()
    ahead = NOW + timedelta(days=1)
    transition = step(state, Tick(), ahead, RULES, mono(at(1)))
    assert transition == Transition(state)
    asked = step(state, ItemScan(item(1), 0), ahead, RULES, mono(at(2)))
    assert asked.store is not None
    # What is stored names the moment on the wall clock, jumped or not.
    assert asked.store.occurred_at == ahead
    assert asked.store.due_date == date(2026, 4, 1)  # 21 days from the jumped wall's day
    assert session_deadline(asked.state, RULES) == mono(at(62))


@pytest.mark.parametrize(
    "activity",
    [
        ItemScan(item(1), 0),  # a checkout
        ItemScan(item(1), 99),  # refused, but the patron is still there
        card(ANA),  # the same card again
        BadScan("x", ScanRejection.UNRECOGNISED, "not a barcode"),
    ],
    ids=["checkout", "refused_item", "same_card", "bad_scan"],
)
def test_the_timeout_counts_from_the_last_activity(activity: Input) -> None:
    rules = replace(RULES, patron_policy=PatronPolicy(max_items_per_patron=5))
    state = session_state(rules=rules)
    transition = step(state, activity, at(50), rules)
    state = transition.state
    if transition.store is not None:
        state = step(state, spooled(transition.store, "T1", 1), at(50), rules).state
    assert session_deadline(state, rules) == mono(at(110))
    assert step(state, Tick(), at(61), rules).events == ()  # would have timed out without it
    assert step(state, Tick(), at(109), rules).events == ()
    items = 0 if state.session is None else len(state.session.items)
    ended = step(state, Tick(), at(110), rules)
    assert ended.events == (SessionEnded(patron(1), items, SessionEnd.TIMEOUT, "S1"),)


# Service going down and up --------------------------------------------------------------------


@pytest.mark.parametrize(
    "reason", [OutOfServiceReason.SNAPSHOT_TOO_OLD, OutOfServiceReason.NO_SNAPSHOT]
)
def test_a_snapshot_problem_during_a_session_waits_for_the_session_to_end(
    reason: OutOfServiceReason,
) -> None:
    state, _ = check_out(session_state(), item(1), 1)
    transition = step(state, ServiceDown(reason, "old"), at(1), RULES)
    assert transition.events == ()
    assert transition.state.mode is Mode.SESSION
    assert transition.state.session == state.session
    # The patron carries on.
    state, shown = check_out(transition.state, item(2), 2, at(2))
    assert shown.stored.checkout.item == item(2)
    # Done ends the session, and the remembered problem takes the station out of service at
    # once, without waiting for the shell to report it again.
    down = step(state, Done(), at(3), RULES)
    assert down.events == (
        SessionEnded(patron(1), 2, SessionEnd.DONE, "S1"),
        OutOfService(reason, "old"),
    )
    assert down.state.mode is Mode.OUT_OF_SERVICE


def test_a_deferred_snapshot_problem_does_not_let_the_next_patron_in() -> None:
    # The deferral is for the patron already at the kiosk ("the station goes out of service
    # once the session ends"). A new card ends that session; it must not start another one on
    # a snapshot that is past its age limit. The runtime reports the problem before every
    # input, so it is fed again right before the new card, as the runtime would.
    old = ServiceDown(OutOfServiceReason.SNAPSHOT_TOO_OLD, "the patron snapshot is 30 hours old")
    state, _ = check_out(session_state(), item(1), 1)
    state = step(state, old, at(1), RULES).state
    state = step(state, old, at(2), RULES).state
    transition = step(state, card(CHIDI, "S2"), at(2), RULES)
    ended = transition.events[0]
    assert isinstance(ended, SessionEnded)  # with whichever reason: Ana's session is over
    assert (ended.patron, ended.items, ended.session_id) == (patron(1), 1, "S1")
    assert not any(isinstance(e, PatronAccepted) for e in transition.events)
    assert transition.state.session is None
    assert transition.state.mode is Mode.OUT_OF_SERVICE


def test_a_storage_problem_during_a_session_stops_it_at_once() -> None:
    state, _ = check_out(session_state(), item(1), 1)
    reason = OutOfServiceReason.STORAGE_ERROR
    transition = step(state, ServiceDown(reason, "read-only file system"), at(1), RULES)
    assert transition.events == (
        SessionEnded(patron(1), 1, SessionEnd.OUT_OF_SERVICE, "S1"),
        OutOfService(reason, "read-only file system"),
    )
    assert transition.state.mode is Mode.OUT_OF_SERVICE
    assert transition.state.session is None


@pytest.mark.parametrize("reason", list(OutOfServiceReason))
def test_service_down_while_idle(reason: OutOfServiceReason) -> None:
    transition = step(ready_state(), ServiceDown(reason, "why"), NOW, RULES)
    assert transition.events == (OutOfService(reason, "why"),)
    assert transition.state.mode is Mode.OUT_OF_SERVICE
    assert transition.state.out_of_service is reason
    assert transition.state.out_of_service_detail == "why"


def test_service_down_while_starting() -> None:
    reason = OutOfServiceReason.NO_SNAPSHOT
    transition = step(StationState(), ServiceDown(reason, "none yet"), NOW, RULES)
    assert transition.events == (OutOfService(reason, "none yet"),)
    assert transition.state.mode is Mode.OUT_OF_SERVICE


def test_the_same_problem_again_is_not_shown_again_but_a_new_one_is() -> None:
    old = OutOfServiceReason.SNAPSHOT_TOO_OLD
    down = step(ready_state(), ServiceDown(old, "40 hours"), NOW, RULES).state
    assert step(down, ServiceDown(old, "41 hours"), at(3600), RULES) == Transition(down)
    storage = OutOfServiceReason.STORAGE_ERROR
    worse = step(down, ServiceDown(storage, "disk full"), at(3600), RULES)
    assert worse.events == (OutOfService(storage, "disk full"),)
    assert worse.state.out_of_service is storage


def test_service_up_after_out_of_service_makes_the_station_ready_again() -> None:
    state, _ = check_out(session_state(), item(1), 1)
    down = step(state, CheckoutFailed("disk full"), NOW, RULES).state
    up = step(down, ServiceUp(9, BUILT, snapshot_stale=True), at(60), RULES)
    assert up.events == (Ready("TEST-SC01", 9, BUILT, snapshot_stale=True),)
    assert up.state.mode is Mode.IDLE
    assert up.state.out_of_service is None
    assert up.state.out_of_service_detail == ""
    # And serves patrons again.
    again = step(up.state, card(ANA, "S2"), at(61), RULES)
    assert again.events == (PatronAccepted(patron(1), "Ana", "S2"),)


# Special due date -----------------------------------------------------------------------------


def test_special_due_date_is_used_for_checkouts() -> None:
    special = date(2026, 6, 15)
    state = step(session_state(), SpecialDueSet(special), NOW, RULES)
    assert state.events == ()
    asked = step(state.state, ItemScan(item(1), 0), NOW, RULES)
    assert asked.store is not None
    assert (asked.store.due_date, asked.store.special_due) == (special, True)
    stored = step(asked.state, spooled(asked.store, "T1", 1), NOW, RULES)
    lent = Checkout("S1", patron(1), item(1), special, True, NOW)
    assert stored.events == (ItemCheckedOut(SpooledCheckout(lent, RULES.kiosk_id, "T1", 1)),)


def test_special_due_date_today_counts_and_is_not_moved_off_a_closed_day() -> None:
    christmas_eve = datetime(2026, 12, 24, 15, 0, tzinfo=UTC)
    for special in (date(2026, 12, 24), date(2026, 12, 25)):
        state = step(ready_state(), SpecialDueSet(special), NOW, RULES).state
        state = step(state, card(ANA), christmas_eve, RULES).state
        _, shown = check_out(state, item(1), 1, christmas_eve)
        assert (shown.stored.checkout.due_date, shown.stored.checkout.special_due) == (
            special,
            True,
        )


def test_a_special_due_date_in_the_past_is_ignored() -> None:
    state = step(ready_state(), SpecialDueSet(date(2026, 3, 9)), NOW, RULES).state
    state = step(state, card(ANA), NOW, RULES).state
    _, shown = check_out(state, item(1), 1)
    assert (shown.stored.checkout.due_date, shown.stored.checkout.special_due) == (DUE, False)


def test_special_due_date_can_be_cleared() -> None:
    state = step(ready_state(), SpecialDueSet(date(2026, 6, 15)), NOW, RULES).state
    state = step(state, SpecialDueSet(None), NOW, RULES).state
    state = step(state, card(ANA), NOW, RULES).state
    _, shown = check_out(state, item(1), 1)
    assert (shown.stored.checkout.due_date, shown.stored.checkout.special_due) == (DUE, False)


@pytest.mark.parametrize("mode", ["starting", "out_of_service"])
def test_special_due_date_can_be_set_before_the_station_serves(mode: str) -> None:
    state = StationState()
    if mode == "out_of_service":
        state = step(state, ServiceDown(OutOfServiceReason.NO_SNAPSHOT, "none"), NOW, RULES).state
    set_ = step(state, SpecialDueSet(date(2026, 6, 15)), NOW, RULES)
    assert set_.events == ()
    assert set_.state.special_due == date(2026, 6, 15)
    assert set_.state.mode is state.mode
    up = step(set_.state, ServiceUp(8, BUILT), NOW, RULES).state
    up = step(up, card(ANA), NOW, RULES).state
    _, shown = check_out(up, item(1), 1)
    assert shown.stored.checkout.due_date == date(2026, 6, 15)


# Events as JSON -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (
            Ready("TEST-SC01", 8, BUILT),
            {
                "event": "ready",
                "kiosk_id": "TEST-SC01",
                "patrons": 8,
                "snapshot_built_at": "2026-03-10T06:00:00+00:00",
                "snapshot_stale": False,
            },
        ),
        (
            PatronAccepted(patron(1), "Ana", "S1"),
            {
                "event": "patron_accepted",
                "patron": "21234000000018",
                "first_name": "Ana",
                "session_id": "S1",
            },
        ),
        (
            PatronRefused(patron(3), PatronRefusal.FINES_OVER_LIMIT, Decimal("10.01")),
            {
                "event": "patron_refused",
                "patron": patron(3),
                "reason": "fines_over_limit",
                "fines": "10.01",
            },
        ),
        (
            ItemCheckedOut(
                SpooledCheckout(Checkout("S1", patron(1), item(1), DUE, False, NOW), "K1", "T1", 1)
            ),
            {
                "event": "item_checked_out",
                "patron": "21234000000018",
                "item": "31234000000016",
                "due_date": "2026-03-31",
                "txn_id": "T1",
                "seq": 1,
                "special_due": False,
            },
        ),
        (
            ItemRefused(item(1), ItemRefusal.DUPLICATE_IN_SESSION),
            {"event": "item_refused", "item": item(1), "reason": "duplicate_in_session"},
        ),
        (
            ScanRejected("2123", ScanRejection.UNRECOGNISED, "not a barcode"),
            {
                "event": "scan_rejected",
                "scan": "2123",
                "reason": "unrecognised",
                "detail": "not a barcode",
            },
        ),
        (
            SessionEnded(patron(1), 2, SessionEnd.TIMEOUT, "S1"),
            {
                "event": "session_ended",
                "patron": patron(1),
                "items": 2,
                "reason": "timeout",
                "session_id": "S1",
            },
        ),
        (
            OutOfService(OutOfServiceReason.STORAGE_ERROR, "disk full"),
            {"event": "out_of_service", "reason": "storage_error", "detail": "disk full"},
        ),
    ],
    ids=lambda v: v.name if isinstance(v, Event) else "",
)
def test_to_dict(event: Event, expected: dict[str, object]) -> None:
    assert event.to_dict() == expected


def test_to_dict_of_events_from_a_run() -> None:
    state = session_state()
    _, shown = check_out(state, item(1), 1)
    as_dict = shown.to_dict()
    assert as_dict["event"] == "item_checked_out"
    assert as_dict["due_date"] == "2026-03-31"
    ended = step(state, Done(), NOW, RULES).events[0].to_dict()
    assert (ended["event"], ended["reason"]) == ("session_ended", "done")


# Deny lists -----------------------------------------------------------------------------------


def test_ready_says_when_the_snapshot_is_a_deny_list() -> None:
    transition = step(StationState(), ServiceUp(56, BUILT, deny_list=True), NOW, RULES)
    (ready,) = transition.events
    assert ready == Ready("TEST-SC01", 56, BUILT, snapshot_stale=False, deny_list=True)
    assert ready.to_dict()["deny_list"] is True
    # An allow list says nothing new: the `ready` line is what it always was.
    plain = step(StationState(), ServiceUp(8, BUILT), NOW, RULES).events[0]
    assert "deny_list" not in plain.to_dict()


def test_an_unlisted_card_of_a_deny_list_starts_a_session_greeted_by_its_digits() -> None:
    barcode = patron(42)
    scan = PatronScan(barcode, card_record(barcode, None, SnapshotMode.DENY), 0, "S1")

    transition = step(ready_state(), scan, NOW, RULES)

    assert transition.events == (PatronAccepted(barcode, "", "S1"),)
    assert transition.state.mode is Mode.SESSION


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (PatronStatus.LOST, PatronRefusal.LOST),  # L
        (PatronStatus.BLOCKED, PatronRefusal.BLOCKED),  # B and D
        (PatronStatus.EXPIRED, PatronRefusal.EXPIRED),  # E
    ],
)
def test_a_deny_listed_card_is_refused_with_its_reason(
    status: PatronStatus, reason: PatronRefusal
) -> None:
    listed = PatronRecord(patron(5), status=status)
    scan = PatronScan(patron(5), card_record(patron(5), listed, SnapshotMode.DENY), 0, "S1")

    transition = step(ready_state(), scan, NOW, RULES)

    assert transition.events == (PatronRefused(patron(5), reason),)
    assert transition.state.mode is Mode.IDLE


# Items the item snapshot knows ----------------------------------------------------------------

BY_MATERIAL = replace(
    RULES,
    loan_rules=replace(RULES.loan_rules, material_days=(("book", 21), ("dvd", 7))),
)
DVD = ItemRecord(item(1), "Spirited Away", "dvd")
BOOK = ItemRecord(item(2), "The Hobbit", "book")


def test_a_dvd_gets_its_own_loan_period_and_its_title_is_shown() -> None:
    state = session_state(rules=BY_MATERIAL)
    asked = step(state, ItemScan(item(1), 0, DVD), NOW, BY_MATERIAL)

    assert asked.store is not None
    assert asked.store.due_date == date(2026, 3, 17)  # Tuesday + 7
    assert (asked.store.title, asked.store.material) == ("Spirited Away", "dvd")
    stored = step(asked.state, spooled(asked.store, "T1", 1), NOW, BY_MATERIAL)
    lent = Checkout("S1", patron(1), item(1), date(2026, 3, 17), False, NOW, "Spirited Away", "dvd")
    spool_row = SpooledCheckout(lent, RULES.kiosk_id, "T1", 1)
    assert stored.events == (ItemCheckedOut(spool_row),)
    assert stored.state.session is not None
    assert stored.state.session.items == (spool_row,)


def test_a_book_and_an_unknown_item_get_the_normal_loan_period() -> None:
    state = session_state(rules=BY_MATERIAL)
    state, book = check_out_item(state, ItemScan(item(2), 0, BOOK), 1)
    state, unknown = check_out_item(state, ItemScan(item(3), 0), 2)

    lent_book, lent_unknown = book.stored.checkout, unknown.stored.checkout
    assert (lent_book.due_date, lent_book.title, lent_book.material) == (DUE, "The Hobbit", "book")
    assert (lent_unknown.due_date, lent_unknown.title, lent_unknown.material) == (DUE, None, None)
    as_dict = unknown.to_dict()
    assert "title" not in as_dict
    assert "material" not in as_dict  # without an item snapshot the event is what it was
    assert book.to_dict()["title"] == "The Hobbit"


def test_the_special_due_date_wins_over_the_material_loan_period() -> None:
    special = date(2026, 5, 1)
    state = step(session_state(rules=BY_MATERIAL), SpecialDueSet(special), NOW, BY_MATERIAL).state
    _, shown = check_out_item(state, ItemScan(item(1), 0, DVD), 1)
    lent = shown.stored.checkout
    assert (lent.due_date, lent.special_due, lent.title) == (special, True, "Spirited Away")


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (ItemStatus.ON_HOLD, ItemRefusal.ON_HOLD),
        (ItemStatus.IN_TRANSIT, ItemRefusal.IN_TRANSIT),
        (ItemStatus.NOT_FOR_LOAN, ItemRefusal.NOT_FOR_LOAN),
        (ItemStatus.LOST, ItemRefusal.LOST_OR_MISSING),
        (ItemStatus.MISSING, ItemRefusal.LOST_OR_MISSING),
        (ItemStatus.UNKNOWN, ItemRefusal.UNKNOWN_STATUS),
    ],
)
def test_an_item_whose_status_keeps_it_here_is_refused(
    status: ItemStatus, reason: ItemRefusal
) -> None:
    state = session_state()
    kept = ItemRecord(item(1), "Spirited Away", "dvd", status, patron(2))

    refused = step(state, ItemScan(item(1), 0, kept), at(5), RULES)

    assert refused.store is None
    assert refused.events == (ItemRefused(item(1), reason),)
    assert refused.events[0].to_dict() == {
        "event": "item_refused",
        "item": item(1),
        "reason": reason.value,
    }
    assert refused.state.session is not None
    assert refused.state.session.last_activity == mono(at(5))  # the patron is still there
    _, lent = check_out(refused.state, item(2), 1)  # and may go on borrowing
    assert lent.stored.checkout.item == item(2)


def test_every_status_but_available_has_a_refusal() -> None:
    assert set(STATUS_REFUSAL) == set(ItemStatus) - {ItemStatus.AVAILABLE}


def test_an_item_on_hold_is_lent_to_the_patron_it_is_kept_for() -> None:
    held = ItemRecord(item(1), "Spirited Away", "dvd", ItemStatus.ON_HOLD, patron(1))

    _, shown = check_out_item(session_state(rules=BY_MATERIAL), ItemScan(item(1), 0, held), 1)

    lent = shown.stored.checkout
    assert (lent.patron, lent.item, lent.title) == (patron(1), item(1), "Spirited Away")
    chidi = step(session_state(CHIDI), ItemScan(item(1), 0, held), NOW, RULES)
    assert chidi.events == (ItemRefused(item(1), ItemRefusal.ON_HOLD),)


def test_no_patron_is_said_before_an_items_status() -> None:
    lost = ItemRecord(item(1), status=ItemStatus.LOST)
    idle = step(ready_state(), ItemScan(item(1), 0, lost), NOW, RULES)
    assert idle.events == (ItemRefused(item(1), ItemRefusal.NO_PATRON),)


def check_out_item(
    state: StationState, scan: ItemScan, seq: int
) -> tuple[StationState, ItemCheckedOut]:
    asked = step(state, scan, NOW, BY_MATERIAL)
    stored = step(asked.state, spooled(asked.store, f"T{seq}", seq), NOW, BY_MATERIAL)
    (shown,) = stored.events
    assert isinstance(shown, ItemCheckedOut)
    return stored.state, shown


# Any sequence of inputs -----------------------------------------------------------------------

SEQ_RULES = replace(
    RULES,
    patron_policy=PatronPolicy(block_fines_over=Decimal("10.00"), max_items_per_patron=3),
    max_items_per_session=2,
)
SEQ_PATRONS: list[tuple[str, PatronRecord | None]] = [
    (patron(1), ANA),
    (patron(2), CHIDI),
    (patron(3), BAO),  # refused: fines
    (patron(99), None),  # unknown
]

# Scans are common, service trouble is rare: weights by repetition. The number is the patron
# (modulo the list), the item serial (modulo 6) or the seconds that pass.
KINDS = ["item"] * 8 + ["patron"] * 3 + ["done", "tick", "tick", "wait", "bad"]
KINDS += ["snapshot_old", "snapshot_fresh", "fail_next_store"]
actions = st.tuples(st.sampled_from(KINDS), st.integers(0, 40))


@dataclass
class Shell:
    """Plays the runtime's part: feeds inputs, stores what the core asks to store."""

    now: datetime = NOW
    state: StationState = field(default_factory=StationState)
    seq: int = 0
    fail_next_store: bool = False
    service_ok: bool = True
    spooled: dict[str, int] = field(default_factory=dict)  # patron -> checkouts stored
    sessions: int = 0
    shown_in_session: dict[str, list[str]] = field(default_factory=dict)

    def feed(self, event: Input) -> None:
        transition = step(self.state, event, self.now, SEQ_RULES)
        self.check(event, transition, stored=None)
        self.state = transition.state
        request = transition.store
        if request is None:
            return
        assert self.state.mode is Mode.SESSION
        assert self.state.session is not None
        assert request.session_id == self.state.session.session_id
        assert request.patron == self.state.session.patron
        assert request.due_date >= SEQ_RULES.local_date(self.now) + timedelta(days=21)
        if self.fail_next_store:
            self.fail_next_store = False
            answer: Input = CheckoutFailed("disk full")
        else:
            self.seq += 1
            self.spooled[request.patron] = self.spooled.get(request.patron, 0) + 1
            answer = spooled(request, f"T{self.seq}", self.seq)
        after = step(self.state, answer, self.now, SEQ_RULES)
        self.check(answer, after, stored=request)
        self.state = after.state
        assert self.state.pending is None

    def check(self, event: Input, transition: Transition, stored: Checkout | None) -> None:
        shown = [e for e in transition.events if isinstance(e, ItemCheckedOut)]
        if isinstance(event, CheckoutStored):
            assert stored is not None
            assert [e.stored for e in shown] == [event.stored]
            assert event.stored.checkout == stored
        else:
            # Only a stored checkout is ever shown as checked out.
            assert shown == []
        if shown:
            assert stored is not None
            items = self.shown_in_session.setdefault(stored.session_id, [])
            for e in shown:
                assert e.stored.checkout.item not in items  # never twice in one session
                items.append(e.stored.checkout.item)
        for e in transition.events:
            if isinstance(e, SessionEnded):
                assert e.items == len(self.shown_in_session.get(e.session_id, []))
        session = transition.state.session
        if session is not None:
            assert len(session.items) <= SEQ_RULES.max_items_per_session
            assert transition.state.mode is Mode.SESSION
            if isinstance(event, Tick):
                # A session that survives a tick has not reached its deadline.
                assert mono(self.now) < session.last_activity + SEQ_RULES.idle_timeout
        else:
            assert transition.state.mode is not Mode.SESSION
        for count in self.spooled.values():
            assert count <= SEQ_RULES.patron_policy.max_items_per_patron

    def assess(self) -> None:
        """What the runtime does before each input: tell the core whether it can serve."""
        if self.service_ok:
            self.feed(ServiceUp(4, BUILT))
        else:
            self.feed(ServiceDown(OutOfServiceReason.SNAPSHOT_TOO_OLD, "old"))

    def do(self, action: str, arg: int) -> None:
        if action == "snapshot_old":
            self.service_ok = False
        elif action == "snapshot_fresh":
            self.service_ok = True
        elif action == "fail_next_store":
            self.fail_next_store = True
        elif action == "wait":
            self.now += timedelta(seconds=arg)
        elif action == "tick":
            self.now += timedelta(seconds=arg)
            self.assess()
            self.feed(Tick())
        else:
            self.assess()
            session = self.state.session
            if action == "patron":
                barcode, record = SEQ_PATRONS[arg % len(SEQ_PATRONS)]
                self.sessions += 1
                outstanding = self.spooled.get(barcode, 0)
                self.feed(PatronScan(barcode, record, outstanding, f"S{self.sessions}"))
            elif action == "item":
                outstanding = self.spooled.get(session.patron, 0) if session else 0
                self.feed(ItemScan(item(arg % 6 + 1), outstanding))
            elif action == "done":
                self.feed(Done())
            elif action == "bad":
                self.feed(BadScan("x", ScanRejection.UNRECOGNISED, "not a barcode"))
            else:
                raise AssertionError(action)


@settings(max_examples=300, deadline=None)
@given(script=st.lists(actions, min_size=10, max_size=60))
def test_invariants_hold_for_any_sequence_of_inputs(script: list[tuple[str, int]]) -> None:
    shell = Shell()
    shell.feed(ServiceUp(4, BUILT))
    for action, arg in script:
        shell.do(action, arg)
    # However the script went, everything shown was stored exactly once.
    total_shown = sum(len(items) for items in shell.shown_in_session.values())
    assert total_shown == shell.seq == sum(shell.spooled.values())


# A session that ran out before the next input arrived -----------------------------------------


def test_an_item_scanned_after_the_deadline_does_not_join_the_old_session() -> None:
    # No Tick came in between (input and deadline at the same moment, or a file as input):
    # the old session ends first, and the item has no patron.
    state, _ = check_out(session_state(), item(1), 1)
    transition = step(state, ItemScan(item(2), 0), at(60), RULES)
    assert transition.events == (
        SessionEnded(patron(1), 1, SessionEnd.TIMEOUT, "S1"),
        ItemRefused(item(2), ItemRefusal.NO_PATRON),
    )
    assert transition.store is None


def test_a_card_scanned_after_the_deadline_starts_a_new_session_after_a_timeout() -> None:
    transition = step(session_state(), card(CHIDI, "S2"), at(61), RULES)
    assert [type(e) for e in transition.events] == [SessionEnded, PatronAccepted]
    assert transition.events[0] == SessionEnded(patron(1), 0, SessionEnd.TIMEOUT, "S1")
    assert transition.state.session is not None
    assert transition.state.session.session_id == "S2"


def test_done_after_the_deadline_reports_the_timeout_once() -> None:
    transition = step(session_state(), Done(), at(75), RULES)
    assert transition.events == (SessionEnded(patron(1), 0, SessionEnd.TIMEOUT, "S1"),)


def test_a_deferred_problem_applies_when_the_session_times_out() -> None:
    old = ServiceDown(OutOfServiceReason.SNAPSHOT_TOO_OLD, "old")
    state = step(session_state(), old, at(1), RULES).state
    transition = step(state, Tick(), at(61), RULES)
    assert transition.events == (
        SessionEnded(patron(1), 0, SessionEnd.TIMEOUT, "S1"),
        OutOfService(OutOfServiceReason.SNAPSHOT_TOO_OLD, "old"),
    )
    assert transition.state.mode is Mode.OUT_OF_SERVICE


def test_a_deferred_problem_that_goes_away_is_forgotten() -> None:
    # Staff import a fresh snapshot while the patron is still at the kiosk.
    state = step(session_state(), ServiceDown(OutOfServiceReason.NO_SNAPSHOT, "x"), at(1), RULES)
    state = step(state.state, ServiceUp(8, BUILT), at(2), RULES)
    done = step(state.state, Done(), at(3), RULES)
    assert done.events == (SessionEnded(patron(1), 0, SessionEnd.DONE, "S1"),)
    assert done.state.mode is Mode.IDLE
