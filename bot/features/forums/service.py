"""Forums and events: creation in a location's timezone, RSVPs with a capacity and a
waiting list, and the reminder occurrences that follow from them.

`ForumService` holds each workflow once, whoever starts it (a command, a reaction): it
decides, records, tells the people concerned (announcements, change, cancel and promotion
notices, worded by `bot.features.forums.messages`) and, once the transaction has committed,
resets the reminder timers of the event.

Reminder rows are the source of truth (see `bot.features.forums.reminders` for sending).
They are planned from the event and its RSVPs: a member who answers yes (with a place) or
maybe gets one row per configured offset, the location room one per offset. Days are
counted on the wall clock of the event's timezone, so daylight saving never shifts a
reminder.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import txn_base
from bot.db import after_commit
from bot.db.models import Announcement, ForumEvent, Member, Reminder, Rsvp
from bot.db.numbers import next_number
from bot.deps import Deps
from bot.errors import BadArgument, UserError
from bot.events import Outgoing
from bot.features.forums.calendar import calendar_ics, event_filename
from bot.features.forums.config import ForumsConfig, Offset
from bot.features.forums.messages import CANCELLED, CHANGED, PROMOTED, ForumMessages
from bot.features.forums.views import (
    Agenda,
    Attendees,
    CalendarFile,
    Counts,
    Details,
    Planned,
    RsvpResult,
)
from bot.formatting import pill
from bot.i18n import N_
from bot.members import MemberService
from bot.text import clean_line
from rooms.network import NetworkRooms
from rooms.topology import RoomSpec

ANSWERS = ("yes", "maybe", "no")
WITHDRAW = "withdraw"
REACTIONS = {"✅": "yes", "🤔": "maybe", "❌": "no"}
MAX_TITLE = 200
MAX_CAPACITY = 100_000
FIELDS = ("date", "time", "title", "capacity")
YEARS_AHEAD = 10  # how far ahead an event may be planned
NO_SUCH_EVENT = N_("There is no event number %(id)s.")


def reaction_answer(key: str) -> str | None:
    return REACTIONS.get(key.replace("\ufe0f", ""))


# -- values as typed -------------------------------------------------------------------------

def parse_day(text: str) -> date:
    """`YYYY-MM-DD`."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadArgument(N_("“%(value)s” is not a date like 2027-05-14."), value=text) from None


def parse_clock(text: str) -> time:
    """`HH:MM`, on a 24-hour clock."""
    try:
        hh, mm = text.split(":")
        return time(int(hh), int(mm))
    except ValueError:
        raise BadArgument(N_("“%(value)s” is not a time like 10:00."), value=text) from None


def last_day(today: date) -> date:
    """The last day an event may be planned on: `YEARS_AHEAD` years after `today`."""
    try:
        return today.replace(year=today.year + YEARS_AHEAD)
    except ValueError:  # 29 February
        return today.replace(year=today.year + YEARS_AHEAD, day=28)


def check_day(day: date, now: datetime, past: str) -> None:
    """Refuse a day long past (`past`: the msgid saying so) or more than `YEARS_AHEAD` years
    ahead. Yesterday and today pass (in some timezone they still are today); the exact
    start is checked once the location's timezone makes it a time."""
    today = now.date()
    if day < today - timedelta(days=1):
        raise UserError(past)
    if day > last_day(today):
        raise UserError(N_("“%(value)s” is too far ahead: events can be planned until "
                           "%(last)s."), value=day.isoformat(), last=last_day(today).isoformat())


def clean_title(text: str) -> str:
    title = clean_line(text)
    if not title:
        raise BadArgument(N_("The event needs a title."))
    if len(title) > MAX_TITLE:
        raise BadArgument(N_("A title may have at most %(max)d characters."), max=MAX_TITLE)
    return title


def parse_capacity(text: str) -> int | None:
    """A number of places from 1 to 100000; none, -, 0 or unlimited for no limit (None)."""
    if text.strip().casefold() in ("none", "-", "0", "unlimited"):
        return None
    try:
        value = int(text)
    except ValueError:
        raise BadArgument(N_("“%(value)s” is not a number of places."), value=text) from None
    if not 1 <= value <= MAX_CAPACITY:
        raise BadArgument(N_("“%(value)s” is not a number of places."), value=text)
    return value


