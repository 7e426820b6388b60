"""Converters for command arguments: `async convert(ctx, raw)` or raise BadArgument."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.errors import BadArgument
from bot.i18n import N_, SUPPORTED_LANGUAGES, normalise_language

if TYPE_CHECKING:
    from bot.context import Context


class LanguageCode(str):
    """One of the supported language codes (en, pl, de, lt, sv)."""

    @classmethod
    async def convert(cls, ctx: Context, raw: str) -> LanguageCode:
        code = normalise_language(raw)
        if code is None:
            raise BadArgument(
                N_("“%(value)s” is not a language I speak. Choose one of: %(choices)s."),
                value=raw, choices=", ".join(SUPPORTED_LANGUAGES),
            )
        return cls(code)
