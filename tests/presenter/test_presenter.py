"""The screens as a state machine: engine events, presses and time in, what the patron reads
(in English and in Spanish), the sounds and what the shell must do out.

The wall clock says 15:00 UTC on Monday 2026-11-23 (10:00 in New York); a 21-day loan is due
Monday 2026-12-14. Time moves only as an argument: every duration is driven with explicit
monotonic instants (NOW and later), which the wall clock never moves.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from kiosk.domain.events import (
    Event,
    ItemCheckedOut,
    ItemRefusal,
    ItemRefused,
    OutOfService,
    OutOfServiceReason,
    PatronAccepted,
    PatronRefused,
    Ready,
    ScanRejected,
    ScanRejection,
    SessionEnd,
    SessionEnded,
)
from kiosk.domain.patrons import PatronRefusal
from kiosk.presenter.i18n import Language, load_language
from kiosk.presenter.presenter import (
    TITLE_LIMIT,
    Action,
    ButtonView,
    Effect,
    FinishedSession,
    LineView,
    PlaySound,
    PrintReceipt,
    Receipt,
    Screen,
    ScreenView,
    SendToEngine,
    Settings,
    Sound,
    UiState,
    initial_state,
    on_deadline,
    on_event,
    on_press,
    on_receipt,
    on_tick,
    shorten,
    view,
)
from tests.conftest import item, patron, stored

WALL = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
NOW = timedelta(hours=5)  # a monotonic instant: the time since the board booted
DUE = date(2026, 12, 14)  # a Monday
LATER_DUE = date(2026, 12, 21)
CARD = patron(1)
SETTINGS = Settings(library="Test Library", branch="Main")
PRINTING = replace(SETTINGS, printer=True)  # receipt_mode "ask", a printer configured
TINY = timedelta(microseconds=1)
LANGUAGES = ["en", "es"]
LANGS: dict[str, Language] = {code: load_language(code) for code in LANGUAGES}

READY = Ready("TEST-SC01", 8, WALL - timedelta(hours=4))


def accepted(first_name: str = "Ana", card: str = CARD) -> PatronAccepted:
    return PatronAccepted(card, first_name, "session-1")


def checked_out(
    serial: int,
    due: date = DUE,
    *,
    special: bool = False,
    title: str | None = None,
    material: str | None = None,
) -> ItemCheckedOut:
    lent = stored(CARD, item(serial), due, f"txn-{serial}", 40 + serial, special, title, material)
    return ItemCheckedOut(lent)


def ended(reason: SessionEnd, items: int) -> SessionEnded:
    return SessionEnded(CARD, items, reason, "session-1")


# Driving the presenter ------------------------------------------------------------------------


def feed(
    state: UiState, *events: Event, now: timedelta = NOW, settings: Settings = SETTINGS
) -> tuple[UiState, list[Effect]]:
    effects: list[Effect] = []
    for event in events:
        update = on_event(state, event, now, settings)
        state = update.state
        effects += update.effects
    return state, effects


def welcome(code: str = "en", settings: Settings = SETTINGS) -> UiState:
    """The welcome screen, switched to `code` with the language button like a patron would."""
    state, _ = feed(initial_state(settings), READY, settings=settings)
    while state.language != code:
        state = on_press(state, Action.LANGUAGE, NOW, settings).state
    return state


def in_session(
    code: str, *events: Event, settings: Settings = SETTINGS
) -> tuple[UiState, list[Effect]]:
    """A patron accepted (the greeting's sound not counted), then these events."""
    state, _ = feed(welcome(code, settings), accepted(), settings=settings)
    return feed(state, *events, settings=settings)


def show(state: UiState, now: timedelta = NOW, settings: Settings = SETTINGS) -> ScreenView:
    """What the screen shows, in the state's own language (as the controller draws it)."""
    return view(state, now, LANGS[state.language], settings)


# The words of each screen, in each language ---------------------------------------------------

TEXT = {
    "en": {
        "starting": "Starting…",
        "welcome": "Scan your library card",
        "welcome_message": "Then scan each item you want to borrow.",
        "hello_ana": "Hello, Ana!",
        "hello_card": "Hello! (card ending {digits})",
        "checkout_message": "Scan your items one at a time.",
        "done": "Done",
        "still_here": "I'm still here",
        "item": "Item {barcode}",
        "due": "Due Monday, December 14",
        "one_item": "1 item checked out",
        "two_items": "2 items checked out",
        "special": "Special due date: everything is due Monday, December 14.",
        "refused": "Sorry, you cannot borrow with this card today",
        "see_staff": "Please see staff at the desk.",
        "fines": "This card has $12.75 in fines, over the limit of $10.00.",
        "finish": "Would you like a receipt?",
        "print": "Print a receipt",
        "no_receipt": "No receipt",
        "thanks": "Thank you!",
        "ended": "Your session has ended.",
        "printing": "Your receipt is printing.",
        "printed": "Please take your receipt.",
        "print_failed": (
            "The receipt could not be printed. Your items are checked out all the same."
        ),
        "no_items": "No items were checked out.",
        "one_due": "1 item, due December 14",
        "three_due": "3 items, due December 14",
        "two_first_due": "2 items, first due December 14",
        "down": "This station is not available right now",
        "down_message": "Please see staff at the desk. We are sorry for the trouble.",
        "other_language": "Español",
    },
    "es": {
        "starting": "Iniciando…",
        "welcome": "Escanee su tarjeta de la biblioteca",
        "welcome_message": "Luego escanee cada artículo que quiera llevarse.",
        "hello_ana": "¡Hola, Ana!",
        "hello_card": "¡Hola! (tarjeta terminada en {digits})",
        "checkout_message": "Escanee sus artículos uno por uno.",
        "done": "Terminar",
        "still_here": "Sigo aquí",
        "item": "Artículo {barcode}",
        "due": "Devolver el lunes, 14 de diciembre",
        "one_item": "1 artículo prestado",
        "two_items": "2 artículos prestados",
        "special": "Fecha de devolución especial: todo se devuelve el lunes, 14 de diciembre.",
        "refused": "Lo sentimos, hoy no puede pedir préstamos con esta tarjeta",
        "see_staff": "Por favor, hable con el personal en el mostrador.",
        # CLDR puts a no-break space between the amount and the currency (it never wraps).
        "fines": (
            "Esta tarjeta tiene 12,75\N{NO-BREAK SPACE}US$ en multas, "
            "por encima del límite de 10,00\N{NO-BREAK SPACE}US$."
        ),
        "finish": "¿Quiere un recibo?",
        "print": "Imprimir un recibo",
        "no_receipt": "Sin recibo",
        "thanks": "¡Gracias!",
        "ended": "Su sesión ha terminado.",
        "printing": "Se está imprimiendo su recibo.",
        "printed": "Por favor, tome su recibo.",
        "print_failed": (
            "No se pudo imprimir el recibo. Sus artículos quedan prestados de todas formas."
        ),
        "no_items": "No se prestó ningún artículo.",
        "one_due": "1 artículo, se devuelve el 14 de diciembre",
        "three_due": "3 artículos, se devuelven el 14 de diciembre",
        "two_first_due": "2 artículos, el primero se devuelve el 14 de diciembre",
        "down": "Esta estación no está disponible en este momento",
        "down_message": "Por favor, hable con el personal en el mostrador. Disculpe las molestias.",
        "other_language": "English",
    },
}

REFUSAL_TEXT = {
    "en": {
        PatronRefusal.UNKNOWN_PATRON: "We could not find this card.",
        PatronRefusal.BLOCKED: "This card is blocked.",
        PatronRefusal.LOST: "This card has been reported lost.",
        PatronRefusal.EXPIRED: "This card has expired.",
        PatronRefusal.FINES_OVER_LIMIT: "This card has fines over the limit.",
        PatronRefusal.PATRON_LIMIT: "This card has reached its limit of items.",
    },
    "es": {
        PatronRefusal.UNKNOWN_PATRON: "No encontramos esta tarjeta.",
        PatronRefusal.BLOCKED: "Esta tarjeta está bloqueada.",
        PatronRefusal.LOST: "Esta tarjeta fue reportada como perdida.",
        PatronRefusal.EXPIRED: "Esta tarjeta está vencida.",
        PatronRefusal.FINES_OVER_LIMIT: "Esta tarjeta tiene multas por encima del límite.",
        PatronRefusal.PATRON_LIMIT: "Esta tarjeta llegó a su límite de artículos.",
    },
}

# An item the item snapshot says may not leave with this patron: the patron goes to the desk.
HELD_EN = "This item is being kept for another patron. Please take it to the desk."
HELD_ES = "Este artículo está reservado para otra persona. Por favor, llévelo al mostrador."
NOT_HERE_EN = "This item cannot be borrowed here. Please take it to the desk."
NOT_HERE_ES = "Este artículo no se puede prestar aquí. Por favor, llévelo al mostrador."

ITEM_NOTICE_TEXT = {
    "en": {
        ItemRefusal.NO_PATRON: "Please scan your library card first.",
        ItemRefusal.DUPLICATE_IN_SESSION: "You already scanned this item.",
        ItemRefusal.SESSION_LIMIT: "You have reached the limit of items for one visit.",
        ItemRefusal.PATRON_LIMIT: "This card has reached its limit of items.",
        ItemRefusal.ON_HOLD: HELD_EN,
        ItemRefusal.IN_TRANSIT: NOT_HERE_EN,
        ItemRefusal.NOT_FOR_LOAN: NOT_HERE_EN,
        ItemRefusal.LOST_OR_MISSING: NOT_HERE_EN,
        ItemRefusal.UNKNOWN_STATUS: NOT_HERE_EN,
    },
    "es": {
        ItemRefusal.NO_PATRON: "Primero escanee su tarjeta de la biblioteca.",
        ItemRefusal.DUPLICATE_IN_SESSION: "Ya escaneó este artículo.",
        ItemRefusal.SESSION_LIMIT: "Llegó al límite de artículos por visita.",
        ItemRefusal.PATRON_LIMIT: "Esta tarjeta llegó a su límite de artículos.",
        ItemRefusal.ON_HOLD: HELD_ES,
        ItemRefusal.IN_TRANSIT: NOT_HERE_ES,
        ItemRefusal.NOT_FOR_LOAN: NOT_HERE_ES,
        ItemRefusal.LOST_OR_MISSING: NOT_HERE_ES,
        ItemRefusal.UNKNOWN_STATUS: NOT_HERE_ES,
    },
}

SCAN_NOTICE_TEXT = {
    "en": {
        ScanRejection.INVALID_CHECK_DIGIT: "That did not scan correctly - please scan it again.",
        ScanRejection.UNRECOGNISED: "That is not a library item.",
        ScanRejection.LIBRARY_CARD: (
            "That is a library card, not an item. Scan your items, or press Done."
        ),
        ScanRejection.CARD_OR_ITEM: (
            "This kiosk cannot tell if that is a library card or an item. Please ask library staff."
        ),
    },
    "es": {
        ScanRejection.INVALID_CHECK_DIGIT: "No se leyó bien. Por favor, escanéelo otra vez.",
        ScanRejection.UNRECOGNISED: "Eso no es un artículo de la biblioteca.",
        ScanRejection.LIBRARY_CARD: (
            "Eso es una tarjeta de la biblioteca, no un artículo. "
            "Escanee sus artículos o pulse Terminar."
        ),
        ScanRejection.CARD_OR_ITEM: (
            "Esta estación no puede saber si eso es una tarjeta de la biblioteca o un "
            "artículo. Por favor, pida ayuda al personal de la biblioteca."
        ),
    },
}

OUT_OF_SERVICE_TEXT = {
    "en": {
        OutOfServiceReason.PAUSED: "Paused by staff.",
        OutOfServiceReason.NO_SNAPSHOT: "No patron list has been loaded.",
        OutOfServiceReason.SNAPSHOT_TOO_OLD: "The patron list is too old.",
        OutOfServiceReason.STORAGE_ERROR: "Checkouts cannot be saved.",
    },
    "es": {
        OutOfServiceReason.PAUSED: "Pausada por el personal.",
        OutOfServiceReason.NO_SNAPSHOT: "No se ha cargado la lista de usuarios.",
        OutOfServiceReason.SNAPSHOT_TOO_OLD: "La lista de usuarios es demasiado antigua.",
        OutOfServiceReason.STORAGE_ERROR: "No se pueden guardar los préstamos.",
    },
}


def test_the_tables_cover_every_reason() -> None:
    """A reason added to the engine without a sentence here would go untested."""
    for code in LANGUAGES:
        assert set(REFUSAL_TEXT[code]) == set(PatronRefusal)
        assert set(ITEM_NOTICE_TEXT[code]) == set(ItemRefusal)
        assert set(SCAN_NOTICE_TEXT[code]) == set(ScanRejection)
        assert set(OUT_OF_SERVICE_TEXT[code]) == set(OutOfServiceReason)


# Starting and welcome -------------------------------------------------------------------------


@pytest.mark.parametrize("code", LANGUAGES)
def test_before_the_engine_is_ready_the_screen_says_starting(code: str) -> None:
    shown = view(initial_state(SETTINGS), NOW, LANGS[code], SETTINGS)

    assert shown.screen is Screen.STARTING
    assert shown.heading == TEXT[code]["starting"]
    assert shown.language_button is None
    assert shown.buttons == ()


@pytest.mark.parametrize("code", LANGUAGES)
def test_ready_shows_the_welcome_screen(code: str) -> None:
    state, effects = feed(initial_state(SETTINGS), READY)
    assert state.screen is Screen.WELCOME
    assert effects == []

    shown = show(welcome(code))
    assert shown.heading == TEXT[code]["welcome"]
    assert shown.message == TEXT[code]["welcome_message"]
    assert shown.library == "Test Library - Main"
    assert shown.buttons == ()
    assert shown.notice is None
    assert shown.language_button == ButtonView(
        Action.LANGUAGE, TEXT[code]["other_language"], primary=False
    )


def test_the_library_line_has_no_dash_without_a_branch() -> None:
    settings = replace(SETTINGS, branch="")
    assert show(welcome(settings=settings), settings=settings).library == "Test Library"


# A patron comes -------------------------------------------------------------------------------


@pytest.mark.parametrize("code", LANGUAGES)
def test_an_accepted_patron_is_greeted_by_first_name(code: str) -> None:
    state, effects = feed(welcome(code), accepted("Ana"))

    shown = show(state)
    assert shown.screen is Screen.CHECKOUT
    assert shown.heading == TEXT[code]["hello_ana"]
    assert shown.message == TEXT[code]["checkout_message"]
    assert shown.buttons == (ButtonView(Action.DONE, TEXT[code]["done"]),)
    assert shown.lines == ()
    assert shown.count == ""
    assert shown.banner == ""
    assert effects == [PlaySound(Sound.SUCCESS)]


@pytest.mark.parametrize("code", LANGUAGES)
def test_a_patron_without_a_first_name_sees_only_the_last_four_digits(code: str) -> None:
    state, _ = feed(welcome(code), accepted(first_name=""))

    shown = show(state)
    assert shown.heading == TEXT[code]["hello_card"].format(digits=CARD[-4:])
    assert all(CARD not in text for text in shown.texts())


@pytest.mark.parametrize("code", LANGUAGES)
def test_a_checked_out_item_adds_a_line_with_its_due_date_written_out(code: str) -> None:
    state, effects = in_session(code, checked_out(1))

    shown = show(state)
    assert shown.lines == (LineView(TEXT[code]["item"].format(barcode=item(1)), TEXT[code]["due"]),)
    assert shown.count == TEXT[code]["one_item"]
    assert shown.banner == ""
    assert effects == [PlaySound(Sound.SUCCESS)]


@pytest.mark.parametrize("code", LANGUAGES)
def test_a_known_item_shows_its_title_instead_of_its_barcode(code: str) -> None:
    titled = checked_out(1, title="Spirited Away", material="dvd")
    state, effects = in_session(code, titled, checked_out(2))

    shown = show(state)
    assert shown.lines == (
        LineView(TEXT[code]["item"].format(barcode=item(2)), TEXT[code]["due"]),  # unknown
        LineView("Spirited Away", TEXT[code]["due"]),
    )
    assert all(item(1) not in text for text in shown.texts())
    assert state.loans[0] == stored(CARD, item(1), DUE, "txn-1", 41, False, "Spirited Away", "dvd")
    assert effects == [PlaySound(Sound.SUCCESS), PlaySound(Sound.SUCCESS)]


def test_a_long_title_is_shortened_at_a_word_to_fit_its_row() -> None:
    title = "The Lord of the Rings: The Fellowship of the Ring, being the first part"
    state, _ = in_session("en", checked_out(1, title=title))

    (line,) = show(state).lines
    assert line.item == "The Lord of the Rings: The Fellowship of the Ring, being…"
    assert len(line.item) <= TITLE_LIMIT
    assert title.startswith(line.item.removesuffix("…"))


@pytest.mark.parametrize(
    ("title", "shown"),
    [
        ("The Hobbit", "The Hobbit"),
        ("x" * 60, "x" * 60),  # exactly at the limit
        ("x" * 61, "x" * 59 + "…"),  # no space to cut at: cut inside the word
        ("A " + "b" * 70, "A " + "b" * 57 + "…"),  # the only space is too early to cut at
        ("Cien años de soledad: edición conmemorativa de la Real Academia Española", None),
    ],
)
def test_shorten(title: str, shown: str | None) -> None:
    result = shorten(title)
    assert len(result) <= TITLE_LIMIT
    if shown is not None:
        assert result == shown
    else:
        assert result == "Cien años de soledad: edición conmemorativa de la Real…"


@pytest.mark.parametrize("code", LANGUAGES)
def test_the_count_uses_plural_forms_and_the_newest_line_is_on_top(code: str) -> None:
    state, effects = in_session(code, checked_out(1), checked_out(2, LATER_DUE))

    shown = show(state)
    assert shown.count == TEXT[code]["two_items"]
    assert [line.item for line in shown.lines] == [
        TEXT[code]["item"].format(barcode=item(2)),
        TEXT[code]["item"].format(barcode=item(1)),
    ]
    assert shown.lines[1].due == TEXT[code]["due"]
    assert effects == [PlaySound(Sound.SUCCESS), PlaySound(Sound.SUCCESS)]


@pytest.mark.parametrize("code", LANGUAGES)
def test_a_special_due_date_is_announced_in_a_banner(code: str) -> None:
    state, _ = in_session(code, checked_out(1, special=True), checked_out(2, special=True))

    shown = show(state)
    assert shown.banner == TEXT[code]["special"]
    assert [line.due for line in shown.lines] == [TEXT[code]["due"]] * 2


def test_the_banner_names_the_special_date_not_an_ordinary_one() -> None:
    state, _ = in_session("en", checked_out(1, LATER_DUE), checked_out(2, DUE, special=True))
    assert show(state).banner == "Special due date: everything is due Monday, December 14."

    state, _ = in_session("en", checked_out(1, DUE), checked_out(2, LATER_DUE, special=True))
    assert show(state).banner == "Special due date: everything is due Monday, December 21."


# Refused patrons ------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", list(PatronRefusal))
@pytest.mark.parametrize("code", LANGUAGES)
def test_each_refusal_has_its_own_plain_sentence(code: str, reason: PatronRefusal) -> None:
    fines = Decimal("12.75") if reason is PatronRefusal.FINES_OVER_LIMIT else None
    state, effects = feed(welcome(code), PatronRefused(CARD, reason, fines))

    shown = show(state)
    assert shown.screen is Screen.REFUSED
    assert shown.heading == TEXT[code]["refused"]
    assert shown.message == REFUSAL_TEXT[code][reason]
    assert shown.fine_print == TEXT[code]["see_staff"]
    assert shown.problem is True
    assert shown.buttons == ()
    assert effects == [PlaySound(Sound.PROBLEM)]


@pytest.mark.parametrize("code", LANGUAGES)
def test_refusal_sentences_are_all_different(code: str) -> None:
    messages = [
        show(feed(welcome(code), PatronRefused(CARD, reason))[0]).message
        for reason in PatronRefusal
    ]
    assert len(set(messages)) == len(PatronRefusal)


@pytest.mark.parametrize("code", LANGUAGES)
def test_fine_amounts_are_shown_in_the_language_when_the_library_wants_them(code: str) -> None:
    settings = replace(SETTINGS, show_fine_amounts=True, fines_limit=Decimal("10.00"))
    refused = PatronRefused(CARD, PatronRefusal.FINES_OVER_LIMIT, Decimal("12.75"))
    state, _ = feed(welcome(code, settings), refused, settings=settings)

    assert show(state, settings=settings).message == TEXT[code]["fines"]


@pytest.mark.parametrize("code", LANGUAGES)
def test_fine_amounts_are_not_shown_by_default(code: str) -> None:
    settings = replace(SETTINGS, fines_limit=Decimal("10.00"))
    assert settings.show_fine_amounts is False
    refused = PatronRefused(CARD, PatronRefusal.FINES_OVER_LIMIT, Decimal("12.75"))
    state, _ = feed(welcome(code, settings), refused, settings=settings)

    shown = show(state, settings=settings)
    assert shown.message == REFUSAL_TEXT[code][PatronRefusal.FINES_OVER_LIMIT]
    assert all("12" not in text and "10" not in text for text in shown.texts())


def test_the_refused_screen_returns_to_welcome_after_its_time() -> None:
    state, _ = feed(welcome(), PatronRefused(CARD, PatronRefusal.BLOCKED))

    assert on_tick(state, NOW + SETTINGS.refused - TINY, SETTINGS).screen is Screen.REFUSED
    back = on_tick(state, NOW + SETTINGS.refused, SETTINGS)
    assert back.screen is Screen.WELCOME
    assert show(back).heading == TEXT["en"]["welcome"]


# Notices over the checkout list ---------------------------------------------------------------


def _assert_notice_comes_and_goes(code: str, event: Event, expected: str) -> None:
    state, _ = in_session(code, checked_out(1))
    lines = show(state).lines
    state, effects = feed(state, event)

    shown = show(state)
    assert shown.screen is Screen.CHECKOUT
    assert shown.notice is not None
    assert shown.notice.text == expected
    assert shown.lines == lines  # over the list, not instead of it
    assert effects == [PlaySound(Sound.PROBLEM)]

    still = on_tick(state, NOW + SETTINGS.notice - TINY, SETTINGS)
    assert show(still).notice is not None
    gone = on_tick(state, NOW + SETTINGS.notice, SETTINGS)
    assert show(gone).notice is None
    assert show(gone).screen is Screen.CHECKOUT
    assert show(gone).lines == lines


@pytest.mark.parametrize("reason", list(ItemRefusal))
@pytest.mark.parametrize("code", LANGUAGES)
def test_a_refused_item_shows_a_notice_that_goes_away(code: str, reason: ItemRefusal) -> None:
    _assert_notice_comes_and_goes(
        code, ItemRefused(item(1), reason), ITEM_NOTICE_TEXT[code][reason]
    )


@pytest.mark.parametrize("reason", list(ScanRejection))
@pytest.mark.parametrize("code", LANGUAGES)
def test_a_rejected_scan_shows_a_notice_that_goes_away(code: str, reason: ScanRejection) -> None:
    _assert_notice_comes_and_goes(
        code, ScanRejected("31234000000017", reason, "detail"), SCAN_NOTICE_TEXT[code][reason]
    )


def test_the_misread_notice_is_exactly_this_sentence() -> None:
    misread = ScanRejected("31234000000017", ScanRejection.INVALID_CHECK_DIGIT, "luhn")
    state, _ = in_session("en", misread)

    notice = show(state).notice
    assert notice is not None
    assert notice.text == "That did not scan correctly - please scan it again."


@pytest.mark.parametrize("code", LANGUAGES)
def test_an_item_before_a_card_shows_a_notice_on_the_welcome_screen(code: str) -> None:
    state, effects = feed(welcome(code), ItemRefused(item(1), ItemRefusal.NO_PATRON))

    shown = show(state)
    assert shown.screen is Screen.WELCOME
    assert shown.heading == TEXT[code]["welcome"]
    assert shown.notice is not None
    assert shown.notice.text == ITEM_NOTICE_TEXT[code][ItemRefusal.NO_PATRON]
    assert effects == [PlaySound(Sound.PROBLEM)]
    assert show(on_tick(state, NOW + SETTINGS.notice, SETTINGS)).notice is None


def test_the_next_checkout_clears_a_notice_at_once() -> None:
    state, _ = in_session("en", ItemRefused(item(1), ItemRefusal.DUPLICATE_IN_SESSION))
    assert show(state).notice is not None

    state, _ = feed(state, checked_out(2))
    assert show(state).notice is None


def test_notices_are_not_shown_while_out_of_service() -> None:
    down, _ = feed(welcome(), OutOfService(OutOfServiceReason.NO_SNAPSHOT, "no snapshot"))
    rejected = ScanRejected("x", ScanRejection.UNRECOGNISED, "not a barcode")

    state, effects = feed(down, rejected)
    assert show(state).notice is None
    assert effects == []


# The idle countdown ---------------------------------------------------------------------------

COUNTDOWN_TEXT = {
    "en": "Are you still there? This session ends in {n} {unit}.",
    "es": "¿Sigue ahí? Esta sesión termina en {n} {unit}.",
}
UNITS = {"en": ("second", "seconds"), "es": ("segundo", "segundos")}


def countdown_text(code: str, n: int) -> str:
    singular, plural = UNITS[code]
    return COUNTDOWN_TEXT[code].format(n=n, unit=singular if n == 1 else plural)


@pytest.mark.parametrize(
    ("before_deadline", "shown_seconds"),
    [
        (60.0, None),  # the session just started
        (10.5, None),  # not yet within the 10 s countdown
        (10.0, 10),
        (9.0, 9),
        (2.0, 2),
        (1.5, 2),  # whole seconds, rounded up: never "0 seconds" while there is time
        (1.0, 1),
        (0.2, 1),
        (0.0, None),  # the deadline has come: the engine ends the session
    ],
)
@pytest.mark.parametrize("code", LANGUAGES)
def test_the_countdown_appears_only_near_the_deadline(
    code: str, before_deadline: float, shown_seconds: int | None
) -> None:
    state, _ = in_session(code, checked_out(1))
    deadline = NOW + timedelta(seconds=60)
    state = on_deadline(state, deadline)

    shown = show(state, deadline - timedelta(seconds=before_deadline))
    done = ButtonView(Action.DONE, TEXT[code]["done"])
    if shown_seconds is None:
        assert shown.countdown == ""
        assert shown.buttons == (done,)
    else:
        assert shown.countdown == countdown_text(code, shown_seconds)
        still_here = ButtonView(Action.STILL_HERE, TEXT[code]["still_here"], primary=False)
        assert shown.buttons == (still_here, done)


def test_the_countdown_counts_down_as_time_passes() -> None:
    state, _ = in_session("en", checked_out(1))
    deadline = NOW + timedelta(seconds=60)
    state = on_deadline(state, deadline)

    seen = [show(state, deadline - timedelta(seconds=left)).countdown for left in (10, 5, 3, 1)]
    assert seen == [countdown_text("en", n) for n in (10, 5, 3, 1)]


def test_no_countdown_when_it_is_switched_off() -> None:
    settings = replace(SETTINGS, countdown=timedelta(0))
    state, _ = in_session("en", checked_out(1), settings=settings)
    deadline = NOW + timedelta(seconds=60)
    state = on_deadline(state, deadline)

    assert show(state, deadline - timedelta(seconds=1), settings).countdown == ""


def test_a_moved_deadline_takes_the_countdown_away() -> None:
    state, _ = in_session("en")
    state = on_deadline(state, NOW + timedelta(seconds=60))
    late = NOW + timedelta(seconds=55)
    assert show(state, late).countdown != ""

    state = on_deadline(state, late + timedelta(seconds=60))  # the patron answered
    assert show(state, late).countdown == ""


def test_im_still_here_is_sent_to_the_engine() -> None:
    state, _ = in_session("en")
    state = on_deadline(state, NOW + timedelta(seconds=60))

    update = on_press(state, Action.STILL_HERE, NOW + timedelta(seconds=55), SETTINGS)
    assert update.effects == (SendToEngine(Action.STILL_HERE),)
    assert update.state == state


def test_done_is_sent_to_the_engine() -> None:
    state, _ = in_session("en", checked_out(1))

    update = on_press(state, Action.DONE, NOW, SETTINGS)
    assert update.effects == (SendToEngine(Action.DONE),)
    assert update.state == state


def test_done_does_nothing_outside_a_session() -> None:
    update = on_press(welcome(), Action.DONE, NOW, SETTINGS)
    assert update.effects == ()


# The end of a session -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("receipt_mode", "printer", "reason", "items", "screen", "receipt", "prints"),
    [
        ("ask", True, SessionEnd.DONE, 2, Screen.FINISH, Receipt.NONE, False),
        ("ask", False, SessionEnd.DONE, 2, Screen.GOODBYE, Receipt.NONE, False),
        ("never", True, SessionEnd.DONE, 2, Screen.GOODBYE, Receipt.NONE, False),
        ("always", True, SessionEnd.DONE, 2, Screen.GOODBYE, Receipt.PRINTING, True),
        ("always", False, SessionEnd.DONE, 2, Screen.GOODBYE, Receipt.NONE, False),
        ("ask", True, SessionEnd.TIMEOUT, 2, Screen.GOODBYE, Receipt.NONE, False),
        ("ask", True, SessionEnd.DONE, 0, Screen.GOODBYE, Receipt.NONE, False),
        ("always", True, SessionEnd.DONE, 0, Screen.GOODBYE, Receipt.NONE, False),
    ],
)
def test_where_a_session_ends(
    receipt_mode: str,
    printer: bool,
    reason: SessionEnd,
    items: int,
    screen: Screen,
    receipt: Receipt,
    prints: bool,
) -> None:
    settings = replace(SETTINGS, receipt_mode=receipt_mode, printer=printer)
    loans = [checked_out(n) for n in range(1, items + 1)]
    state, _ = in_session("en", *loans, settings=settings)

    state, effects = feed(state, ended(reason, items), settings=settings)

    assert state.screen is screen
    assert state.receipt is receipt
    assert state.patron == ""
    assert state.loans == ()
    finished = state.finished
    assert finished is not None
    assert [loan.checkout.item for loan in finished.loans] == [item(n) for n in range(1, items + 1)]
    assert effects == ([PrintReceipt(finished)] if prints else [])


