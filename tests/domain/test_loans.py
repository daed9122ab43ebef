"""Due dates: loan period, closed days and weekdays, and the special due date set by staff.

Weekdays used below (checked against a calendar): 2026-03-02 is a Monday, 2026-03-07 a Saturday,
2026-12-04 and 2026-12-25 are Fridays, 2026-12-10 and 2026-12-31 Thursdays, 2027-01-01 a Friday.
A loan of 21 days (three weeks) ends on the weekday it started.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.domain.loans import WEEKDAYS, LoanRules, due_date, is_special, next_open_day

MON, TUE, WED, THU, FRI, SAT, SUN = range(7)
WEEKEND = frozenset({SAT, SUN})


def d(text: str) -> date:
    return date.fromisoformat(text)


def dates(*texts: str) -> frozenset[date]:
    return frozenset(d(t) for t in texts)


@pytest.mark.parametrize(
    ("checkout", "rules", "due"),
    [
        # Plain loan periods.
        ("2026-03-02", LoanRules(), "2026-03-23"),
        ("2026-03-02", LoanRules(loan_days=14), "2026-03-16"),
        ("2026-03-02", LoanRules(loan_days=7), "2026-03-09"),
        ("2026-03-02", LoanRules(loan_days=1), "2026-03-03"),
        ("2026-03-02", LoanRules(loan_days=0), "2026-03-02"),
        ("2026-01-31", LoanRules(loan_days=28), "2026-02-28"),
        ("2028-02-08", LoanRules(loan_days=21), "2028-02-29"),  # leap year
        # Landing on a closed date: the next day.
        ("2026-12-04", LoanRules(closed_dates=dates("2026-12-25")), "2026-12-26"),
        # A closed date that is not the due date changes nothing.
        ("2026-12-01", LoanRules(closed_dates=dates("2026-12-10")), "2026-12-22"),
        # Landing on a closed weekday.
        ("2026-03-07", LoanRules(closed_weekdays=frozenset({SAT})), "2026-03-29"),
        ("2026-03-07", LoanRules(closed_weekdays=WEEKEND), "2026-03-30"),
        ("2026-03-02", LoanRules(closed_weekdays=frozenset({TUE})), "2026-03-23"),
        # Chains: a weekend followed by a holiday Monday and Tuesday.
        (
            "2026-03-07",
            LoanRules(closed_weekdays=WEEKEND, closed_dates=dates("2026-03-30", "2026-03-31")),
            "2026-04-01",
        ),
        # Closed every day but Wednesday.
        (
            "2026-03-02",
            LoanRules(closed_weekdays=frozenset({MON, TUE, THU, FRI, SAT, SUN})),
            "2026-03-25",
        ),
        # Year end: the period crosses it ...
        ("2026-12-15", LoanRules(), "2027-01-05"),
        # ... and the closed days at the end of the year push the due date into the next one.
        (
            "2026-12-10",
            LoanRules(closed_weekdays=WEEKEND, closed_dates=dates("2026-12-31", "2027-01-01")),
            "2027-01-04",
        ),
        # The checkout day itself being closed does not matter.
        ("2026-03-07", LoanRules(loan_days=2, closed_dates=dates("2026-03-07")), "2026-03-09"),
    ],
)
def test_due_date(checkout: str, rules: LoanRules, due: str) -> None:
    assert due_date(d(checkout), rules) == d(due)
    assert not is_special(d(checkout), None)


@pytest.mark.parametrize(
    ("checkout", "special", "due", "special_used"),
    [
        ("2026-03-02", "2026-06-15", "2026-06-15", True),
        ("2026-03-02", "2026-03-02", "2026-03-02", True),  # today is not in the past
        ("2026-03-02", "2026-03-03", "2026-03-03", True),  # shorter than the loan period
        ("2026-03-02", "2026-03-01", "2026-03-23", False),  # in the past: ignored
        ("2026-03-02", "2025-12-31", "2026-03-23", False),
    ],
)
def test_special_due_date(checkout: str, special: str, due: str, special_used: bool) -> None:
    assert due_date(d(checkout), LoanRules(), d(special)) == d(due)
    assert is_special(d(checkout), d(special)) is special_used


def test_special_due_date_is_not_moved_off_a_closed_day() -> None:
    rules = LoanRules(closed_weekdays=WEEKEND, closed_dates=dates("2026-12-25"))
    assert due_date(d("2026-12-01"), rules, d("2026-12-25")) == d("2026-12-25")
    assert due_date(d("2026-12-01"), rules, d("2026-12-26")) == d("2026-12-26")  # a Saturday


def test_a_past_special_due_date_still_moves_the_normal_due_date_off_closed_days() -> None:
    rules = LoanRules(closed_dates=dates("2026-12-25"))
    assert due_date(d("2026-12-04"), rules, d("2026-12-01")) == d("2026-12-26")


@pytest.mark.parametrize(
    ("day", "rules", "open_day"),
    [
        ("2026-03-02", LoanRules(), "2026-03-02"),
        ("2026-03-07", LoanRules(closed_weekdays=WEEKEND), "2026-03-09"),
        ("2026-03-08", LoanRules(closed_weekdays=WEEKEND), "2026-03-09"),
        ("2026-12-31", LoanRules(closed_dates=dates("2026-12-31", "2027-01-01")), "2027-01-02"),
    ],
)
def test_next_open_day(day: str, rules: LoanRules, open_day: str) -> None:
    assert next_open_day(d(day), rules) == d(open_day)


def test_is_open() -> None:
    rules = LoanRules(closed_weekdays=frozenset({SUN}), closed_dates=dates("2026-12-25"))
    assert rules.is_open(d("2026-12-24"))
    assert not rules.is_open(d("2026-12-25"))
    assert not rules.is_open(d("2026-12-27"))  # a Sunday
    assert rules.is_open(d("2026-12-28"))


def test_the_library_cannot_be_closed_every_day_of_the_week() -> None:
    with pytest.raises(ValueError, match="every day of the week"):
        LoanRules(closed_weekdays=frozenset(range(7)))
    # Six closed weekdays are allowed: one day is open.
    assert LoanRules(closed_weekdays=frozenset(range(6))).is_open(d("2026-03-08"))


def test_weekday_names_start_on_monday() -> None:
    assert WEEKDAYS[d("2026-03-02").weekday()] == "monday"
    assert WEEKDAYS[d("2026-03-08").weekday()] == "sunday"
    assert len(WEEKDAYS) == 7


# Property -------------------------------------------------------------------------------------

checkout_days = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))


@st.composite
def loan_setups(draw: st.DrawFn) -> tuple[date, LoanRules]:
    checkout = draw(checkout_days, label="checkout")
    loan_days = draw(st.integers(0, 60), label="loan_days")
    weekdays = draw(st.frozensets(st.integers(0, 6), max_size=6), label="closed_weekdays")
    # Closed dates near the natural due date, so that chains of them actually matter.
    natural = checkout + timedelta(days=loan_days)
    offsets = draw(st.frozensets(st.integers(-3, 20), max_size=15), label="closed offsets")
    closed = frozenset(natural + timedelta(days=o) for o in offsets)
    return checkout, LoanRules(loan_days, closed, weekdays)


@settings(max_examples=400)
@given(setup=loan_setups())
def test_due_date_is_the_first_open_day_after_the_loan_period(
    setup: tuple[date, LoanRules],
) -> None:
    checkout, rules = setup
    due = due_date(checkout, rules)
    earliest = checkout + timedelta(days=rules.loan_days)
    assert due >= earliest
    # Open: not a closed weekday, not a closed date.
    assert due.weekday() not in rules.closed_weekdays
    assert due not in rules.closed_dates
    # Minimal: every day from the end of the loan period up to the due date is closed.
    day = earliest
    while day < due:
        assert day.weekday() in rules.closed_weekdays or day in rules.closed_dates
        day += timedelta(days=1)


@settings(max_examples=200)
@given(setup=loan_setups(), special=checkout_days)
def test_special_due_date_wins_exactly_when_not_in_the_past(
    setup: tuple[date, LoanRules], special: date
) -> None:
    checkout, rules = setup
    due = due_date(checkout, rules, special)
    if special >= checkout:
        assert due == special
        assert is_special(checkout, special)
    else:
        assert due == due_date(checkout, rules)
        assert not is_special(checkout, special)


# Loan periods per material type ---------------------------------------------------------------

BY_MATERIAL = LoanRules(
    loan_days=21,
    closed_weekdays=frozenset({SUN}),
    material_days=(("book", 21), ("dvd", 7), ("large print", 28)),
)


@pytest.mark.parametrize(
    ("material", "due"),
    [
        ("dvd", "2026-03-09"),  # Monday + 7
        ("DVD", "2026-03-09"),  # material types are compared without regard to case
        (" Dvd ", "2026-03-09"),
        ("book", "2026-03-23"),
        ("large  print", "2026-03-30"),
        ("", "2026-03-23"),  # the item is not in the item snapshot, or there is none
        ("magazine", "2026-03-23"),  # a material type without a period of its own
    ],
)
def test_each_material_type_has_its_loan_period(material: str, due: str) -> None:
    assert due_date(d("2026-03-02"), BY_MATERIAL, material=material) == d(due)


def test_a_material_loan_is_moved_off_closed_days_like_any_other() -> None:
    # Saturday 2026-03-07 + 7 days is Saturday 03-14; + 8 would be Sunday (closed).
    rules = LoanRules(closed_weekdays=frozenset({SUN}), material_days=(("dvd", 8),))
    assert due_date(d("2026-03-07"), rules, material="dvd") == d("2026-03-16")


def test_the_special_due_date_wins_over_the_material_loan_period() -> None:
    assert due_date(d("2026-03-02"), BY_MATERIAL, d("2026-04-30"), "dvd") == d("2026-04-30")
    assert is_special(d("2026-03-02"), d("2026-04-30"))
    # A special due date in the past is ignored: the material's period counts again.
    assert due_date(d("2026-03-02"), BY_MATERIAL, d("2026-03-01"), "dvd") == d("2026-03-09")


def test_without_material_periods_every_item_has_the_loan_period() -> None:
    rules = LoanRules(loan_days=14)
    assert rules.days_for("dvd") == 14
    assert due_date(d("2026-03-02"), rules, material="dvd") == due_date(d("2026-03-02"), rules)
