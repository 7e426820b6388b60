"""Forums and events: creation in a location's timezone, RSVPs with a capacity and a
waiting list, and the reminder occurrences that follow from them.

Reminder rows are the source of truth (see `bot.features.forums.reminders` for sending). They are
planned from the event and its RSVPs: a member who answers yes (with a place) or maybe gets
one row per configured offset, the location room one per offset. Days are counted on the
wall clock of the event's timezone, so daylight saving never shifts a reminder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import ForumEvent, Member, Reminder, Rsvp
from bot.deps import Deps
from bot.errors import BadArgument, UserError
from bot.features.forums.config import ForumsConfig, Offset
from bot.i18n import N_
from rooms.network import NetworkRooms

ANSWERS = ("yes", "maybe", "no")
REACTIONS = {"✅": "yes", "🤔": "maybe", "❌": "no"}
MAX_TITLE = 200


def reaction_answer(key: str) -> str | None:
    return REACTIONS.get(key.replace("\ufe0f", ""))


def local_start(day: str, clock: str, tz_name: str) -> datetime:
    """`YYYY-MM-DD` and `HH:MM` on the wall clock of `tz_name`, as an aware UTC datetime."""
    try:
        d = date.fromisoformat(day)
    except ValueError:
        raise BadArgument(N_("“%(value)s” is not a date like 2027-05-14."), value=day) from None
    try:
        hh, mm = clock.split(":")
        t = time(int(hh), int(mm))
    except ValueError:
        raise BadArgument(N_("“%(value)s” is not a time like 10:00."), value=clock) from None
    tz = ZoneInfo(tz_name)
    local = datetime.combine(d, t, tzinfo=tz)
    back = local.astimezone(ZoneInfo("UTC")).astimezone(tz)
    if back.replace(tzinfo=None) != local.replace(tzinfo=None):
        raise BadArgument(N_("%(time)s does not exist on %(date)s in %(timezone)s: the clocks "
                             "change that night."), time=clock, date=day, timezone=tz_name)
    return local.astimezone(ZoneInfo("UTC"))


def reminder_due(starts_at: datetime, tz_name: str, offset: Offset) -> datetime:
    """When a reminder `offset` before the event falls due (UTC)."""
    if offset.unit != "d":
        return starts_at - offset.delta
    tz = ZoneInfo(tz_name)
    wall = starts_at.astimezone(tz).replace(tzinfo=None) - offset.delta
    return wall.replace(tzinfo=tz).astimezone(ZoneInfo("UTC"))


@dataclass
class RsvpResult:
    answer: str | None  # None: withdrawn
    waitlisted: bool = False
    promoted: list[Rsvp] = field(default_factory=list)  # moved from the waiting list
    changed: bool = True


@dataclass(frozen=True)
class Counts:
    yes: int
    maybe: int
    no: int
    waiting: int


class ForumService:
    def __init__(self, session: AsyncSession, deps: Deps) -> None:
        self.session = session
        self.deps = deps
        self.network = deps.config.network

    # -- events ----------------------------------------------------------------------------

    async def create(self, *, title: str, location: str, starts_at: datetime,
                     capacity: int | None, online_url: str | None, by: str,
                     trigger: str) -> ForumEvent:
        spec = self.network.location_by_key[location]
        event = ForumEvent(title=title, location=location, timezone=spec.timezone or "UTC",
                           starts_at=starts_at, capacity=capacity, online_url=online_url,
                           status="scheduled", created_by=by, created_at=self.deps.clock(),
                           trigger=trigger)
        self.session.add(event)
        await self.session.flush()
        await self.plan_reminders(event)
        return event

    async def get(self, forum_id: int) -> ForumEvent:
        event = await self.session.get(ForumEvent, forum_id)
        if event is None:
            raise UserError(N_("There is no event number %(id)d."), id=forum_id)
        return event

    async def upcoming(self, limit: int = 20) -> list[ForumEvent]:
        return list((await self.session.scalars(
            select(ForumEvent).where(ForumEvent.starts_at > self.deps.clock(),
                                     ForumEvent.status == "scheduled")
            .order_by(ForumEvent.starts_at, ForumEvent.id).limit(limit))).all())

    # -- answers ---------------------------------------------------------------------------

    async def counts(self, event: ForumEvent) -> Counts:
        rows = await self.session.execute(
            select(Rsvp.answer, Rsvp.waitlisted, func.count()).where(Rsvp.forum_id == event.id)
            .group_by(Rsvp.answer, Rsvp.waitlisted))
        n = {(a, w): c for a, w, c in rows.all()}
        return Counts(n.get(("yes", False), 0), n.get(("maybe", False), 0),
                      n.get(("no", False), 0), n.get(("yes", True), 0))

    async def rsvp(self, event: ForumEvent, mxid: str, answer: str, room_id: str | None,
                   reaction_event_id: str | None = None) -> RsvpResult:
        """Record an answer; with a capacity, a yes beyond it waits in line."""
        if event.status != "scheduled":
            raise UserError(N_("“%(title)s” is cancelled."), title=event.title)
        if event.starts_at <= self.deps.clock():
            raise UserError(N_("“%(title)s” has already started."), title=event.title)
        row = await self.session.get(Rsvp, (event.id, mxid))
        held_place = row is not None and row.answer == "yes" and not row.waitlisted
        if row is not None and row.answer == answer:
            row.reaction_event_id = reaction_event_id or row.reaction_event_id
            return RsvpResult(answer, row.waitlisted, changed=False)
        if row is None:
            row = Rsvp(forum_id=event.id, mxid=mxid, answer=answer, waitlisted=False,
                       answered_at=self.deps.clock())
            self.session.add(row)
        row.answer, row.room_id, row.answered_at = answer, room_id, self.deps.clock()
        row.reaction_event_id = reaction_event_id
        row.waitlisted = False
        if answer == "yes" and not held_place and event.capacity is not None:
            taken = await self._taken(event, exclude=mxid)
            row.waitlisted = taken >= event.capacity
        await self.session.flush()
        promoted = await self.promote(event) if held_place and answer != "yes" else []
        await self.plan_reminders(event)
        return RsvpResult(answer, row.waitlisted, promoted)

    async def withdraw(self, event: ForumEvent, mxid: str) -> RsvpResult:
        row = await self.session.get(Rsvp, (event.id, mxid))
        if row is None:
            return RsvpResult(None, changed=False)
        held_place = row.answer == "yes" and not row.waitlisted
        await self.session.delete(row)
        await self.session.flush()
        promoted = await self.promote(event) if held_place else []
        await self.plan_reminders(event)
        return RsvpResult(None, promoted=promoted)

    async def by_reaction(self, reaction_event_id: str) -> Rsvp | None:
        return await self.session.scalar(select(Rsvp).where(
            Rsvp.reaction_event_id == reaction_event_id))

    async def _taken(self, event: ForumEvent, exclude: str | None = None) -> int:
        query = select(func.count()).select_from(Rsvp).where(
            Rsvp.forum_id == event.id, Rsvp.answer == "yes", Rsvp.waitlisted.is_(False))
        if exclude:
            query = query.where(Rsvp.mxid != exclude)
        return await self.session.scalar(query) or 0

    async def promote(self, event: ForumEvent) -> list[Rsvp]:
        """Fill free places from the waiting list, first come first served."""
        if event.capacity is None:
            waiting = (await self.session.scalars(select(Rsvp).where(
                Rsvp.forum_id == event.id, Rsvp.waitlisted.is_(True)))).all()
        else:
            free = event.capacity - await self._taken(event)
            if free <= 0:
                return []
            waiting = (await self.session.scalars(select(Rsvp).where(
                Rsvp.forum_id == event.id, Rsvp.waitlisted.is_(True))
                .order_by(Rsvp.answered_at, Rsvp.mxid).limit(free))).all()
        for row in waiting:
            row.waitlisted = False
        await self.session.flush()
        return list(waiting)

    async def interested(self, event: ForumEvent) -> list[Rsvp]:
        """Who answered yes (with a place or waiting) or maybe."""
        return list((await self.session.scalars(select(Rsvp).where(
            Rsvp.forum_id == event.id, Rsvp.answer.in_(("yes", "maybe")))
            .order_by(Rsvp.answered_at, Rsvp.mxid))).all())

    async def attendees(self, event: ForumEvent) -> list[tuple[Rsvp, Member | None]]:
        rows = await self.session.execute(
            select(Rsvp, Member).outerjoin(Member, Member.mxid == Rsvp.mxid)
            .where(Rsvp.forum_id == event.id).order_by(Rsvp.answered_at, Rsvp.mxid))
        return [(r, m) for r, m in rows.all()]

    # -- changes ---------------------------------------------------------------------------

    async def change(self, event: ForumEvent, field_name: str, value: str) -> list[Rsvp]:
        """Edit date, time, title or capacity; returns the members a new capacity promoted."""
        promoted: list[Rsvp] = []
        local = event.starts_at.astimezone(ZoneInfo(event.timezone))
        if field_name == "date":
            event.starts_at = local_start(value, local.strftime("%H:%M"), event.timezone)
        elif field_name == "time":
            event.starts_at = local_start(local.date().isoformat(), value, event.timezone)
        elif field_name == "title":
            event.title = clean_title(value)
        elif field_name == "capacity":
            event.capacity = parse_capacity(value)
            promoted = await self.promote(event)
        else:
            raise BadArgument(N_("“%(value)s” cannot be edited; choose date, time, title or "
                                 "capacity."), value=field_name)
        if field_name in ("date", "time") and event.starts_at <= self.deps.clock():
            raise UserError(N_("The new time is in the past."))
        await self.session.flush()
        await self.plan_reminders(event)
        return promoted

    async def cancel(self, event: ForumEvent) -> None:
        if event.status == "cancelled":
            raise UserError(N_("“%(title)s” is already cancelled."), title=event.title)
        event.status = "cancelled"
        await self.plan_reminders(event)

    # -- reminders -------------------------------------------------------------------------

    async def plan_reminders(self, event: ForumEvent) -> None:
        """Bring the pending reminder rows in line with the event and its answers: new ones
        added, stale ones dropped, moved ones re-timed. Sent and missed rows stay."""
        now = self.deps.clock()
        wanted: dict[tuple[str, str], datetime] = {}
        if event.status == "scheduled":
            targets = [r.mxid for r in await self.interested(event) if not r.waitlisted]
            spec = self.network.location_by_key.get(event.location)
            room_id = await NetworkRooms(self.session, self.network).room_id(spec) if spec \
                else None
            if room_id:
                targets.append(room_id)
            for offset in self.deps.config.section(ForumsConfig).reminders:
                due = reminder_due(event.starts_at, event.timezone, offset)
                if due > now:
                    for target in targets:
                        wanted[(offset.text, target)] = due
        rows = (await self.session.scalars(select(Reminder).where(
            Reminder.forum_id == event.id))).all()
        have = {(r.offset, r.target): r for r in rows}
        for key, row in have.items():
            if row.state != "pending":
                continue
            if key not in wanted:
                await self.session.delete(row)
            elif row.due_at != wanted[key]:
                row.due_at = wanted[key]
        for (offset, target), due in wanted.items():
            if (offset, target) not in have:
                self.session.add(Reminder(forum_id=event.id, offset=offset, target=target,
                                          due_at=due, state="pending"))
        await self.session.flush()


def clean_title(text: str) -> str:
    title = " ".join(text.split())
    if not title:
        raise BadArgument(N_("The event needs a title."))
    if len(title) > MAX_TITLE:
        raise BadArgument(N_("A title may have at most %(max)d characters."), max=MAX_TITLE)
    return title


def parse_capacity(text: str) -> int | None:
    if text.strip().casefold() in ("none", "-", "0", "unlimited"):
        return None
    try:
        value = int(text)
    except ValueError:
        raise BadArgument(N_("“%(value)s” is not a number of places."), value=text) from None
    if not 1 <= value <= 100_000:
        raise BadArgument(N_("“%(value)s” is not a number of places."), value=text)
    return value