@pytest.mark.parametrize("reason", [SessionEnd.NEW_PATRON, SessionEnd.OUT_OF_SERVICE])
def test_a_session_ended_by_what_comes_next_waits_for_that_event(reason: SessionEnd) -> None:
    state, _ = in_session("en", checked_out(1), settings=PRINTING)
    state, effects = feed(state, ended(reason, 1), settings=PRINTING)

    assert effects == []
    assert state.loans == ()
    assert state.screen is Screen.CHECKOUT  # the next event (accepted, out of service) decides


@pytest.mark.parametrize("code", LANGUAGES)
def test_the_finish_screen_asks_about_a_receipt(code: str) -> None:
    state, _ = in_session(code, checked_out(1), settings=PRINTING)
    state, _ = feed(state, ended(SessionEnd.DONE, 1), settings=PRINTING)

    shown = show(state, settings=PRINTING)
    assert shown.screen is Screen.FINISH
    assert shown.heading == TEXT[code]["finish"]
    assert shown.message == TEXT[code]["one_due"]
    assert shown.buttons == (
        ButtonView(Action.PRINT_RECEIPT, TEXT[code]["print"]),
        ButtonView(Action.NO_RECEIPT, TEXT[code]["no_receipt"], primary=False),
    )


def _finish_screen() -> UiState:
    state, _ = in_session("en", checked_out(1), checked_out(2), settings=PRINTING)
    state, _ = feed(state, ended(SessionEnd.DONE, 2), settings=PRINTING)
    assert state.screen is Screen.FINISH
    return state


