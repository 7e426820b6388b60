"""The APScheduler instance of one App (never a module global) and the foundation's jobs."""

from __future__ import annotations

import logging
from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.deps import Deps
from bot.sync_store import prune_handled

log = logging.getLogger(__name__)
HANDLED_EVENTS_KEPT = timedelta(days=7)


def add_foundation_jobs(scheduler: AsyncIOScheduler, deps: Deps) -> None:
    async def prune() -> None:
        async with deps.db.session() as session:
            removed = await prune_handled(session, deps.clock(), HANDLED_EVENTS_KEPT)
        if removed:
            log.info("pruned %d handled event ids", removed)

    scheduler.add_job(prune, "interval", hours=1, id="prune-handled-events",
                      next_run_time=deps.clock() + timedelta(minutes=1), coalesce=True)
