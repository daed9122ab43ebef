"""Export formats, byte for byte: Koha's .koc (FORMATS.md section 2), CSV and JSON lines."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from kiosk import __version__
from kiosk.domain.checkout import Checkout, SpooledCheckout
from kiosk.exports.formats import (
    FORMATS,
    RENDERERS,
    koc_timestamp,
    render_csv,
    render_jsonl,
    render_koc,
)
from tests.conftest import item, patron

TZ = ZoneInfo("America/New_York")
KOC_HEADER = f"Version=1.0\tGenerator=offline-kiosk\tGeneratorVersion={__version__}\n"
JSONL_FIELDS = [
    "txn_id",
    "kiosk_id",
    "seq",
    "occurred_at",
    "patron",
    "item",
    "due_date",
    "special_due",
    "session_id",
]


def checkout(
    seq: int,
    occurred_at: datetime,
    *,
    patron_barcode: str | None = None,
    item_barcode: str | None = None,
    special_due: bool = False,
    handed_over_at: datetime | None = None,
) -> SpooledCheckout:
    return SpooledCheckout(
        Checkout(
            session_id="5e55e55e-0000-4000-8000-000000000001",
            patron=patron_barcode or patron(1),
            item=item_barcode or item(seq),
            due_date=date(2026, 12, 11),
            special_due=special_due,
            occurred_at=occurred_at,
        ),
        kiosk_id="TEST-SC01",
        txn_id=f"00000000-0000-4000-8000-{seq:012d}",
        seq=seq,
        handed_over_at=handed_over_at,
    )


CHECKOUTS = [
    checkout(1, datetime(2026, 11, 20, 10, 15, 3, 7_000, tzinfo=TZ)),
    checkout(2, datetime(2026, 11, 20, 10, 15, 9, 450_000, tzinfo=TZ), special_due=True),
    checkout(3, datetime(2026, 11, 20, 16, 2, 0, 0, tzinfo=TZ), patron_barcode=patron(2)),
]


def rendered(lines: object) -> str:
    return "".join(lines)  # type: ignore[arg-type]


# Koha .koc ----------------------------------------------------------------------------------


def test_koc_file_byte_for_byte() -> None:
    expected = (
        KOC_HEADER
        + f"2026-11-20 10:15:03 007\tissue\t{patron(1)}\t{item(1)}\n"
        + f"2026-11-20 10:15:09 450\tissue\t{patron(1)}\t{item(2)}\n"
        + f"2026-11-20 16:02:00 000\tissue\t{patron(2)}\t{item(3)}\n"
    )
    assert rendered(render_koc(CHECKOUTS)) == expected


def test_koc_header_is_tab_separated_key_value_pairs_without_equals_in_values() -> None:
    header = next(render_koc([]))
    assert header.endswith("\n")
    pairs = [pair.split("=") for pair in header.rstrip("\n").split("\t")]
    assert all(len(pair) == 2 for pair in pairs)  # no '=' inside a value
    assert dict(pairs) == {
        "Version": "1.0",
        "Generator": "offline-kiosk",
        "GeneratorVersion": __version__,
    }


def test_an_empty_koc_file_is_only_the_header() -> None:
    assert rendered(render_koc([])) == KOC_HEADER


def test_koc_lines_keep_the_order_they_are_given() -> None:
    lines = rendered(render_koc(CHECKOUTS)).splitlines()[1:]
    assert [line.split("\t")[3] for line in lines] == [item(1), item(2), item(3)]


@pytest.mark.parametrize(
    ("microsecond", "millis"),
    [(0, "000"), (999, "000"), (1_000, "001"), (45_000, "045"), (450_000, "450"), (999_999, "999")],
)
def test_koc_milliseconds_are_three_digits_cut_not_rounded(microsecond: int, millis: str) -> None:
    moment = datetime(2026, 1, 2, 3, 4, 59, microsecond, tzinfo=TZ)
    # Rounding 59.999999 up would need to carry into the minute; Koha drops the milliseconds.
    assert koc_timestamp(moment) == f"2026-01-02 03:04:59 {millis}"


def test_koc_timestamps_are_the_wall_clock_time_of_occurred_at() -> None:
    summer = datetime(2026, 7, 1, 9, 5, 1, tzinfo=TZ)  # EDT, -04:00
    winter = datetime(2026, 1, 1, 9, 5, 1, tzinfo=TZ)  # EST, -05:00
    assert koc_timestamp(summer) == "2026-07-01 09:05:01 000"
    assert koc_timestamp(winter) == "2026-01-01 09:05:01 000"
    # No zone is written: the line has exactly four tab-separated fields.
    line = rendered(render_koc([checkout(1, summer)])).splitlines()[1]
    assert line.split("\t") == ["2026-07-01 09:05:01 000", "issue", patron(1), item(1)]


@pytest.mark.parametrize("bad", ["\t", "\n", "\r"], ids=["tab", "newline", "cr"])
@pytest.mark.parametrize("field", ["patron", "item"])
def test_a_barcode_that_would_break_a_koc_line_is_refused(field: str, bad: str) -> None:
    barcode = f"3123{bad}4000000016"
    broken = checkout(
        1,
        datetime(2026, 11, 20, 10, 0, tzinfo=TZ),
        patron_barcode=barcode if field == "patron" else None,
        item_barcode=barcode if field == "item" else None,
    )
    with pytest.raises(ValueError, match=r"\.koc"):
        rendered(render_koc([CHECKOUTS[0], broken]))


# CSV ----------------------------------------------------------------------------------------


def test_csv_header_and_columns() -> None:
    text = rendered(render_csv(CHECKOUTS))

    lines = text.split("\r\n")
    assert lines[0] == ",".join(JSONL_FIELDS)
    assert lines[-1] == ""  # every record ends with CRLF
    assert len(lines) == 1 + len(CHECKOUTS) + 1
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert rows[0] == {
        "txn_id": "00000000-0000-4000-8000-000000000001",
        "kiosk_id": "TEST-SC01",
        "seq": "1",
        "occurred_at": "2026-11-20T10:15:03.007-05:00",
        "patron": patron(1),
        "item": item(1),
        "due_date": "2026-12-11",
        "special_due": "no",
        "session_id": "5e55e55e-0000-4000-8000-000000000001",
    }
    assert [r["special_due"] for r in rows] == ["no", "yes", "no"]
    assert [r["seq"] for r in rows] == ["1", "2", "3"]


def test_an_empty_csv_is_only_the_header() -> None:
    assert rendered(render_csv([])) == ",".join(JSONL_FIELDS) + "\r\n"


def test_csv_quotes_a_value_with_a_comma() -> None:
    odd = checkout(1, datetime(2026, 11, 20, 10, 0, tzinfo=TZ), item_barcode="A,B")
    rows = list(csv.DictReader(io.StringIO(rendered(render_csv([odd])), newline="")))
    assert rows[0]["item"] == "A,B"


# JSON lines ---------------------------------------------------------------------------------


def test_jsonl_has_exactly_the_documented_fields() -> None:
    lines = rendered(render_jsonl(CHECKOUTS)).splitlines()

    assert len(lines) == len(CHECKOUTS)
    records = [json.loads(line) for line in lines]
    for record in records:
        assert list(record) == JSONL_FIELDS
    assert records[1] == {
        "txn_id": "00000000-0000-4000-8000-000000000002",
        "kiosk_id": "TEST-SC01",
        "seq": 2,
        "occurred_at": "2026-11-20T10:15:09.450-05:00",
        "patron": patron(1),
        "item": item(2),
        "due_date": "2026-12-11",
        "special_due": True,
        "session_id": "5e55e55e-0000-4000-8000-000000000001",
    }
    assert records[0]["special_due"] is False


def test_jsonl_occurred_at_keeps_its_offset_and_round_trips() -> None:
    utc = checkout(1, datetime(2026, 11, 20, 15, 0, 0, 123_456, tzinfo=UTC))
    record = json.loads(rendered(render_jsonl([utc])))
    assert record["occurred_at"] == "2026-11-20T15:00:00.123+00:00"
    assert datetime.fromisoformat(record["occurred_at"]) == datetime(
        2026, 11, 20, 15, 0, 0, 123_000, tzinfo=UTC
    )


def test_jsonl_is_one_object_a_line_and_ends_with_a_newline() -> None:
    text = rendered(render_jsonl(CHECKOUTS))
    assert text.endswith("\n")
    assert text.count("\n") == len(CHECKOUTS)


def test_every_format_has_a_renderer() -> None:
    assert set(RENDERERS) == set(FORMATS) == {"koc", "csv", "jsonl", "evergreen"}
