"""The catalogues: every patron-facing string is translated, keeps its placeholders, is in the
template, and the compiled catalogue the kiosk loads matches its source. Then every screen,
drawn in Spanish, has nothing left in English."""

from __future__ import annotations

import gettext
import io
import re
import string
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

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
from kiosk.presenter.i18n import LOCALE_DIR, MissingCatalogue, load_language
from kiosk.presenter.presenter import (
    Action,
    Screen,
    Settings,
    UiState,
    initial_state,
    on_deadline,
    on_event,
    on_press,
    on_receipt,
    view,
)
from tests.conftest import item, patron, stored

ROOT = Path(__file__).resolve().parents[2]
POT = LOCALE_DIR / "kiosk.pot"
PO = LOCALE_DIR / "es" / "LC_MESSAGES" / "kiosk.po"
MO = LOCALE_DIR / "es" / "LC_MESSAGES" / "kiosk.mo"
# The keywords `make i18n` extracts with: -k n_:1,2 -k N_
KEYWORDS = {**DEFAULT_KEYWORDS, "n_": (1, 2), "N_": None}


def read_catalogue(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=locale)


def messages(catalog: Catalog) -> dict[str | tuple[str, ...], Message]:
    """The catalogue's messages by id (a plural message by its (singular, plural) pair)."""
    return {
        (m.id if isinstance(m.id, str) else tuple(m.id)): m
        for m in catalog
        if m.id  # not the header
    }


POT_MESSAGES = messages(read_catalogue(POT))
SPANISH = read_catalogue(PO, "es")
SPANISH_MESSAGES = messages(SPANISH)


def placeholders(text: str) -> set[str]:
    """The names in a str.format template: '{n} items, due {date}' -> {'n', 'date'}."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_the_template_and_the_spanish_catalogue_have_the_same_messages() -> None:
    assert len(POT_MESSAGES) > 40  # the template was read, not an empty file
    assert set(SPANISH_MESSAGES) == set(POT_MESSAGES)
    assert list(SPANISH.obsolete) == []


def test_the_spanish_catalogue_has_two_plural_forms() -> None:
    assert SPANISH.num_plurals == 2
    assert SPANISH.plural_expr.replace(" ", "") == "(n!=1)"


@pytest.mark.parametrize("msgid", list(POT_MESSAGES), ids=str)
def test_every_message_has_a_spanish_translation(msgid: str | tuple[str, ...]) -> None:
    message = SPANISH_MESSAGES.get(msgid)

    assert message is not None, "not in the Spanish catalogue"
    assert not message.fuzzy, "marked fuzzy: gettext would show it in English"
    translations = [message.string] if isinstance(msgid, str) else list(message.string)
    assert len(translations) == (1 if isinstance(msgid, str) else SPANISH.num_plurals)
    assert all(t.strip() for t in translations), f"untranslated: {translations!r}"


@pytest.mark.parametrize("msgid", list(POT_MESSAGES), ids=str)
def test_translations_keep_the_placeholders(msgid: str | tuple[str, ...]) -> None:
    message = SPANISH_MESSAGES[msgid]
    if isinstance(msgid, str):
        pairs = [(msgid, message.string)]
    else:
        singular, plural = msgid
        # Spanish: form 0 is for one, form 1 for the rest.
        pairs = [(singular, message.string[0]), (plural, message.string[1])]

    for source, translated in pairs:
        assert placeholders(translated) == placeholders(source), translated
        # And the translation is a template that formats (no stray or unbalanced braces).
        values = dict.fromkeys(placeholders(source), "X")
        translated.format(**values)


def test_the_brace_format_flag_marks_the_templates() -> None:
    for msgid, message in POT_MESSAGES.items():
        ids = [msgid] if isinstance(msgid, str) else list(msgid)
        has_placeholders = any(placeholders(i) for i in ids)
        assert ("python-brace-format" in message.flags) == has_placeholders, msgid


def test_the_compiled_catalogue_matches_the_po_file() -> None:
    """`make catalogues` output is current: compiling the .po now gives what the kiosk loads."""
    compiled = io.BytesIO()
    write_mo(compiled, SPANISH)
    compiled.seek(0)
    fresh = gettext.GNUTranslations(compiled)
    installed = load_language("es").translations
    assert MO.exists()

    for msgid in SPANISH_MESSAGES:
        if isinstance(msgid, str):
            assert installed.gettext(msgid) == fresh.gettext(msgid), msgid
            assert installed.gettext(msgid) != msgid, f"not in the compiled catalogue: {msgid}"
        else:
            for n in (0, 1, 2, 5, 21):
                assert installed.ngettext(*msgid, n) == fresh.ngettext(*msgid, n), (msgid, n)
            assert installed.ngettext(*msgid, 1) != msgid[0]


def test_the_template_holds_exactly_the_strings_in_the_code() -> None:
    """Extracting again as `make i18n` does gives the template's ids: no string was added,
    changed or removed in kiosk/presenter without updating the catalogues."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f)
    extracted = {
        (msgid if isinstance(msgid, str) else tuple(msgid))
        for filename, _, msgid, _, _ in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS
        )
        if filename.startswith("kiosk/presenter/")
    }

    assert len(extracted) > 40
    assert extracted - set(POT_MESSAGES) == set(), "in the code, not in kiosk.pot"
    assert set(POT_MESSAGES) - extracted == set(), "in kiosk.pot, no longer in the code"


