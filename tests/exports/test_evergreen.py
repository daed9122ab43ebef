"""Evergreen's offline transactions (`pending.xacts`, FORMATS.md section 3), field by field.

What Evergreen's web staff client writes (Open-ILS/web/js/ui/default/staff/offline.js) and
offline.pl reads: one JSON object a line; `timestamp` integer epoch seconds, `type`,
`delta` 0; for a checkout `patron_barcode`, `barcode`, `due_date` and `checkout_time` as
JavaScript's toISOString() prints them. Expected due dates were worked out by hand: a due
date is sent as 10:00 UTC on that date (why: kiosk/exports/formats.py; whether Evergreen keeps
it in every zone: test_evergreen_due_dates.py). New York is UTC-5 in winter (EST) and UTC-4
in summer (EDT); daylight saving time ended on 2026-11-01 and starts again on 2027-03-14.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kiosk.domain.checkout import Checkout, SpooledCheckout
from kiosk.errors import ExportError
from kiosk.exports.formats import FORMATS, RENDERERS, render, render_evergreen
from kiosk.exports.writer import export_spool
from kiosk.storage.spool import Spool
from tests.conftest import item, patron

TZ = ZoneInfo("America/New_York")
TOISOSTRING = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
FIELDS = ["timestamp", "type", "delta", "patron_barcode", "barcode", "due_date", "checkout_time"]


def checkout(
    seq: int,
    occurred_at: datetime,
    due: date,
    *,
    patron_barcode: str | None = None,
) -> SpooledCheckout:
    return SpooledCheckout(
        Checkout(
            session_id="5e55e55e-0000-4000-8000-000000000001",
            patron=patron_barcode or patron(1),
            item=item(seq),
            due_date=due,
            special_due=False,
            occurred_at=occurred_at,
        ),
        kiosk_id="TEST-SC01",
        txn_id=f"00000000-0000-4000-8000-{seq:012d}",
        seq=seq,
    )


def records(text: str) -> list[dict[str, object]]:
    """One JSON object a line, every line ended by a newline (not splitlines(): it would
    also split on U+2028, which JSON leaves as it is)."""
    lines = text.split("\n")
    assert lines[-1] == "", "the last line has no line end"
    parsed = [json.loads(line) for line in lines[:-1]]
    assert all(isinstance(p, dict) for p in parsed)
    return parsed


def rendered(checkouts: list[SpooledCheckout]) -> str:
    return "".join(render_evergreen(checkouts, TZ))


# Field by field --------------------------------------------------------------------------


def test_a_checkout_byte_for_byte_as_evergreen_s_client_writes_it() -> None:
    c = checkout(1, datetime(2026, 11, 22, 14, 5, 9, 450_000, tzinfo=TZ), date(2026, 12, 13))

    # 14:05:09.450 EST is 19:05:09.450 UTC, epoch 1795374309; due 2026-12-13 05:00 EST.
    assert rendered([c]) == (
        '{"timestamp":1795374309,"type":"checkout","delta":0,'
        f'"patron_barcode":"{patron(1)}","barcode":"{item(1)}",'
        '"due_date":"2026-12-13T10:00:00.000Z",'
        '"checkout_time":"2026-11-22T19:05:09.450Z"}\n'
    )


def test_every_field_has_evergreen_s_type_and_form() -> None:
    moment = datetime(2026, 11, 22, 14, 5, 9, 999_999, tzinfo=TZ)
    [record] = records(rendered([checkout(7, moment, date(2026, 12, 13))]))

    assert list(record) == FIELDS
    timestamp = record["timestamp"]
    assert type(timestamp) is int  # not a float, not a string
    assert timestamp == int(moment.timestamp()) == 1795374309  # whole seconds, cut not rounded
    assert record["type"] == "checkout"
    assert type(record["delta"]) is int and record["delta"] == 0
    assert record["patron_barcode"] == patron(1)
    assert record["barcode"] == item(7)
    due = record["due_date"]
    assert isinstance(due, str) and TOISOSTRING.fullmatch(due), due
    assert due == "2026-12-13T10:00:00.000Z"
    checkout_time = record["checkout_time"]
    assert isinstance(checkout_time, str) and TOISOSTRING.fullmatch(checkout_time)
    assert datetime.fromisoformat(checkout_time) == moment.replace(microsecond=999_000)


def test_the_due_date_is_10_utc_on_the_due_date_early_morning_in_new_york() -> None:
    c = checkout(1, datetime(2026, 11, 22, 10, 0, tzinfo=TZ), date(2026, 12, 13))
    [record] = records(rendered([c]))
    due = datetime.fromisoformat(str(record["due_date"]))

    assert due.utcoffset() == timedelta(0)
    local = due.astimezone(TZ)
    assert (local.date(), local.hour, local.minute, local.second) == (date(2026, 12, 13), 5, 0, 0)


@pytest.mark.parametrize(
    ("occurred", "due", "expected"),
    [
        # The instant does not move with New York's clock: 05:00 EST, 06:00 EDT, and on the
        # days of the changes 05:00 EST (after 2 am EDT) and 06:00 EDT (after 2 am EST).
        (datetime(2026, 10, 20, 10, 0), date(2026, 11, 10), "2026-11-10T10:00:00.000Z"),
        (datetime(2026, 10, 20, 10, 0), date(2026, 11, 1), "2026-11-01T10:00:00.000Z"),
        (datetime(2026, 10, 20, 10, 0), date(2026, 10, 31), "2026-10-31T10:00:00.000Z"),
        (datetime(2027, 2, 25, 10, 0), date(2027, 3, 15), "2027-03-15T10:00:00.000Z"),
        (datetime(2027, 2, 25, 10, 0), date(2027, 3, 14), "2027-03-14T10:00:00.000Z"),
    ],
)
def test_a_due_date_across_a_daylight_saving_change(
    occurred: datetime, due: date, expected: str
) -> None:
    [record] = records(rendered([checkout(1, occurred.replace(tzinfo=TZ), due)]))
    assert record["due_date"] == expected
    assert datetime.fromisoformat(expected).astimezone(TZ).date() == due


def test_a_checkout_read_back_with_a_fixed_offset_still_gets_the_library_s_date() -> None:
    """The spool gives occurred_at back with a fixed offset (-04:00 in October); the due date
    in November is read in the library's zone (-05:00), not at that offset."""
    summer = timezone(timedelta(hours=-4))
    c = checkout(1, datetime(2026, 10, 20, 10, 0, tzinfo=summer), date(2026, 11, 10))

    [record] = records(rendered([c]))

    assert record["due_date"] == "2026-11-10T10:00:00.000Z"


