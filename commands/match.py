"""!match, !find, !connect — people across borders whose offers meet your needs."""

from __future__ import annotations

from typing import Annotated

from bot.context import Context
from bot.features.matchmaking import messages
from bot.formatting import fill, pill
from bot.framework import Range, Rest, UserId, command
from bot.i18n import N_

MAX_SUGGESTIONS = 20
Suggestions = Annotated[int, Range(1, MAX_SUGGESTIONS, N_("Ask for 1 to %(max)d suggestions."))]


@command("match", help=N_("Suggest members whose offers meet your needs, or whose needs your "
                          "offers meet — across borders first."))
async def match(ctx: Context, n: Suggestions = 5) -> None:
    found = await ctx.services.matching.suggest(ctx.sender, n)
    await ctx.reply(*messages.suggestions(ctx.tr, found, ctx.deps.config.network, ctx.prefix))


@command("find", help=N_("Who offers a tag, grouped by location."))
async def find(ctx: Context, tag: Rest) -> None:
    found = await ctx.services.matching.find(tag)
    await ctx.reply(*messages.offered(ctx.tr, found, ctx.deps.config.network))


@command("connect", help=N_("Open a private room with another member and introduce you two."))
async def connect(ctx: Context, user: UserId, note: Rest | None = None) -> None:
    other = await ctx.services.connections.connect(ctx.sender, user, note,
                                                   ctx.message.event_id, ctx.next_txn_id())
    text, html = fill(ctx._(N_("I opened a room for you and %(user)s, with an introduction. "
                               "Look for the invitation.")),
                      user=pill(other.mxid, other.display_name))
    await ctx.reply(text, html)
