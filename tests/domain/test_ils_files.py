"""Reading the library system's exports: patron rows in any column layout, Evergreen's offline
block list, item rows. Table-driven, plus property tests for the decoders."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.domain.ils_files import (
    BLOCKLIST_FLAGS,
    DEFAULT_LAYOUT,
    PatronFileFormat,
    PatronFileKind,
    PatronLayout,
    RowError,
    parse_blocklist_line,
    parse_denied_row,
    parse_item_row,
    parse_money,
    parse_patron_row,
)
from kiosk.domain.items import ItemRecord, ItemStatus
from kiosk.domain.patrons import (
    PatronPolicy,
    PatronRecord,
    PatronRefusal,
    PatronStatus,
    SnapshotMode,
    check_patron,
)
from tests.conftest import item, patron

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


# Column layouts: a patron export from any library system --------------------------------------

KOHA = PatronLayout.mapped(
    barcode="cardnumber",
    name=["firstname", "surname"],
    expires="dateexpiry",
    fines="balance",
    status="Status",
    status_values={"LOST": PatronStatus.LOST, "Debarred": PatronStatus.BLOCKED},
)


def koha_row(**values: str) -> dict[str, str | None]:
    row: dict[str, str | None] = {
        "cardnumber": patron(1),
        "firstname": "Ana",
        "surname": "Rivera",
        "dateexpiry": "2027-06-30",
        "balance": "1.50",
        "status": "",
    }
    row.update(values)
    return row


def test_a_koha_row_is_read_through_the_mapping() -> None:
    assert parse_patron_row(koha_row(), layout=KOHA) == PatronRecord(
        barcode=patron(1),
        name="Ana Rivera",
        fines=Decimal("1.50"),
        status=PatronStatus.OK,
        expires=date(2027, 6, 30),
    )
    assert PatronRecord(patron(1), "Ana Rivera").first_name == "Ana"


def test_our_own_column_names_are_not_read_when_a_mapping_names_others() -> None:
    row = koha_row(barcode=patron(2), name="Someone Else", fines="99")
    record = parse_patron_row(row, layout=KOHA)
    assert (record.barcode, record.name, record.fines) == (patron(1), "Ana Rivera", Decimal("1.50"))


@pytest.mark.parametrize(
    ("first", "last", "name"),
    [
        ("Ana", "Rivera", "Ana Rivera"),
        (" Ana ", " Rivera ", "Ana Rivera"),
        ("", "Rivera", "Rivera"),  # an organisation's card: no first name
        ("Ana", "", "Ana"),
        ("", "", ""),
        ("Ana María", "de la Cruz", "Ana María de la Cruz"),
    ],
)
def test_name_columns_are_joined_with_a_space_in_order(first: str, last: str, name: str) -> None:
    assert parse_patron_row(koha_row(firstname=first, surname=last), layout=KOHA).name == name


@pytest.mark.parametrize(
    ("word", "status"),
    [
        ("LOST", PatronStatus.LOST),
        ("lost", PatronStatus.LOST),  # the library system's words, in any case
        (" debarred ", PatronStatus.BLOCKED),
        ("", PatronStatus.OK),
        ("Expired", PatronStatus.EXPIRED),  # our own words are understood as well
        ("ok", PatronStatus.OK),
    ],
)
def test_status_values_translate_the_library_systems_words(word: str, status: PatronStatus) -> None:
    assert parse_patron_row(koha_row(status=word), layout=KOHA).status is status


def test_an_unknown_status_word_is_a_bad_row_that_names_the_known_words() -> None:
    with pytest.raises(RowError, match=re.escape("status 'gone away' is not one of ok, blocked")):
        parse_patron_row(koha_row(status="Gone away"), layout=KOHA)
    with pytest.raises(RowError, match=re.escape("(or debarred, lost)")):
        parse_patron_row(koha_row(status="Gone away"), layout=KOHA)


@pytest.mark.parametrize(
    ("fmt", "text", "expires"),
    [
        ("%m/%d/%Y", "12/31/2026", date(2026, 12, 31)),  # a Polaris report
        ("%d.%m.%Y", "31.12.2026", date(2026, 12, 31)),
        ("%Y-%m-%d %H:%M:%S", "2026-12-31 00:00:00", date(2026, 12, 31)),
        ("%m/%d/%Y", "", None),
        ("%m/%d/%Y", "  ", None),
    ],
)
def test_a_date_format_reads_the_expiry_column(fmt: str, text: str, expires: date | None) -> None:
    layout = PatronLayout.mapped(date_format=fmt)
    assert parse_patron_row({"barcode": "A1", "expires": text}, layout=layout).expires == expires


def test_a_date_in_another_format_is_a_bad_row_with_an_example() -> None:
    layout = PatronLayout.mapped(date_format="%m/%d/%Y")
    with pytest.raises(
        RowError, match=re.escape("expires '2026-12-31' is not a date like 12/31/2026")
    ):
        parse_patron_row({"barcode": "A1", "expires": "2026-12-31"}, layout=layout)
    with pytest.raises(RowError, match=re.escape("expires '31/12/2026'")):
        parse_patron_row({"barcode": "A1", "expires": "31/12/2026"}, layout=layout)


def test_mapped_columns_are_required_and_compared_in_lower_case() -> None:
    assert KOHA.required == frozenset(
        {"cardnumber", "firstname", "surname", "dateexpiry", "balance", "status"}
    )
    assert (
        KOHA.missing(["CardNumber", "FirstName", "surname", "dateexpiry", "balance", "status"])
        == []
    )
    assert KOHA.missing(["cardnumber", "surname", "status"]) == [
        "balance",
        "dateexpiry",
        "firstname",
    ]


def test_unmapped_columns_keep_our_names_and_are_not_required() -> None:
    layout = PatronLayout.mapped(barcode="cardnumber")
    assert layout.required == frozenset({"cardnumber"})
    assert layout.columns() == frozenset({"cardnumber", "name", "fines", "status", "expires"})
    row = {"cardnumber": "A1", "name": "Ana Rivera", "fines": "2.00"}
    assert parse_patron_row(row, layout=layout) == PatronRecord("A1", "Ana Rivera", Decimal("2.00"))


def test_our_name_for_a_field_is_not_read_when_the_mapping_gives_it_to_another() -> None:
    # An export whose card number column is called "name" must not greet with the number.
    layout = PatronLayout.mapped(barcode="name", fines="Status")
    row = {"name": patron(1), "status": "12.50"}

    assert parse_patron_row(row, layout=layout) == PatronRecord(patron(1), "", Decimal("12.50"))
    assert (layout.name, layout.status) == ((), None)
    assert layout.columns() == frozenset({"name", "status", "expires"})


def test_the_default_layout_is_our_own_columns_with_only_barcode_required() -> None:
    assert PatronLayout.mapped() == DEFAULT_LAYOUT
    assert DEFAULT_LAYOUT.missing(["name"]) == ["barcode"]
    assert DEFAULT_LAYOUT.missing(["barcode"]) == []


def test_a_block_list_format_is_always_a_deny_list() -> None:
    assert PatronFileFormat(PatronFileKind.EVERGREEN_BLOCKLIST, SnapshotMode.DENY).mode is (
        SnapshotMode.DENY
    )
    with pytest.raises(ValueError, match="may not borrow"):
        PatronFileFormat(PatronFileKind.EVERGREEN_BLOCKLIST, SnapshotMode.ALLOW)
    assert PatronFileFormat().mode is SnapshotMode.ALLOW


# Evergreen's offline block list ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "status"),
    [
        (f"{patron(1)} L", PatronStatus.LOST),
        (f"{patron(1)} B", PatronStatus.BLOCKED),  # barred
        (f"{patron(1)} D", PatronStatus.BLOCKED),  # penalized: fines or limits
        (f"{patron(1)} E", PatronStatus.EXPIRED),
        (f"{patron(1)} l", PatronStatus.LOST),
        (f"  {patron(1)}\tE  ", PatronStatus.EXPIRED),  # tabs and stray spaces
        (f"{patron(1)} E\r", PatronStatus.EXPIRED),
    ],
)
def test_block_list_lines(line: str, status: PatronStatus) -> None:
    assert parse_blocklist_line(line) == (PatronRecord(patron(1), status=status), "")


def test_every_flag_refuses_by_default() -> None:
    assert set(BLOCKLIST_FLAGS) == {"L", "B", "D", "E"}
    assert PatronStatus.OK not in BLOCKLIST_FLAGS.values()


@pytest.mark.parametrize(
    ("line", "note"),
    [
        (patron(1), "no flag"),
        (f"{patron(1)} L extra", "flag 'L extra' is not one of L, B, D, E"),
        (f"{patron(1)} X", "flag 'X' is not one of L, B, D, E"),
        (f"{patron(1)} LOST", "flag 'LOST' is not one of"),
        (f"{patron(1)} ok", "flag 'ok' is not one of"),
    ],
)
def test_a_listed_card_with_a_flag_not_understood_is_still_refused(line: str, note: str) -> None:
    # A deny list fails closed: the card is listed, so it is refused, whatever the flag.
    record, said = parse_blocklist_line(line)
    assert record == PatronRecord(patron(1), status=PatronStatus.LISTED)
    assert note in said
    assert said.endswith("refused as blocked")
    everything_allowed = PatronPolicy(block_statuses=frozenset())
    assert check_patron(record, everything_allowed, date(2026, 1, 1), 0) is PatronRefusal.BLOCKED


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (f"{'9' * 65} L", "is not a barcode"),
        ("", "barcode is empty"),
    ],
)
def test_bad_block_list_lines(line: str, message: str) -> None:
    with pytest.raises(RowError, match=re.escape(message)):
        parse_blocklist_line(line)


@pytest.mark.parametrize(
    ("row", "status", "noted"),
    [
        ({"barcode": patron(1)}, PatronStatus.LISTED, ""),  # no status column
        ({"barcode": patron(1), "status": ""}, PatronStatus.LISTED, ""),
        ({"barcode": patron(1), "status": "ok"}, PatronStatus.LISTED, "status 'ok' on a deny"),
        ({"barcode": patron(1), "status": "weird"}, PatronStatus.LISTED, "status 'weird'"),
        ({"barcode": patron(1), "status": "lost"}, PatronStatus.LOST, ""),
        ({"barcode": patron(1), "status": "lost", "fines": "x"}, PatronStatus.LOST, "fines"),
    ],
)
def test_every_row_of_a_csv_deny_list_refuses_its_card(
    row: dict[str, str | None], status: PatronStatus, noted: str
) -> None:
    record, said = parse_denied_row(row)
    assert (record.barcode, record.status) == (patron(1), status)
    assert noted in said
    assert bool(said) is bool(noted)


# Item rows --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "record"),
    [
        (
            {"barcode": item(1), "title": "The Hobbit", "material": "BOOK"},
            ItemRecord(item(1), "The Hobbit", "book"),
        ),
        # MARC titles often end in ISBD punctuation: not part of the title.
        (
            {
                "barcode": item(2),
                "title": "The hobbit, or, There and back again /",
                "material": "Book",
            },
            ItemRecord(item(2), "The hobbit, or, There and back again", "book"),
        ),
        (
            {"barcode": item(3), "title": " Spirited  away\n", "material": " DVD "},
            ItemRecord(item(3), "Spirited away", "dvd"),
        ),
        ({"barcode": item(4)}, ItemRecord(item(4))),
        ({"barcode": item(5), "title": None, "material": None}, ItemRecord(item(5))),
        (
            {"barcode": item(6), "title": "Ñandú", "material": "Large Print"},
            ItemRecord(item(6), "Ñandú", "large print"),
        ),
    ],
)
def test_item_rows(row: dict[str, str | None], record: ItemRecord) -> None:
    assert parse_item_row(row) == (record, "")


EVERGREEN_ITEM_WORDS = (
    ("on holds shelf", ItemStatus.ON_HOLD),
    ("reshelving", ItemStatus.AVAILABLE),
    ("reference", ItemStatus.NOT_FOR_LOAN),
)


@pytest.mark.parametrize(
    ("status", "hold_for", "expected"),
    [
        ("", "", ItemStatus.AVAILABLE),
        ("available", "", ItemStatus.AVAILABLE),
        ("On_Hold", patron(1), ItemStatus.ON_HOLD),
        ("on hold", "", ItemStatus.ON_HOLD),  # held, for nobody the kiosk knows: refused
        ("", f" {patron(2)} ", ItemStatus.ON_HOLD),  # a holder and no status: on hold
        ("in-transit", "", ItemStatus.IN_TRANSIT),
        ("not_for_loan", "", ItemStatus.NOT_FOR_LOAN),
        ("LOST", "", ItemStatus.LOST),
        ("missing", "", ItemStatus.MISSING),
        # The library system's own words, mapped in the config (any case, any spacing).
        ("On  Holds Shelf", patron(1), ItemStatus.ON_HOLD),
        ("Reshelving", "", ItemStatus.AVAILABLE),
        ("Reshelving", patron(1), ItemStatus.ON_HOLD),
        ("REFERENCE", "", ItemStatus.NOT_FOR_LOAN),
        ("in transit", patron(1), ItemStatus.IN_TRANSIT),  # to the holder's branch: not yet
    ],
)
def test_item_statuses(status: str, hold_for: str, expected: ItemStatus) -> None:
    row = {"barcode": item(1), "status": status, "hold_for": hold_for}
    record, note = parse_item_row(row, status_values=EVERGREEN_ITEM_WORDS)
    assert (record.status, record.hold_for, note) == (expected, hold_for.strip(), "")


@pytest.mark.parametrize("status", ["Damaged", "checked out", "ok", "unknown"])
def test_an_item_status_the_kiosk_does_not_know_is_refused_and_noted(status: str) -> None:
    """Fail closed: an unknown word may be the library system's word for "lost"."""
    record, note = parse_item_row({"barcode": item(1), "status": status})
    assert record.status is ItemStatus.UNKNOWN
    assert note == f"status {status!r} is not one the kiosk knows: refused"
    assert not record.lendable_to(patron(1))


