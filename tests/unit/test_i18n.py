"""Locale selection and plural forms."""

from __future__ import annotations

import pytest
from babel.messages.pofile import read_po

from bot.i18n import (
    SUPPORTED_LANGUAGES,
    Translator,
    default_catalog_dir,
    normalise_language,
    resolve_locale,
)

SINGULAR = "You can use %(num)d command:"
PLURAL = "You can use %(num)d commands:"
# Which plural form each count takes (CLDR): written out by hand, not computed.
FORMS = {
    "pl": {1: 0, 2: 1, 5: 2, 12: 2, 22: 1, 112: 2},
    "lt": {1: 0, 2: 1, 5: 1, 12: 2, 22: 1, 112: 2},
    "de": {1: 0, 2: 1, 5: 1, 12: 1, 22: 1, 112: 1},
    "sv": {1: 0, 2: 1, 5: 1, 12: 1, 22: 1, 112: 1},
    "en": {1: 0, 2: 1, 5: 1, 12: 1, 22: 1, 112: 1},
}


def plural_strings(lang: str) -> tuple[str, ...]:
    with (default_catalog_dir() / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        message = read_po(f, locale=lang)[SINGULAR]
    assert message is not None
    return tuple(message.string)


@pytest.mark.parametrize("lang", sorted(FORMS))
def test_plural_forms(translator: Translator, lang: str) -> None:
    forms = plural_strings(lang)
    assert len(set(forms)) == len(forms), "each plural form is its own text"
    for n, index in FORMS[lang].items():
        assert translator.ngettext(SINGULAR, PLURAL, n, lang) == forms[index] % {"num": n}


def test_polish_and_lithuanian_have_three_forms() -> None:
    assert len(plural_strings("pl")) == 3
    assert len(plural_strings("lt")) == 3


def test_locale_order_member_then_room_then_default() -> None:
    assert resolve_locale("pl", "de", "en") == "pl"
    assert resolve_locale(None, "de", "en") == "de"
    assert resolve_locale(None, None, "sv") == "sv"
    assert resolve_locale("xx", None, "lt") == "lt"


def test_normalise_language() -> None:
    assert normalise_language("PL") == "pl"
    assert normalise_language("de-AT") == "de"
    assert normalise_language("sv_SE") == "sv"
    assert normalise_language("fr") is None


def test_a_bound_translator_speaks_its_language(translator: Translator) -> None:
    de = translator.bind("de")
    assert de.locale == "de" and de("pong") == translator.gettext("pong", "de")
    assert de.bind("pl")("pong") == translator.gettext("pong", "pl")
    assert de.ngettext("%(num)d more", "%(num)d more", 3) == translator.ngettext(
        "%(num)d more", "%(num)d more", 3, "de")
    assert translator.bind("xx").locale == "en"  # an unknown language falls back to English


def test_every_language_loads(translator: Translator) -> None:
    for lang in SUPPORTED_LANGUAGES:
        assert translator.gettext("Also:", lang)
