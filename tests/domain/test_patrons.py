"""Who may borrow, and what a card means in an allow list and in a deny list."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from kiosk.domain.patrons import (
    PatronPolicy,
    PatronRecord,
    PatronRefusal,
    PatronStatus,
    SnapshotMode,
    card_record,
    check_patron,
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
        ("Ana O'Brien, Jr.", "Ana"),  # first-name and surname columns joined
        ("O'Brien, Jr., Ana", "Ana"),
        ("O'Brien, Jr, Ana", "Ana"),
        ("Ana Smith, III", "Ana"),
        ("King, Martin Luther, Jr.", "Martin"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_first_name(name: str, first: str) -> None:
    assert PatronRecord(patron(1), name).first_name == first


# card_record: allow lists and deny lists -------------------------------------------------------


def test_in_an_allow_list_an_unlisted_card_is_unknown_and_refused() -> None:
    assert card_record(patron(9), None, SnapshotMode.ALLOW) is None
    assert check_patron(None, POLICY, TODAY, 0) is PatronRefusal.UNKNOWN_PATRON


def test_in_a_deny_list_an_unlisted_card_is_a_patron_in_good_standing() -> None:
    found = card_record(patron(9), None, SnapshotMode.DENY)

    assert found == PatronRecord(patron(9))
    assert found is not None
    assert found.first_name == ""  # greeted by the card's last digits
    assert check_patron(found, POLICY, TODAY, 0) is None


@pytest.mark.parametrize("mode", list(SnapshotMode))
def test_a_listed_card_is_what_the_list_says_in_either_mode(mode: SnapshotMode) -> None:
    listed = PatronRecord(patron(5), status=PatronStatus.LOST)

    assert card_record(patron(5), listed, mode) is listed
    assert check_patron(listed, POLICY, TODAY, 0) is PatronRefusal.LOST


def test_a_deny_listed_card_still_obeys_the_policy() -> None:
    # A library that lets expired cards borrow offline lets an "E" line borrow too.
    lenient = PatronPolicy(block_statuses=frozenset({PatronStatus.LOST, PatronStatus.BLOCKED}))
    listed = card_record(
        patron(7), PatronRecord(patron(7), status=PatronStatus.EXPIRED), SnapshotMode.DENY
    )
    assert check_patron(listed, lenient, TODAY, 0) is None
    assert check_patron(listed, PatronPolicy(), TODAY, 0) is PatronRefusal.EXPIRED


def test_the_patron_limit_applies_to_unlisted_deny_list_cards() -> None:
    found = card_record(patron(9), None, SnapshotMode.DENY)
    assert check_patron(found, POLICY, TODAY, 5) is PatronRefusal.PATRON_LIMIT
