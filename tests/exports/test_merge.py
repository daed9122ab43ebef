"""Merging several kiosks' CSV and JSON lines exports: every checkout once, in time order;
the same checkout in two files kept once, two files that disagree about one refused; only our
own exports read, strictly; warnings for kiosk clocks that look wrong.

The files are real files written by the kiosk's own renderers, read back from disk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kiosk.domain.checkout import Checkout, SpooledCheckout
from kiosk.errors import MergeError
from kiosk.exports.formats import (
    render_csv,
    render_evergreen,
    render_jsonl,
    render_koc,
)
from kiosk.exports.merge import (
    ClockWarning,
    Merged,
    SourceRow,
    clock_warnings,
    merge_exports,
    parse_export,
)
from tests.conftest import item, patron

TZ = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
SKEW = timedelta(hours=12)
DAY = datetime(2026, 11, 20, 0, 0, tzinfo=TZ)


def checkout(
    kiosk_id: str,
    seq: int,
    occurred_at: datetime,
    *,
    item_serial: int,
    patron_serial: int = 1,
    special_due: bool = False,
) -> SpooledCheckout:
    # Each kiosk's txn_ids differ by a digit for its id, so they never collide by accident.
    prefix = f"{sum(map(ord, kiosk_id)) % 10000:04d}"
    return SpooledCheckout(
        Checkout(
            session_id=f"5e55e55e-0000-4000-8000-{patron_serial:012d}",
            patron=patron(patron_serial),
            item=item(item_serial),
            due_date=(occurred_at + timedelta(days=21)).date(),
            special_due=special_due,
            occurred_at=occurred_at,
        ),
        kiosk_id=kiosk_id,
        txn_id=f"{prefix}0000-0000-4000-8000-{seq:012d}",
        seq=seq,
    )


Renderer = Callable[[Iterable[SpooledCheckout]], Iterator[str]]


def write(path: Path, render: Renderer, rows: list[SpooledCheckout]) -> Path:
    path.write_text("".join(render(rows)), encoding="utf-8", newline="")
    return path


def read(*paths: Path) -> list[list[SourceRow]]:
    return [parse_export(path.name, path.read_bytes()) for path in paths]


def merged(*paths: Path, now: datetime = NOW) -> Merged:
    return merge_exports(read(*paths), now=now, max_skew=SKEW)


# Three kiosks: CSV from one, JSON lines from two -------------------------------------------

MAIN = [
    checkout("MAIN-SC01", 1, DAY.replace(hour=10, minute=0), item_serial=1),
    checkout("MAIN-SC01", 2, DAY.replace(hour=10, minute=20), item_serial=2, special_due=True),
    checkout("MAIN-SC01", 4, DAY.replace(hour=14, minute=0), item_serial=3, patron_serial=2),
]
EAST = [
    checkout("EAST-SC02", 1, DAY.replace(hour=10, minute=10), item_serial=11, patron_serial=3),
    checkout("EAST-SC02", 2, DAY.replace(hour=15, minute=30), item_serial=12, patron_serial=8),
]
# The West kiosk's clock was three days behind: its morning shows up on the 17th.
WEST = [
    checkout("WEST-SC03", 1, DAY.replace(hour=9) - timedelta(days=3), item_serial=21),
    checkout("WEST-SC03", 2, DAY.replace(hour=11) - timedelta(days=3), item_serial=22),
]


@pytest.fixture
def three_kiosks(tmp_path: Path) -> list[Path]:
    """MAIN as CSV; EAST as JSON lines; WEST as JSON lines that also carry one of MAIN's
    checkouts (the same checkout, written by another renderer)."""
    return [
        write(tmp_path / "main.csv", render_csv, MAIN),
        write(tmp_path / "east.jsonl", render_jsonl, EAST),
        write(tmp_path / "west.jsonl", render_jsonl, [*WEST, MAIN[1]]),
    ]


def test_three_kiosks_merge_into_time_order_with_the_duplicate_once(
    three_kiosks: list[Path],
) -> None:
    result = merged(*three_kiosks)

    assert [(c.kiosk_id, c.seq) for c in result.checkouts] == [
        ("WEST-SC03", 1),
        ("WEST-SC03", 2),
        ("MAIN-SC01", 1),
        ("EAST-SC02", 1),
        ("MAIN-SC01", 2),
        ("MAIN-SC01", 4),
        ("EAST-SC02", 2),
    ]
    assert result.checkouts == tuple(
        sorted([*MAIN, *EAST, *WEST], key=lambda c: c.checkout.occurred_at)
    )
    assert result.duplicates == 1
    assert result.kiosk_ids == ("EAST-SC02", "MAIN-SC01", "WEST-SC03")


def test_the_kiosk_three_days_off_is_warned_about_and_only_it(three_kiosks: list[Path]) -> None:
    result = merged(*three_kiosks)

    assert [(w.kind, w.kiosk_ids) for w in result.warnings] == [("skew", ("WEST-SC03",))]
    message = result.warnings[0].message
    assert message.startswith("WEST-SC03: ")
    assert "2026-11-17T09:00-05:00 to 2026-11-17T11:00-05:00" in message
    # 11:00 on the 17th to 10:00 on the 20th: 71 hours.
    assert "lie at least 3.0 days from every other kiosk's" in message


def test_the_duplicate_is_the_same_checkout_whichever_file_it_came_from(
    three_kiosks: list[Path],
) -> None:
    result = merged(*reversed(three_kiosks))

    assert result.duplicates == 1
    assert [c for c in result.checkouts if c.txn_id == MAIN[1].txn_id] == [MAIN[1]]
    assert MAIN[1].checkout.special_due  # "yes" in the CSV, true in the JSON: the same value


def test_a_merged_file_can_be_merged_again_and_reads_the_same(
    three_kiosks: list[Path], tmp_path: Path
) -> None:
    first = merged(*three_kiosks)
    for name, render in (("all.csv", render_csv), ("all.jsonl", render_jsonl)):
        again = merged(write(tmp_path / name, render, list(first.checkouts)))
        assert again.checkouts == first.checkouts, name
        assert again.duplicates == 0


def test_the_same_instant_written_with_another_offset_sorts_by_the_instant(
    tmp_path: Path,
) -> None:
    # 10:30 in New York is 15:30 UTC: later than 15:00 UTC although "10:30" < "15:00".
    new_york = checkout("MAIN-SC01", 1, datetime(2026, 11, 20, 10, 30, tzinfo=TZ), item_serial=1)
    utc = checkout("EAST-SC02", 1, datetime(2026, 11, 20, 15, 0, tzinfo=UTC), item_serial=2)

    result = merged(
        write(tmp_path / "a.jsonl", render_jsonl, [new_york]),
        write(tmp_path / "b.jsonl", render_jsonl, [utc]),
    )

    assert [c.kiosk_id for c in result.checkouts] == ["EAST-SC02", "MAIN-SC01"]


def test_the_same_checkout_twice_in_one_file_is_kept_once(tmp_path: Path) -> None:
    result = merged(write(tmp_path / "twice.jsonl", render_jsonl, [MAIN[0], MAIN[0], MAIN[1]]))

    assert result.checkouts == (MAIN[0], MAIN[1])
    assert result.duplicates == 1


# Refused: nothing is merged ----------------------------------------------------------------


def test_the_same_txn_id_with_different_content_refuses_the_whole_merge(
    tmp_path: Path,
) -> None:
    changed = replace(MAIN[1], checkout=replace(MAIN[1].checkout, item=item(99)))
    good = write(tmp_path / "main.csv", render_csv, MAIN)
    other = write(tmp_path / "copy.jsonl", render_jsonl, [EAST[0], changed])

    with pytest.raises(MergeError) as refused:
        merged(good, other)

    text = str(refused.value)
    assert MAIN[1].txn_id in text
    assert "main.csv line 3" in text  # the header is line 1
    assert "copy.jsonl line 2" in text
    assert "different item" in text
    assert "nothing was merged" in text
    assert refused.value.exit_code == 65


def test_a_different_offset_for_the_same_checkout_is_a_difference(tmp_path: Path) -> None:
    lent = MAIN[0].checkout
    moved = replace(MAIN[0], checkout=replace(lent, occurred_at=lent.occurred_at.astimezone(UTC)))
    with pytest.raises(MergeError, match="different occurred_at"):
        merged(
            write(tmp_path / "a.jsonl", render_jsonl, [MAIN[0]]),
            write(tmp_path / "b.jsonl", render_jsonl, [moved]),
        )


def test_a_koc_file_cannot_be_merged_and_says_why(tmp_path: Path) -> None:
    koc = write(tmp_path / "main.koc", render_koc, MAIN)

    with pytest.raises(MergeError) as refused:
        read(koc)

    text = str(refused.value)
    assert text.startswith("main.koc is a Koha .koc file: it has no txn_id")
    assert "CSV or JSON lines" in text
    assert "\n" not in text


def test_an_evergreen_file_cannot_be_merged_and_says_why(tmp_path: Path) -> None:
    path = tmp_path / "pending.xacts"
    path.write_text("".join(render_evergreen(MAIN, TZ)), encoding="utf-8")

    with pytest.raises(MergeError, match=r"^pending.xacts is an Evergreen pending.xacts file"):
        read(path)


def csv_text(rows: list[SpooledCheckout] = MAIN) -> str:
    return "".join(render_csv(rows))


def jsonl_text(rows: list[SpooledCheckout] = MAIN) -> str:
    return "".join(render_jsonl(rows))


def swap(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


BAD_FILES: list[tuple[str, bytes, str]] = [
    ("empty", b"", "is empty"),
    ("not UTF-8", b"txn_id,\xff\xfe\n", "not UTF-8"),
    ("byte order mark", ("\ufeff" + csv_text()).encode(), "byte order mark"),
    ("a spreadsheet", b"name,barcode\nAna,2123\n", "not a CSV or JSON lines export"),
    ("a patron snapshot", b"barcode,name,fines\n", "not a CSV or JSON lines export"),
    ("cut short", csv_text().encode()[:-5], "may be cut short"),
    ("cut short JSON", jsonl_text().encode()[:-1], "may be cut short"),
    (
        "a CSV row with a missing field",
        swap(csv_text(), ",yes,", ",").encode(),
        "line 3: 8 fields, not 9",
    ),
    (
        "an unclosed quote",
        (csv_text() + '"x,y\r\n').encode(),
        "not valid CSV",
    ),
    ("special_due not yes/no", swap(csv_text(), ",yes,", ",maybe,").encode(), "line 3: special"),
    ("seq not a number", swap(csv_text(), ",MAIN-SC01,2,", ",MAIN-SC01,two,").encode(), "seq"),
    ("seq zero", swap(csv_text(), ",MAIN-SC01,2,", ",MAIN-SC01,0,").encode(), "below 1"),
    ("txn_id not a UUID", swap(csv_text(), MAIN[0].txn_id, "txn-1").encode(), "not a UUID"),
    (
        "occurred_at without an offset",
        swap(csv_text(), "2026-11-20T10:00:00.000-05:00", "2026-11-20T10:00:00").encode(),
        "line 2: occurred_at '2026-11-20T10:00:00' has no UTC offset",
    ),
    (
        "occurred_at not a time",
        swap(jsonl_text(), "2026-11-20T10:00:00.000-05:00", "yesterday").encode(),
        "line 1: occurred_at 'yesterday' is not a time",
    ),
    ("due_date in another form", swap(csv_text(), "2026-12-11", "20261211").encode(), "due_date"),
    ("an empty patron", swap(csv_text(), patron(2), "").encode(), "line 4: patron is empty"),
    (
        "a JSON line without a field",
        swap(jsonl_text(), f', "item": "{item(2)}"', "").encode(),
        "line 2: not a kiosk's checkout (missing item)",
    ),
    (
        "a JSON line with a field of its own",
        swap(jsonl_text(), '"seq": 1,', '"seq": 1, "note": "x",').encode(),
        "line 1: not a kiosk's checkout (unexpected note)",
    ),
    ("a JSON seq as text", swap(jsonl_text(), '"seq": 1,', '"seq": "1",').encode(), "seq"),
    ("a JSON seq as true", swap(jsonl_text(), '"seq": 1,', '"seq": true,').encode(), "seq"),
    (
        "special_due as text",
        swap(jsonl_text(), '"special_due": true', '"special_due": "yes"').encode(),
        "line 2: special_due is not true or false",
    ),
    ("a blank line", (jsonl_text() + "\n").encode(), "line 4: not a JSON object"),
    ("a JSON array", (jsonl_text() + "[1]\n").encode(), "line 4: not a JSON object"),
]


@pytest.mark.parametrize(
    ("data", "expected"), [(d, e) for _, d, e in BAD_FILES], ids=[n for n, _, _ in BAD_FILES]
)
def test_a_file_that_is_not_exactly_our_export_is_refused(data: bytes, expected: str) -> None:
    with pytest.raises(MergeError) as refused:
        parse_export("in.dat", data)
    text = str(refused.value)
    assert text.startswith("in.dat"), text
    assert expected in text, text
    assert "\n" not in text


def test_a_file_with_only_the_csv_header_has_no_checkouts() -> None:
    assert parse_export("empty.csv", csv_text([]).encode()) == []


def test_rows_remember_their_file_and_line(tmp_path: Path) -> None:
    [csv_rows, json_rows] = read(
        write(tmp_path / "a.csv", render_csv, MAIN), write(tmp_path / "b.jsonl", render_jsonl, EAST)
    )
    assert [(r.file, r.line) for r in csv_rows] == [("a.csv", 2), ("a.csv", 3), ("a.csv", 4)]
    assert [(r.file, r.line) for r in json_rows] == [("b.jsonl", 1), ("b.jsonl", 2)]
    assert [r.checkout for r in csv_rows] == MAIN


# Clocks --------------------------------------------------------------------------------------


def kinds(warnings: list[ClockWarning]) -> list[tuple[str, tuple[str, ...]]]:
    return [(w.kind, w.kiosk_ids) for w in warnings]


def test_time_running_backwards_as_the_sequence_goes_up_is_warned_about() -> None:
    # Someone set the clock back by an hour between seq 2 and seq 3.
    rows = [
        checkout("MAIN-SC01", 1, DAY.replace(hour=10), item_serial=1),
        checkout("MAIN-SC01", 2, DAY.replace(hour=10, minute=30), item_serial=2),
        checkout("MAIN-SC01", 3, DAY.replace(hour=9, minute=35), item_serial=3),
        checkout("MAIN-SC01", 4, DAY.replace(hour=9, minute=50), item_serial=4),
    ]

    warnings = clock_warnings(rows, now=NOW, max_skew=SKEW)

    assert kinds(warnings) == [("backwards", ("MAIN-SC01",))]
    assert warnings[0].message == (
        "MAIN-SC01: time goes back 55 minutes from seq 2 (2026-11-20T10:30-05:00) "
        "to seq 3 (2026-11-20T09:35-05:00): its clock was changed"
    )


def test_backwards_follows_the_sequence_not_the_file_order(tmp_path: Path) -> None:
    rows = [
        checkout("MAIN-SC01", 3, DAY.replace(hour=9), item_serial=3),
        checkout("MAIN-SC01", 1, DAY.replace(hour=10), item_serial=1),
    ]
    result = merged(write(tmp_path / "main.jsonl", render_jsonl, rows))

    assert kinds(list(result.warnings)) == [("backwards", ("MAIN-SC01",))]
    assert "from seq 1 " in result.warnings[0].message
    assert [c.seq for c in result.checkouts] == [3, 1]  # the file is still in time order


def test_a_gap_in_the_sequence_with_time_going_forward_is_no_warning() -> None:
    rows = [
        checkout("MAIN-SC01", 1, DAY.replace(hour=10), item_serial=1),
        checkout("MAIN-SC01", 7, DAY.replace(hour=11), item_serial=2),
    ]
    assert clock_warnings(rows, now=NOW, max_skew=SKEW) == []


def test_checkouts_in_the_future_are_warned_about() -> None:
    now = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)  # 10:00 in New York
    rows = [
        checkout("MAIN-SC01", 1, DAY.replace(hour=9, minute=30), item_serial=1),
        checkout("MAIN-SC01", 2, DAY.replace(hour=10, minute=4), item_serial=2),  # 4 min fast: fine
        checkout("EAST-SC02", 1, DAY.replace(hour=9, minute=45), item_serial=3),
        checkout("EAST-SC02", 2, DAY.replace(hour=11, minute=0), item_serial=4),
        checkout("EAST-SC02", 3, DAY.replace(hour=12, minute=0), item_serial=5),
    ]

    warnings = clock_warnings(rows, now=now, max_skew=SKEW)

    assert kinds(warnings) == [("future", ("EAST-SC02",))]
    assert warnings[0].message == (
        "EAST-SC02: 2 checkouts are dated in the future (the latest 2026-11-20T12:00-05:00, "
        "while it is now 2026-11-20T10:00-05:00): its clock is ahead"
    )


def test_two_kiosks_far_apart_are_warned_about_together() -> None:
    rows = [MAIN[0], WEST[0]]
    warnings = clock_warnings(rows, now=NOW, max_skew=SKEW)
    assert kinds(warnings) == [("skew", ("MAIN-SC01", "WEST-SC03"))]
    assert "one of their clocks is probably wrong" in warnings[0].message


def test_kiosks_within_the_allowed_skew_are_no_warning() -> None:
    rows = [
        *MAIN,
        *EAST,
        checkout("WEST-SC03", 1, DAY.replace(hour=14) + timedelta(hours=11), item_serial=21),
    ]
    assert clock_warnings(rows, now=NOW, max_skew=SKEW) == []
    # Closer still than the allowed skew: a smaller allowance makes it a warning.
    assert kinds(clock_warnings(rows, now=NOW, max_skew=timedelta(hours=8))) == [
        ("skew", ("WEST-SC03",))
    ]


def test_no_kiosk_is_blamed_when_the_others_disagree_among_themselves() -> None:
    rows = [
        checkout("A", 1, DAY - timedelta(days=4), item_serial=1),
        checkout("B", 1, DAY - timedelta(days=2), item_serial=2),
        checkout("C", 1, DAY, item_serial=3),
    ]
    assert clock_warnings(rows, now=NOW, max_skew=SKEW) == []


def test_one_kiosk_alone_has_nothing_to_disagree_with() -> None:
    assert clock_warnings(WEST, now=NOW, max_skew=SKEW) == []


def test_warnings_still_come_with_every_checkout(three_kiosks: list[Path]) -> None:
    result = merged(*three_kiosks, now=DAY.astimezone(UTC))  # MAIN and EAST "in the future"

    assert len(result.checkouts) == 7
    assert kinds(list(result.warnings)) == [
        ("future", ("EAST-SC02",)),
        ("future", ("MAIN-SC01",)),
        ("skew", ("WEST-SC03",)),
    ]


def test_a_fixed_offset_checkout_and_a_zoned_one_compare_as_instants() -> None:
    fixed = timezone(timedelta(hours=-5))
    rows = [
        checkout("MAIN-SC01", 1, datetime(2026, 11, 20, 10, 0, tzinfo=fixed), item_serial=1),
        checkout("MAIN-SC01", 2, datetime(2026, 11, 20, 10, 0, 1, tzinfo=TZ), item_serial=2),
    ]
    assert clock_warnings(rows, now=NOW, max_skew=SKEW) == []
