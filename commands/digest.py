"""!digest — the weekly digest for partners: preview it, (un)subscribe a room."""

from __future__ import annotations

from bot.context import Context
from bot.errors import BadArgument, UsageError
from bot.i18n import N_, language_name
from bot.services.digest import DigestComposer
from bot.services.digest_delivery import DigestSender
from commands.checks import coordinator
from commands.converters import LanguageCode
from commands.registry import check, command

MAX_DAYS = 60


@command("digest", help=N_("The weekly digest: preview [days], subscribe [language] or "
                           "unsubscribe this room."))
@check(coordinator)
async def digest(ctx: Context, action: str, value: str | None = None) -> None:
    word = action.casefold()
    if word == "preview":
        days = 7
        if value is not None:
            try:
                days = int(value)
            except ValueError:
                raise BadArgument(N_("“%(value)s” is not a whole number."), value=value) from None
            if not 1 <= days <= MAX_DAYS:
                raise BadArgument(N_("Preview 1 to %(max)d days."), max=MAX_DAYS)
        sender = DigestSender(ctx.deps)
        language = await sender.language_for(ctx.room_id)  # the room reads it, not just you
        composed = await DigestComposer(ctx.deps).compose(ctx.session, language,
                                                          ctx.deps.clock(), days)
        await sender.post(ctx.room_id, composed, ctx.next_txn_id())
    elif word == "subscribe":
        language = await LanguageCode.convert(ctx, value) if value else None
        await ctx.services.digests.subscribe(ctx.room_id, language)
        shown = language_name(language or ctx.locale, ctx.locale)
        await ctx.reply(ctx._(N_("This room gets the weekly digest, in %(language)s."),
                              language=shown))
    elif word == "unsubscribe":
        await ctx.services.digests.unsubscribe(ctx.room_id)
        await ctx.reply(ctx._(N_("This room no longer gets the weekly digest.")))
    else:
        raise UsageError(N_("“%(value)s” is not one of: %(actions)s."), value=action,
                         actions="preview, subscribe, unsubscribe")
