"""Barcode rules that can fit the same scan: found exactly, with an example that fits both,
for prefix/length rules and for patterns, and taken to overlap when a pattern cannot be read."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.barcode_overlap import find_overlap
from kiosk.domain.barcodes import BarcodeRule, CheckDigit, luhn_valid

LUHN = CheckDigit.LUHN


def fits(rule: BarcodeRule, code: str) -> bool:
    return rule.has_shape(code) and rule.check_ok(code)


def test_fourteen_digits_with_luhn_on_both_sides_overlap_with_a_valid_example() -> None:
    rule = BarcodeRule(pattern="[0-9]{14}", check_digit=LUHN)
    found = find_overlap(rule, rule, 64)
    assert found is not None and found.example is not None
    assert len(found.example) == 14 and luhn_valid(found.example)
    problem = found.problem(rule, rule)
    assert found.example in problem
    assert "Luhn check digit on both does not tell them apart" in problem
    assert 'overlap = "lists"' in problem and "prefix of its own" in problem


@pytest.mark.parametrize(
    ("patron", "item", "starts"),
    [
        (BarcodeRule("2", 14, check_digit=LUHN), BarcodeRule("21", 14, check_digit=LUHN), "21"),
        (BarcodeRule("2", 14, check_digit=LUHN), BarcodeRule("", 14), "2"),
        (BarcodeRule("21"), BarcodeRule("2", 14, check_digit=LUHN), "21"),  # a length unset
        (BarcodeRule("P"), BarcodeRule("PX"), "PX"),
        (BarcodeRule("2", check_digit=LUHN), BarcodeRule("2"), "2"),
    ],
)
def test_prefix_rules_overlap_when_one_prefix_starts_the_other(
    patron: BarcodeRule, item: BarcodeRule, starts: str
) -> None:
    found = find_overlap(patron, item, 64)
    assert found is not None and found.example is not None
    assert found.example.startswith(starts)
    assert fits(patron, found.example) and fits(item, found.example)


@pytest.mark.parametrize(
    ("patron", "item"),
    [
        (BarcodeRule("2", 14, check_digit=LUHN), BarcodeRule("3", 14, check_digit=LUHN)),
        (BarcodeRule("21", 14), BarcodeRule("31", 14)),
        (BarcodeRule("2", 14), BarcodeRule("2", 13)),  # one prefix, two lengths
        (BarcodeRule("2", 14), BarcodeRule("21", 1)),  # a rule no code fits
        (BarcodeRule("P", check_digit=LUHN), BarcodeRule("PX")),  # no Luhn code starts with P
        (BarcodeRule("2", 70), BarcodeRule("2", 70)),  # longer than any scan (max_length)
    ],
)
def test_distinct_prefix_rules_do_not_overlap(patron: BarcodeRule, item: BarcodeRule) -> None:
    assert find_overlap(patron, item, 64) is None


@pytest.mark.parametrize(
    ("patron", "item"),
    [
        ("21[0-9]{12}", "31[0-9]{12}"),
        ("[A-Z]{2}[0-9]{6}", "[0-9]{14}"),
        ("2[0-9]{13}", "[0-9]{13}"),
        (".{65}", ".{65}"),  # longer than any scan
        ("[^x]{3}", "[x ]{3}"),  # only "   ", which a scanner's padding never leaves
    ],
)
def test_distinct_patterns_do_not_overlap(patron: str, item: str) -> None:
    assert find_overlap(BarcodeRule(pattern=patron), BarcodeRule(pattern=item), 64) is None


@pytest.mark.parametrize(
    ("patron", "item"),
    [
        (BarcodeRule(pattern=r"^2\d{13}$", check_digit=LUHN), BarcodeRule(pattern=r"\d{14}")),
        (BarcodeRule(pattern="[A-Z]{2}[0-9]{6}"), BarcodeRule(pattern="..[0-9]+")),
        (BarcodeRule(pattern="(?i)ab[0-9]+"), BarcodeRule("A")),
        (BarcodeRule(pattern="(?=2)[0-9]{14}", check_digit=LUHN), BarcodeRule("", 14)),
        (BarcodeRule(pattern="A B[0-9]"), BarcodeRule(pattern="[A-Z] .[0-9]")),
        (BarcodeRule(pattern="[0-9]{4,8}", check_digit=LUHN), BarcodeRule("3", 6)),
    ],
)
def test_overlapping_patterns_come_with_an_example_that_fits_both(
    patron: BarcodeRule, item: BarcodeRule
) -> None:
    found = find_overlap(patron, item, 64)
    assert found is not None and found.example is not None, found
    assert fits(patron, found.example) and fits(item, found.example)
    assert found.example == found.example.strip()


@pytest.mark.parametrize(
    "pattern",
    [r"(2)\1[0-9]{12}", r"\b2[0-9]{13}", r"(?<=x)2[0-9]{13}", r"[\u0000-\uffff]{14}"],
)
def test_a_pattern_interegular_cannot_read_is_taken_to_overlap(pattern: str) -> None:
    patron = BarcodeRule(pattern=pattern)
    item = BarcodeRule("3", 14)
    found = find_overlap(patron, item, 64)
    assert found is not None and found.example is None
    assert "interegular" in found.unsure
    assert "taken to overlap" in found.problem(patron, item)


# Exact: the same answer as trying every code -------------------------------------------------

PATTERNS = ["[0-9]{3}", "2[0-9]{2}", "[0-9]*", "2[0-9]+", "[12][0-9]{1,3}", "3[0-9]?", "21[0-9]"]
SHORT = 4  # scans up to this long (max_length): every code of digits is tried
CODES = ["".join(d) for n in range(1, SHORT + 1) for d in itertools.product("0123456789", repeat=n)]


def rules() -> st.SearchStrategy[BarcodeRule]:
    """Rules of digits only, so that a code fits both rules only if one of digits does."""
    check = st.sampled_from([CheckDigit.NONE, LUHN])
    prefixed = st.builds(
        BarcodeRule,
        prefix=st.sampled_from(["", "2", "21", "3"]),
        length=st.one_of(st.none(), st.integers(1, SHORT + 1)),
        check_digit=check,
    ).filter(lambda rule: bool(rule.prefix or rule.length))
    patterned = st.builds(BarcodeRule, pattern=st.sampled_from(PATTERNS), check_digit=check)
    return st.one_of(prefixed, patterned)


@settings(max_examples=80, deadline=None)
@given(rules(), rules())
def test_overlap_is_found_exactly_when_some_code_fits_both(
    patron: BarcodeRule, item: BarcodeRule
) -> None:
    fits_both = any(fits(patron, code) and fits(item, code) for code in CODES)
    found = find_overlap(patron, item, SHORT)
    assert (found is not None) is fits_both
    if found is not None:
        assert found.example is not None and len(found.example) <= SHORT
        assert fits(patron, found.example) and fits(item, found.example)
