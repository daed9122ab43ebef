"""Who may borrow, and reading patron rows from a snapshot."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest

from kiosk.domain.patrons import (
    PatronPolicy,
    PatronRecord,
    PatronRefusal,
    PatronStatus,
    RowError,
    check_patron,
    parse_money,
    parse_patron_row,
)
from tests.conftest import patron

TODAY = date(2026, 3, 10)
YESTERDAY = date(2026, 3, 9)
TOMORROW = date(2026, 3, 11)

POLICY = PatronPolicy(block_fines_over=Decimal("10.00"), max_items_per_patron=5)


def record(
    status: PatronStatus = PatronStatus.OK,
    fines: str = "0",
    expires: date | None = None,
) -> PatronRecord:
    return PatronRecord(patron(1), "Rivera, Ana", Decimal(fines), status, expires)


# check_patron ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rec", "outstanding", "refusal"),
    [
        (record(), 0, None),
        (None, 0, PatronRefusal.UNKNOWN_PATRON),
        (record(PatronStatus.LOST), 0, PatronRefusal.LOST),
        (record(PatronStatus.BLOCKED), 0, PatronRefusal.BLOCKED),
        (record(PatronStatus.EXPIRED), 0, PatronRefusal.EXPIRED),
        (record(expires=YESTERDAY), 0, PatronRefusal.EXPIRED),
        (record(fines="10.01"), 0, PatronRefusal.FINES_OVER_LIMIT),
        (record(), 5, PatronRefusal.PATRON_LIMIT),
        (record(), 6, PatronRefusal.PATRON_LIMIT),
        # At the edges: still allowed.
        (record(fines="10.00"), 0, None),  # the limit is "more than"
        (record(fines="9.99"), 0, None),
        (record(expires=TODAY), 0, None),  # valid through its expiry day
        (record(expires=TOMORROW), 0, None),
        (record(), 4, None),
        (record(fines="-3.00"), 0, None),  # a credit
    ],
)
def test_check_patron(rec: PatronRecord | None, outstanding: int, refusal: PatronRefusal) -> None:
    assert check_patron(rec, POLICY, TODAY, outstanding) is refusal


@pytest.mark.parametrize(
    ("rec", "outstanding", "refusal"),
    [
        # Everything wrong at once: the most serious reason wins.
        (record(PatronStatus.LOST, "99", YESTERDAY), 9, PatronRefusal.LOST),
        (record(PatronStatus.BLOCKED, "99", YESTERDAY), 9, PatronRefusal.BLOCKED),
        (record(PatronStatus.EXPIRED, "99", YESTERDAY), 9, PatronRefusal.EXPIRED),
        (record(PatronStatus.OK, "99", YESTERDAY), 9, PatronRefusal.EXPIRED),
        (record(PatronStatus.OK, "99", TODAY), 9, PatronRefusal.FINES_OVER_LIMIT),
        (record(PatronStatus.OK, "10", TODAY), 9, PatronRefusal.PATRON_LIMIT),
        # Expired by status, the date says it is still valid: the status counts.
        (record(PatronStatus.EXPIRED, "0", TOMORROW), 0, PatronRefusal.EXPIRED),
    ],
)
def test_the_most_serious_refusal_wins(
    rec: PatronRecord, outstanding: int, refusal: PatronRefusal
) -> None:
    assert check_patron(rec, POLICY, TODAY, outstanding) is refusal


@pytest.mark.parametrize(
    ("blocked", "status", "refusal"),
    [
        (frozenset(), PatronStatus.LOST, None),
        (frozenset(), PatronStatus.BLOCKED, None),
        (frozenset(), PatronStatus.EXPIRED, None),
        (frozenset({PatronStatus.LOST}), PatronStatus.LOST, PatronRefusal.LOST),
        (frozenset({PatronStatus.LOST}), PatronStatus.BLOCKED, None),
        (frozenset({PatronStatus.LOST}), PatronStatus.EXPIRED, None),
        (frozenset({PatronStatus.BLOCKED}), PatronStatus.BLOCKED, PatronRefusal.BLOCKED),
        (frozenset({PatronStatus.BLOCKED}), PatronStatus.LOST, None),
        (frozenset({PatronStatus.EXPIRED}), PatronStatus.EXPIRED, PatronRefusal.EXPIRED),
        (frozenset({PatronStatus.EXPIRED}), PatronStatus.BLOCKED, None),
        (frozenset({PatronStatus.OK}), PatronStatus.OK, None),  # "ok" never refuses
    ],
)
def test_only_statuses_in_block_statuses_refuse(
    blocked: frozenset[PatronStatus], status: PatronStatus, refusal: PatronRefusal | None
) -> None:
    policy = PatronPolicy(block_statuses=blocked)
    assert check_patron(record(status), policy, TODAY, 0) is refusal


def test_an_expiry_date_only_refuses_when_expired_patrons_are_blocked() -> None:
    lenient = PatronPolicy(block_statuses=frozenset({PatronStatus.LOST, PatronStatus.BLOCKED}))
    assert check_patron(record(expires=YESTERDAY), lenient, TODAY, 0) is None
    assert check_patron(record(expires=YESTERDAY), PatronPolicy(), TODAY, 0) is (
        PatronRefusal.EXPIRED
    )


def test_expiry_is_measured_against_the_day_passed_in() -> None:
    rec = record(expires=TODAY)
    assert check_patron(rec, POLICY, TODAY, 0) is None
    assert check_patron(rec, POLICY, TOMORROW, 0) is PatronRefusal.EXPIRED
    assert check_patron(rec, POLICY, date(2027, 1, 1), 0) is PatronRefusal.EXPIRED


def test_default_policy_has_no_fine_limit_and_no_item_cap() -> None:
    policy = PatronPolicy()
    assert check_patron(record(fines="1000000.00"), policy, TODAY, 10_000) is None


@pytest.mark.parametrize(
    ("limit", "fines", "refusal"),
    [
        ("0", "0", None),
        ("0", "0.01", PatronRefusal.FINES_OVER_LIMIT),
        ("5.50", "5.50", None),
        ("5.50", "5.51", PatronRefusal.FINES_OVER_LIMIT),
        ("5.5", "5.50", None),  # the same amount written differently
    ],
)
def test_fine_limit(limit: str, fines: str, refusal: PatronRefusal | None) -> None:
    policy = PatronPolicy(block_fines_over=Decimal(limit))
    assert check_patron(record(fines=fines), policy, TODAY, 0) is refusal


@pytest.mark.parametrize(
    ("cap", "outstanding", "refusal"),
    [
        (0, 0, None),
        (0, 500, None),  # 0: no cap
        (1, 0, None),
        (1, 1, PatronRefusal.PATRON_LIMIT),
        (3, 2, None),
        (3, 3, PatronRefusal.PATRON_LIMIT),
    ],
)
def test_patron_limit(cap: int, outstanding: int, refusal: PatronRefusal | None) -> None:
    policy = PatronPolicy(max_items_per_patron=cap)
    assert check_patron(record(), policy, TODAY, outstanding) is refusal


# first_name -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "first"),
    [
        ("Smith, Ana", "Ana"),
        ("Ana Smith", "Ana"),
        ("Smith,Ana", "Ana"),
        ("Smith, Ana Maria", "Ana"),
        ("  Smith ,   Ana  ", "Ana"),
        ("García, Lucía", "Lucía"),
        ("Ana", "Ana"),
        ("Smith, ", ""),
        ("", ""),
        ("   ", ""),
    ],
)
def test_first_name(name: str, first: str) -> None:
    assert PatronRecord(patron(1), name).first_name == first


# parse_money ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("", Decimal("0")),
        ("   ", Decimal("0")),
        ("0", Decimal("0")),
        ("10.00", Decimal("10.00")),
        ("10.5", Decimal("10.50")),
        (" 7.25 ", Decimal("7.25")),
        ("$12.75", Decimal("12.75")),
        ("€3", Decimal("3")),
        ("£0.50", Decimal("0.50")),
        ("1,234.56", Decimal("1234.56")),
        ("$1,000", Decimal("1000")),
        ("-2.00", Decimal("-2.00")),
    ],
)
def test_parse_money(text: str, amount: Decimal) -> None:
    assert parse_money(text) == amount


def test_parse_money_keeps_the_exact_decimal() -> None:
    value = parse_money("0.10")
    assert isinstance(value, Decimal)
    assert value + parse_money("0.20") == Decimal("0.30")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("abc", "fines 'abc' is not an amount"),
        ("12,50 EUR", "fines '12,50 EUR' is not an amount"),
        ("1.2.3", "fines '1.2.3' is not an amount"),
        ("NaN", "fines 'NaN' is not an amount"),
        ("Infinity", "fines 'Infinity' is not an amount"),
        ("-inf", "fines '-inf' is not an amount"),
        ("1.234", "fines '1.234' has more than two decimals"),
        ("0.001", "fines '0.001' has more than two decimals"),
        # Not guessed: scientific notation is spreadsheet damage, and a decimal comma or a
        # bare currency sign is ambiguous.
        ("1e2", "fines '1e2' is not an amount"),
        ("1e-3", "fines '1e-3' is not an amount"),
        ("1,5", "fines '1,5' is not an amount"),
        ("12,3456", "fines '12,3456' is not an amount"),
        ("$", "fines '$' is not an amount"),
    ],
)
def test_parse_money_refuses(text: str, message: str) -> None:
    with pytest.raises(RowError, match=f"^{re.escape(message)}"):
        parse_money(text)


# parse_patron_row -----------------------------------------------------------------------------


def test_parse_a_full_row() -> None:
    row = {
        "barcode": f" {patron(3)} ",
        "name": " Nguyen, Bao ",
        "fines": "$10.01",
        "status": " Blocked ",
        "expires": "2027-06-30",
    }
    assert parse_patron_row(row) == PatronRecord(
        barcode=patron(3),
        name="Nguyen, Bao",
        fines=Decimal("10.01"),
        status=PatronStatus.BLOCKED,
        expires=date(2027, 6, 30),
    )


@pytest.mark.parametrize(
    "row",
    [
        {"barcode": "21234000000018"},
        {"barcode": "21234000000018", "name": None, "fines": None, "status": None, "expires": None},
        {"barcode": "21234000000018", "name": "", "fines": "", "status": "", "expires": ""},
        {"barcode": "21234000000018", "name": " ", "fines": " ", "status": " ", "expires": " "},
    ],
)
def test_missing_optional_columns_take_defaults(row: dict[str, str | None]) -> None:
    assert parse_patron_row(row) == PatronRecord(
        barcode="21234000000018",
        name="",
        fines=Decimal("0"),
        status=PatronStatus.OK,
        expires=None,
    )


@pytest.mark.parametrize(
    ("status_text", "status"),
    [
        ("ok", PatronStatus.OK),
        ("OK", PatronStatus.OK),
        ("blocked", PatronStatus.BLOCKED),
        ("LOST", PatronStatus.LOST),
        ("Expired", PatronStatus.EXPIRED),
    ],
)
def test_status_is_read_without_regard_to_case(status_text: str, status: PatronStatus) -> None:
    assert parse_patron_row({"barcode": "A1", "status": status_text}).status is status


def test_barcodes_are_not_checked_against_the_scan_rules() -> None:
    # The snapshot is the library's list; any printable token is a card number.
    assert parse_patron_row({"barcode": "P-00042"}).barcode == "P-00042"


def test_barcode_length_limit() -> None:
    assert parse_patron_row({"barcode": "9" * 64}).barcode == "9" * 64
    assert parse_patron_row({"barcode": "9" * 10}, max_barcode_length=10).barcode == "9" * 10
    with pytest.raises(RowError, match=re.escape("barcode '99999999999' is not a barcode")):
        parse_patron_row({"barcode": "9" * 11}, max_barcode_length=10)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({}, "barcode is empty"),
        ({"barcode": None}, "barcode is empty"),
        ({"barcode": ""}, "barcode is empty"),
        ({"barcode": " \t "}, "barcode is empty"),
        ({"name": "Rivera, Ana"}, "barcode is empty"),
        # Only the first 20 characters of a bad barcode are quoted.
        ({"barcode": "1" * 65}, f"barcode {'1' * 20!r} is not a barcode"),
        ({"barcode": "2123 4000"}, "barcode '2123 4000' is not a barcode"),
        ({"barcode": "2123\x004000"}, "barcode '2123\\x004000' is not a barcode"),
        ({"barcode": "2123\t4000"}, "barcode '2123\\t4000' is not a barcode"),
        (
            {"barcode": "21234000000018", "status": "banned"},
            "status 'banned' is not one of ok, blocked, lost, expired",
        ),
        (
            {"barcode": "21234000000018", "status": " Suspended "},
            "status 'suspended' is not one of ok, blocked, lost, expired",
        ),
        (
            {"barcode": "21234000000018", "expires": "31/12/2026"},
            "expires '31/12/2026' is not a date (YYYY-MM-DD)",
        ),
        (
            {"barcode": "21234000000018", "expires": "2026-02-30"},
            "expires '2026-02-30' is not a date (YYYY-MM-DD)",
        ),
        (
            {"barcode": "21234000000018", "expires": "soon"},
            "expires 'soon' is not a date (YYYY-MM-DD)",
        ),
        ({"barcode": "21234000000018", "fines": "lots"}, "fines 'lots' is not an amount"),
        (
            {"barcode": "21234000000018", "fines": "0.125"},
            "fines '0.125' has more than two decimals",
        ),
    ],
)
def test_bad_rows(row: dict[str, str | None], message: str) -> None:
    with pytest.raises(RowError, match=f"^{re.escape(message)}"):
        parse_patron_row(row)


def test_row_error_is_a_value_error() -> None:
    # Callers that only know about ValueError (csv readers, loops) still catch it.
    assert issubclass(RowError, ValueError)
