"""!rounds, !matchround — matchmaking rounds across borders."""

from __future__ import annotations

from typing import Annotated

from bot.context import Context
from bot.errors import BadArgument, UserError
from bot.framework import check, command, coordinator, group, member
from bot.i18n import N_


@group("rounds", help=N_("Take part in matchmaking rounds (on/off), or see how they went "
                         "(stats)."))
async def rounds(ctx: Context) -> None:
    key = (N_("You take part in matchmaking rounds.")
           if await ctx.services.rounds.takes_part(ctx.sender)
           else N_("You do not take part in matchmaking rounds."))
    await ctx.reply(ctx._(key) + " " + ctx._(N_("Change it with %(usage)s."),
                                             usage=f"{ctx.prefix}rounds on|off"))


@rounds.command("on", help=N_("Take part: each round pairs you with someone, across borders "
                              "first."))
@check(member)
async def rounds_on(ctx: Context) -> None:
    await ctx.services.rounds.take_part(ctx.sender, True)
    await ctx.reply(ctx._(N_("You are in: each matchmaking round pairs you with someone, "
                             "across borders first.")))


@rounds.command("off", help=N_("Stop taking part in matchmaking rounds."))
async def rounds_off(ctx: Context) -> None:
    await ctx.services.rounds.take_part(ctx.sender, False)
    await ctx.reply(ctx._(N_("You are out of the matchmaking rounds.")))


@rounds.command("stats", help=N_("How the rounds went: groups, across borders, who met."))
async def rounds_stats(ctx: Context) -> None:
    stats = await ctx.services.rounds.stats()
    share = round(100 * stats.cross_border / stats.groups) if stats.groups else 0
    await ctx.reply(ctx._(N_("Rounds: %(rounds)d. Pairs and trios: %(groups)d, of which "
                             "%(share)d%% across borders. Answered “did you meet?”: "
                             "%(answered)d; met: %(met)d."),
                          rounds=stats.rounds, groups=stats.groups, share=share,
                          answered=stats.answered, met=stats.met))


class RoundScope:
    """Who a round is for: a location's or a topic's key ("szczecin", "#design") →
    "location:szczecin" / "topic:design"."""

    @staticmethod
    async def convert(ctx: Context, raw: str) -> str:
        network = ctx.deps.config.network
        word = raw.casefold().lstrip("#")
        if word in network.location_by_key:
            return f"location:{word}"
        if word in {t.key for t in network.topics}:
            return f"topic:{word}"
        raise BadArgument(N_("“%(value)s” is neither a location nor a topic. Choose from: "
                             "%(choices)s."), value=raw,
                          choices=", ".join([*network.location_by_key,
                                             *(t.key for t in network.topics)]))


@command("matchround", help=N_("Run a matchmaking round now, for everyone who opted in or for "
                               "one topic or location."))
@check(coordinator)
async def matchround(ctx: Context, scope: Annotated[str, RoundScope] | None = None) -> None:
    started = await ctx.services.rounds.start(f"cmd:{ctx.message.event_id}", scope, ctx.sender)
    if started is None:
        raise UserError(N_("Fewer than two members opted in (with %(usage)s), so there is "
                           "nobody to pair."), usage=f"{ctx.prefix}rounds on")
    round_id, people = started
    await ctx.reply(ctx.ngettext("Round %(round)d: %(num)d person paired; each group has its "
                                 "own room with an introduction.",
                                 "Round %(round)d: %(num)d people paired; each group has its "
                                 "own room with an introduction.", people, round=round_id))