def test_print_a_receipt_prints_and_says_so() -> None:
    state = _finish_screen()

    update = on_press(state, Action.PRINT_RECEIPT, NOW, PRINTING)
    assert update.state.screen is Screen.GOODBYE
    assert update.state.receipt is Receipt.PRINTING
    assert update.effects == (PrintReceipt(update.state.finished),)
    assert show(update.state, settings=PRINTING).fine_print == TEXT["en"]["printing"]


def test_no_receipt_says_goodbye_without_printing() -> None:
    state = _finish_screen()

    update = on_press(state, Action.NO_RECEIPT, NOW, PRINTING)
    assert update.state.screen is Screen.GOODBYE
    assert update.state.receipt is Receipt.NONE
    assert update.effects == ()
    assert show(update.state, settings=PRINTING).fine_print == ""


def test_the_finish_screen_times_out_to_goodbye_without_printing() -> None:
    state = _finish_screen()

    assert on_tick(state, NOW + PRINTING.finish - TINY, PRINTING).screen is Screen.FINISH
    gone = on_tick(state, NOW + PRINTING.finish, PRINTING)
    assert gone.screen is Screen.GOODBYE
    assert gone.receipt is Receipt.NONE


@pytest.mark.parametrize("code", LANGUAGES)
def test_a_timed_out_session_says_it_has_ended_and_prints_nothing(code: str) -> None:
    state, _ = in_session(code, checked_out(1), settings=PRINTING)
    state, effects = feed(state, ended(SessionEnd.TIMEOUT, 1), settings=PRINTING)

    shown = show(state, settings=PRINTING)
    assert shown.screen is Screen.GOODBYE
    assert shown.heading == TEXT[code]["ended"]
    assert shown.message == TEXT[code]["one_due"]
    assert shown.fine_print == ""
    assert effects == []


