"""!intro — introduce yourself to the network (its members: the card goes into the
network's rooms, which nobody outside may use the bot to post into)."""

from __future__ import annotations

from bot.context import Context
from bot.framework import Rest, check, command, member
from bot.i18n import N_


@command("intro", help=N_("Introduce yourself: a few words about you and your work; your card "
                          "goes to your location room and the topic rooms that fit you."))
@check(member)
async def intro(ctx: Context, text: Rest) -> None:
    posted = await ctx.services.introductions.introduce(ctx.sender, text, ctx.send)
    if not posted:  # the bio is kept (a UserError would roll it back)
        await ctx.reply(ctx._(
            N_("I saved your introduction, but there is no room to post it in yet: set your "
               "location with %(location)s and your tags with %(offer)s or %(need)s, then "
               "send %(intro)s again."),
            location=f"{ctx.prefix}set location", offer=f"{ctx.prefix}offer",
            need=f"{ctx.prefix}need", intro=f"{ctx.prefix}intro"))
        return
    names = ", ".join(p.room.spec.name for p in posted)
    if all(p.edited for p in posted):
        await ctx.reply(ctx._(N_("Your introduction was updated in: %(rooms)s."), rooms=names))
    else:
        await ctx.reply(ctx._(N_("Your introduction is posted in: %(rooms)s."), rooms=names))
