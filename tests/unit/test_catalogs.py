"""The catalogs are complete: messages.pot matches the code, every language has every
string, nothing fuzzy, placeholders intact."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import SUPPORTED_LANGUAGES, default_catalog_dir

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2), "ngettext_template": (1, 2)}


def extracted_ids() -> set[str]:
    ids: set[str] = set()
    for package in ("bot", "commands", "rooms"):
        for _f, _l, message, _c, _ctx in extract_from_dir(
                ROOT / package, method_map=[("**.py", "python")], keywords=KEYWORDS):
            ids.add(message[0] if isinstance(message, tuple) else message)
    return ids


def catalog(path: Path, locale: str | None = None):  # noqa: ANN201
    with path.open("rb") as f:
        return read_po(f, locale=locale)


def test_pot_is_up_to_date() -> None:
    pot_ids = {m.id[0] if isinstance(m.id, tuple) else m.id
               for m in catalog(default_catalog_dir() / "messages.pot") if m.id}
    code_ids = extracted_ids()
    assert code_ids - pot_ids == set(), "new strings: run `make translations`"
    assert pot_ids - code_ids == set(), "strings gone from the code: run `make translations`"


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_catalog_is_complete(lang: str) -> None:
    pot = catalog(default_catalog_dir() / "messages.pot")
    po = catalog(default_catalog_dir() / lang / "LC_MESSAGES" / "messages.po", lang)
    for message in pot:
        if not message.id:
            continue
        translated = po.get(message.id)
        assert translated is not None, f"{lang}: missing {message.id!r}"
        assert not translated.fuzzy, f"{lang}: fuzzy {message.id!r}"
        strings = translated.string if isinstance(translated.string, tuple) else (
            translated.string,)
        assert all(strings), f"{lang}: untranslated {message.id!r}"
    errors = [(m.id, errs) for m, errs in po.check()]
    assert errors == [], f"{lang}: placeholder problems {errors}"