@pytest.mark.parametrize("code", LANGUAGES)
def test_goodbye_thanks_the_patron_and_sums_up(code: str) -> None:
    loans = [checked_out(n) for n in (1, 2, 3)]
    state, _ = in_session(code, *loans)
    state, _ = feed(state, ended(SessionEnd.DONE, 3))

    shown = show(state)
    assert shown.heading == TEXT[code]["thanks"]
    assert shown.message == TEXT[code]["three_due"]
    assert shown.language_button is None
    assert shown.problem is False


@pytest.mark.parametrize("code", LANGUAGES)
def test_the_summary_names_the_first_due_date_when_they_differ(code: str) -> None:
    state, _ = in_session(code, checked_out(1, LATER_DUE), checked_out(2, DUE))
    state, _ = feed(state, ended(SessionEnd.DONE, 2))

    assert show(state).message == TEXT[code]["two_first_due"]


@pytest.mark.parametrize("code", LANGUAGES)
def test_a_session_without_items_says_so(code: str) -> None:
    state, _ = in_session(code)
    state, _ = feed(state, ended(SessionEnd.DONE, 0))

    assert show(state).message == TEXT[code]["no_items"]


def test_goodbye_returns_to_welcome_after_its_time() -> None:
    state, _ = in_session("en", checked_out(1))
    state, _ = feed(state, ended(SessionEnd.DONE, 1))

    assert on_tick(state, NOW + SETTINGS.goodbye - TINY, SETTINGS).screen is Screen.GOODBYE
    assert on_tick(state, NOW + SETTINGS.goodbye, SETTINGS).screen is Screen.WELCOME


