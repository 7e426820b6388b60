"""The weekly digest's sections, one per feature. A section reads the database for the
window and returns its lines in the reader's language, or None when it has nothing to say
(then it is left out). A new feature adds its section to `SECTIONS`; nothing else changes."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from bot.dates import event_time
from bot.db.models import (
    AdvisoryRequest,
    Collaboration,
    CollaborationEvent,
    CollaborationMember,
    Connection,
    ForumEvent,
    Member,
    NetworkRoom,
    Proposal,
    RoomActivity,
    RoomMembership,
    RoundAnswer,
    Rsvp,
    StrategyProcess,
    StrategyVote,
)
from bot.features.advice.messages import SECTOR_LABELS
from bot.features.advice.stats import (
    OPEN_STATES,
    duration,
    elapsed,
    outcome_counts,
    rating,
)
from bot.features.collaborations.messages import STATUS_LABELS
from bot.features.collaborations.service import confirmed
from bot.features.strategies.messages import PHASE_NAMES
from bot.formatting import escape, pill
from bot.i18n import N_, BoundTranslator
from rooms.network import NetworkRooms
from rooms.topology import NetworkConfig


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
class DigestSection:
    """One part of the digest as its reader sees it: a title, an optional summary and the
    lines, each as (text, html)."""

    title: str
    summary: str = ""
    lines: list[tuple[str, str]] = field(default_factory=list)

    def add(self, text: str) -> None:
        """A line of plain text (escaped for the HTML)."""
        self.lines.append((text, escape(text)))


class SectionSource(Protocol):
    async def build(self, session: AsyncSession, network: NetworkConfig, window: Window,
                    tr: BoundTranslator) -> DigestSection | None: ...


async def location_rooms(session: AsyncSession) -> dict[str, str]:
    """room id → location key of the provisioned location rooms (also of a location no
    longer configured: its key stands in for its name)."""
    rows = await session.execute(select(NetworkRoom.room_id, NetworkRoom.key).where(
        NetworkRoom.kind == "location"))
    return {room_id: key.split(":", 1)[1] for room_id, key in rows.all()}


def location_name(network: NetworkConfig, key: str) -> str:
    """A location as the digest names it: its name alone, or the key of one no longer
    configured."""
    spec = network.location_by_key.get(key)
    return spec.name if spec else key


def _share(part: int, whole: int) -> int:
    return round(100 * part / whole) if whole else 0


class NewMembers:
    async def build(self, session: AsyncSession, network: NetworkConfig, window: Window,
                    tr: BoundTranslator) -> DigestSection | None:
        locations = await location_rooms(session)
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
        section = DigestSection(tr(N_("New members")))
        total = sum(n for _, n in joins)
        section.summary = tr.ngettext("%(num)d person joined a location room.",
                                      "%(num)d people joined location rooms.", total)
        for room_id, n in sorted(joins, key=lambda r: (-r[1], locations[r[0]])):
            section.add(f"{location_name(network, locations[room_id])}: {n}")
        label = tr(N_("introduced themselves"))
        for member in intros:
            who = pill(member.mxid, member.display_name)
            spec = network.location_by_key.get(member.location or "")
            where = f" ({spec.name})" if spec else ""
            section.lines.append((f"{who.text}{where} {label}",
                                  f"{who.html}{escape(where)} {escape(label)}"))
        return section


def _public_since() -> ColumnElement[datetime]:
    """SQL: when the collaboration in the outer query was confirmed by its last member (its
    recording, when nobody else had to)."""
    last = (select(func.max(CollaborationMember.confirmed_at))
            .where(CollaborationMember.collaboration_id == Collaboration.id)
            .scalar_subquery())
    return func.coalesce(last, Collaboration.created_at)


class Collaborations:
    """Collaborations everyone named in has confirmed (`confirmed()`): new in the week when
    the last of them confirmed; status changes counted of those only. One not confirmed by
    all is its members' only and never appears here."""

    async def build(self, session: AsyncSession, network: NetworkConfig, window: Window,
                    tr: BoundTranslator) -> DigestSection | None:
        since = _public_since()
        new = (await session.scalars(
            select(Collaboration).where(confirmed(), since >= window.start,
                                        since < window.end)
            .order_by(since, Collaboration.id))).all()
        changes = (await session.execute(
            select(CollaborationEvent.status, func.count())
            .join(Collaboration, Collaboration.id == CollaborationEvent.collaboration_id)
            .where(CollaborationEvent.kind == "status", CollaborationEvent.at >= window.start,
                   CollaborationEvent.at < window.end, confirmed())
            .group_by(CollaborationEvent.status))).all()
        if not new and not changes:
            return None
        section = DigestSection(tr(N_("Collaborations")))
        cross = sum(1 for c in new if c.cross_border)
        section.summary = tr.ngettext(
            "%(num)d new collaboration, %(share)d%% across borders.",
            "%(num)d new collaborations, %(share)d%% across borders.", len(new),
            share=_share(cross, len(new)))
        for c in new:
            mark = " 🌍" if c.cross_border else ""
            section.add(f"#{c.id} {c.title}{mark}")
        for status, n in sorted((status or "", n) for status, n in changes):
            section.add(tr(N_("Status changes to “%(status)s”: %(num)d"),
                           status=tr(STATUS_LABELS.get(status, status)), num=n))
        return section


