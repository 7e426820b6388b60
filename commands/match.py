"""!match, !find, !connect — people across borders whose offers meet your needs. For the
network's members only: what members offer and need is not for anyone on Matrix."""

from __future__ import annotations

from typing import Annotated

from bot.context import Context
from bot.features.matchmaking import messages
from bot.features.matchmaking.connections import room_link
from bot.formatting import fill, pill
from bot.framework import Range, Rest, UserId, check, command, member
from bot.i18n import N_

MAX_SUGGESTIONS = 20
Suggestions = Annotated[int, Range(1, MAX_SUGGESTIONS, N_("Ask for 1 to %(max)d suggestions."))]


@command("match", help=N_("Suggest members whose offers meet your needs, or whose needs your "
                          "offers meet — across borders first."))
@check(member)
async def match(ctx: Context, n: Suggestions = 5) -> None:
    found = await ctx.services.matching.suggest(ctx.sender, n)
    await ctx.reply(*messages.suggestions(ctx.tr, found, ctx.deps.config.network, ctx.prefix))


@command("find", help=N_("Who offers a tag, grouped by location."))
@check(member)
async def find(ctx: Context, tag: Rest) -> None:
    found = await ctx.services.matching.find(tag)
    await ctx.reply(*messages.offered(ctx.tr, found, ctx.deps.config.network))


@command("connect", help=N_("Open a private room with another member and introduce you two."))
@check(member)
async def connect(ctx: Context, user: UserId, note: Rest | None = None) -> None:
    done = await ctx.services.connections.connect(ctx.sender, user, note, ctx.next_txn_id())
    other = pill(done.member.mxid, done.member.display_name)
    if done.reused:
        text, html = fill(ctx._(N_("You and %(user)s already have a room I opened for you: "
                                   "%(room)s. I did not open another one.")),
                          user=other, room=room_link(done.room_id))
    else:
        text, html = fill(ctx._(N_("I opened a room for you and %(user)s, with an "
                                   "introduction. Look for the invitation.")), user=other)
    await ctx.reply(text, html)