def _printing_goodbye() -> UiState:
    settings = replace(PRINTING, receipt_mode="always")
    state, _ = in_session("en", checked_out(1), settings=settings)
    state, _ = feed(state, ended(SessionEnd.DONE, 1), settings=settings)
    assert state.receipt is Receipt.PRINTING
    return state


def test_goodbye_waits_while_the_receipt_is_printing() -> None:
    state = _printing_goodbye()

    much_later = on_tick(state, NOW + timedelta(minutes=5), PRINTING)
    assert much_later.screen is Screen.GOODBYE
    assert show(much_later, settings=PRINTING).fine_print == TEXT["en"]["printing"]


@pytest.mark.parametrize(
    ("printed", "receipt", "message", "problem"),
    [
        (True, Receipt.PRINTED, TEXT["en"]["printed"], False),
        (False, Receipt.FAILED, TEXT["en"]["print_failed"], True),
    ],
)
def test_the_printers_answer_is_shown_then_goodbye_ends(
    printed: bool, receipt: Receipt, message: str, problem: bool
) -> None:
    state = _printing_goodbye()
    answered_at = NOW + timedelta(seconds=30)

    state = on_receipt(state, printed, answered_at, PRINTING)
    shown = show(state, settings=PRINTING)
    assert state.receipt is receipt
    assert shown.fine_print == message
    assert shown.problem is problem
    # The message gets the whole goodbye time, counted from the printer's answer.
    after = answered_at + PRINTING.goodbye
    assert on_tick(state, after - TINY, PRINTING).screen is Screen.GOODBYE
    assert on_tick(state, after, PRINTING).screen is Screen.WELCOME