class UpcomingEvents:
    async def build(self, session: AsyncSession, network: NetworkConfig, window: Window,
                    tr: BoundTranslator) -> DigestSection | None:
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
        section = DigestSection(tr(N_("Coming up (next 30 days)")))
        for e in events:
            when = event_time(e.starts_at, window.timezone, tr.locale)
            answers = tr(N_("%(yes)d coming, %(maybe)d maybe"),
                         yes=counts.get((e.id, "yes"), 0), maybe=counts.get((e.id, "maybe"), 0))
            section.add(f"#{e.id} {e.title} — {when}, {location_name(network, e.location)} — "
                        f"{answers}")
        return section


class Meetings:
    async def build(self, session: AsyncSession, network: NetworkConfig, window: Window,
                    tr: BoundTranslator) -> DigestSection | None:
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
        section = DigestSection(tr(N_("Connections and meetings")))
        section.add(tr.ngettext("%(num)d new connection, %(share)d%% across borders.",
                                "%(num)d new connections, %(share)d%% across borders.", made,
                                share=_share(int(cross), made)))
        if met:
            section.add(tr.ngettext("%(num)d matchmaking pair said they met.",
                                    "%(num)d matchmaking pairs said they met.", met))
        return section


class ActiveRooms:
    TOP = 5

    async def build(self, session: AsyncSession, network: NetworkConfig, window: Window,
                    tr: BoundTranslator) -> DigestSection | None:
        first, last = window.days
        rows = (await session.execute(
            select(RoomActivity.room_id, func.sum(RoomActivity.count).label("n"))
            .where(and_(RoomActivity.day > first, RoomActivity.day <= last))
            .group_by(RoomActivity.room_id).order_by(func.sum(RoomActivity.count).desc(),
                                                     RoomActivity.room_id)
            .limit(self.TOP * 3))).all()
        names = {room.room_id: room.spec.name
                 for room in await NetworkRooms(session, network).known()
                 if room.spec.kind in ("location", "topic")}
        ranked = [(names[room_id], int(n)) for room_id, n in rows if room_id in names]
        if not ranked:
            return None
        section = DigestSection(tr(N_("Most active rooms")))
        for name, n in ranked[: self.TOP]:
            section.add(tr.ngettext("%(room)s: %(num)d message", "%(room)s: %(num)d messages",
                                    n, room=name))
        return section


