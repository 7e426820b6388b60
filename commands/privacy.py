"""!mydata, !forget-me, !privacy — a member's own data: see it, erase it, know what happens
to it."""

from __future__ import annotations

from bot.context import Context
from bot.features.privacy import messages
from bot.framework import command, group
from bot.i18n import N_


@command("mydata", help=N_("Everything the network holds about you, as a file in our direct "
                           "chat."))
async def mydata(ctx: Context) -> None:
    export = await ctx.services.privacy.export(ctx.sender)
    room = ctx.room_id
    if not await ctx.deps.direct.is_direct(room):
        room = await ctx.deps.direct.with_member(ctx.deps.gateway,
                                                 ctx.deps.config.matrix.server_name,
                                                 ctx.sender)
    stamp = ctx.deps.clock().strftime("%Y-%m-%d")
    await ctx.send(room, *messages.export_summary(ctx.tr, ctx.services.privacy.parts, export))
    await ctx.send_file(room, export.json(), f"sbcc-mydata-{stamp}.json", "application/json")
    if room != ctx.room_id:
        await ctx.reply(ctx._(N_("I sent everything I hold about you to our direct chat "
                                 "(look for the invitation).")))


@group("forget-me", help=N_("Erase everything the network holds about you (it asks you to "
                            "confirm)."))
async def forget_me(ctx: Context) -> None:
    await ctx.reply(*messages.forget_me_plan(ctx.tr, ctx.services.privacy.parts,
                                             f"{ctx.prefix}forget-me confirm"))


@forget_me.command("confirm", help=N_("Erase everything the network holds about you, now."))
async def forget_me_confirm(ctx: Context) -> None:
    touched = await ctx.services.privacy.erase(ctx.sender)
    await ctx.reply(ctx.ngettext("Done: %(num)d record about you is erased or anonymised. "
                                 "Goodbye, and thank you.",
                                 "Done: %(num)d records about you are erased or anonymised. "
                                 "Goodbye, and thank you.", touched))


@command("privacy", help=N_("What I store about you, why, for how long, and who sees it."))
async def privacy(ctx: Context) -> None:
    await ctx.reply(*messages.privacy_notice(ctx.tr, ctx.services.privacy.retention))
