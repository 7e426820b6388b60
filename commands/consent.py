"""!consent — what a member allows to be shown in public. Today one choice: the public
showcase (`GET /showcase`), off until the member switches it on. `!consent` alone shows
the member's choices."""

from __future__ import annotations

from bot.context import Context
from bot.errors import BadArgument
from bot.features.showcase.consent import TOPICS
from bot.framework import OnOff, group
from bot.i18n import N_

WHAT_IS_SHOWN = N_("The public showcase shows your name (your display name, else the part of "
                   "your Matrix ID before the colon), your organisation, your location, what "
                   "you offer, and the collaborations in which every member agreed to be "
                   "shown. Your needs, bio and full Matrix ID are never shown.")


async def _show(ctx: Context) -> None:
    if await ctx.services.consent.showcase(ctx.sender):
        state = ctx._(N_("You appear in the public showcase."))
    else:
        state = ctx._(N_("You do not appear in the public showcase (nobody does until they "
                         "switch it on)."))
    await ctx.reply(" ".join([state, ctx._(WHAT_IS_SHOWN),
                              ctx._(N_("Change it with %(usage)s."),
                                    usage=f"{ctx.prefix}consent showcase on|off")]))


@group("consent", help=N_("Choose what may be shown in public: showcase on|off. Alone, it "
                          "shows your choices."))
async def consent(ctx: Context, topic: str | None = None, choice: str | None = None) -> None:
    """Alone: the member's choices. A first word that names nothing to consent to (the
    subcommands are what one can) is refused."""
    if topic is not None:
        raise BadArgument(N_("“%(value)s” is not something you can consent to. Choose one "
                             "of: %(choices)s."), value=topic[:40], choices=", ".join(TOPICS))
    await _show(ctx)


@consent.command("showcase", help=N_("Appear in the public showcase (on) or leave it (off). "
                                     "Alone, it shows your choice."))
async def showcase(ctx: Context, choice: OnOff | None = None) -> None:
    if choice is None:
        await _show(ctx)
        return
    await ctx.services.consent.set_showcase(ctx.sender, choice)
    if choice:
        parts = [ctx._(N_("You are now in the public showcase.")), ctx._(WHAT_IS_SHOWN),
                 ctx._(N_("Withdraw at any time with %(usage)s: you leave the showcase at "
                          "once (copies already fetched may stay cached for up to five "
                          "minutes)."), usage=f"{ctx.prefix}consent showcase off")]
        public_url = ctx.deps.config.web.public_url
        if public_url:
            parts.append(ctx._(N_("The page: %(url)s"), url=f"{public_url}/showcase"))
    else:
        parts = [ctx._(N_("You have left the public showcase: nothing about you is shown "
                          "there any more, nor any collaboration you are part of (copies "
                          "already fetched may stay cached for up to five minutes).")),
                 ctx._(N_("Join again with %(usage)s."), usage=f"{ctx.prefix}consent showcase on")]
    await ctx.reply(" ".join(parts))