def test_without_the_library_s_zone_a_fixed_offset_is_refused_not_guessed() -> None:
    summer = timezone(timedelta(hours=-4))
    c = checkout(1, datetime(2026, 10, 20, 10, 0, tzinfo=summer), date(2026, 11, 10))

    with pytest.raises(ValueError, match="time zone"):
        "".join(render_evergreen([c]))
    # A checkout that carries the real zone is enough on its own.
    own = checkout(1, datetime(2026, 10, 20, 10, 0, tzinfo=TZ), date(2026, 11, 10))
    [record] = records("".join(render_evergreen([own])))
    assert record["due_date"] == "2026-11-10T10:00:00.000Z"


def test_a_day_whose_midnight_does_not_exist_is_still_that_day() -> None:
    """Santiago de Chile moved its clocks from 00:00 to 01:00 on 2026-09-06: 10:00 UTC is
    07:00 -03:00 there, on the due date."""
    santiago = ZoneInfo("America/Santiago")
    c = checkout(1, datetime(2026, 8, 20, 10, 0, tzinfo=santiago), date(2026, 9, 6))

    [record] = records("".join(render_evergreen([c], santiago)))

    assert record["due_date"] == "2026-09-06T10:00:00.000Z"


# The file as a whole ----------------------------------------------------------------------