def local_start(day: date, at: time, tz_name: str) -> datetime:
    """`day` at `at` on the wall clock of `tz_name`, as an aware UTC datetime; a time the
    clocks skip that night is refused."""
    tz = ZoneInfo(tz_name)
    local = datetime.combine(day, at, tzinfo=tz)
    back = local.astimezone(ZoneInfo("UTC")).astimezone(tz)
    if back.replace(tzinfo=None) != local.replace(tzinfo=None):
        raise BadArgument(N_("%(time)s does not exist on %(date)s in %(timezone)s: the clocks "
                             "change that night."), time=at.strftime("%H:%M"),
                          date=day.isoformat(), timezone=tz_name)
    return local.astimezone(ZoneInfo("UTC"))


def reminder_due(starts_at: datetime, tz_name: str, offset: Offset) -> datetime:
    """When a reminder `offset` before the event falls due (UTC)."""
    if offset.unit != "d":
        return starts_at - offset.delta
    tz = ZoneInfo(tz_name)
    wall = starts_at.astimezone(tz).replace(tzinfo=None) - offset.delta
    return wall.replace(tzinfo=tz).astimezone(ZoneInfo("UTC"))


class ReminderTimer(Protocol):
    """What the service needs of the reminders' timer (`ReminderSender`)."""

    async def schedule(self, forum_id: int | None = None) -> None: ...


