"""Offline periods: a staff "reset" archives the open period's checkouts and opens the next one,
but only once every checkout in it was handed over, and never deletes anything. Only the
retention rule removes checkouts, only from archived periods and only once handed over. The
database itself keeps these promises against a raw connection, and an old spool (schema 0001)
gets one period holding everything it already had.

Real SQLite files; the raw connections are opened with sqlite3 to see what is on disk.
"""

from __future__ import annotations

import shutil
import sqlite3
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kiosk.domain.checkout import Checkout, SpooledCheckout
from kiosk.errors import PeriodNotHandedOver
from kiosk.storage.spool import MIGRATIONS, Spool
from tests.conftest import item, patron
from tests.storage.conftest import direct

TZ = ZoneInfo("America/New_York")
KIOSK_ID = "TEST-SC01"
T0 = datetime(2026, 11, 2, 10, 0, tzinfo=TZ)  # the first checkout of the tests
RESET = datetime(2026, 11, 26, 18, 30, tzinfo=TZ)  # staff start a new period


def checkout(spool: Spool, n: int) -> SpooledCheckout:
    return spool.record_checkout(
        Checkout(
            session_id=f"session-{n}",
            patron=patron(1 + n % 2),
            item=item(n),
            due_date=date(2026, 12, 11),
            special_due=False,
            occurred_at=T0 + timedelta(minutes=n),
        ),
        KIOSK_ID,
        TZ,
    )


def hand_over(spool: Spool, stored: list[SpooledCheckout], when: datetime) -> None:
    spool.record_export("koc", f"/media/usb/{when:%Y%m%d}.koc", "0" * 64, txn_ids(stored), when)


def txn_ids(stored: list[SpooledCheckout]) -> list[str]:
    return [s.txn_id for s in stored]


def archived_spool(spool: Spool) -> tuple[list[SpooledCheckout], list[SpooledCheckout]]:
    """Period 1 (seq 1-3, all handed over, then archived) and period 2 (seq 4-5, open)."""
    first = [checkout(spool, n) for n in (1, 2, 3)]
    hand_over(spool, first, datetime(2026, 11, 20, 9, 0, tzinfo=TZ))
    spool.start_new_period(RESET, expected_checkouts=3)
    second = [checkout(spool, n) for n in (4, 5)]
    return first, second


# One open period from the start ------------------------------------------------------------


def test_a_new_spool_has_one_open_period_starting_at_the_first_checkout(spool: Spool) -> None:
    (period,) = spool.periods()

    assert (period.id, period.first_seq, period.last_seq, period.ended_at) == (1, 1, None, None)
    assert period.is_open
    assert (period.checkouts, period.handed_over, period.pending) == (0, 0, 0)
    assert (period.archived, period.purged, period.purged_at) == (None, 0, None)
    assert period.started_at.tzinfo is not None
    assert spool.current_period() == period
    assert spool.summary().period == period


def test_checkouts_and_hand_overs_are_counted_in_the_open_period(spool: Spool) -> None:
    stored = [checkout(spool, n) for n in (1, 2, 3)]
    hand_over(spool, stored[:1], T0 + timedelta(hours=1))

    period = spool.current_period()

    assert (period.checkouts, period.handed_over, period.pending) == (3, 1, 2)
    assert spool.summary().period == period


# An old spool (schema 0001) gets its first period -----------------------------------------------


def test_a_spool_from_before_periods_keeps_every_checkout_in_period_1(tmp_path: Path) -> None:
    before_periods = tmp_path / "migrations-0001"
    shutil.copytree(MIGRATIONS, before_periods, ignore=shutil.ignore_patterns("__pycache__"))
    for later in (before_periods / "versions").glob("000[2-9]_*.py"):
        later.unlink()  # only revision 0001 is left
    data = tmp_path / "data"

    old = Spool.open(data, create=True, migrations=before_periods)
    stored = [checkout(old, n) for n in (1, 2, 3)]
    hand_over(old, stored[:1], T0 + timedelta(hours=1))
    kept = list(old.checkouts())
    old.close()
    with direct(data / "spool.db") as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == ("0001",)
        assert (
            conn.execute("SELECT name FROM sqlite_master WHERE name = 'periods'").fetchall() == []
        )
        created_at = conn.execute(
            "SELECT value FROM spool_info WHERE key = 'created_at'"
        ).fetchone()[0]

    upgraded = Spool.open(data)
    try:
        assert list(upgraded.checkouts()) == kept
        (period,) = upgraded.periods()
        assert period.is_open
        assert (period.first_seq, period.checkouts, period.handed_over) == (1, 3, 1)
        # The period every existing checkout belongs to starts with the spool itself.
        assert period.started_at == datetime.fromisoformat(created_at)
        assert checkout(upgraded, 4).seq == 4
        assert upgraded.current_period().checkouts == 4
    finally:
        upgraded.close()
    assert (data / "spool.db.before-upgrade-from-0001").exists()
    with direct(data / "spool.db") as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == (
            "0004",
        )  # the head: through 0002 (periods) and on


# A new period too early is refused, and changes nothing --------------------------------------