def test_a_late_printer_answer_does_not_bring_goodbye_back() -> None:
    state = welcome()
    assert on_receipt(state, True, NOW, PRINTING) == state


@pytest.mark.parametrize("code", LANGUAGES)
def test_the_print_failure_message_in_each_language(code: str) -> None:
    state = on_receipt(replace(_printing_goodbye(), language=code), False, NOW, PRINTING)
    assert show(state, settings=PRINTING).fine_print == TEXT[code]["print_failed"]


# Out of service -------------------------------------------------------------------------------


# A pause shows the staff's own message instead: tests/presenter/test_paused.py.
@pytest.mark.parametrize(
    "reason", [r for r in OutOfServiceReason if r is not OutOfServiceReason.PAUSED]
)
@pytest.mark.parametrize("code", LANGUAGES)
def test_out_of_service_says_so_with_the_reason_for_staff(
    code: str, reason: OutOfServiceReason
) -> None:
    state, effects = feed(welcome(code), OutOfService(reason, "the disk is full"))
    state = replace(state, language=code)  # a patron may still switch the language

    shown = show(state)
    assert shown.screen is Screen.OUT_OF_SERVICE
    assert shown.heading == TEXT[code]["down"]
    assert shown.message == TEXT[code]["down_message"]
    assert shown.fine_print == f"{OUT_OF_SERVICE_TEXT[code][reason]} the disk is full"
    assert shown.buttons == ()
    assert shown.notice is None
    assert effects == []