class ForumService:
    """One unit of work's view of the forums. `reminders` (the app's one timer) is reset
    after the transaction commits; `messages` words every notice."""

    def __init__(self, session: AsyncSession, deps: Deps, config: ForumsConfig,
                 reminders: ReminderTimer, messages: ForumMessages) -> None:
        self.session = session
        self.deps = deps
        self.config = config
        self.reminders = reminders
        self.messages = messages
        self.network = deps.config.network
        self.locales = deps.locales(session)
        self._rescheduled: set[int] = set()

    # -- reading ---------------------------------------------------------------------------

    async def find(self, forum_id: int) -> ForumEvent | None:
        return await self.session.get(ForumEvent, forum_id)

    async def get(self, forum_id: int) -> ForumEvent:
        event = await self.find(forum_id)
        if event is None:
            raise UserError(NO_SUCH_EVENT, id=forum_id)
        return event

    async def upcoming(self, limit: int | None = 20) -> list[ForumEvent]:
        """Scheduled events that have not started, soonest first."""
        query = (select(ForumEvent).where(ForumEvent.starts_at > self.deps.clock(),
                                          ForumEvent.status == "scheduled")
                 .order_by(ForumEvent.starts_at, ForumEvent.id))
        if limit is not None:
            query = query.limit(limit)
        return list((await self.session.scalars(query)).all())

    async def agenda(self, reader: str) -> Agenda:
        return Agenda(await self.upcoming(), await self._timezone_of(reader), self.deps.clock())

    async def details(self, forum_id: int, reader: str) -> Details:
        event = await self.get(forum_id)
        return Details(event, await self.counts(event), await self._timezone_of(reader),
                       self.deps.clock())

    async def counts(self, event: ForumEvent) -> Counts:
        rows = await self.session.execute(
            select(Rsvp.answer, Rsvp.waitlisted, func.count()).where(Rsvp.forum_id == event.id)
            .group_by(Rsvp.answer, Rsvp.waitlisted))
        n = {(a, w): c for a, w, c in rows.all()}
        return Counts(n.get(("yes", False), 0), n.get(("maybe", False), 0),
                      n.get(("no", False), 0), n.get(("yes", True), 0))

    async def interested(self, event: ForumEvent) -> list[Rsvp]:
        """Who answered yes (with a place or waiting) or maybe."""
        return list((await self.session.scalars(select(Rsvp).where(
            Rsvp.forum_id == event.id, Rsvp.answer.in_(("yes", "maybe")))
            .order_by(Rsvp.answered_at, Rsvp.mxid))).all())

    async def attendees(self, forum_id: int) -> Attendees:
        event = await self.get(forum_id)
        rows = await self.session.execute(
            select(Rsvp, Member).outerjoin(Member, Member.mxid == Rsvp.mxid)
            .where(Rsvp.forum_id == event.id).order_by(Rsvp.answered_at, Rsvp.mxid))
        return Attendees(event, [(r, m) for r, m in rows.all()])

    async def _timezone_of(self, mxid: str) -> str | None:
        member = await self.session.get(Member, mxid)
        return member.timezone if member else None

    # -- calendars -------------------------------------------------------------------------

    def ics(self, events: Sequence[ForumEvent], *, linked: bool = False) -> bytes:
        """The events as iCalendar; `linked`: those without an online link get the address
        of their own `.ics` on the bot's web side (when it has a public URL)."""
        config = self.deps.config
        return calendar_ics(events, self.network, server_name=config.matrix.server_name,
                            public_url=config.web.public_url if linked else None,
                            now=self.deps.clock())

    async def event_file(self, forum_id: int) -> CalendarFile:
        """One event as a calendar file to import."""
        event = await self.get(forum_id)
        return CalendarFile(self.ics([event]), event_filename(event))

    # -- planning, changing, cancelling ----------------------------------------------------

    async def plan(self, *, title: str, location: RoomSpec, day: date, at: time,
                   capacity: int | None, online_url: str | None, by: str,
                   cause: str) -> Planned:
        """Create an event at `location` (`day` and `at` on its wall clock), announce it in
        its rooms and plan its reminders. `cause` is the event id of the request."""
        timezone = location.timezone or "UTC"
        check_day(day, self.deps.clock(), N_("That time is in the past."))
        starts_at = local_start(day, at, timezone)
        if starts_at <= self.deps.clock():
            raise UserError(N_("That time is in the past."))
        event = ForumEvent(id=await next_number(self.session, ForumEvent),
                           title=clean_title(title), location=location.key, timezone=timezone,
                           starts_at=starts_at, capacity=capacity, online_url=online_url,
                           status="scheduled", created_by=by, created_at=self.deps.clock(),
                           trigger=cause)
        self.session.add(event)
        await self.session.flush()
        await self.plan_reminders(event)
        rooms = await self._announce(event, txn_base(cause))
        self._reschedule(event)
        return Planned(event, rooms)

    async def edit(self, forum_id: int, field_name: str, value: str, *,
                   cause: str) -> ForumEvent:
        """Change the date, time, title or capacity; everyone who answered yes or maybe is
        told, and whoever a larger capacity lets in."""
        event = await self.get(forum_id)
        if event.status == "cancelled":
            raise UserError(N_("“%(title)s” is cancelled."), title=event.title)
        promoted = await self._change(event, field_name.casefold(), value)
        base = txn_base(cause)
        await self._notify(event, await self.interested(event), CHANGED, f"{base}.changed")
        if promoted:
            await self._notify(event, promoted, PROMOTED, f"{base}.promoted")
        self._reschedule(event)
        return event

    async def cancel(self, forum_id: int, *, cause: str) -> ForumEvent:
        """Cancel the event, tell everyone who answered yes or maybe, drop its reminders."""
        event = await self.get(forum_id)
        if event.status == "cancelled":
            raise UserError(N_("“%(title)s” is already cancelled."), title=event.title)
        event.status = "cancelled"
        await self.plan_reminders(event)
        await self._notify(event, await self.interested(event), CANCELLED,
                           f"{txn_base(cause)}.cancelled")
        self._reschedule(event)
        return event

    async def _change(self, event: ForumEvent, field_name: str, value: str) -> list[Rsvp]:
        """Apply one edit; returns the members a new capacity promoted."""
        promoted: list[Rsvp] = []
        local = event.starts_at.astimezone(ZoneInfo(event.timezone))
        if field_name == "date":
            day = parse_day(value)
            check_day(day, self.deps.clock(), N_("The new time is in the past."))
            event.starts_at = local_start(day, time(local.hour, local.minute), event.timezone)
        elif field_name == "time":
            event.starts_at = local_start(local.date(), parse_clock(value), event.timezone)
        elif field_name == "title":
            event.title = clean_title(value)
        elif field_name == "capacity":
            event.capacity = parse_capacity(value)
            promoted = await self._promote(event)
        else:
            raise BadArgument(N_("“%(value)s” cannot be edited; choose date, time, title or "
                                 "capacity."), value=field_name)
        if field_name in ("date", "time") and event.starts_at <= self.deps.clock():
            raise UserError(N_("The new time is in the past."))
        await self.session.flush()
        await self.plan_reminders(event)
        return promoted

    # -- answers ---------------------------------------------------------------------------

    async def answer(self, forum_id: int, mxid: str, answer: str, *, room_id: str | None,
                     cause: str) -> RsvpResult:
        """Record `answer` (yes, maybe, no; or `WITHDRAW` to take it back), tell whoever
        this lets in from the waiting list, and re-plan the reminders."""
        event = await self.get(forum_id)
        if answer == WITHDRAW:
            result = await self._withdraw(event, mxid)
        else:
            result = await self._rsvp(event, mxid, answer, room_id)
        await self._after_answer(result, cause)
        return result

    async def react(self, post_id: str, mxid: str, answer: str, *, reaction_event_id: str,
                    cause: str) -> RsvpResult | None:
        """An answer given by reacting to one of our announcements (`post_id`); None when
        that post announces nothing."""
        post = await self.session.get(Announcement, post_id)
        if post is None:
            return None
        event = await self.get(post.forum_id)
        await MemberService(self.session, self.deps.clock).get_or_create(mxid)
        result = await self._rsvp(event, mxid, answer, post.room_id,
                                  reaction_event_id=reaction_event_id)
        await self._after_answer(result, cause)
        return result

    async def unreact(self, reaction_event_id: str, mxid: str, *,
                      cause: str) -> RsvpResult | None:
        """The reaction that gave an answer was redacted: withdraw that answer, if it is
        `mxid`'s own and still stands. None when there was none."""
        row = await self.session.scalar(select(Rsvp).where(
            Rsvp.reaction_event_id == reaction_event_id))
        if row is None or row.mxid != mxid:
            return None
        result = await self._withdraw(await self.get(row.forum_id), mxid)
        await self._after_answer(result, cause)
        return result

    async def _after_answer(self, result: RsvpResult, cause: str) -> None:
        if result.promoted:
            await self._notify(result.event, result.promoted, PROMOTED,
                               f"{txn_base(cause)}.promoted")
        self._reschedule(result.event)

    async def _rsvp(self, event: ForumEvent, mxid: str, answer: str, room_id: str | None,
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
            return RsvpResult(event, answer, row.waitlisted, changed=False)
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
        promoted = await self._promote(event) if held_place and answer != "yes" else []
        await self.plan_reminders(event)
        return RsvpResult(event, answer, row.waitlisted, promoted)

    async def _withdraw(self, event: ForumEvent, mxid: str) -> RsvpResult:
        row = await self.session.get(Rsvp, (event.id, mxid))
        if row is None:
            return RsvpResult(event, None, changed=False)
        held_place = row.answer == "yes" and not row.waitlisted
        await self.session.delete(row)
        await self.session.flush()
        promoted = await self._promote(event) if held_place else []
        await self.plan_reminders(event)
        return RsvpResult(event, None, promoted=promoted)

    async def _taken(self, event: ForumEvent, exclude: str | None = None) -> int:
        query = select(func.count()).select_from(Rsvp).where(
            Rsvp.forum_id == event.id, Rsvp.answer == "yes", Rsvp.waitlisted.is_(False))
        if exclude:
            query = query.where(Rsvp.mxid != exclude)
        return await self.session.scalar(query) or 0

    async def _promote(self, event: ForumEvent) -> list[Rsvp]:
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

    # -- telling people --------------------------------------------------------------------

    async def _announcement_rooms(self, event: ForumEvent) -> list[str]:
        """The event's location room, the partners room and the configured topic rooms."""
        rooms = NetworkRooms(self.session, self.network)
        specs = [self.network.location_by_key.get(event.location), self.network.partners,
                 *(self.network.room_by_key(key) for key in self.config.announce_topics)]
        found = [await rooms.room_id(spec) for spec in specs if spec is not None]
        return list(dict.fromkeys(r for r in found if r))

    async def _announce(self, event: ForumEvent, base: str) -> list[str]:
        """Post the event in its rooms, each in the room's language, offer the three answers
        as reactions and record the posts. Returns the rooms it went to."""
        gateway = self.deps.gateway
        rooms = await self._announcement_rooms(event)
        for room_id in rooms:
            tr = self.deps.translator.bind(await self.locales.room(room_id))
            text, html = self.messages.announcement(tr, event)
            txn = f"{base}.announce.{room_id}"
            post = await gateway.send(Outgoing(room_id, text, html, txn_id=txn))
            for key, answer in REACTIONS.items():
                await gateway.react(room_id, post, key, f"{txn}.{answer}")
            if await self.session.get(Announcement, post) is None:
                self.session.add(Announcement(matrix_event_id=post, forum_id=event.id,
                                              room_id=room_id))
        await self.session.flush()
        return rooms

    async def _notify(self, event: ForumEvent, rows: Sequence[Rsvp], msgid: str,
                      base: str) -> None:
        """Tell these members about `event` with `msgid` (placeholders: who, title, date)
        where they answered: one message per room and language, mentioning them."""
        found = await self.session.scalars(select(Member).where(
            Member.mxid.in_([r.mxid for r in rows])))
        members = {m.mxid: m for m in found}
        groups: dict[tuple[str, str], list[str]] = defaultdict(list)
        for row in rows:
            if row.room_id:
                locale = self.locales.member(members.get(row.mxid))
                groups[(row.room_id, locale)].append(row.mxid)
        for (room_id, locale), mxids in sorted(groups.items()):
            who = [pill(m, members[m].display_name if m in members else None) for m in mxids]
            tr = self.deps.translator.bind(locale)
            text, html = self.messages.notice(tr, msgid, event, who)
            await self.deps.gateway.send(Outgoing(room_id, text, html, mentions=tuple(mxids),
                                                  txn_id=f"{base}.{room_id}.{locale}"))

    # -- a member's own data (!mydata, !forget-me) ------------------------------------------

    async def held_about(self, mxid: str) -> list[dict[str, Any]]:
        """Per event: `mxid`'s answer, the reminders it brought them, and whether they
        planned it."""
        answers = {r.forum_id: r for r in (await self.session.scalars(
            select(Rsvp).where(Rsvp.mxid == mxid))).all()}
        reminders: dict[int, list[Reminder]] = defaultdict(list)
        for reminder in (await self.session.scalars(select(Reminder).where(
                Reminder.target == mxid).order_by(Reminder.due_at, Reminder.id))).all():
            reminders[reminder.forum_id].append(reminder)
        planned = set((await self.session.scalars(select(ForumEvent.id).where(
            ForumEvent.created_by == mxid))).all())
        ids = sorted(set(answers) | set(reminders) | planned)
        events = {e.id: e for e in (await self.session.scalars(
            select(ForumEvent).where(ForumEvent.id.in_(ids)))).all()}
        out = []
        for forum_id in ids:
            event, answer = events.get(forum_id), answers.get(forum_id)
            out.append({
                "event": forum_id, "title": event.title if event else None,
                "starts_at": event.starts_at if event else None,
                "answer": answer.answer if answer else None,
                "waiting_list": answer.waitlisted if answer else None,
                "answered_at": answer.answered_at if answer else None,
                "answered_in": answer.room_id if answer else None,
                "reminders": [{"before": r.offset, "due_at": r.due_at, "state": r.state,
                               "sent_at": r.sent_at} for r in reminders[forum_id]],
                "planned_by_you": forum_id in planned,
            })
        return out

    async def forget(self, mxid: str, alias: str) -> int:
        """Erase `mxid`'s answers and reminders; a place it frees in an upcoming event lets
        the waiting list in, with the same news a withdrawal brings. The events they planned
        stay, planned by `alias`. Returns how many records were touched."""
        now = self.deps.clock()
        rows = (await self.session.scalars(select(Rsvp).where(Rsvp.mxid == mxid)
                                           .order_by(Rsvp.forum_id))).all()
        touched = len(rows)
        for row in rows:
            event = await self.get(row.forum_id)
            if event.status == "scheduled" and event.starts_at > now:
                # the same answer is erased the same way on a re-run: the same news ids
                cause = f"forget:{mxid}:{event.id}:{row.answered_at.isoformat()}"
                await self._after_answer(await self._withdraw(event, mxid), cause)
            else:
                await self.session.delete(row)
        await self.session.flush()
        result = await self.session.execute(delete(Reminder).where(Reminder.target == mxid))
        touched += getattr(result, "rowcount", 0) or 0
        result = await self.session.execute(update(ForumEvent).where(
            ForumEvent.created_by == mxid).values(created_by=alias))
        return touched + (getattr(result, "rowcount", 0) or 0)

    # -- reminders -------------------------------------------------------------------------

    def _reschedule(self, event: ForumEvent) -> None:
        """Reset the event's reminder timers once this transaction has committed."""
        if event.id in self._rescheduled:
            return
        self._rescheduled.add(event.id)
        forum_id = event.id

        async def schedule() -> None:
            await self.reminders.schedule(forum_id)

        after_commit(self.session, schedule)

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
            for offset in self.config.reminders:
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
        for (offset_text, target), due in wanted.items():
            if (offset_text, target) not in have:
                self.session.add(Reminder(forum_id=event.id, offset=offset_text, target=target,
                                          due_at=due, state="pending"))
        await self.session.flush()
