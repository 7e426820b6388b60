"""!consent — what a member allows to be shown in public. Today one choice: the public
showcase (`GET /showcase`), off until the member switches it on."""

from __future__ import annotations

from bot.context import Context
from bot.errors import BadArgument
from bot.framework.command import command
from bot.framework.converters import parse_switch
from bot.i18n import N_

TOPICS = ("showcase",)

WHAT_IS_SHOWN = N_("The public showcase shows your name (your display name, else the part of "
                   "your Matrix ID before the colon), your organisation, your location, what "
                   "you offer, and the collaborations in which every member agreed to be "
                   "shown. Your needs, bio and full Matrix ID are never shown.")


def _usage(ctx: Context) -> str:
    return f"{ctx.prefix}consent showcase on|off"


async def _show(ctx: Context) -> None:
    member = await ctx.services.members.get(ctx.sender)
    if member is not None and member.showcase:
        state = ctx._(N_("You appear in the public showcase."))
    else:
        state = ctx._(N_("You do not appear in the public showcase (nobody does until they "
                         "switch it on)."))
    await ctx.reply(" ".join([state, ctx._(WHAT_IS_SHOWN),
                              ctx._(N_("Change it with %(usage)s."), usage=_usage(ctx))]))


@command("consent", help=N_("Choose what may be shown in public: showcase on|off. Alone, it "
                            "shows your choices."))
async def consent(ctx: Context, topic: str = "", choice: str = "") -> None:
    if not topic:
        await _show(ctx)
        return
    if topic.casefold() not in TOPICS:
        raise BadArgument(N_("“%(value)s” is not something you can consent to. Choose one "
                             "of: %(choices)s."), value=topic[:40], choices=", ".join(TOPICS))
    if not choice:
        await _show(ctx)
        return
    on = parse_switch(choice)
    member = await ctx.services.members.get_or_create(ctx.sender)
    member.showcase = on
    off_usage = f"{ctx.prefix}consent showcase off"
    on_usage = f"{ctx.prefix}consent showcase on"
    if on:
        parts = [ctx._(N_("You are now in the public showcase.")), ctx._(WHAT_IS_SHOWN),
                 ctx._(N_("Withdraw at any time with %(usage)s: you leave the showcase at "
                          "once (copies already fetched may stay cached for up to five "
                          "minutes)."), usage=off_usage)]
        public_url = ctx.deps.config.web.public_url
        if public_url:
            parts.append(ctx._(N_("The page: %(url)s"), url=f"{public_url}/showcase"))
    else:
        parts = [ctx._(N_("You have left the public showcase: nothing about you is shown "
                          "there any more, nor any collaboration you are part of (copies "
                          "already fetched may stay cached for up to five minutes).")),
                 ctx._(N_("Join again with %(usage)s."), usage=on_usage)]
    await ctx.reply(" ".join(parts))