def test_out_of_service_in_the_middle_of_a_session_drops_the_session() -> None:
    state, _ = in_session("en", checked_out(1), ItemRefused(item(1), ItemRefusal.NO_PATRON))
    state, _ = feed(
        state,
        ended(SessionEnd.OUT_OF_SERVICE, 1),
        OutOfService(OutOfServiceReason.STORAGE_ERROR, ""),
    )

    shown = show(state)
    assert shown.screen is Screen.OUT_OF_SERVICE
    assert shown.lines == ()
    assert shown.notice is None
    assert shown.fine_print == OUT_OF_SERVICE_TEXT["en"][OutOfServiceReason.STORAGE_ERROR]


def test_ready_after_out_of_service_welcomes_again() -> None:
    state, _ = feed(welcome(), OutOfService(OutOfServiceReason.NO_SNAPSHOT, "none"), READY)
    assert show(state).heading == TEXT["en"]["welcome"]


# Languages ------------------------------------------------------------------------------------


def test_the_language_button_cycles_through_the_languages() -> None:
    state = welcome("en")
    seen = []
    for _ in range(3):
        seen.append((state.language, show(state).heading))
        state = on_press(state, Action.LANGUAGE, NOW, SETTINGS).state
    assert seen == [
        ("en", TEXT["en"]["welcome"]),
        ("es", TEXT["es"]["welcome"]),
        ("en", TEXT["en"]["welcome"]),
    ]


