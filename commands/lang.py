"""!lang — show or set the language the bot uses with you."""

from __future__ import annotations

from bot.context import Context
from bot.framework import LanguageCode, command
from bot.i18n import N_, SUPPORTED_LANGUAGES, language_name


def _choices() -> str:
    return ", ".join(f"{code} ({language_name(code)})" for code in SUPPORTED_LANGUAGES)


@command("lang", help=N_("Show or set the language I use with you."), aliases=("language",))
async def lang(ctx: Context, code: LanguageCode | None = None) -> None:
    if code is None:
        await ctx.reply(ctx._(
            N_("I speak %(language)s with you. Available: %(choices)s. "
               "Change it with %(usage)s."),
            language=language_name(ctx.locale), choices=_choices(),
            usage=f"{ctx.prefix}lang <code>",
        ))
        return
    await ctx.services.members.set_language(ctx.sender, code)
    ctx.tr = ctx.tr.bind(code)
    await ctx.reply(ctx._(N_("From now on I speak %(language)s with you."),
                          language=language_name(code)))
