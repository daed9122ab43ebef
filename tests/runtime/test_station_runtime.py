"""The station runtime in-process (issue 17, point 7): the logic around the pure core, on
real SQLite snapshot and spool files and a ManualClock. Limits counted across sessions and
within one, refusals, the same card and another card, what staff set in the spool (pause,
special due date, clear-session), a snapshot replaced while running, and a spool that cannot
store. Staff settings are written through a second Spool object, as `kiosk staff` writes
them from another process."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kiosk.domain.barcodes import BarcodeRule, BarcodeRules, CheckDigit
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
    SessionEnd,
    SessionEnded,
)
from kiosk.domain.patrons import PatronPolicy, PatronRefusal
from kiosk.domain.service import SnapshotLimits
from kiosk.domain.station import Mode, StationRules
from kiosk.runtime.clock import ManualClock
from kiosk.runtime.station import (
    CLEAR_SESSION_SETTING,
    PAUSED_SETTING,
    SPECIAL_DUE_SETTING,
    StationRuntime,
)
from kiosk.storage.snapshot import SnapshotStore
from kiosk.storage.spool import SPOOL_FILE, Spool
from tests.conftest import item, patron, standard_csv

T0 = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # Monday 10:00 in New York
NORMAL_DUE = date(2026, 12, 14)  # 21 days on
RULES = BarcodeRules(
    patron=BarcodeRule("2", 14, check_digit=CheckDigit.LUHN),
    item=BarcodeRule("3", 14, check_digit=CheckDigit.LUHN),
)
ANA, CHIDI = patron(1), patron(2)
NEWCOMER = patron(9)  # in no snapshot until one is imported while the station runs
# A spool that cannot store, whoever runs the tests: a read-only file does not stop root,
# and a write lock costs the spool's busy timeout (5 s) at every try. SQLite refuses every
# new checkout (and the probe's trial one) for as long as this trigger exists.
REFUSE_WRITES = (
    "CREATE TRIGGER refuse_writes BEFORE INSERT ON checkouts "
    "BEGIN SELECT RAISE(ABORT, 'disk I/O error (test)'); END"
)

Outcome = tuple[type[Event], object]


def outcome(events: list[Event]) -> list[Outcome]:
    """Each event with what tells it apart: a reason, the patron or the item."""
    shown: list[Outcome] = []
    for event in events:
        if isinstance(event, ItemRefused | PatronRefused | SessionEnded | OutOfService):
            shown.append((type(event), event.reason))
        elif isinstance(event, PatronAccepted):
            shown.append((PatronAccepted, event.patron))
        elif isinstance(event, ItemCheckedOut):
            shown.append((ItemCheckedOut, event.stored.checkout.item))
        else:
            shown.append((type(event), None))
    return shown


def lent(code: str) -> list[Outcome]:
    return [(ItemCheckedOut, code)]


def refused(reason: ItemRefusal) -> list[Outcome]:
    return [(ItemRefused, reason)]


@dataclass
class Station:
    runtime: StationRuntime
    clock: ManualClock
    data_dir: Path
    staff_spool: Spool  # another connection, as a `kiosk staff` command has
    service_changes: list[str | None] = field(default_factory=list)

    def scan(self, code: str) -> list[Outcome]:
        return outcome(self.runtime.scan(code))

    def done(self) -> list[Outcome]:
        return outcome(self.runtime.done())

    def staff(self, key: str, value: str | None) -> None:
        self.staff_spool.set_setting(key, value)

    def lent(self) -> list[tuple[str, str]]:
        return [(c.checkout.patron, c.checkout.item) for c in self.staff_spool.checkouts()]

    def spool_sql(self, statement: str) -> None:
        with closing(sqlite3.connect(self.data_dir / SPOOL_FILE)) as db:
            db.execute(statement)
            db.commit()

    def import_snapshot(self, csv_text: str, built_at: datetime) -> None:
        source = self.data_dir.parent / "replacement.csv"
        source.write_text(csv_text, encoding="utf-8")
        SnapshotStore(self.data_dir).import_csv(
            source,
            patron_rule=RULES.patron,
            built_at=built_at,
            now=self.clock.now(),
            allow_shrink=True,
        )


OpenStation = Callable[..., Station]


@pytest.fixture
def open_station(tmp_path: Path) -> Iterator[OpenStation]:
    opened: list[Station] = []
    data_dir = tmp_path / "data"

    def make(
        *,
        policy: PatronPolicy | None = None,
        per_session: int = 20,
        spool_problem: str | None = None,
        before_start: Callable[[Station], None] | None = None,
    ) -> Station:
        patrons = tmp_path / "patrons.csv"
        patrons.write_text(standard_csv(), encoding="utf-8")
        SnapshotStore(data_dir).import_csv(
            patrons, patron_rule=RULES.patron, built_at=T0 - timedelta(hours=1), now=T0
        )
        rules = StationRules(
            kiosk_id="TEST-SC01",
            timezone=ZoneInfo("America/New_York"),
            patron_policy=policy or PatronPolicy(),
            max_items_per_session=per_session,
        )
        clock = ManualClock(T0)
        spool = Spool.open(data_dir, create=True)
        changes: list[str | None] = []
        runtime = StationRuntime(
            rules=rules,
            barcode_rules=RULES,
            limits=SnapshotLimits(0, 36),
            snapshots=SnapshotStore(data_dir),
            spool=spool,
            spool_problem=spool_problem,
            clock=clock,
            on_service_change=lambda reason, _detail: changes.append(reason),
        )
        station = Station(runtime, clock, data_dir, Spool.open(data_dir), changes)
        opened.append(station)
        if before_start is not None:
            before_start(station)
        runtime.start()
        return station

    yield make
    for station in opened:
        station.runtime.close()
        station.staff_spool.close()


def limited(per_patron: int) -> PatronPolicy:
    return PatronPolicy(max_items_per_patron=per_patron)


# Limits ---------------------------------------------------------------------------------------


def test_the_patron_limit_counts_earlier_checkouts_and_this_sessions(
    open_station: OpenStation,
) -> None:
    station = open_station(policy=limited(3))
    station.scan(ANA)
    assert station.scan(item(1)) == lent(item(1))
    assert station.scan(item(2)) == lent(item(2))
    station.done()

    assert station.scan(ANA) == [(PatronAccepted, ANA)]  # 2 not handed over, of 3
    assert station.scan(item(3)) == lent(item(3))
    assert station.scan(item(4)) == refused(ItemRefusal.PATRON_LIMIT)  # 2 earlier + 1 now
    assert station.done() == [(SessionEnded, SessionEnd.DONE)]

    assert station.scan(ANA) == [(PatronRefused, PatronRefusal.PATRON_LIMIT)]
    assert station.scan(CHIDI) == [(PatronAccepted, CHIDI)]  # the limit is per patron
    assert station.scan(item(4)) == lent(item(4))
    assert station.lent() == [(ANA, item(1)), (ANA, item(2)), (ANA, item(3)), (CHIDI, item(4))]


def test_the_patron_limit_applies_within_one_session(open_station: OpenStation) -> None:
    station = open_station(policy=limited(2))
    station.scan(ANA)

    assert station.scan(item(1)) == lent(item(1))
    assert station.scan(item(2)) == lent(item(2))
    assert station.scan(item(3)) == refused(ItemRefusal.PATRON_LIMIT)
    assert station.scan(item(4)) == refused(ItemRefusal.PATRON_LIMIT)

    assert station.lent() == [(ANA, item(1)), (ANA, item(2))]


def test_checkouts_handed_over_no_longer_count_toward_the_patron_limit(
    open_station: OpenStation,
) -> None:
    station = open_station(policy=limited(1))
    station.scan(ANA)
    station.scan(item(1))
    station.done()
    assert station.scan(ANA) == [(PatronRefused, PatronRefusal.PATRON_LIMIT)]

    txn_ids = [c.txn_id for c in station.staff_spool.checkouts()]
    station.staff_spool.record_export("csv", "export.csv", "0" * 64, txn_ids, T0)

    assert station.scan(ANA) == [(PatronAccepted, ANA)]
    assert station.scan(item(2)) == lent(item(2))
    assert station.scan(item(3)) == refused(ItemRefusal.PATRON_LIMIT)


def test_the_session_limit_caps_one_session_not_the_patron(open_station: OpenStation) -> None:
    station = open_station(per_session=2)
    station.scan(ANA)
    assert station.scan(item(1)) == lent(item(1))
    assert station.scan(item(2)) == lent(item(2))
    assert station.scan(item(3)) == refused(ItemRefusal.SESSION_LIMIT)
    station.done()

    assert station.scan(ANA) == [(PatronAccepted, ANA)]
    assert station.scan(item(3)) == lent(item(3))


def test_an_item_already_lent_in_the_session_is_refused_as_a_duplicate(
    open_station: OpenStation,
) -> None:
    station = open_station()
    station.scan(ANA)
    assert station.scan(item(1)) == lent(item(1))

    assert station.scan(item(1)) == refused(ItemRefusal.DUPLICATE_IN_SESSION)

    assert station.lent() == [(ANA, item(1))]
    assert station.scan(item(2)) == lent(item(2))  # the session goes on


# Patrons --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("card", "reason"),
    [
        (NEWCOMER, PatronRefusal.UNKNOWN_PATRON),
        (patron(4), PatronRefusal.BLOCKED),
        (patron(5), PatronRefusal.LOST),
        (patron(6), PatronRefusal.EXPIRED),  # by date
        (patron(7), PatronRefusal.EXPIRED),  # by status
        (patron(3), PatronRefusal.FINES_OVER_LIMIT),
    ],
)
def test_a_refused_patron_gets_no_session(
    open_station: OpenStation, card: str, reason: PatronRefusal
) -> None:
    station = open_station(policy=PatronPolicy(block_fines_over=Decimal("10.00")))

    assert station.scan(card) == [(PatronRefused, reason)]

    assert station.runtime.state.session is None
    assert station.scan(item(1)) == refused(ItemRefusal.NO_PATRON)
    assert station.lent() == []


def test_the_same_card_again_carries_on_and_another_card_ends_the_session(
    open_station: OpenStation,
) -> None:
    station = open_station(policy=limited(2))
    station.scan(ANA)
    station.scan(item(1))
    first = station.runtime.state.session
    assert first is not None

    station.clock.advance(50)
    assert station.scan(ANA) == []  # carries on, and the idle timer starts again
    station.clock.advance(50)
    assert station.runtime.state.session is not None
    assert station.runtime.state.session.session_id == first.session_id
    assert station.scan(item(2)) == lent(item(2))
    assert station.scan(item(3)) == refused(ItemRefusal.PATRON_LIMIT)  # still counted

    events = station.runtime.scan(CHIDI)
    assert outcome(events) == [(SessionEnded, SessionEnd.NEW_PATRON), (PatronAccepted, CHIDI)]
    assert isinstance(events[0], SessionEnded) and events[0].items == 2
    assert station.scan(item(3)) == lent(item(3))
    assert station.lent() == [(ANA, item(1)), (ANA, item(2)), (CHIDI, item(3))]


# What staff set in the spool ------------------------------------------------------------------


def test_a_pause_takes_an_idle_station_out_at_the_next_input_and_resume_brings_it_back(
    open_station: OpenStation,
) -> None:
    station = open_station()
    station.staff(PAUSED_SETTING, "Back at 2 pm")

    assert station.scan(ANA) == [(OutOfService, OutOfServiceReason.PAUSED)]
    assert station.runtime.state.out_of_service_detail == "Back at 2 pm"
    assert station.scan(ANA) == []
    assert station.runtime.state.session is None

    station.staff(PAUSED_SETTING, None)
    assert station.scan(ANA) == [(Ready, None), (PatronAccepted, ANA)]
    assert station.service_changes == [None, "paused", None]


def test_a_pause_lets_the_patron_at_the_station_finish_first(open_station: OpenStation) -> None:
    """README, staff screen: "out of service for patrons (the patron at it finishes first)"."""
    station = open_station()
    station.scan(ANA)
    station.scan(item(1))
    station.staff(PAUSED_SETTING, "Back at 2 pm")

    assert station.scan(item(2)) == lent(item(2))
    assert station.done() == [
        (SessionEnded, SessionEnd.DONE),
        (OutOfService, OutOfServiceReason.PAUSED),
    ]
    assert station.scan(CHIDI) == []
    assert station.lent() == [(ANA, item(1)), (ANA, item(2))]


def test_a_pause_lets_nobody_new_in_after_the_patron_at_the_station(
    open_station: OpenStation,
) -> None:
    station = open_station()
    station.scan(ANA)
    station.staff(PAUSED_SETTING, "Back at 2 pm")
    assert station.scan(item(1)) == lent(item(1))

    assert station.scan(CHIDI) == [
        (SessionEnded, SessionEnd.NEW_PATRON),
        (OutOfService, OutOfServiceReason.PAUSED),
    ]
    assert station.scan(item(2)) == []
    assert station.lent() == [(ANA, item(1))]


def test_a_resume_before_the_session_ends_keeps_the_station_in_service(
    open_station: OpenStation,
) -> None:
    station = open_station()
    station.scan(ANA)
    station.staff(PAUSED_SETTING, "Back at 2 pm")
    station.scan(item(1))
    station.staff(PAUSED_SETTING, None)

    assert station.scan(item(2)) == lent(item(2))
    assert station.done() == [(SessionEnded, SessionEnd.DONE)]
    assert station.scan(CHIDI) == [(PatronAccepted, CHIDI)]


def test_a_special_due_date_set_in_the_spool_applies_to_the_next_checkout(
    open_station: OpenStation,
) -> None:
    station = open_station()
    station.scan(ANA)
    first = station.runtime.scan(item(1))
    station.staff(SPECIAL_DUE_SETTING, "2026-12-24")
    special = station.runtime.scan(item(2))
    station.staff(SPECIAL_DUE_SETTING, None)
    normal = station.runtime.scan(item(3))

    due = [
        (e.stored.checkout.due_date, e.stored.checkout.special_due)
        for e in first + special + normal
        if isinstance(e, ItemCheckedOut)
    ]
    assert due == [(NORMAL_DUE, False), (date(2026, 12, 24), True), (NORMAL_DUE, False)]
    stored = [(c.checkout.item, c.checkout.due_date) for c in station.staff_spool.checkouts()]
    assert stored == [(item(1), NORMAL_DUE), (item(2), date(2026, 12, 24)), (item(3), NORMAL_DUE)]


def test_a_clear_session_request_ends_the_session_once(open_station: OpenStation) -> None:
    station = open_station()
    station.scan(ANA)
    station.scan(item(1))
    station.staff(CLEAR_SESSION_SETTING, "2026-11-23T15:00:01+00:00")

    assert station.scan(item(2)) == [
        (SessionEnded, SessionEnd.CLEARED),
        (ItemRefused, ItemRefusal.NO_PATRON),
    ]
    assert station.scan(CHIDI) == [(PatronAccepted, CHIDI)]
    assert station.scan(item(2)) == lent(item(2))  # the same request is not carried out again
    assert station.scan(item(3)) == lent(item(3))
    assert station.lent() == [(ANA, item(1)), (CHIDI, item(2)), (CHIDI, item(3))]


def test_a_clear_session_request_from_before_the_start_is_not_replayed(
    open_station: OpenStation,
) -> None:
    def requested(station: Station) -> None:
        station.staff(CLEAR_SESSION_SETTING, "2026-11-23T14:00:00+00:00")

    station = open_station(before_start=requested)
    assert station.scan(ANA) == [(PatronAccepted, ANA)]
    assert station.scan(item(1)) == lent(item(1))
    assert station.scan(item(2)) == lent(item(2))


def test_a_clear_session_request_from_before_the_start_is_not_replayed_when_the_spool_comes_back(
    open_station: OpenStation,
) -> None:
    """The staff settings are first read once the spool can store: here, mid-session."""

    def requested_and_broken(station: Station) -> None:
        station.staff(CLEAR_SESSION_SETTING, "2026-11-23T14:00:00+00:00")
        station.spool_sql(REFUSE_WRITES)

    station = open_station(
        spool_problem="the spool cannot be written", before_start=requested_and_broken
    )
    assert station.runtime.state.mode is Mode.OUT_OF_SERVICE
    station.spool_sql("DROP TRIGGER refuse_writes")

    assert station.scan(ANA) == [(Ready, None), (PatronAccepted, ANA)]
    assert station.scan(item(1)) == lent(item(1))
    assert station.scan(item(2)) == lent(item(2))


# The snapshot and the spool -------------------------------------------------------------------


def test_a_snapshot_imported_while_running_is_used_at_the_next_scan(
    open_station: OpenStation,
) -> None:
    station = open_station()
    assert station.scan(NEWCOMER) == [(PatronRefused, PatronRefusal.UNKNOWN_PATRON)]

    replacement = f'barcode,name\n{NEWCOMER},"Doe, Jane"\n{CHIDI},"Okafor, Chidi"\n'
    station.import_snapshot(replacement, built_at=T0 - timedelta(minutes=30))

    assert station.scan(NEWCOMER) == [(PatronAccepted, NEWCOMER)]
    assert station.scan(item(1)) == lent(item(1))
    station.done()
    assert station.scan(ANA) == [(PatronRefused, PatronRefusal.UNKNOWN_PATRON)]  # not in it


def test_a_spool_that_cannot_store_stops_the_station_until_it_can(
    open_station: OpenStation,
) -> None:
    station = open_station()
    station.scan(ANA)
    assert station.scan(item(1)) == lent(item(1))
    station.spool_sql(REFUSE_WRITES)

    events = station.runtime.scan(item(2))  # never told "done"
    assert outcome(events) == [
        (SessionEnded, SessionEnd.OUT_OF_SERVICE),
        (OutOfService, OutOfServiceReason.STORAGE_ERROR),
    ]
    assert "disk I/O error (test)" in station.runtime.state.out_of_service_detail
    assert station.scan(ANA) == []  # still cannot store: nobody gets in
    assert station.service_changes[-1] == "storage_error"

    station.spool_sql("DROP TRIGGER refuse_writes")
    assert station.scan(ANA) == [(Ready, None), (PatronAccepted, ANA)]
    assert station.scan(item(2)) == lent(item(2))
    assert station.service_changes[-1] is None
    assert station.lent() == [(ANA, item(1)), (ANA, item(2))]


# While the spool cannot store (found writing these tests, fixed since) ------------------------
# The settings are not read while the spool cannot store; the input at which it can again
# reads them before it lets anyone in, and a failed checkout is told as a service change.


def broken_spool_mid_session(station: Station) -> None:
    station.scan(ANA)
    station.spool_sql(REFUSE_WRITES)
    station.scan(item(1))  # CheckoutFailed: out of service


def test_a_clear_session_made_while_the_spool_failed_does_not_end_the_next_session(
    open_station: OpenStation,
) -> None:
    station = open_station()
    broken_spool_mid_session(station)
    station.staff(CLEAR_SESSION_SETTING, "2026-11-23T15:00:01+00:00")
    station.spool_sql("DROP TRIGGER refuse_writes")

    assert station.scan(CHIDI) == [(Ready, None), (PatronAccepted, CHIDI)]
    assert station.scan(item(2)) == lent(item(2))  # before the fix: CLEARED, then NO_PATRON


def test_a_pause_made_while_the_spool_failed_lets_nobody_in_when_it_is_back(
    open_station: OpenStation,
) -> None:
    station = open_station()
    broken_spool_mid_session(station)
    station.staff(PAUSED_SETTING, "Back at 2 pm")
    station.spool_sql("DROP TRIGGER refuse_writes")

    assert station.scan(CHIDI) == [(OutOfService, OutOfServiceReason.PAUSED)]  # was: let in


def test_a_checkout_that_cannot_be_stored_is_told_as_a_service_change(
    open_station: OpenStation,
) -> None:
    station = open_station()
    broken_spool_mid_session(station)

    assert station.service_changes == [None, "storage_error"]  # before the fix: [None], and if
    # the spool was back by the next input, the outage was never told at all