def test_the_first_configured_language_is_where_the_kiosk_starts() -> None:
    settings = replace(SETTINGS, languages=("es", "en"))
    state, _ = feed(initial_state(settings), READY, settings=settings)

    assert state.language == "es"
    assert show(state, settings=settings).heading == TEXT["es"]["welcome"]
    assert show(state, settings=settings).language_button == ButtonView(
        Action.LANGUAGE, "English", primary=False
    )


def test_one_language_means_no_language_button() -> None:
    settings = replace(SETTINGS, languages=("en",))
    assert show(welcome(settings=settings), settings=settings).language_button is None


def test_the_chosen_language_stays_for_the_whole_session() -> None:
    state, _ = in_session("es", checked_out(1), settings=PRINTING)
    assert state.language == "es"
    state, _ = feed(state, ended(SessionEnd.DONE, 1), settings=PRINTING)
    assert show(state, settings=PRINTING).heading == TEXT["es"]["finish"]


def test_the_language_can_be_changed_during_a_session() -> None:
    state, _ = in_session("en", checked_out(1))
    state = on_press(state, Action.LANGUAGE, NOW, SETTINGS).state

    assert show(state).heading == TEXT["es"]["hello_ana"]
    assert show(state).lines[0].due == TEXT["es"]["due"]


def test_back_at_welcome_the_next_patron_gets_the_first_language() -> None:
    state, _ = in_session("es", checked_out(1))
    state, _ = feed(state, ended(SessionEnd.DONE, 1))
    assert show(state).heading == TEXT["es"]["thanks"]

    back = on_tick(state, NOW + SETTINGS.goodbye, SETTINGS)
    assert back.screen is Screen.WELCOME
    assert back.language == "en"
    assert show(back).heading == TEXT["en"]["welcome"]


def test_after_a_refusal_the_next_patron_gets_the_first_language() -> None:
    state, _ = feed(welcome("es"), PatronRefused(CARD, PatronRefusal.LOST))
    back = on_tick(state, NOW + SETTINGS.refused, SETTINGS)
    assert back.language == "en"


# The finished session the receipt is printed from ---------------------------------------------


def test_the_finished_session_keeps_every_loan_for_the_receipt() -> None:
    settings = replace(PRINTING, receipt_mode="always")
    state, _ = in_session("en", checked_out(1), checked_out(2, special=True), settings=settings)
    _, effects = feed(state, ended(SessionEnd.DONE, 2), settings=settings)

    assert effects == [
        PrintReceipt(
            FinishedSession(
                "session-1",
                CARD,
                (
                    stored(CARD, item(1), DUE, "txn-1", 41, False),
                    stored(CARD, item(2), DUE, "txn-2", 42, True),
                ),
                SessionEnd.DONE,
            )
        )
    ]
