"""Matchmaking across borders: `!match` and `!find` over offers and needs, `!connect`
rooms with an introduction, and rounds that pair those who opted in, with a "did you
meet?" follow-up.

    config.py       the `matchmaking:` section (when rounds run, follow-up, history)
    matching.py     MatchingService (`ctx.services.matching`): suggestions and `!find`
    index.py        MatchIndex (app-scoped): `!match`'s ranking in memory, fresh from the
                    `member_changes` feed; the job that prunes the feed
    connections.py  ConnectionService (`ctx.services.connections`): `!connect`, rooms,
                    introductions, the record of who met whom
    pairing.py      who meets whom in a round (pure)
    rounds.py       RoundRunner (app-scoped: rounds, follow-ups, answers) and Rounds
                    (`ctx.services.rounds`: taking part, figures, a round now)
    jobs.py         the scheduled round
    messages.py     how suggestions, introductions and the follow-up read
    personal_data.py  what `!mydata` exports and `!forget-me` erases: connections, rounds

Matching and rounds never suggest or pair the stand-in of a forgotten member ("@former-…").
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import case, func, select

from bot.config import SectionSpec
from bot.db.models import Connection
from bot.deps import utcnow
from bot.feature import Feature, Wiring
from bot.features.matchmaking import personal_data
from bot.features.matchmaking.config import MatchmakingConfig, parse_matchmaking
from bot.features.matchmaking.connections import ConnectionService
from bot.features.matchmaking.index import MatchIndex, prune_changes
from bot.features.matchmaking.jobs import round_trigger, scheduled_round
from bot.features.matchmaking.matching import MatchingService
from bot.features.matchmaking.rounds import RoundRunner, Rounds
from bot.features.profiles.config import TagsConfig

CHANGES_KEPT = timedelta(days=1)  # how long `member_changes` rows are kept


def setup(wiring: Wiring) -> None:
    deps = wiring.deps
    config = deps.config.section(MatchmakingConfig)
    canonical = deps.config.section(TagsConfig).canonical
    runner = RoundRunner(deps, config, canonical)
    network, prefix = deps.config.network, deps.config.command_prefix
    index = MatchIndex(deps.db)  # one per process, built on first use
    wiring.service("matching",
                   lambda session: MatchingService(session, network, prefix, canonical, index))
    wiring.service("connections", lambda session: ConnectionService(
        session, deps, config.connects_per_day))
    wiring.service("rounds", lambda session: Rounds(session, runner, deps.clock))
    wiring.listen(runner.on_event)
    wiring.holds(personal_data.CONNECTIONS)
    wiring.holds(personal_data.ROUNDS)
    wiring.on_start(runner.schedule_pending)
    wiring.on_start(index.warm)  # in the background: the bot starts at once
    trigger = round_trigger(config)
    if trigger is not None:
        wiring.job(scheduled_round(deps, config, runner), trigger, id="matchround",
                   coalesce=True, misfire_grace_time=3600)

    async def prune_feed() -> None:
        """Keep the change feed short; an index that read nothing for longer builds again."""
        if index.state is not None:
            await index.refresh()  # read the feed before it is pruned
        async with deps.db.session() as session:
            # the feed is timed by the real clock (`note_change`), whatever `deps.clock` says
            await prune_changes(session, utcnow() - CHANGES_KEPT)

    wiring.job(prune_feed, "interval", id="prune-member-changes", hours=1,
               next_run_time=deps.clock() + timedelta(minutes=2), coalesce=True)

    async def cross_border_gauge() -> None:
        async with deps.db.session() as session:
            total, crossing = (await session.execute(
                select(func.count(), func.coalesce(
                    func.sum(case((Connection.cross_border.is_(True), 1), else_=0)), 0))
                .select_from(Connection))).one()
        deps.metrics.cross_border.set(crossing / total if total else 0)

    wiring.on_scrape(cross_border_gauge)


FEATURE = Feature("matchmaking", setup,
                  config=(SectionSpec("matchmaking", parse_matchmaking),))
