"""!share and !announce — what happens in one room reaches the others."""

from __future__ import annotations

from typing import Annotated

from bot.context import Context
from bot.features.relays import messages
from bot.framework import Flag, Rest, check, command, coordinator
from bot.i18n import N_


@command("share", help=N_("Share something from your location room with the topic rooms it "
                          "concerns (#hashtags, else your tags), or with --all location rooms."))
async def share(ctx: Context, text: Rest, *,
                everywhere: Annotated[bool, Flag("all")] = False) -> None:
    relayed = await ctx.services.relays.share(ctx.room_id, ctx.sender, text, everywhere,
                                              ctx.next_txn_id)
    await ctx.reply(messages.shared_to(ctx.tr, relayed.reached, relayed.failed))


@command("announce", help=N_("Post an announcement to every network room; give versions "
                             "like “en: … | pl: … | de: …” for each room's language."))
@check(coordinator)
async def announce(ctx: Context, text: Rest) -> None:
    relayed = await ctx.services.relays.announce(text, ctx.next_txn_id)
    await ctx.reply(messages.announced(ctx.tr, relayed.reached, relayed.failed))
