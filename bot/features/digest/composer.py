"""Composing the weekly digest for partner organisations from the bot's own database:
sections (see `bot.features.digest.sections`), a chart of activity per location, HTML and a
plain body, in the reader's language, and always under Matrix's 64 KiB event limit."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.dates import date_locale
from bot.db.models import RoomActivity
from bot.features.digest.chart import activity_chart, chart_alt_text
from bot.features.digest.config import DigestConfig
from bot.features.digest.sections import SECTIONS, DigestSection, Window, location_rooms
from bot.formatting import escape
from bot.i18n import N_, BoundTranslator
from rooms.topology import NetworkConfig

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
    """Composes the digest of the network's records; the reader's language comes with each
    call (a BoundTranslator), the network and the digest's timezone once."""

    def __init__(self, network: NetworkConfig, settings: DigestConfig) -> None:
        self.network = network
        self.timezone = settings.timezone

    async def compose(self, session: AsyncSession, tr: BoundTranslator, end: datetime,
                      days: int = 7, chart: bool = True) -> Digest:
        window = Window(end - timedelta(days=days), end, self.timezone)
        sections = [s for s in [await source.build(session, self.network, window, tr)
                                for source in SECTIONS] if s is not None]
        tz, loc = ZoneInfo(self.timezone), date_locale(tr.locale)
        title = tr(N_("%(network)s — the week from %(first)s to %(last)s"),
                   network=self.network.name,
                   first=format_date(window.start.astimezone(tz), "medium", locale=loc),
                   last=format_date((window.end - timedelta(seconds=1)).astimezone(tz),
                                    "medium", locale=loc))
        if not sections:
            quiet = tr(N_("A quiet week: no new members, collaborations or events. "
                          "See you next week!"))
            return Digest(f"{title}\n\n{quiet}", f"<h3>{escape(title)}</h3><p>{escape(quiet)}"
                          "</p>", empty=True)
        for limit in LINE_LIMITS:
            text, html = self._render(title, sections, tr, limit)
            size = len(json.dumps({"body": text, "formatted_body": html}).encode())
            if size <= EVENT_LIMIT:
                break
        png, alt = (await self.chart(session, tr, end)) if chart else (None, None)
        return Digest(text, html, png, alt)

    @staticmethod
    def _render(title: str, sections: list[DigestSection], tr: BoundTranslator,
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
                tail = tr.ngettext("… and %(num)d more line", "… and %(num)d more lines", more)
                text.append(f"• {tail}")
                items.append(f"<li><i>{escape(tail)}</i></li>")
            if items:
                html.append("<ul>" + "".join(items) + "</ul>")
        return "\n".join(text), "".join(html)

    async def weekly_activity(self, session: AsyncSession, end: datetime
                              ) -> tuple[list[str], dict[str, list[int]]]:
        """Messages per configured location's room and week, oldest week first."""
        last_day = end.astimezone(ZoneInfo(self.timezone)).date()
        first_day = last_day - timedelta(weeks=CHART_WEEKS)
        rooms = {room_id: spec for room_id, key in (await location_rooms(session)).items()
                 if (spec := self.network.location_by_key.get(key)) is not None}
        shown = {spec.key for spec in rooms.values()}
        series = {spec.name: [0] * CHART_WEEKS for spec in self.network.locations
                  if spec.key in shown}
        rows = await session.execute(
            select(RoomActivity.room_id, RoomActivity.day, RoomActivity.count).where(
                RoomActivity.day > first_day, RoomActivity.day <= last_day,
                RoomActivity.room_id.in_(list(rooms))))
        for room_id, day, count in rows.all():
            week = ((day - first_day).days - 1) // 7  # days 1–7 after first_day: week 0
            series[rooms[room_id].name][week] += count
        labels = [f"W{(first_day + timedelta(weeks=i)).isocalendar()[1]}"
                  for i in range(CHART_WEEKS)]
        return labels, series

    async def chart(self, session: AsyncSession, tr: BoundTranslator, end: datetime
                    ) -> tuple[bytes | None, str | None]:
        labels, series = await self.weekly_activity(session, end)
        if not series:
            return None, None
        title = tr(N_("Messages per location, last 8 weeks"))
        # drawing takes ~0.1 s (more on the first call): not on the event loop
        png = await asyncio.to_thread(activity_chart, series, labels, title=title,
                                      ylabel=tr(N_("messages")))
        return png, chart_alt_text(series, labels, title=title)