def test_an_item_on_hold_is_lendable_to_its_holder_only() -> None:
    held, _ = parse_item_row({"barcode": item(1), "status": "on_hold", "hold_for": patron(1)})
    assert held.lendable_to(patron(1))
    assert not held.lendable_to(patron(2))
    nobody, _ = parse_item_row({"barcode": item(1), "status": "on_hold"})
    assert not nobody.lendable_to(patron(1))
    assert not nobody.lendable_to("")
    lost, _ = parse_item_row({"barcode": item(1), "status": "lost", "hold_for": patron(1)})
    assert not lost.lendable_to(patron(1))


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"title": "No barcode"}, "barcode is empty"),
        ({"barcode": "31234 000"}, "is not a barcode"),
        ({"barcode": item(1), "title": "Bad\x00title"}, "title contains control characters"),
        ({"barcode": item(1), "material": "d\x07vd"}, "material contains control characters"),
        ({"barcode": item(1), "hold_for": "Ana Rivera"}, "is not a card number"),
        ({"barcode": item(1), "hold_for": "2123\x00"}, "is not a card number"),
    ],
)
def test_bad_item_rows(row: dict[str, str | None], message: str) -> None:
    with pytest.raises(RowError, match=re.escape(message)):
        parse_item_row(row)


# Properties: a decoder answers any text with a record or a RowError, never anything else -------


