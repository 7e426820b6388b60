"""!digest — the weekly digest for partners: preview it, (un)subscribe a room."""

from __future__ import annotations

from typing import Annotated

from bot.context import Context
from bot.framework import LanguageCode, Range, coordinator, subcommands
from bot.i18n import N_, language_name

MAX_DAYS = 60
Days = Annotated[int, Range(1, MAX_DAYS, N_("Preview 1 to %(max)d days."))]

digest = subcommands("digest", help=N_("The weekly digest: preview [days], subscribe "
                                       "[language] or unsubscribe this room."),
                     checks=(coordinator,))


@digest.command("preview", help=N_("Post the digest of the last days here, now."))
async def preview(ctx: Context, days: Days = 7) -> None:
    await ctx.services.digest.preview(ctx.room_id, days, ctx.next_txn_id())


@digest.command("subscribe", help=N_("This room gets the weekly digest (in a language of "
                                     "its own, if given)."))
async def subscribe(ctx: Context, language: LanguageCode | None = None) -> None:
    await ctx.services.digest_subscriptions.subscribe(ctx.room_id, language)
    shown = language_name(language or ctx.locale, ctx.locale)
    await ctx.reply(ctx._(N_("This room gets the weekly digest, in %(language)s."),
                          language=shown))


@digest.command("unsubscribe", help=N_("This room no longer gets the weekly digest."))
async def unsubscribe(ctx: Context) -> None:
    await ctx.services.digest_subscriptions.unsubscribe(ctx.room_id)
    await ctx.reply(ctx._(N_("This room no longer gets the weekly digest.")))
