"""The receipt as lines of text, in the patron's language: what was borrowed and when it is due,
the card shown only by its last four digits."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from kiosk.domain.events import SessionEnd
from kiosk.presenter.i18n import load_language
from kiosk.presenter.presenter import FinishedSession, Loan
from kiosk.presenter.receipt import receipt_document
from tests.conftest import item, patron

CARD = patron(1)
PRINTED_AT = datetime(2026, 11, 23, 10, 5)
SESSION = FinishedSession(
    "session-1",
    CARD,
    (
        Loan(item(1), date(2026, 12, 14), "txn-1", 41, False),
        Loan(item(2), date(2026, 12, 21), "txn-2", 42, False),
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
