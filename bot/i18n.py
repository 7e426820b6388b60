"""Translations: catalogs compiled from the `.po` files at load time.

Code translates through a translator bound to one locale (`translator.bind("pl")`), handed
to it explicitly: a command's context carries the reader's, a notice to a room the room's.
"""

from __future__ import annotations

import gettext
import io
from importlib import resources
from pathlib import Path
from typing import Any

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

SUPPORTED_LANGUAGES: tuple[str, ...] = ("en", "pl", "de", "lt", "sv")
SOURCE_LANGUAGE = "en"
DOMAIN = "messages"


def N_(msgid: str) -> str:
    """Mark a string for extraction without translating it now."""
    return msgid


def language_name(code: str, in_locale: str | None = None) -> str:
    """The language's own name ("polski"), or its name in `in_locale` when given."""
    name = Locale.parse(code).get_display_name(in_locale or code) or code
    return name[:1].upper() + name[1:]


def normalise_language(raw: str) -> str | None:
    """Map what a user typed ("PL", "pl_PL", "de-DE") to a supported code, or None."""
    code = raw.strip().replace("-", "_").split("_")[0].lower()
    return code if code in SUPPORTED_LANGUAGES else None


def default_catalog_dir() -> Path:
    return Path(str(resources.files("translations")))


def _compile(po_path: Path, locale: str) -> gettext.GNUTranslations:
    with po_path.open("rb") as f:
        catalog = read_po(f, locale=locale, domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


class Translator:
    """All catalogs, compiled in memory from the `.po` sources (no `.mo` files needed)."""

    def __init__(self, catalog_dir: Path | None = None) -> None:
        directory = catalog_dir or default_catalog_dir()
        self._catalogs: dict[str, gettext.NullTranslations] = {}
        for lang in SUPPORTED_LANGUAGES:
            po = directory / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
            if po.exists():
                self._catalogs[lang] = _compile(po, lang)
            else:
                self._catalogs[lang] = gettext.NullTranslations()

    def _catalog(self, locale: str) -> gettext.NullTranslations:
        return self._catalogs.get(locale) or self._catalogs[SOURCE_LANGUAGE]

    def bind(self, locale: str) -> BoundTranslator:
        """This translator for one reader's language."""
        return BoundTranslator(self, locale if locale in self._catalogs else SOURCE_LANGUAGE)

    def gettext(self, msgid: str, locale: str, **params: Any) -> str:
        text = self._catalog(locale).gettext(msgid)
        return text % params if params else text

    def ngettext(self, singular: str, plural: str, n: int, locale: str, **params: Any) -> str:
        return self.ngettext_template(singular, plural, n, locale) % {"num": n, **params}

    def ngettext_template(self, singular: str, plural: str, n: int, locale: str) -> str:
        """The plural form for `n`, unfilled (for `bot.formatting.fill` with rich values)."""
        return self._catalog(locale).ngettext(singular, plural, n)


class BoundTranslator:
    """A translator for one locale: `tr("Hello %(name)s", name=…)`, `tr.ngettext(…)`."""

    def __init__(self, translator: Translator, locale: str) -> None:
        self.translator = translator
        self.locale = locale

    def __call__(self, msgid: str, **params: Any) -> str:
        return self.translator.gettext(msgid, self.locale, **params)

    gettext = __call__

    def ngettext(self, singular: str, plural: str, n: int, **params: Any) -> str:
        return self.translator.ngettext(singular, plural, n, self.locale, **params)

    def ngettext_template(self, singular: str, plural: str, n: int) -> str:
        return self.translator.ngettext_template(singular, plural, n, self.locale)

    def bind(self, locale: str) -> BoundTranslator:
        """The same catalogs for another locale."""
        return self.translator.bind(locale)


def resolve_locale(member_choice: str | None, room_language: str | None, default: str) -> str:
    """The member's own choice wins, then the room's language, then the configured default."""
    for candidate in (member_choice, room_language, default):
        if candidate in SUPPORTED_LANGUAGES:
            return candidate
    return SOURCE_LANGUAGE