class AdvisoryRequests:
    """Questions from organisations outside the network (the advice form): how many came
    this week, by sector, and how many are open now (not closed yet); then what happened to
    requests in the week — how soon those claimed or answered in it were (medians from their
    arrival), how those closed in it ended, how the requesters who rated in it rated. Only
    lines with something to say; no names, which were not given for this."""

    async def build(self, session: AsyncSession, network: NetworkConfig, window: Window,
                    tr: BoundTranslator) -> DigestSection | None:
        r = AdvisoryRequest

        def within(column: InstrumentedAttribute[Any]) -> ColumnElement[bool]:
            return and_(column >= window.start, column < window.end)

        new = (await session.execute(
            select(r.sector, func.count()).where(within(r.created_at)).group_by(r.sector)
        )).all()
        still_open = await session.scalar(select(func.count()).select_from(r).where(
            r.status.in_(OPEN_STATES))) or 0
        claims = [seconds for created, claimed in (await session.execute(
            select(r.created_at, r.claimed_at).where(within(r.claimed_at)))).all()
            if (seconds := elapsed(created, claimed)) is not None]
        answers = [seconds for created, answered in (await session.execute(
            select(r.created_at, r.answered_at).where(within(r.answered_at)))).all()
            if (seconds := elapsed(created, answered)) is not None]
        outcomes = {str(outcome): int(n) for outcome, n in (await session.execute(
            select(r.outcome, func.count()).where(
                r.status == "closed", r.outcome.is_not(None), within(r.closed_at))
            .group_by(r.outcome))).all()}
        rated, rating_sum = (await session.execute(
            select(func.count(r.rating), func.coalesce(func.sum(r.rating), 0)).where(
                r.rating.is_not(None), within(r.rated_at)))).one()
        if not (new or still_open or claims or answers or outcomes or rated):
            return None
        section = DigestSection(tr(N_("Advisory requests")))
        arrived = sum(n for _, n in new)
        section.summary = tr.ngettext(
            "%(num)d new request this week; %(open)d open in all.",
            "%(num)d new requests this week; %(open)d open in all.", arrived, open=still_open)
        for sector, n in sorted(new, key=lambda row: (-row[1], row[0])):
            section.add(f"{tr(SECTOR_LABELS.get(sector, sector))}: {n}")
        if claims:
            section.add(tr.ngettext(
                "%(num)d request claimed this week, a median of %(time)s after it arrived.",
                "%(num)d requests claimed this week, a median of %(time)s after they arrived.",
                len(claims), time=duration(statistics.median(claims), tr.locale)))
        if answers:
            section.add(tr.ngettext(
                "%(num)d request answered this week, a median of %(time)s after it arrived.",
                "%(num)d requests answered this week, a median of %(time)s after they "
                "arrived.", len(answers),
                time=duration(statistics.median(answers), tr.locale)))
        if outcomes:
            section.add(tr.ngettext(
                "%(num)d request closed this week: %(outcomes)s.",
                "%(num)d requests closed this week: %(outcomes)s.", sum(outcomes.values()),
                outcomes=outcome_counts(tr, outcomes, zeros=False)))
        if rated:
            section.add(tr.ngettext(
                "%(num)d rating this week: %(average)s of 5 on average.",
                "%(num)d ratings this week: %(average)s of 5 on average.", int(rated),
                average=rating(int(rating_sum or 0) / int(rated), tr.locale)))
        return section


class Strategies:
    """The joint strategies still running: each with its phase, its proposals so far and,
    while the vote runs, how many have voted."""

    async def build(self, session: AsyncSession, network: NetworkConfig, window: Window,
                    tr: BoundTranslator) -> DigestSection | None:
        running = (await session.scalars(select(StrategyProcess).where(
            StrategyProcess.phase != "result").order_by(StrategyProcess.id))).all()
        if not running:
            return None
        ids = [p.id for p in running]
        proposals = dict((await session.execute(
            select(Proposal.process_id, func.count()).where(Proposal.process_id.in_(ids))
            .group_by(Proposal.process_id))).all())
        voters = dict((await session.execute(
            select(StrategyVote.process_id, func.count(func.distinct(StrategyVote.mxid)))
            .where(StrategyVote.process_id.in_(ids)).group_by(StrategyVote.process_id))).all())
        section = DigestSection(tr(N_("Joint strategies")))
        for process in running:
            line = tr.ngettext("#%(id)d “%(title)s”: %(phase)s phase, %(num)d proposal",
                               "#%(id)d “%(title)s”: %(phase)s phase, %(num)d proposals",
                               int(proposals.get(process.id, 0)), id=process.id,
                               title=process.title, phase=tr(PHASE_NAMES[process.phase]))
            if process.phase == "vote":
                line += "; " + tr.ngettext("%(num)d member voted", "%(num)d members voted",
                                           int(voters.get(process.id, 0)))
            section.add(line)
        return section


SECTIONS: tuple[SectionSource, ...] = (NewMembers(), Collaborations(), UpcomingEvents(),
                                       Meetings(), ActiveRooms(), AdvisoryRequests(),
                                       Strategies())
