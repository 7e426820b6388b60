"""The weekly digest's sections, one per feature. A section reads the database for the
window and returns its lines, or None when it has nothing to say (then it is left out).
A new feature adds its section to `SECTIONS`; nothing else changes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.dates import event_time
from bot.db.models import (
    Collaboration,
    CollaborationEvent,
    Connection,
    ForumEvent,
    Member,
    NetworkRoom,
    RoomActivity,
    RoomMembership,
    RoundAnswer,
    Rsvp,
)
from bot.formatting import escape, pill
from bot.i18n import N_
from rooms.topology import NetworkConfig

Translate = Callable[..., str]


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime
    timezone: str  # dates are shown in this zone

    @property
    def days(self) -> tuple[date, date]:
        """The calendar days (in the digest's timezone) after the first and up to the last:
        each day belongs to exactly one weekly window."""
        tz = ZoneInfo(self.timezone)
        return self.start.astimezone(tz).date(), self.end.astimezone(tz).date()


@dataclass
class Section:
    title: str
    summary: str = ""
    lines: list[tuple[str, str]] = field(default_factory=list)  # (text, html)


@dataclass
class Reader:
    """Who reads the digest: language and the translation functions for it."""

    locale: str
    _: Translate
    ngettext: Callable[..., str]


class SectionSource(Protocol):
    async def build(self, session: AsyncSession, network: NetworkConfig, window: Window,
                    reader: Reader) -> Section | None: ...


async def _network_rooms(session: AsyncSession) -> dict[str, tuple[str, str]]:
    """room id → (kind, key) of the provisioned rooms."""
    rows = await session.execute(select(NetworkRoom.room_id, NetworkRoom.key))
    return {room_id: tuple(key.split(":", 1)) if ":" in key else (key, key)
            for room_id, key in rows.all()}


def _share(part: int, whole: int) -> int:
    return round(100 * part / whole) if whole else 0


class NewMembers:
    async def build(self, session: AsyncSession, network: NetworkConfig, window: Window,
                    reader: Reader) -> Section | None:
        rooms = await _network_rooms(session)
        locations = {rid: key for rid, (kind, key) in rooms.items() if kind == "location"}
        joins = (await session.execute(
            select(RoomMembership.room_id, func.count(func.distinct(RoomMembership.mxid)))
            .where(RoomMembership.since >= window.start, RoomMembership.since < window.end,
                   RoomMembership.imported.is_(False),
                   RoomMembership.room_id.in_(list(locations)))
            .group_by(RoomMembership.room_id))).all()
        intros = (await session.scalars(
            select(Member).where(Member.intro_at >= window.start, Member.intro_at < window.end)
            .order_by(Member.intro_at))).all()
        if not joins and not intros:
            return None
        section = Section(reader._(N_("New members")))
        total = sum(n for _, n in joins)
        section.summary = reader.ngettext("%(num)d person joined a location room.",
                                          "%(num)d people joined location rooms.", total)
        for room_id, n in sorted(joins, key=lambda r: (-r[1], locations[r[0]])):
            spec = network.location_by_key.get(locations[room_id])
            name = spec.name if spec else locations[room_id]
            text = f"{name}: {n}"
            section.lines.append((text, escape(text)))
        for member in intros:
            who = pill(member.mxid, member.display_name)
            spec = network.location_by_key.get(member.location or "")
            where = f" ({spec.name})" if spec else ""
            label = reader._(N_("introduced themselves"))
            section.lines.append((f"{who.text}{where} {label}",
                                  f"{who.html}{escape(where)} {escape(label)}"))
        return section


class Collaborations:
    async def build(self, session: AsyncSession, network: NetworkConfig, window: Window,
                    reader: Reader) -> Section | None:
        new = (await session.scalars(
            select(Collaboration).where(Collaboration.created_at >= window.start,
                                        Collaboration.created_at < window.end)
            .order_by(Collaboration.created_at))).all()
        changes = (await session.execute(
            select(CollaborationEvent.status, func.count()).where(
                CollaborationEvent.kind == "status", CollaborationEvent.at >= window.start,
                CollaborationEvent.at < window.end).group_by(CollaborationEvent.status))).all()
        if not new and not changes:
            return None
        section = Section(reader._(N_("Collaborations")))
        cross = sum(1 for c in new if c.cross_border)
        section.summary = reader.ngettext(
            "%(num)d new collaboration, %(share)d%% across borders.",
            "%(num)d new collaborations, %(share)d%% across borders.", len(new),
            share=_share(cross, len(new)))
        for c in new:
            mark = " 🌍" if c.cross_border else ""
            text = f"#{c.id} {c.title}{mark}"
            section.lines.append((text, escape(text)))
        labels = {"planned": N_("planned"), "active": N_("active"), "done": N_("done"),
                  "dropped": N_("dropped")}
        for status, n in sorted(changes):
            text = reader._(N_("Status changes to “%(status)s”: %(num)d"),
                            status=reader._(labels.get(status, status)), num=n)
            section.lines.append((text, escape(text)))
        return section


class UpcomingEvents:
    async def build(self, session: AsyncSession, network: NetworkConfig, window: Window,
                    reader: Reader) -> Section | None:
        horizon = window.end + timedelta(days=30)
        events = (await session.scalars(
            select(ForumEvent).where(ForumEvent.starts_at >= window.end,
                                     ForumEvent.starts_at < horizon,
                                     ForumEvent.status == "scheduled")
            .order_by(ForumEvent.starts_at))).all()
        if not events:
            return None
        counts = {(fid, answer): n for fid, answer, n in (await session.execute(
            select(Rsvp.forum_id, Rsvp.answer, func.count()).where(
                Rsvp.forum_id.in_([e.id for e in events]), Rsvp.waitlisted.is_(False))
            .group_by(Rsvp.forum_id, Rsvp.answer))).all()}
        section = Section(reader._(N_("Coming up (next 30 days)")))
        for e in events:
            spec = network.location_by_key.get(e.location)
            when = event_time(e.starts_at, window.timezone, reader.locale)
            answers = reader._(N_("%(yes)d coming, %(maybe)d maybe"),
                               yes=counts.get((e.id, "yes"), 0),
                               maybe=counts.get((e.id, "maybe"), 0))
            text = f"#{e.id} {e.title} — {when}, {spec.name if spec else e.location} — {answers}"
            section.lines.append((text, escape(text)))
        return section


class Meetings:
    async def build(self, session: AsyncSession, network: NetworkConfig, window: Window,
                    reader: Reader) -> Section | None:
        made, cross = (await session.execute(
            select(func.count(), func.coalesce(func.sum(
                case((Connection.cross_border.is_(True), 1), else_=0)), 0))
            .where(Connection.created_at >= window.start,
                   Connection.created_at < window.end))).one()
        met = await session.scalar(select(func.count(func.distinct(RoundAnswer.group_id))).where(
            RoundAnswer.met.is_(True), RoundAnswer.answered_at >= window.start,
            RoundAnswer.answered_at < window.end)) or 0
        if not made and not met:
            return None
        section = Section(reader._(N_("Connections and meetings")))
        text = reader.ngettext("%(num)d new connection, %(share)d%% across borders.",
                               "%(num)d new connections, %(share)d%% across borders.", made,
                               share=_share(int(cross), made))
        section.lines.append((text, escape(text)))
        if met:
            text = reader.ngettext("%(num)d matchmaking pair said they met.",
                                   "%(num)d matchmaking pairs said they met.", met)
            section.lines.append((text, escape(text)))
        return section


class ActiveRooms:
    TOP = 5

    async def build(self, session: AsyncSession, network: NetworkConfig, window: Window,
                    reader: Reader) -> Section | None:
        first, last = window.days
        rows = (await session.execute(
            select(RoomActivity.room_id, func.sum(RoomActivity.count).label("n"))
            .where(and_(RoomActivity.day > first, RoomActivity.day <= last))
            .group_by(RoomActivity.room_id).order_by(func.sum(RoomActivity.count).desc(),
                                                     RoomActivity.room_id)
            .limit(self.TOP * 3))).all()
        rooms = await _network_rooms(session)
        names = {f"location:{s.key}": s.name for s in network.locations}
        names |= {f"topic:{s.key}": s.name for s in network.topics}
        ranked = [(names.get(":".join(rooms[r])), n) for r, n in rows if r in rooms]
        ranked = [(name, n) for name, n in ranked if name][: self.TOP]
        if not ranked:
            return None
        section = Section(reader._(N_("Most active rooms")))
        for name, n in ranked:
            text = reader.ngettext("%(room)s: %(num)d message", "%(room)s: %(num)d messages",
                                   int(n), room=name)
            section.lines.append((text, escape(text)))
        return section


class AdvisoryRequests:
    """Questions from organisations outside the network (the advice form): how many came
    this week and how many are still open, by sector — no names, which were not given for
    this."""

    async def build(self, session: AsyncSession, network: NetworkConfig, window: Window,
                    reader: Reader) -> Section | None:
        from bot.db.models import AdvisoryRequest
        from bot.features.advice.service import SECTOR_LABELS

        new = (await session.execute(
            select(AdvisoryRequest.sector, func.count()).where(
                AdvisoryRequest.created_at >= window.start,
                AdvisoryRequest.created_at < window.end).group_by(AdvisoryRequest.sector)
        )).all()
        still_open = await session.scalar(select(func.count()).select_from(
            AdvisoryRequest).where(AdvisoryRequest.status == "new")) or 0
        if not new and not still_open:
            return None
        section = Section(reader._(N_("Advisory requests")))
        arrived = sum(n for _, n in new)
        section.summary = reader.ngettext(
            "%(num)d new request this week; %(open)d open in all.",
            "%(num)d new requests this week; %(open)d open in all.", arrived, open=still_open)
        for sector, n in sorted(new, key=lambda r: (-r[1], r[0])):
            text = f"{reader._(SECTOR_LABELS.get(sector, sector))}: {n}"
            section.lines.append((text, escape(text)))
        return section


SECTIONS: list[SectionSource] = [NewMembers(), Collaborations(), UpcomingEvents(), Meetings(),
                                 ActiveRooms(), AdvisoryRequests()]
