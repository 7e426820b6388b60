"""Composing the weekly digest for partner organisations from the bot's own database:
sections (see `digest_sections`), a chart of activity per location, HTML and a plain body,
dates in the room's language, and always under Matrix's 64 KiB event limit."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Config
from bot.dates import date_locale
from bot.db.models import NetworkRoom, RoomActivity
from bot.features.digest.config import DigestConfig
from bot.features.digest.sections import SECTIONS, Reader, Section, Window
from bot.formatting import escape
from bot.i18n import N_, Translator

EVENT_LIMIT = 60_000  # bytes of content: Matrix allows 65 536 for the whole event
LINE_LIMITS = (15, 8, 4, 2, 1)
CHART_WEEKS = 8


@dataclass(frozen=True)
class Digest:
    text: str
    html: str
    chart: bytes | None = None
    chart_alt: str | None = None
    empty: bool = False


class DigestComposer:
    def __init__(self, config: Config, translator: Translator) -> None:
        self.config = config
        self.translator = translator

    def reader(self, locale: str) -> Reader:
        tr = self.translator

        def gettext(msgid: str, **params: Any) -> str:
            return tr.gettext(msgid, locale, **params)

        def ngettext(singular: str, plural: str, n: int, **params: Any) -> str:
            return tr.ngettext(singular, plural, n, locale, **params)

        return Reader(locale, gettext, ngettext)

    async def compose(self, session: AsyncSession, locale: str, end: datetime, days: int = 7,
                      chart: bool = True) -> Digest:
        tz = self.config.section(DigestConfig).timezone
        window = Window(end - timedelta(days=days), end, tz)
        reader = self.reader(locale)
        sections = [s for s in [await source.build(session, self.config.network, window, reader)
                                for source in SECTIONS] if s is not None]
        loc = date_locale(locale)
        span = (format_date(window.start.astimezone(ZoneInfo(tz)), "medium", locale=loc),
                format_date((window.end - timedelta(seconds=1)).astimezone(ZoneInfo(tz)),
                            "medium", locale=loc))
        title = reader._(N_("%(network)s — the week from %(first)s to %(last)s"),
                         network=self.config.network.name, first=span[0], last=span[1])
        if not sections:
            quiet = reader._(N_("A quiet week: no new members, collaborations or events. "
                                "See you next week!"))
            return Digest(f"{title}\n\n{quiet}", f"<h3>{escape(title)}</h3><p>{escape(quiet)}"
                          "</p>", empty=True)
        for limit in LINE_LIMITS:
            text, html = self._render(title, sections, reader, limit)
            size = len(json.dumps({"body": text, "formatted_body": html}).encode())
            if size <= EVENT_LIMIT:
                break
        png, alt = (await self.chart(session, reader, end)) if chart else (None, None)
        return Digest(text, html, png, alt)

    def _render(self, title: str, sections: list[Section], reader: Reader,
                limit: int) -> tuple[str, str]:
        text, html = [title], [f"<h3>{escape(title)}</h3>"]
        for section in sections:
            text.append(f"\n{section.title}")
            html.append(f"<h4>{escape(section.title)}</h4>")
            if section.summary:
                text.append(section.summary)
                html.append(f"<p>{escape(section.summary)}</p>")
            shown = section.lines[:limit]
            more = len(section.lines) - len(shown)
            text.extend(f"• {t}" for t, _ in shown)
            items = [f"<li>{h}</li>" for _, h in shown]
            if more:
                tail = reader.ngettext("… and %(num)d more line", "… and %(num)d more lines",
                                       more)
                text.append(f"• {tail}")
                items.append(f"<li><i>{escape(tail)}</i></li>")
            if items:
                html.append("<ul>" + "".join(items) + "</ul>")
        return "\n".join(text), "".join(html)

    async def weekly_activity(self, session: AsyncSession, end: datetime
                              ) -> tuple[list[str], dict[str, list[int]]]:
        """Messages per location room and week, oldest week first."""
        tz = ZoneInfo(self.config.section(DigestConfig).timezone)
        last_day = end.astimezone(tz).date()
        first_day = last_day - timedelta(weeks=CHART_WEEKS)
        rooms = {room_id: key.split(":", 1)[1] for room_id, key in (await session.execute(
            select(NetworkRoom.room_id, NetworkRoom.key).where(
                NetworkRoom.kind == "location"))).all()}
        network = self.config.network
        series = {spec.name: [0] * CHART_WEEKS for spec in network.locations
                  if spec.key in rooms.values()}
        rows = await session.execute(
            select(RoomActivity.room_id, RoomActivity.day, RoomActivity.count).where(
                RoomActivity.day > first_day, RoomActivity.day <= last_day,
                RoomActivity.room_id.in_(list(rooms))))
        for room_id, day, count in rows.all():
            week = ((day - first_day).days - 1) // 7  # days 1–7 after first_day: week 0
            name = network.location_by_key[rooms[room_id]].name
            series[name][week] += count
        labels = [f"W{(first_day + timedelta(weeks=i)).isocalendar()[1]}"
                  for i in range(CHART_WEEKS)]
        return labels, series

    async def chart(self, session: AsyncSession, reader: Reader, end: datetime
                    ) -> tuple[bytes | None, str | None]:
        from bot.features.digest.chart import activity_chart, chart_alt_text

        labels, series = await self.weekly_activity(session, end)
        if not series:
            return None, None
        title = reader._(N_("Messages per location, last 8 weeks"))
        # drawing takes ~0.1 s (more on the first call): not on the event loop
        png = await asyncio.to_thread(activity_chart, series, labels, title=title,
                                      ylabel=reader._(N_("messages")))
        return png, chart_alt_text(series, labels, title=title)
