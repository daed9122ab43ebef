"""The receipt as lines of text, in the patron's language: what was borrowed and when it is due,
the card shown only by its last four digits."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from kiosk.domain.events import SessionEnd
from kiosk.presenter.i18n import load_language
from kiosk.presenter.presenter import FinishedSession
from kiosk.presenter.receipt import receipt_document
from tests.conftest import item, patron, stored

CARD = patron(1)
PRINTED_AT = datetime(2026, 11, 23, 10, 5)
SESSION = FinishedSession(
    "session-1",
    CARD,
    (
        stored(CARD, item(1), date(2026, 12, 14), "txn-1", 41, False),
        stored(CARD, item(2), date(2026, 12, 21), "txn-2", 42, False),
    ),
    SessionEnd.DONE,
)


def lines_for(code: str, session: FinishedSession = SESSION, branch: str = "Main") -> list[str]:
    document = receipt_document(
        session,
        library="Test Library",
        branch=branch,
        kiosk_id="TEST-SC01",
        printed_at=PRINTED_AT,
        lang=load_language(code),
    )
    return document.plain_lines()


RULE = "-" * 42  # a printed rule across the paper

EXPECTED = {
    "en": [
        "Test Library",
        "Main",
        "2026-11-23 10:05",
        f"Card ending {CARD[-4:]}",
        RULE,
        item(1),
        "  Due Monday, December 14",
        item(2),
        "  Due Monday, December 21",
        RULE,
        "2 items checked out",
        "Checked out while the library system was offline.",
        "Station TEST-SC01, references #41, #42",
    ],
    "es": [
        "Test Library",
        "Main",
        "2026-11-23 10:05",
        f"Tarjeta terminada en {CARD[-4:]}",
        RULE,
        item(1),
        "  Devolver el lunes, 14 de diciembre",
        item(2),
        "  Devolver el lunes, 21 de diciembre",
        RULE,
        "2 artículos prestados",
        "Prestado mientras el sistema de la biblioteca estaba fuera de línea.",
        "Estación TEST-SC01, referencias #41, #42",
    ],
}


@pytest.mark.parametrize("code", ["en", "es"])
def test_the_receipt_line_by_line(code: str) -> None:
    assert lines_for(code) == EXPECTED[code]


@pytest.mark.parametrize("code", ["en", "es"])
def test_the_full_card_number_is_never_printed(code: str) -> None:
    lines = lines_for(code)

    assert all(CARD not in line for line in lines)
    assert all(CARD[:-4] not in line for line in lines)  # not even its first digits
    assert sum(CARD[-4:] in line for line in lines) == 1


@pytest.mark.parametrize(
    ("code", "count"), [("en", "1 item checked out"), ("es", "1 artículo prestado")]
)
def test_one_item_is_counted_in_the_singular(code: str, count: str) -> None:
    one = FinishedSession("s", CARD, SESSION.loans[:1], SessionEnd.DONE)

    lines = lines_for(code, one)
    assert count in lines
    assert lines[-1].endswith(" #41")


def test_without_a_branch_there_is_no_empty_branch_line() -> None:
    lines = lines_for("en", branch="")
    assert lines[:3] == ["Test Library", "2026-11-23 10:05", f"Card ending {CARD[-4:]}"]


def test_a_qr_code_of_the_session_is_added_only_when_asked() -> None:
    from hardware.receipt import QRCode

    def document(qr: bool) -> tuple[object, ...]:
        return receipt_document(
            SESSION,
            library="Test Library",
            branch="Main",
            kiosk_id="TEST-SC01",
            printed_at=PRINTED_AT,
            lang=load_language("en"),
            qr=qr,
        ).blocks

    assert document(qr=True)[-1] == QRCode("session-1")
    assert not any(isinstance(block, QRCode) for block in document(qr=False))


# Titles from the item snapshot ------------------------------------------------------------------

TITLED = FinishedSession(
    "session-1",
    CARD,
    (
        stored(CARD, item(1), date(2026, 11, 30), "txn-1", 41, False, "Spirited Away"),
        stored(CARD, item(2), date(2026, 12, 14), "txn-2", 42, False),  # not in the item snapshot
    ),
    SessionEnd.DONE,
)


@pytest.mark.parametrize(
    ("code", "due"),
    [("en", "  Due Monday, November 30"), ("es", "  Devolver el lunes, 30 de noviembre")],
)
def test_a_known_item_is_printed_with_its_title_and_its_barcode(code: str, due: str) -> None:
    lines = lines_for(code, TITLED)
    start = lines.index("Spirited Away")
    assert lines[start : start + 3] == ["Spirited Away", f"  {item(1)}", due]
    # The item the kiosk does not know is printed as before: its barcode, then its due date.
    assert lines[start + 3] == item(2)
    assert lines[start + 4].startswith("  ")
    assert sum(item(2) in line for line in lines) == 1


def test_a_long_title_is_printed_whole_not_shortened_as_on_the_screen() -> None:
    # The paper has room (the printer wraps a long line); the screen's row does not.
    title = "The Lord of the Rings: The Fellowship of the Ring, being the first part"
    long = FinishedSession(
        "s",
        CARD,
        (stored(CARD, item(1), date(2026, 12, 14), "t", 1, False, title),),
        SessionEnd.DONE,
    )
    lines = lines_for("en", long)
    assert lines[lines.index(RULE) + 1 : lines.index(RULE) + 3] == [title, f"  {item(1)}"]
