"""Calendar feeds: `GET /calendar.ics` (every upcoming scheduled event, for subscribing) and
`GET /forums/{id}.ics` (one event, for importing; a cancelled one is still served, marked
STATUS:CANCELLED, so a calendar that imported it learns of the cancellation).

The iCalendar text itself comes from `bot.features.forums.calendar`, which is pure; the
events are read through `ForumService`, one session per request.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.features.forums.calendar import event_filename
from bot.features.forums.service import ForumService

CONTENT_TYPE = "text/calendar; charset=utf-8"
MAX_ID = 2**31 - 1  # the column is a 32-bit integer on PostgreSQL


def _response(body: bytes, filename: str | None = None) -> web.Response:
    response = web.Response(body=body)
    response.headers["Content-Type"] = CONTENT_TYPE
    if filename:
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class CalendarRoutes:
    """`forums` builds the service for a session (the feature's own factory)."""

    def __init__(self, db: Database, forums: Callable[[AsyncSession], ForumService]) -> None:
        self.db = db
        self.forums = forums

    async def feed(self, _request: web.Request) -> web.Response:
        async with self.db.session() as session:
            forums = self.forums(session)
            body = forums.ics(await forums.upcoming(limit=None), linked=True)
        return _response(body)

    async def one_event(self, request: web.Request) -> web.Response:
        forum_id = int(request.match_info["id"])
        if forum_id > MAX_ID:
            raise web.HTTPNotFound(text="no such event")
        async with self.db.session() as session:
            forums = self.forums(session)
            event = await forums.find(forum_id)
            if event is None:
                raise web.HTTPNotFound(text="no such event")
            body = forums.ics([event], linked=True)
        return _response(body, event_filename(event))

    def setup(self, app: web.Application) -> None:
        app.router.add_get("/calendar.ics", self.feed)
        app.router.add_get(r"/forums/{id:\d{1,12}}.ics", self.one_event)
