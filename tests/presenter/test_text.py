"""The headless text view (`--show text`): the screens' own words, line by line."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from kiosk.domain.events import (
    ItemCheckedOut,
    ItemRefusal,
    ItemRefused,
    PatronAccepted,
    PatronRefused,
    Ready,
    SessionEnd,
    SessionEnded,
)
from kiosk.domain.patrons import PatronRefusal
from kiosk.presenter.i18n import load_language
from kiosk.presenter.presenter import Settings
from kiosk.presenter.text import TextScreen
from tests.conftest import KioskHome, item, patron, stored

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
AT = timedelta(hours=5)  # the monotonic clock, for the screens' timers
SETTINGS = Settings(library="Test Library")


def test_a_visit_in_english() -> None:
    screen = TextScreen(SETTINGS, load_language("en"))
    shown = [
        screen.show(Ready("K1", 8, NOW), AT),
        screen.show(PatronAccepted(patron(1), "Ana", "S1"), AT),
        screen.show(
            ItemCheckedOut(stored(patron(1), item(1), date(2026, 12, 14), "T1", 1, False)), AT
        ),
        screen.show(ItemRefused(item(1), ItemRefusal.DUPLICATE_IN_SESSION), AT),
        screen.show(SessionEnded(patron(1), 1, SessionEnd.DONE, "S1"), AT),
    ]
    assert shown == [
        ["[welcome] Scan your library card  Then scan each item you want to borrow."],
        ["[checkout] Hello, Ana!  Scan your items one at a time."],
        [f"    + Item {item(1)}   Due Monday, December 14"],
        ["    ! You already scanned this item."],
        ["[goodbye] Thank you!  1 item, due December 14"],
    ]


def test_a_new_card_prints_only_the_new_session() -> None:
    screen = TextScreen(SETTINGS, load_language("en"))
    screen.show(PatronAccepted(patron(1), "Ana", "S1"), AT)
    assert screen.show(SessionEnded(patron(1), 0, SessionEnd.NEW_PATRON, "S1"), AT) == []
    refused = screen.show(
        PatronRefused(patron(3), PatronRefusal.FINES_OVER_LIMIT, Decimal("12.00")), AT
    )
    assert refused == [
        "[refused] Sorry, you cannot borrow with this card today  "
        "This card has fines over the limit.  Please see staff at the desk."
    ]


def test_the_command_prints_the_screens_words_in_spanish(home: KioskHome) -> None:
    home.import_standard_snapshot(built_at="2026-11-23T06:00:00-05:00")
    result = home.kiosk(
        "run",
        "--headless",
        "--show",
        "text",
        "--language",
        "es",
        "--clock",
        "2026-11-23T10:00:00-05:00",
        input=f"{patron(1)}\n{item(1)}\n@done\n",
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("[welcome] Escanee su tarjeta de la biblioteca")
    assert "[checkout] ¡Hola, Ana!  Escanee sus artículos uno por uno." in lines
    assert f"    + Artículo {item(1)}   Devolver el lunes, 14 de diciembre" in lines
    assert lines[-1] == "[goodbye] ¡Gracias!  1 artículo, se devuelve el 14 de diciembre"
