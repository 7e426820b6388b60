"""`GET /metrics`: the App's own Prometheus registry in the text exposition format.

Counters and histograms (commands, events) are kept up to date where things happen. The
network gauges describe what the database holds, so they are refreshed here, just before a
scrape, with a handful of aggregate queries (one `GROUP BY` each, no rows loaded):

- `sbcc_members{location}`: open `RoomMembership` stays in each configured location's room
  (0 for a location whose room is not provisioned yet);
- `sbcc_collaborations{status}`: collaborations by status, every status present (0 if none);
- `sbcc_connections_cross_border_ratio`: crossing connections / all connections (0 if none);
- `sbcc_sync_lag_seconds`: seconds since the last good sync, **NaN before the first one**
  (Prometheus's "no value": graphs show a gap and `> 90` alerts do not fire on it; the
  "no sync yet" case is what `/healthz` reports);
- `sbcc_scheduled_jobs`: jobs in the scheduler (0 without one).

If the database cannot be read the gauges keep their previous values and the scrape still
succeeds (a warning is logged), so the counters stay visible while the database is down.
"""

from __future__ import annotations

import logging
import math

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import case, func, select

from bot.db.models import Connection
from bot.deps import Deps
from bot.services.collaborations import CollaborationService
from bot.web import DEPS, STATE, WebState
from rooms.membership import MembershipService
from rooms.network import NetworkRooms

log = logging.getLogger(__name__)


async def refresh_gauges(deps: Deps, state: WebState) -> None:
    metrics = deps.metrics
    last = state.last_sync()
    metrics.sync_lag.set(math.nan if last is None
                         else max(0.0, (deps.clock() - last).total_seconds()))
    metrics.scheduled_jobs.set(len(deps.scheduler.get_jobs()) if deps.scheduler else 0)
    try:
        await _refresh_from_database(deps)
    except Exception:  # noqa: BLE001 - a scrape must not fail because the database does
        log.warning("could not refresh the network gauges from the database", exc_info=True)


async def _refresh_from_database(deps: Deps) -> None:
    metrics = deps.metrics
    network = deps.config.network
    async with deps.db.session() as session:
        known = await NetworkRooms(session, network).known()
        location_of = {k.room_id: k.spec.key for k in known if k.spec.kind == "location"}
        counts = await MembershipService(session, deps.clock).counts(list(location_of))
        members = {location_of[room_id]: n for room_id, n in counts.items()}
        by_status = await CollaborationService(session, deps).counts_by_status()
        total, crossing = (await session.execute(
            select(func.count(), func.coalesce(
                func.sum(case((Connection.cross_border.is_(True), 1), else_=0)), 0))
            .select_from(Connection))).one()
    for spec in network.locations:
        metrics.members.labels(location=spec.key).set(members.get(spec.key, 0))
    for status, n in by_status.items():
        metrics.collaborations.labels(status=status).set(n)
    metrics.cross_border.set(crossing / total if total else 0)


async def metrics_view(request: web.Request) -> web.Response:
    deps = request.app[DEPS]
    await refresh_gauges(deps, request.app[STATE])
    body = generate_latest(deps.metrics.registry)
    response = web.Response(body=body, headers={"Cache-Control": "no-store"})
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response


def setup(app: web.Application) -> None:
    app.router.add_get("/metrics", metrics_view)