def test_one_object_a_line_in_the_order_given() -> None:
    checkouts = [
        checkout(n, datetime(2026, 11, 22, 10, n, tzinfo=TZ), date(2026, 12, 13))
        for n in range(1, 6)
    ]
    text = rendered(checkouts)

    assert text.count("\n") == 5
    parsed = records(text)
    assert [r["barcode"] for r in parsed] == [item(n) for n in range(1, 6)]
    assert [r["timestamp"] for r in parsed] == [
        int(c.checkout.occurred_at.timestamp()) for c in checkouts
    ]


def test_an_empty_list_is_an_empty_file() -> None:
    assert rendered([]) == ""


def test_a_non_ascii_patron_barcode_round_trips_as_utf_8() -> None:
    card = "BIBLIOTECA-Ñandú-ÅÄÖ-図書館"
    c = checkout(
        1, datetime(2026, 11, 22, 10, 0, tzinfo=TZ), date(2026, 12, 13), patron_barcode=card
    )

    text = rendered([c])

    [record] = records(text)
    assert record["patron_barcode"] == card
    assert card in text  # written as JSON.stringify does, not as \\u escapes
    assert json.loads(text.encode("utf-8").decode("utf-8"))["patron_barcode"] == card


def test_a_barcode_with_a_quote_or_a_line_separator_stays_on_its_line() -> None:
    card = 'A"B\\C\u2028D'
    c = checkout(
        1, datetime(2026, 11, 22, 10, 0, tzinfo=TZ), date(2026, 12, 13), patron_barcode=card
    )

    text = rendered([c])

    assert text.count("\n") == 1
    [record] = records(text)
    assert record["patron_barcode"] == card


def test_evergreen_is_an_export_format() -> None:
    assert "evergreen" in FORMATS
    assert RENDERERS["evergreen"] is render_evergreen
    c = checkout(1, datetime(2026, 10, 20, 10, 0, tzinfo=UTC), date(2026, 11, 10))
    [record] = records("".join(render("evergreen", [c], tz=TZ)))
    assert record["due_date"] == "2026-11-10T10:00:00.000Z"


# From a real spool ------------------------------------------------------------------------


def spool_with_an_october_checkout(tmp_path: Path) -> Spool:
    spool = Spool.open(tmp_path / "data", create=True)
    spool.record_checkout(
        Checkout(
            session_id="session-1",
            patron=patron(1),
            item=item(1),
            due_date=date(2026, 11, 10),
            special_due=False,
            occurred_at=datetime(2026, 10, 20, 10, 0, tzinfo=TZ),
        ),
        "TEST-SC01",
        TZ,
    )
    return spool


def test_a_spool_export_uses_the_library_s_zone_across_daylight_saving(tmp_path: Path) -> None:
    spool = spool_with_an_october_checkout(tmp_path)
    out = tmp_path / "out" / "pending.xacts"
    out.parent.mkdir()
    try:
        result = export_spool(
            spool, "evergreen", out, include_all=False, now=datetime.now(UTC), tz=TZ
        )
        assert result.record is not None and result.record.format == "evergreen"
        assert spool.summary().pending == 0
    finally:
        spool.close()

    [record] = records(out.read_text(encoding="utf-8"))
    assert record["due_date"] == "2026-11-10T10:00:00.000Z"
    assert record["checkout_time"] == "2026-10-20T14:00:00.000Z"
    assert record["timestamp"] == int(datetime(2026, 10, 20, 14, 0, tzinfo=UTC).timestamp())
    assert out.stat().st_mode & 0o777 == 0o600


def test_a_spool_export_without_the_zone_writes_nothing_and_hands_nothing_over(
    tmp_path: Path,
) -> None:
    spool = spool_with_an_october_checkout(tmp_path)
    out = tmp_path / "pending.xacts"
    try:
        with pytest.raises(ExportError, match="time zone"):
            export_spool(spool, "evergreen", out, include_all=False, now=datetime.now(UTC))
        assert spool.summary().pending == 1
        assert spool.exports() == []
    finally:
        spool.close()
    assert [p.name for p in tmp_path.iterdir()] == ["data"]  # no file, no temporary file
