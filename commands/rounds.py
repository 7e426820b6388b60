"""!rounds, !matchround — matchmaking rounds across borders."""

from __future__ import annotations

from bot.context import Context
from bot.errors import BadArgument, UserError
from bot.features.matchmaking.rounds import RoundRunner, round_stats
from bot.framework.checks import coordinator
from bot.framework.command import check, command
from bot.i18n import N_


@command("rounds", help=N_("Take part in matchmaking rounds (on/off), or see how they went "
                           "(stats)."))
async def rounds(ctx: Context, choice: str | None = None) -> None:
    word = (choice or "").casefold()
    if word in ("on", "off"):
        member = await ctx.services.members.get_or_create(ctx.sender)
        member.rounds = word == "on"
        if member.rounds:
            await ctx.reply(ctx._(N_("You are in: each matchmaking round pairs you with someone, "
                                     "across borders first.")))
        else:
            await ctx.reply(ctx._(N_("You are out of the matchmaking rounds.")))
        return
    if word == "stats":
        stats = await round_stats(ctx.session)
        share = round(100 * stats.cross_border / stats.groups) if stats.groups else 0
        await ctx.reply(ctx._(N_("Rounds: %(rounds)d. Pairs and trios: %(groups)d, of which "
                                 "%(share)d%% across borders. Answered “did you meet?”: "
                                 "%(answered)d; met: %(met)d."),
                              rounds=stats.rounds, groups=stats.groups, share=share,
                              answered=stats.answered, met=stats.met))
        return
    if word:
        raise BadArgument(N_("“%(value)s” is not on, off or stats."), value=choice)
    member = await ctx.services.members.get(ctx.sender)
    key = N_("You take part in matchmaking rounds.") if member and member.rounds else N_(
        "You do not take part in matchmaking rounds.")
    await ctx.reply(ctx._(key) + " " + ctx._(N_("Change it with %(usage)s."),
                                             usage=f"{ctx.prefix}rounds on|off"))


@command("matchround", help=N_("Run a matchmaking round now, for everyone who opted in or for "
                               "one topic or location."))
@check(coordinator)
async def matchround(ctx: Context, scope: str | None = None) -> None:
    network = ctx.deps.config.network
    key = None
    if scope is not None:
        word = scope.casefold().lstrip("#")
        if word in network.location_by_key:
            key = f"location:{word}"
        elif word in {t.key for t in network.topics}:
            key = f"topic:{word}"
        else:
            raise BadArgument(N_("“%(value)s” is neither a location nor a topic. Choose from: "
                                 "%(choices)s."), value=scope,
                              choices=", ".join([*network.location_by_key,
                                                 *(t.key for t in network.topics)]))
    started = await RoundRunner(ctx.deps).start(f"cmd:{ctx.message.event_id}", key, ctx.sender)
    if started is None:
        raise UserError(N_("Fewer than two members opted in (with %(usage)s), so there is "
                           "nobody to pair."), usage=f"{ctx.prefix}rounds on")
    round_id, people = started
    await ctx.reply(ctx.ngettext("Round %(round)d: %(num)d person paired; each group has its "
                                 "own room with an introduction.",
                                 "Round %(round)d: %(num)d people paired; each group has its "
                                 "own room with an introduction.", people, round=round_id))