@pytest.mark.parametrize("handed_over", [0, 2])
def test_a_new_period_is_refused_while_any_checkout_is_not_handed_over(
    spool: Spool, handed_over: int
) -> None:
    stored = [checkout(spool, n) for n in (1, 2, 3)]
    if handed_over:
        hand_over(spool, stored[:handed_over], T0 + timedelta(hours=1))
    periods, checkouts = spool.periods(), list(spool.checkouts())

    with pytest.raises(PeriodNotHandedOver, match="have not been exported") as caught:
        spool.start_new_period(RESET, expected_checkouts=3)

    assert (caught.value.pending, caught.value.held) == (3 - handed_over, 3)
    assert caught.value.changed_from is None
    assert f"{3 - handed_over} of the period's 3 checkouts" in str(caught.value)
    assert spool.periods() == periods
    assert list(spool.checkouts()) == checkouts


@pytest.mark.parametrize("confirmed", [2, 4, 0])
def test_a_new_period_is_refused_if_the_period_changed_since_staff_confirmed(
    spool: Spool, confirmed: int
) -> None:
    stored = [checkout(spool, n) for n in (1, 2, 3)]
    hand_over(spool, stored, T0 + timedelta(hours=1))
    periods, checkouts = spool.periods(), list(spool.checkouts())

    with pytest.raises(PeriodNotHandedOver, match="look at the status again") as caught:
        spool.start_new_period(RESET, expected_checkouts=confirmed)

    assert (caught.value.pending, caught.value.held, caught.value.changed_from) == (0, 3, confirmed)
    assert spool.periods() == periods
    assert list(spool.checkouts()) == checkouts


def test_a_refused_new_period_is_a_temporary_failure() -> None:
    # `kiosk staff new-period` exits 75: try again once the checkouts are handed over.
    assert PeriodNotHandedOver.exit_code == 75


# Once everything is handed over ------------------------------------------------------------


def test_a_new_period_archives_the_old_one_and_keeps_its_checkouts(spool: Spool) -> None:
    stored = [checkout(spool, n) for n in (1, 2, 3)]
    hand_over(spool, stored, T0 + timedelta(hours=1))

    archived, new = spool.start_new_period(RESET, expected_checkouts=3)

    assert (archived.id, archived.first_seq, archived.last_seq) == (1, 1, 3)
    assert archived.ended_at == RESET
    assert (archived.archived, archived.checkouts, archived.handed_over) == (3, 3, 3)
    assert not archived.is_open
    assert (new.id, new.first_seq, new.last_seq, new.started_at) == (2, 4, None, RESET)
    assert new.is_open
    assert (new.checkouts, new.archived) == (0, None)
    assert spool.periods() == [archived, new]
    assert spool.current_period() == new
    # Archived, not deleted: the checkouts are all still in the spool.
    assert [c.txn_id for c in spool.checkouts()] == txn_ids(stored)


def test_checkouts_after_a_new_period_land_in_it(spool: Spool) -> None:
    stored = [checkout(spool, n) for n in (1, 2, 3)]
    hand_over(spool, stored, T0 + timedelta(hours=1))
    spool.start_new_period(RESET, expected_checkouts=3)

    later = [checkout(spool, n) for n in (4, 5)]

    assert [s.seq for s in later] == [4, 5]
    old, new = spool.periods()
    assert (old.checkouts, old.last_seq, old.archived) == (3, 3, 3)
    assert (new.checkouts, new.handed_over, new.pending) == (2, 0, 2)
    assert spool.summary().period == new
    assert (spool.summary().total, spool.summary().pending) == (5, 2)
    assert [c.seq for c in spool.checkouts()] == [1, 2, 3, 4, 5]


def test_periods_follow_each_other(spool: Spool) -> None:
    for reset in range(3):
        stored = [checkout(spool, 10 * reset + n) for n in (1, 2)]
        hand_over(spool, stored, RESET + timedelta(days=reset))
        spool.start_new_period(RESET + timedelta(days=reset, hours=1), expected_checkouts=2)

    periods = spool.periods()

    assert [(p.id, p.first_seq, p.last_seq) for p in periods] == [
        (1, 1, 2),
        (2, 3, 4),
        (3, 5, 6),
        (4, 7, None),
    ]
    assert [p.ended_at for p in periods[:-1]] == [p.started_at for p in periods[1:]]


# The database keeps the promises too ---------------------------------------------------------


def test_a_period_cannot_be_deleted(spool: Spool) -> None:
    archived_spool(spool)
    with direct(spool.path) as conn:
        for period_id in (1, 2):
            with pytest.raises(sqlite3.DatabaseError, match="never deleted"):
                conn.execute("DELETE FROM periods WHERE id = ?", (period_id,))
        assert conn.execute("SELECT count(*) FROM periods").fetchone() == (2,)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("started_at", "2000-01-01T00:00:00+00:00"),
        ("first_seq", 2),
        ("ended_at", "2099-01-01T00:00:00+00:00"),
        ("last_seq", 1),
        ("last_seq", None),  # reopening it
        ("archived", 0),
    ],
)
def test_a_closed_period_cannot_be_changed(spool: Spool, column: str, value: object) -> None:
    archived_spool(spool)
    before = spool.periods()
    with (
        direct(spool.path) as conn,
        pytest.raises(sqlite3.DatabaseError, match="cannot be changed"),
    ):
        conn.execute(f"UPDATE periods SET {column} = ? WHERE id = 1", (value,))
    assert spool.periods() == before


