"""`GET /metrics`: the App's own Prometheus registry in the text exposition format.

Counters and histograms (commands, events) are kept up to date where things happen. Gauges
that describe what the database holds are refreshed just before a scrape, by the steps the
features registered (`wiring.on_scrape`): members per location (the network), collaborations
by status, the share of connections that cross a border. Here:

- `sbcc_sync_lag_seconds`: seconds since the last good sync, **NaN before the first one**
  (Prometheus's "no value": graphs show a gap and `> 90` alerts do not fire on it; the
  "no sync yet" case is what `/healthz` reports);
- `sbcc_scheduled_jobs`: jobs in the scheduler (0 without one);
- `sbcc_role{role="leader"|"standby"}`: 1 for the role this process has now (`bot.leader`).

If the database cannot be read, a feature's gauges keep their previous values and the
scrape still succeeds (a warning is logged), so the counters stay visible while the
database is down.
"""

from __future__ import annotations

import logging
import math

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot.deps import Deps
from bot.leader import Role
from bot.web.pages import DEPS, STATE, WebState

log = logging.getLogger(__name__)


async def refresh_gauges(deps: Deps, state: WebState) -> None:
    metrics = deps.metrics
    last = state.last_sync()
    metrics.sync_lag.set(math.nan if last is None
                         else max(0.0, (deps.clock() - last).total_seconds()))
    metrics.scheduled_jobs.set(len(deps.scheduler.get_jobs()) if deps.scheduler else 0)
    role = state.role()
    for each in Role:
        metrics.role.labels(role=each.value).set(1 if each.value == role else 0)
    for step in state.scrape_steps:
        try:
            await step()
        except Exception:  # noqa: BLE001 - a scrape must not fail because the database does
            log.warning("could not refresh gauges from the database", exc_info=True)


async def metrics_view(request: web.Request) -> web.Response:
    deps = request.app[DEPS]
    await refresh_gauges(deps, request.app[STATE])
    body = generate_latest(deps.metrics.registry)
    response = web.Response(body=body, headers={"Cache-Control": "no-store"})
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response


def setup(app: web.Application) -> None:
    app.router.add_get("/metrics", metrics_view)
