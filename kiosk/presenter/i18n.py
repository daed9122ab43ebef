"""Languages: gettext catalogues (made with Babel) and dates and money in each language."""

from __future__ import annotations

import gettext
import io
import os
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency

from kiosk.errors import KioskError

DOMAIN = "kiosk"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
SOURCE_LANGUAGE = "en"
# Each language's name in itself: what the language button shows.
NATIVE_NAMES = {"en": "English", "es": "Español"}
# Dates written out in full (weekday and month names, no abbreviations): easier to read for
# everyone. CLDR patterns; a language not listed uses its "long" date format.
DAY_PATTERNS = {"en": "EEEE, MMMM d", "es": "EEEE, d 'de' MMMM"}
SHORT_DAY_PATTERNS = {"en": "MMMM d", "es": "d 'de' MMMM"}


class MissingCatalogue(KioskError):
    """A language the config asks for has no catalogue: the installation is incomplete."""

    exit_code = os.EX_SOFTWARE  # 70


@dataclass(frozen=True)
class Language:
    code: str
    translations: gettext.NullTranslations

    @property
    def native_name(self) -> str:
        return NATIVE_NAMES.get(self.code, self.code)

    def _(self, message: str) -> str:
        return self.translations.gettext(message)

    def n_(self, singular: str, plural: str, n: int) -> str:
        return self.translations.ngettext(singular, plural, n)

    def day(self, day: date) -> str:
        """A due date as a patron reads it: 'Monday, December 14' / 'lunes, 14 de diciembre'."""
        return format_date(day, DAY_PATTERNS.get(self.code, "long"), locale=self.code)

    def short_day(self, day: date) -> str:
        """'December 14' / '14 de diciembre'."""
        return format_date(day, SHORT_DAY_PATTERNS.get(self.code, "long"), locale=self.code)

    def money(self, amount: Decimal, currency: str) -> str:
        return format_currency(amount, currency, locale=self.code)


def load_language(code: str, locale_dir: Path = LOCALE_DIR) -> Language:
    """A language's catalogue. English is the source language and needs none; any other
    language without a compiled catalogue is an installation error, not a silent fallback."""
    if code == SOURCE_LANGUAGE:
        return Language(code, gettext.NullTranslations())
    try:
        translations: gettext.NullTranslations = gettext.translation(
            DOMAIN, locale_dir, languages=[code]
        )
    except FileNotFoundError:
        # An installation without compiled catalogues (a wheel built without `make`, a
        # checkout before `make catalogues`): compile the source catalogue in memory.
        translations = _compile(code, locale_dir)
    return Language(code, translations)


def _compile(code: str, locale_dir: Path) -> gettext.GNUTranslations:
    source = locale_dir / code / "LC_MESSAGES" / f"{DOMAIN}.po"
    try:
        with source.open("rb") as po:
            catalog = read_po(po, locale=code, domain=DOMAIN)
    except OSError as exc:
        raise MissingCatalogue(
            f"the {NATIVE_NAMES.get(code, code)} ({code}) screens cannot be shown: "
            f"there is no catalogue {source} ({exc.strerror or exc}); reinstall the kiosk, "
            "or remove the language from display.languages"
        ) from exc
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def N_(message: str) -> str:
    """Mark a string for extraction where it is defined; it is translated where it is shown."""
    return message
