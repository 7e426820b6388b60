"""The APScheduler instance of one App (never a module global) and the foundation's jobs."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.deps import Deps
from bot.services.rounds import RoundRunner
from bot.sync_store import prune_handled

log = logging.getLogger(__name__)
HANDLED_EVENTS_KEPT = timedelta(days=7)


ROUNDS_ANCHOR = date(2026, 1, 5)  # a Monday: "every 2 weeks" counts weeks from here


def round_trigger(deps: Deps) -> CronTrigger | None:
    """The weekly wall-clock time of scheduled rounds ("every 2 weeks mon 10:00"): a cron
    trigger in the configured timezone, so daylight saving never moves it; which weeks
    count is decided by `is_round_week`."""
    schedule = deps.config.matchmaking.rounds
    if schedule is None:
        return None
    return CronTrigger(day_of_week=schedule.weekday, hour=schedule.hour,
                       minute=schedule.minute, timezone=ZoneInfo(deps.config.matchmaking.timezone))


def is_round_week(day: date, every_weeks: int) -> bool:
    """Every n-th week counted from a fixed Monday, so a restart never shifts the cadence."""
    return ((day - ROUNDS_ANCHOR).days // 7) % every_weeks == 0


def add_round_jobs(scheduler: AsyncIOScheduler, deps: Deps, runner: RoundRunner) -> None:
    trigger = round_trigger(deps)
    if trigger is None:
        return
    tz = ZoneInfo(deps.config.matchmaking.timezone)

    async def scheduled_round() -> None:
        today = deps.clock().astimezone(tz).date()
        if not is_round_week(today, deps.config.matchmaking.rounds.every_weeks):
            return
        year, week, _ = today.isocalendar()
        started = await runner.start(f"sched:{year}-W{week:02d}", None, None)
        log.info("scheduled matchmaking round: %s", started or "too few members opted in")

    scheduler.add_job(scheduled_round, trigger, id="matchround", coalesce=True,
                      misfire_grace_time=3600)


def add_foundation_jobs(scheduler: AsyncIOScheduler, deps: Deps) -> None:
    async def prune() -> None:
        async with deps.db.session() as session:
            removed = await prune_handled(session, deps.clock(), HANDLED_EVENTS_KEPT)
        if removed:
            log.info("pruned %d handled event ids", removed)

    scheduler.add_job(prune, "interval", hours=1, id="prune-handled-events",
                      next_run_time=deps.clock() + timedelta(minutes=1), coalesce=True)
