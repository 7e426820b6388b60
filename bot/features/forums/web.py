"""Calendar feeds: `GET /calendar.ics` (every upcoming scheduled event, for subscribing) and
`GET /forums/{id}.ics` (one event, for importing; a cancelled one is still served, marked
STATUS:CANCELLED, so a calendar that imported it learns of the cancellation).

The iCalendar text itself comes from `bot.features.forums.calendar`, which is pure; here the rows
are loaded and the clock is read.
"""

from __future__ import annotations

from datetime import datetime

from aiohttp import web
from sqlalchemy import select

from bot.db.models import ForumEvent
from bot.deps import Deps
from bot.features.forums.calendar import calendar_ics, event_filename
from bot.web.pages import DEPS

CONTENT_TYPE = "text/calendar; charset=utf-8"
MAX_ID = 2**31 - 1  # the column is a 32-bit integer on PostgreSQL


def _ics(deps: Deps, events: list[ForumEvent], now: datetime) -> bytes:
    return calendar_ics(events, deps.config.network, server_name=deps.config.matrix.server_name,
                        public_url=deps.config.web.public_url, now=now)


def _response(body: bytes, filename: str | None = None) -> web.Response:
    response = web.Response(body=body)
    response.headers["Content-Type"] = CONTENT_TYPE
    if filename:
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


async def feed(request: web.Request) -> web.Response:
    deps = request.app[DEPS]
    now = deps.clock()
    async with deps.db.session() as session:
        events = list((await session.scalars(
            select(ForumEvent).where(ForumEvent.starts_at > now,
                                     ForumEvent.status == "scheduled")
            .order_by(ForumEvent.starts_at, ForumEvent.id))).all())
    return _response(_ics(deps, events, now))


async def one_event(request: web.Request) -> web.Response:
    deps = request.app[DEPS]
    forum_id = int(request.match_info["id"])
    if forum_id > MAX_ID:
        raise web.HTTPNotFound(text="no such event")
    async with deps.db.session() as session:
        event = await session.get(ForumEvent, forum_id)
    if event is None:
        raise web.HTTPNotFound(text="no such event")
    return _response(_ics(deps, [event], deps.clock()), event_filename(event))


def setup(app: web.Application) -> None:
    app.router.add_get("/calendar.ics", feed)
    app.router.add_get(r"/forums/{id:\d{1,12}}.ics", one_event)
