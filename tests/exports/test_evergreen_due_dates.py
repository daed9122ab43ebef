"""Evergreen keeps the due date the patron was told, whatever the zones (issue 16).

Evergreen moves a day-granular due date to 23:59:59 of the date it reads in the library's
zone: `lib.timezone`, else the server's own zone (FORMATS.md section 3, played by
tests/exports/fake_evergreen.py). The kiosk cannot know that zone, so every combination of
kiosk zone x server zone x lib.timezone (or none) below must keep the told date, on days on
both sides of every daylight-saving change of the year in both hemispheres.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from kiosk.domain.checkout import Checkout, SpooledCheckout
from kiosk.exports.formats import evergreen_due_instant, render_evergreen
from tests.conftest import item, patron
from tests.exports.fake_evergreen import import_xacts

ZONES = [
    ZoneInfo(name)
    for name in (
        "America/Los_Angeles",
        "America/Chicago",
        "America/New_York",
        "UTC",
        "Europe/Berlin",
        "Australia/Sydney",
        "Pacific/Auckland",
        "Pacific/Honolulu",
    )
]
# Each 2026 clock change of these zones, with the days before and after it.
CHANGES = [
    date(2026, 3, 8),  # United States: summer time begins
    date(2026, 3, 29),  # Europe: summer time begins
    date(2026, 4, 5),  # Sydney and Auckland: summer time ends
    date(2026, 9, 27),  # Auckland: summer time begins
    date(2026, 10, 4),  # Sydney: summer time begins
    date(2026, 10, 25),  # Europe: summer time ends
    date(2026, 11, 1),  # United States: summer time ends
]
DUE_DATES = sorted(
    {day + timedelta(days=shift) for day in CHANGES for shift in (-1, 0, 1)}
    | {date(2026, 1, 15), date(2026, 7, 15), date(2026, 12, 31), date(2027, 1, 1)}
)


def checkouts(kiosk: ZoneInfo) -> list[SpooledCheckout]:
    """One checkout per due date, each lent two weeks before it at 16:45 in the kiosk's zone."""
    return [
        SpooledCheckout(
            Checkout(
                session_id="5e55e55e-0000-4000-8000-000000000001",
                patron=patron(1),
                item=item(n),
                due_date=due,
                special_due=False,
                occurred_at=datetime.combine(due - timedelta(days=14), time(16, 45), tzinfo=kiosk),
            ),
            kiosk_id="TEST-SC01",
            txn_id=f"00000000-0000-4000-8000-{n:012d}",
            seq=n,
        )
        for n, due in enumerate(DUE_DATES, start=1)
    ]


@pytest.mark.parametrize("kiosk", ZONES, ids=str)
def test_evergreen_keeps_the_told_date_in_every_zone_combination(kiosk: ZoneInfo) -> None:
    lent = checkouts(kiosk)
    text = "".join(render_evergreen(lent, kiosk))
    told = {c.checkout.item: c.checkout.due_date for c in lent}

    wrong = []
    for server in ZONES:
        for library in [None, *ZONES]:
            for loan in import_xacts(text, server_zone=server, lib_timezone=library):
                if loan.due.date() != told[loan.barcode]:
                    wrong.append(f"server {server}, lib.timezone {library}: {loan.due}")
    assert wrong == [], f"{len(wrong)} loans due on another day, e.g. {wrong[:3]}"


@pytest.mark.parametrize(
    ("kiosk", "server", "library"),
    [
        # The four cases of the issue: lib.timezone the kiosk's zone; server in UTC and no
        # lib.timezone; the server, or lib.timezone, one zone west.
        ("America/New_York", "America/New_York", "America/New_York"),
        ("America/New_York", "UTC", None),
        ("America/New_York", "America/Chicago", None),
        ("America/New_York", "UTC", "America/Los_Angeles"),
        # One zone east; the far side of the world; and Auckland in summer (UTC+13), where
        # noon local time (23:00 UTC the day before) would be read a day early in UTC.
        ("America/Chicago", "America/New_York", None),
        ("Australia/Sydney", "America/Chicago", None),
        ("Pacific/Auckland", "UTC", None),
        ("Pacific/Honolulu", "UTC", "Pacific/Auckland"),
    ],
)
def test_the_issue_s_cases_for_a_loan_due_on_new_year_s_eve(
    kiosk: str, server: str, library: str | None
) -> None:
    [c] = [c for c in checkouts(ZoneInfo(kiosk)) if c.checkout.due_date == date(2026, 12, 31)]
    text = "".join(render_evergreen([c], ZoneInfo(kiosk)))

    [loan] = import_xacts(
        text,
        server_zone=ZoneInfo(server),
        lib_timezone=ZoneInfo(library) if library else None,
    )

    assert loan.due.date() == date(2026, 12, 31)
    assert loan.due.timetz() == time(23, 59, 59, tzinfo=loan.due.tzinfo)


def test_the_due_instant_is_10_utc_on_the_due_date() -> None:
    for zone in ZONES:
        for due in DUE_DATES:
            assert evergreen_due_instant(due, zone) == datetime.combine(due, time(10), UTC)


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        # West of UTC-10, 10:00 UTC is still the day before: the due date's first moment.
        ("Pacific/Pago_Pago", datetime(2026, 12, 31, 11, 0, tzinfo=UTC)),  # UTC-11
        # At UTC+14 it is the day after already: the due date's last whole second.
        ("Pacific/Kiritimati", datetime(2026, 12, 31, 9, 59, 59, tzinfo=UTC)),
    ],
)
def test_a_kiosk_beyond_utc_minus_10_or_plus_14_still_reads_its_own_date(
    zone: str, expected: datetime
) -> None:
    kiosk = ZoneInfo(zone)
    instant = evergreen_due_instant(date(2026, 12, 31), kiosk)

    assert instant == expected
    assert instant.astimezone(kiosk).date() == date(2026, 12, 31)
    assert instant.astimezone(UTC).date() == date(2026, 12, 31)


def test_where_it_fails_a_library_zone_west_of_utc_minus_10_not_the_kiosk_s() -> None:
    """The documented limit: no instant is the same date from UTC-12 to UTC+14. A New York
    kiosk's loans read in Pago Pago (UTC-11) land a day early."""
    [c] = [
        c
        for c in checkouts(ZoneInfo("America/New_York"))
        if c.checkout.due_date == date(2026, 7, 15)
    ]
    text = "".join(render_evergreen([c], ZoneInfo("America/New_York")))

    [loan] = import_xacts(
        text, server_zone=ZoneInfo("UTC"), lib_timezone=ZoneInfo("Pacific/Pago_Pago")
    )

    assert loan.due.date() == date(2026, 7, 14)


def test_one_file_has_one_delta_on_every_line() -> None:
    """Evergreen takes the clock correction once per uploaded file, not per line."""
    text = "".join(render_evergreen(checkouts(ZoneInfo("Europe/Berlin"))))
    deltas = {json.loads(line)["delta"] for line in text.splitlines()}

    assert deltas == {0}
    loans = import_xacts(text, server_zone=ZoneInfo("UTC"), lib_timezone=None)
    assert [loan.sort_key for loan in loans] == sorted(loan.sort_key for loan in loans)