def test_a_period_with_checkouts_not_handed_over_cannot_be_closed(spool: Spool) -> None:
    stored = [checkout(spool, n) for n in (1, 2)]
    hand_over(spool, stored[:1], T0 + timedelta(hours=1))
    before = spool.periods()
    with direct(spool.path) as conn, pytest.raises(sqlite3.DatabaseError, match="cannot be closed"):
        conn.execute(
            "UPDATE periods SET last_seq = 2, ended_at = '2026-11-26T18:30:00-05:00', "
            "archived = 2 WHERE id = 1"
        )
    assert spool.periods() == before
    assert spool.current_period().is_open


# The retention rule --------------------------------------------------------------------------


def test_purging_removes_only_archived_checkouts_handed_over_before_the_cutoff(
    spool: Spool,
) -> None:
    cutoff = datetime(2026, 11, 15, tzinfo=TZ)
    first = [checkout(spool, n) for n in (1, 2, 3)]
    hand_over(spool, first[:2], cutoff - timedelta(days=10))
    hand_over(spool, first[2:], cutoff)  # exactly at the cutoff: not before it, kept
    spool.start_new_period(RESET, expected_checkouts=3)
    second = [checkout(spool, n) for n in (4, 5, 6)]
    # Handed over "long ago" (a clock set wrong): the open period is never purged anyway.
    hand_over(spool, second[:2], cutoff - timedelta(days=300))
    exports = spool.exports()
    now = RESET + timedelta(days=30)

    removed = spool.purge_archived(cutoff, now)

    assert [(p.id, n) for p, n in removed] == [(1, 2)]
    assert [c.seq for c in spool.checkouts()] == [3, 4, 5, 6]
    old, current = spool.periods()
    assert (old.purged, old.purged_at, old.checkouts, old.archived) == (2, now, 1, 3)
    assert (current.purged, current.purged_at, current.checkouts) == (0, None, 3)
    # The export records stay; only the links to the removed checkouts go.
    assert spool.exports() == exports
    assert spool.exports_of(txn_ids(first[:2])) == {}
    assert set(spool.exports_of(txn_ids([first[2], *second]))) == {
        first[2].txn_id,
        second[0].txn_id,
        second[1].txn_id,
    }
    with direct(spool.path) as conn:
        dangling = conn.execute(
            "SELECT count(*) FROM export_checkouts WHERE checkout_id NOT IN "
            "(SELECT id FROM checkouts)"
        ).fetchone()
        links = conn.execute("SELECT count(*) FROM export_checkouts").fetchone()
    assert (dangling, links) == ((0,), (3,))


def test_purging_never_touches_the_open_period(spool: Spool) -> None:
    _, second = archived_spool(spool)
    hand_over(spool, second, datetime(2020, 1, 1, tzinfo=TZ))
    far_future = datetime(2100, 1, 1, tzinfo=TZ)

    removed = spool.purge_archived(far_future, far_future)

    assert [(p.id, n) for p, n in removed] == [(1, 3)]
    assert [c.txn_id for c in spool.checkouts()] == txn_ids(second)
    assert spool.current_period().checkouts == 2
    assert spool.current_period().purged == 0


def test_purging_again_adds_to_the_count_and_finds_nothing_twice(spool: Spool) -> None:
    first = [checkout(spool, n) for n in (1, 2, 3)]
    hand_over(spool, first[:1], datetime(2026, 11, 3, tzinfo=TZ))
    hand_over(spool, first[1:], datetime(2026, 11, 10, tzinfo=TZ))
    spool.start_new_period(RESET, expected_checkouts=3)
    early, late = datetime(2026, 11, 5, tzinfo=TZ), datetime(2026, 11, 11, tzinfo=TZ)
    first_purge, second_purge = RESET + timedelta(days=1), RESET + timedelta(days=2)

    def purge(cutoff: datetime, now: datetime) -> list[int]:
        return [n for _, n in spool.purge_archived(cutoff, now)]

    assert purge(early, first_purge) == [1]
    assert purge(early, second_purge) == []
    assert spool.periods()[0].purged_at == first_purge  # nothing purged: not stamped again
    assert purge(late, second_purge) == [2]

    old = spool.periods()[0]
    assert (old.purged, old.purged_at, old.checkouts, old.archived) == (3, second_purge, 0, 3)
    assert list(spool.checkouts()) == []


def test_a_pending_checkout_still_cannot_be_deleted_with_periods(spool: Spool) -> None:
    archived_spool(spool)
    with direct(spool.path) as conn:
        with pytest.raises(sqlite3.DatabaseError, match="cannot be deleted"):
            conn.execute("DELETE FROM checkouts WHERE seq = 5")
        assert conn.execute("SELECT count(*) FROM checkouts").fetchone() == (5,)