def test_a_language_without_a_catalogue_is_an_error() -> None:
    with pytest.raises(MissingCatalogue, match=r"\(fr\)"):
        load_language("fr")


def test_english_is_the_source_language_and_needs_no_catalogue(tmp_path: Path) -> None:
    english = load_language("en", tmp_path)
    assert english._("Scan your library card") == "Scan your library card"


@pytest.mark.parametrize(
    ("code", "day", "short_day", "money"),
    [
        ("en", "Monday, December 14", "December 14", "$12.75"),
        ("es", "lunes, 14 de diciembre", "14 de diciembre", "12,75\N{NO-BREAK SPACE}US$"),
    ],
)
def test_dates_and_money_in_each_language(code: str, day: str, short_day: str, money: str) -> None:
    lang = load_language(code)
    assert lang.day(date(2026, 12, 14)) == day
    assert lang.short_day(date(2026, 12, 14)) == short_day
    assert lang.money(Decimal("12.75"), "USD") == money


# Every screen, in Spanish ---------------------------------------------------------------------

WALL = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
NOW = timedelta(hours=5)  # a monotonic instant, for the screens' timers
DUE = date(2026, 12, 14)
CARD = patron(1)
SETTINGS = Settings(
    library="Test Library",
    branch="Main",
    show_fine_amounts=True,
    fines_limit=Decimal("10.00"),
    printer=True,
)
ALWAYS = replace(SETTINGS, receipt_mode="always")
# Text that is the same in every language: the library's own name.
SAME_IN_EVERY_LANGUAGE = {"Test Library - Main"}


def _run(*events: Event, settings: Settings = SETTINGS) -> UiState:
    state = initial_state(settings)
    for event in events:
        state = on_event(state, event, NOW, settings).state
    return state


READY = Ready("TEST-SC01", 8, WALL - timedelta(hours=4))
ANA = PatronAccepted(CARD, "Ana", "s1")
NAMELESS = PatronAccepted(CARD, "", "s1")
ONE = ItemCheckedOut(stored(CARD, item(1), DUE, "t1", 1, False))
TWO = ItemCheckedOut(stored(CARD, item(2), date(2026, 12, 21), "t2", 2, False))
SPECIAL = ItemCheckedOut(stored(CARD, item(3), DUE, "t3", 3, True))
DONE = SessionEnded(CARD, 2, SessionEnd.DONE, "s1")
TIMEOUT = SessionEnded(CARD, 2, SessionEnd.TIMEOUT, "s1")
EMPTY_DONE = SessionEnded(CARD, 0, SessionEnd.DONE, "s1")