@given(st.text(max_size=80))
def test_any_block_list_line_is_a_record_or_a_row_error(line: str) -> None:
    try:
        record, note = parse_blocklist_line(line)
    except RowError:
        return
    assert record.status in {*BLOCKLIST_FLAGS.values(), PatronStatus.LISTED}
    assert (record.status is PatronStatus.LISTED) is bool(note)
    assert record.barcode == line.split()[0]
    assert record.barcode.isprintable()


@given(
    st.dictionaries(
        st.sampled_from(["barcode", "title", "material", "status", "hold_for"]),
        st.text(max_size=40),
    )
)
def test_any_item_row_is_a_record_or_a_row_error(row: dict[str, str]) -> None:
    try:
        record, note = parse_item_row(row)
    except RowError:
        return
    assert (record.status is ItemStatus.UNKNOWN) is bool(note)
    assert record.barcode == row["barcode"].strip()
    assert record.title == record.title.strip()
    assert record.material == record.material.lower()


@given(
    st.dictionaries(
        st.sampled_from(["cardnumber", "firstname", "surname", "dateexpiry", "balance", "status"]),
        st.text(max_size=30),
    )
)
def test_any_koha_row_is_a_record_or_a_row_error(row: dict[str, str]) -> None:
    try:
        record = parse_patron_row(row, layout=KOHA)
    except RowError:
        return
    assert record.barcode == row["cardnumber"].strip()


# A damaged header must not silently drop the columns that refuse patrons --------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (["barcode", "name", "gines", "status"], [("gines", "fines")]),
        (["barcode", "name", "fines", "statu"], [("statu", "status")]),
        (["barcode", "name", "fines", "sstatus"], [("sstatus", "status")]),
        (["barcode", "name;fines", "status"], [("name;fines", "fines"), ("name;fines", "name")]),
        (["barcode", "name", "fines", "status", "expires"], []),
        (["barcode", "name", "email", "phone"], []),  # other columns are fine
        (["barcode", "Name", "FINES"], []),  # case does not matter
    ],
)
def test_a_column_a_letter_away_from_one_it_reads_is_a_look_alike(
    header: list[str], expected: list[tuple[str, str]]
) -> None:
    assert PatronLayout().look_alikes(header) == expected


def test_a_mapped_column_is_not_taken_for_a_damaged_one() -> None:
    layout = PatronLayout.mapped(barcode="cardnumber", fines="fines_total")
    assert layout.look_alikes(["cardnumber", "name", "fines_total", "status"]) == []
