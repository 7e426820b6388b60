"""The scheduled matchmaking round: a wall-clock time in the configured timezone (daylight
saving never moves it), every n-th week counted from a fixed Monday (a restart never shifts
the cadence)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import date
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from bot.deps import Deps
from bot.features.matchmaking.config import MatchmakingConfig
from bot.features.matchmaking.rounds import RoundRunner

log = logging.getLogger(__name__)
ROUNDS_ANCHOR = date(2026, 1, 5)  # a Monday: "every 2 weeks" counts weeks from here


def round_trigger(config: MatchmakingConfig) -> CronTrigger | None:
    """The weekly wall-clock time of scheduled rounds ("every 2 weeks mon 10:00"): a cron
    trigger in the configured timezone, so daylight saving never moves it; which weeks
    count is decided by `is_round_week`."""
    schedule = config.rounds
    if schedule is None:
        return None
    return CronTrigger(day_of_week=schedule.weekday, hour=schedule.hour,
                       minute=schedule.minute, timezone=ZoneInfo(config.timezone))


def is_round_week(day: date, every_weeks: int) -> bool:
    """Every n-th week counted from a fixed Monday, so a restart never shifts the cadence."""
    return ((day - ROUNDS_ANCHOR).days // 7) % every_weeks == 0


def scheduled_round(deps: Deps, config: MatchmakingConfig, runner: RoundRunner
                    ) -> Callable[[], Awaitable[None]]:
    """The job that starts this week's round, when this week is a round week."""
    tz = ZoneInfo(config.timezone)
    every = config.rounds.every_weeks if config.rounds else 1

    async def job() -> None:
        today = deps.clock().astimezone(tz).date()
        if not is_round_week(today, every):
            return
        year, week, _ = today.isocalendar()
        started = await runner.start(f"sched:{year}-W{week:02d}", None, None)
        log.info("scheduled matchmaking round: %s", started or "too few members opted in")

    return job