def _representative_states() -> list[tuple[str, UiState, timedelta]]:
    checkout = _run(READY, ANA, ONE, TWO)
    printing = _run(READY, ANA, ONE, DONE, settings=ALWAYS)
    states = [
        ("starting", initial_state(SETTINGS), NOW),
        ("welcome", _run(READY), NOW),
        ("welcome, no card", _run(READY, ItemRefused(item(1), ItemRefusal.NO_PATRON)), NOW),
        ("checkout, greeting", _run(READY, ANA), NOW),
        ("checkout, card digits", _run(READY, NAMELESS, ONE), NOW),
        ("checkout, two items", checkout, NOW),
        ("checkout, special due", _run(READY, ANA, SPECIAL), NOW),
        (
            "checkout, countdown",
            on_deadline(checkout, NOW + timedelta(seconds=60)),
            NOW + timedelta(seconds=55),
        ),
        (
            "checkout, one second left",
            on_deadline(checkout, NOW + timedelta(seconds=60)),
            NOW + timedelta(seconds=59),
        ),
        ("finish", _run(READY, ANA, ONE, TWO, DONE), NOW),
        ("finish, one item", _run(READY, ANA, ONE, DONE), NOW),
        ("goodbye, timed out", _run(READY, ANA, ONE, TWO, TIMEOUT), NOW),
        ("goodbye, no items", _run(READY, ANA, EMPTY_DONE), NOW),
        ("goodbye, printing", printing, NOW),
        ("goodbye, printed", on_receipt(printing, True, NOW, ALWAYS), NOW),
        ("goodbye, print failed", on_receipt(printing, False, NOW, ALWAYS), NOW),
    ]
    for reason in ItemRefusal:
        states.append(
            (f"notice {reason.value}", _run(READY, ANA, ONE, ItemRefused("x", reason)), NOW)
        )
    for rejection in ScanRejection:
        rejected = ScanRejected("x", rejection, "detail")
        states.append((f"notice {rejection.value}", _run(READY, ANA, rejected), NOW))
    for refusal in PatronRefusal:
        fines = Decimal("12.75") if refusal is PatronRefusal.FINES_OVER_LIMIT else None
        refused = _run(READY, PatronRefused(CARD, refusal, fines))
        states.append((f"refused {refusal.value}", refused, NOW))
    for down in OutOfServiceReason:
        states.append((f"out of service {down.value}", _run(OutOfService(down, "")), NOW))
    return states


STATES = _representative_states()


def test_the_representative_states_cover_every_screen() -> None:
    assert {state.screen for _, state, _ in STATES} == set(Screen)


@pytest.mark.parametrize(("name", "state", "now"), STATES, ids=[name for name, _, _ in STATES])
def test_nothing_is_left_in_english(name: str, state: UiState, now: timedelta) -> None:
    english = view(replace(state, language="en"), now, load_language("en"), SETTINGS).texts()
    spanish = view(replace(state, language="es"), now, load_language("es"), SETTINGS).texts()

    assert len(spanish) == len(english), (english, spanish)
    for en, es in zip(english, spanish, strict=True):
        if en in SAME_IN_EVERY_LANGUAGE or re.fullmatch(r"[\d\s#.,:+-]*", en):
            assert es == en
        else:
            assert es != en, f"left in English on {name}: {en!r}"


def test_pressing_the_language_button_redraws_every_text_in_spanish() -> None:
    state = _run(READY, ANA, ONE, TWO)
    english = view(state, NOW, load_language("en"), SETTINGS).texts()
    state = on_press(state, Action.LANGUAGE, NOW, SETTINGS).state

    spanish = view(state, NOW, load_language(state.language), SETTINGS).texts()
    assert state.language == "es"
    assert [es == en for en, es in zip(english, spanish, strict=True)] == [
        en in SAME_IN_EVERY_LANGUAGE for en in english
    ]


def test_an_installation_without_compiled_catalogues_compiles_the_source_in_memory(
    tmp_path: Path,
) -> None:
    """A wheel or checkout that never ran `make catalogues` has only the .po: the kiosk still
    speaks Spanish, the same as the compiled catalogue says."""
    folder = tmp_path / "es" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "kiosk.po").write_bytes(PO.read_bytes())
    from_source = load_language("es", tmp_path)
    installed = load_language("es")
    for msgid in SPANISH_MESSAGES:
        if isinstance(msgid, str):
            assert from_source._(msgid) == installed._(msgid) != msgid
    assert not list(tmp_path.rglob("*.mo")), "nothing is written into the installation"


def test_a_language_with_no_catalogue_at_all_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(MissingCatalogue) as caught:
        load_language("es", tmp_path)
    assert caught.value.exit_code == 70
    assert "Español (es)" in str(caught.value)
    assert "display.languages" in str(caught.value)
