"""Collaborations: members working on something together, with where it came from (a
connection, a matchmaking round, or direct), the members' locations at the time, a topic,
and a history of status changes, notes, confirmations and departures.

Nobody is published without their consent: whoever records a collaboration has confirmed
it; everyone else named in it is asked (a notice in the room, see `requests.py`) and
confirms with `!collab confirm <id>` or ✅ on that notice. Until every member has confirmed,
the collaboration is visible to its members only: to anyone else (coordinators too) it does
not exist — "There is no collaboration #…", the same answer as for an unknown number — and
the showcase and the digest leave it out (`confirmed()`, `visible_to()`). A member may leave
(`leave`): their row goes and the history says they left; the collaboration is kept for
whoever remains, and deleted when nobody does.

`CollaborationService` validates everything before it writes, so a rejected command
changes nothing. Only a collaboration's members, or a coordinator, may change its status or
add notes: the service decides, from the row; the caller says whether the person is a
coordinator (`coordinator=True`, or a check asked only when they are not a member).
What the service returns for reading (`Card`, `Listing`) is rendered by `messages`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import ColumnElement, delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import (
    Collaboration,
    CollaborationEvent,
    CollaborationMember,
    Connection,
    MatchRound,
    Member,
    RoundGroup,
)
from bot.db.numbers import next_number
from bot.errors import BadArgument, NotAllowed, UsageError, UserError
from bot.i18n import N_
from bot.text import clean_block, clean_line
from rooms.settings import RoomSettingsService

if TYPE_CHECKING:
    from rooms.topology import NetworkConfig

T = TypeVar("T")


class Asker(Protocol):
    """What the service needs to ask the named members (`requests.ConfirmationRequests`)."""

    async def post(self, session: AsyncSession, collab: Collaboration, pending: list[str],
                   names: dict[str, str], room_id: str, txn_id: str) -> str: ...

STATUSES = ("planned", "active", "done", "dropped")
INITIAL_STATUS = "planned"
ORIGINS = ("connection", "round", "direct")
MAX_TITLE_LENGTH = 200
MAX_NOTE_LENGTH = 1000
MAX_MEMBERS = 20
LIST_LIMIT = 20
HISTORY_LIMIT = 20

# CollaborationEvent.kind (at most 8 characters)
CREATED, STATUS, NOTE, CONFIRM, LEFT = "created", "status", "note", "confirm", "left"
NO_SUCH = N_("There is no collaboration #%(id)s.")
UTC = ZoneInfo("UTC")

# Whether someone who is not a member may change a collaboration anyway (a coordinator):
# known already, or asked only when it matters.
Override = bool | Callable[[], Awaitable[bool]]


@dataclass(frozen=True)
class Page(Generic[T]):
    """Some rows of a longer list: `total` counts them all."""

    items: list[T]
    total: int

    @property
    def more(self) -> int:
        return max(self.total - len(self.items), 0)


@dataclass(frozen=True)
class Listing(Page[Collaboration]):
    """A page of collaborations with their members, and the display names the bot knows
    (of those members and of the person whose list it is)."""

    members: dict[int, list[CollaborationMember]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Card:
    """One collaboration as `!collab` shows it: its facts, members (with the location each
    had when it was recorded), the display names the bot knows and, for `!collab show`, its
    history with the reader's timezone."""

    collaboration: Collaboration
    members: list[CollaborationMember]
    names: dict[str, str]
    history: Page[CollaborationEvent] | None = None
    timezone: ZoneInfo = UTC


@dataclass(frozen=True)
class StatusChange:
    collaboration: Collaboration
    old: str


@dataclass(frozen=True)
class Confirmation:
    """`by` confirmed (or had already: `already`); `pending`: who has not yet."""

    collaboration: Collaboration
    already: bool
    pending: list[str]


@dataclass(frozen=True)
class Departure:
    """`by` left; `remaining` members are still in it (none: it was deleted)."""

    id: int
    title: str
    remaining: int


@dataclass(frozen=True)
class Erased:
    """What `erase` did: records touched, and the request notices that named the member
    (room id, event id), for the caller to redact."""

    touched: int
    notices: list[tuple[str, str]]


@dataclass(frozen=True)
class Origin:
    kind: str  # connection | round | direct
    id: int | None = None


def parse_status(raw: str) -> str:
    """A status keyword (any case): planned, active, done or dropped."""
    status = raw.strip().casefold()
    if status not in STATUSES:
        raise BadArgument(N_("“%(value)s” is not a status. Choose one of: %(choices)s."),
                          value=raw.strip()[:40], choices=", ".join(STATUSES))
    return status


def clean_title(raw: str) -> str:
    title = clean_line(raw)
    if not title:
        raise UsageError(N_("What is the collaboration called? Write its title before "
                            "“with”."))
    if len(title) > MAX_TITLE_LENGTH:
        raise BadArgument(N_("That title has %(length)d characters; a collaboration's title "
                             "may have at most %(max)d."), length=len(title),
                          max=MAX_TITLE_LENGTH)
    return title


def confirmed() -> ColumnElement[bool]:
    """SQL: every member of the collaboration in the outer query has confirmed (the rule for
    being seen by anyone but its members: the network, the digest, the showcase)."""
    return ~exists(select(CollaborationMember.collaboration_id).where(
        CollaborationMember.collaboration_id == Collaboration.id,
        CollaborationMember.confirmed_at.is_(None)))


def visible_to(reader: str) -> ColumnElement[bool]:
    """SQL: the collaboration in the outer query may be seen by `reader`: confirmed, or
    `reader` is one of its members."""
    return or_(confirmed(), exists(select(CollaborationMember.collaboration_id).where(
        CollaborationMember.collaboration_id == Collaboration.id,
        CollaborationMember.mxid == reader)))


class CollaborationService:
    def __init__(self, session: AsyncSession, network: NetworkConfig,
                 clock: Callable[[], datetime],
                 requests: Asker | None = None) -> None:
        self.session = session
        self.network = network
        self.clock = clock
        self.requests = requests  # posts the notice asking the named members to confirm

    # -- reading ---------------------------------------------------------------------

    async def get(self, collaboration_id: int) -> Collaboration:
        found = await self.session.get(Collaboration, collaboration_id)
        if found is None:
            raise UserError(NO_SUCH, id=collaboration_id)
        return found

    async def visible(self, collaboration_id: int, reader: str) -> Collaboration:
        """The collaboration, when `reader` may see it; otherwise the same answer as for
        a number nobody has (a non-member learns nothing of an unconfirmed one)."""
        collab = await self.get(collaboration_id)
        if not await self.is_confirmed(collab.id) and not await self.is_member(collab.id,
                                                                               reader):
            raise UserError(NO_SUCH, id=collaboration_id)
        return collab

    async def is_confirmed(self, collaboration_id: int) -> bool:
        """Whether every member has confirmed."""
        return not await self.pending(collaboration_id)

    async def pending(self, collaboration_id: int) -> list[str]:
        """The members who have not confirmed yet, by Matrix ID."""
        return list(await self.session.scalars(
            select(CollaborationMember.mxid).where(
                CollaborationMember.collaboration_id == collaboration_id,
                CollaborationMember.confirmed_at.is_(None))
            .order_by(CollaborationMember.mxid)))

    async def members(self, collaboration_id: int) -> list[CollaborationMember]:
        """Its members with the location each had when it was recorded, by Matrix ID."""
        await self.get(collaboration_id)
        return (await self.members_of([collaboration_id])).get(collaboration_id, [])

    async def members_of(self, ids: Sequence[int]) -> dict[int, list[CollaborationMember]]:
        """The members of several collaborations at once (for lists)."""
        out: dict[int, list[CollaborationMember]] = {i: [] for i in ids}
        if not ids:
            return out
        rows = await self.session.scalars(
            select(CollaborationMember)
            .where(CollaborationMember.collaboration_id.in_(list(ids)))
            .order_by(CollaborationMember.collaboration_id, CollaborationMember.mxid))
        for row in rows:
            out[row.collaboration_id].append(row)
        return out

    async def is_member(self, collaboration_id: int, mxid: str) -> bool:
        row = await self.session.get(CollaborationMember, (collaboration_id, mxid))
        return row is not None

    async def history(self, collaboration_id: int,
                      limit: int = HISTORY_LIMIT) -> Page[CollaborationEvent]:
        """The latest `limit` events, oldest first."""
        await self.get(collaboration_id)
        where = CollaborationEvent.collaboration_id == collaboration_id
        total = await self.session.scalar(
            select(func.count()).select_from(CollaborationEvent).where(where)) or 0
        rows = list(await self.session.scalars(
            select(CollaborationEvent).where(where)
            .order_by(CollaborationEvent.at.desc(), CollaborationEvent.id.desc())
            .limit(limit)))
        rows.reverse()
        return Page(rows, total)

    async def card(self, collaboration_id: int) -> Card:
        """What `!collab add` shows of a collaboration: its facts and members."""
        collab = await self.get(collaboration_id)
        members = await self.members(collab.id)
        return Card(collab, members, await self.display_names([m.mxid for m in members]))

    async def card_with_history(self, collaboration_id: int, reader: str,
                                room_id: str) -> Card:
        """What `!collab show` shows: the card and the latest history, its times in the
        timezone of `reader` (reading in `room_id`); only what `reader` may see."""
        collab = await self.visible(collaboration_id, reader)
        members = await self.members(collab.id)
        history = await self.history(collab.id)
        names = await self.display_names([m.mxid for m in members]
                                         + [e.by for e in history.items])
        return Card(collab, members, names, history,
                    await self.reader_timezone(reader, room_id))

    async def reader_timezone(self, mxid: str, room_id: str) -> ZoneInfo:
        """The reader's timezone: their own, else the room's, else UTC."""
        member = await self.session.get(Member, mxid)
        room = await RoomSettingsService(self.session).get(room_id)
        for name in (member.timezone if member else None, room.timezone if room else None):
            if name:
                try:
                    return ZoneInfo(name)
                except (ZoneInfoNotFoundError, ValueError):
                    continue
        return UTC

    async def list_for_member(self, mxid: str, limit: int = LIST_LIMIT, *,
                              reader: str | None = None) -> Listing:
        """The member's collaborations, newest first (with `mxid`'s display name, as
        given, among the names); with `reader`, only those `reader` may see."""
        known = await self._known_spelling(mxid)
        ids = select(CollaborationMember.collaboration_id).where(
            CollaborationMember.mxid == known)
        where: ColumnElement[bool] = Collaboration.id.in_(ids)
        if reader is not None:
            where = where & visible_to(reader)
        return await self._listing(where, limit, also=(mxid,))

    async def list_for_location(self, key: str, limit: int = LIST_LIMIT, *,
                                reader: str | None = None) -> Listing:
        """Collaborations with a member who was at that location (key or name) when it was
        recorded, newest first; with `reader`, only those `reader` may see."""
        spec = self.network.find_location(key)
        ids = select(CollaborationMember.collaboration_id).where(
            CollaborationMember.location == spec.key)
        where: ColumnElement[bool] = Collaboration.id.in_(ids)
        if reader is not None:
            where = where & visible_to(reader)
        return await self._listing(where, limit)

    async def _listing(self, where: ColumnElement[bool], limit: int,
                       also: Sequence[str] = ()) -> Listing:
        total = await self.session.scalar(
            select(func.count()).select_from(Collaboration).where(where)) or 0
        rows = list(await self.session.scalars(
            select(Collaboration).where(where)
            .order_by(Collaboration.created_at.desc(), Collaboration.id.desc()).limit(limit)))
        members = await self.members_of([c.id for c in rows])
        mxids = {m.mxid for ms in members.values() for m in ms}.union(also)
        return Listing(rows, total, members, await self.display_names(sorted(mxids)))

    async def display_names(self, mxids: Sequence[str]) -> dict[str, str]:
        """The display names the bot knows for these members (those without one left out)."""
        if not mxids:
            return {}
        rows = await self.session.execute(
            select(Member.mxid, Member.display_name).where(Member.mxid.in_(list(mxids))))
        return {mxid: name for mxid, name in rows if name}

    async def counts_by_status(self) -> dict[str, int]:
        """How many collaborations have each status (every status present, maybe 0)."""
        counts = dict.fromkeys(STATUSES, 0)
        rows = await self.session.execute(
            select(Collaboration.status, func.count()).group_by(Collaboration.status))
        for status, n in rows:
            counts[status] = n
        return counts

    async def since(self, when: datetime) -> list[Collaboration]:
        """Collaborations recorded at or after `when`, oldest first."""
        rows = await self.session.scalars(
            select(Collaboration).where(Collaboration.created_at >= when)
            .order_by(Collaboration.created_at, Collaboration.id))
        return list(rows)

    # -- writing ---------------------------------------------------------------------

    async def add(self, title: str, members: Sequence[str], by: str,
                  topic: str | None = None) -> Collaboration:
        """Record a collaboration of `by` and `members` (Matrix IDs, validated by the
        caller); `topic` is a configured topic key. Its origin is the most recent
        connection between two of its members, else the most recent round that grouped
        two of them, else direct."""
        clean = clean_title(title)
        topic_key = self.network.find_topic(topic).key if topic else None
        mxids: list[str] = []
        for mxid in (by, *members):
            mxid = await self._known_spelling(mxid)
            if mxid not in mxids:
                mxids.append(mxid)
        if len(mxids) < 2:
            raise UsageError(N_("A collaboration needs at least two people: name the others "
                                "after “with”."))
        if len(mxids) > MAX_MEMBERS:
            raise BadArgument(N_("That is %(count)d people; a collaboration may have at most "
                                 "%(max)d."), count=len(mxids), max=MAX_MEMBERS)
        locations = {m: await self._location(m) for m in mxids}
        countries = {self.network.country(loc) for loc in locations.values()}
        origin = await self.origin(mxids)
        now = self.clock()
        collab = Collaboration(id=await next_number(self.session, Collaboration),
                               title=clean, status=INITIAL_STATUS, origin=origin.kind,
                               origin_id=origin.id, topic=topic_key, created_by=by,
                               created_at=now, cross_border=len(countries - {None}) > 1)
        self.session.add(collab)
        await self.session.flush()
        # the recorder confirms by recording it; everyone else is asked (`ask`)
        self.session.add_all(CollaborationMember(collaboration_id=collab.id, mxid=m,
                                                 location=locations[m],
                                                 confirmed_at=now if m == mxids[0] else None)
                             for m in mxids)
        self.session.add(CollaborationEvent(collaboration_id=collab.id, at=now, by=by,
                                            kind=CREATED, status=INITIAL_STATUS))
        await self.session.flush()
        return collab

    async def origin(self, mxids: Sequence[str]) -> Origin:
        """Where a collaboration of these members comes from (see `add`)."""
        people = list(dict.fromkeys(mxids))
        if len(people) < 2:
            return Origin("direct")
        connection = await self.session.scalar(
            select(Connection.id)
            .where(Connection.a.in_(people), Connection.b.in_(people), Connection.a != Connection.b)
            .order_by(Connection.created_at.desc(), Connection.id.desc()).limit(1))
        if connection is not None:
            return Origin("connection", connection)
        wanted = set(people)
        rows = await self.session.execute(
            select(RoundGroup.members, RoundGroup.round_id)
            .join(MatchRound, MatchRound.id == RoundGroup.round_id)
            .where(or_(*(RoundGroup.members.contains(m, autoescape=True) for m in people)))
            .order_by(MatchRound.started_at.desc(), MatchRound.id.desc(), RoundGroup.id.desc()))
        for group_members, round_id in rows:
            if len(wanted.intersection(group_members.split())) >= 2:
                return Origin("round", round_id)
        return Origin("direct")

    async def set_status(self, collaboration_id: int, status: str, by: str, *,
                         coordinator: Override = False) -> StatusChange:
        """Change the status (a keyword, any case); returns the collaboration and its
        previous status."""
        new = parse_status(status)
        collab = await self._changeable(collaboration_id, by, coordinator)
        old = collab.status
        if new == old:
            raise UserError(N_("Collaboration #%(id)d already has the status “%(status)s”."),
                            id=collab.id, status=new)
        collab.status = new
        self.session.add(CollaborationEvent(collaboration_id=collab.id, at=self.clock(),
                                            by=by, kind=STATUS, status=new))
        await self.session.flush()
        return StatusChange(collab, old)

    async def add_note(self, collaboration_id: int, text: str, by: str, *,
                       coordinator: Override = False) -> Collaboration:
        """Add a note to its history; returns the collaboration."""
        collab = await self._changeable(collaboration_id, by, coordinator)
        note = clean_block(text)
        if not note:
            raise UsageError(N_("What should the note say?"))
        if len(note) > MAX_NOTE_LENGTH:
            raise BadArgument(N_("That note has %(length)d characters; a note may have at "
                                 "most %(max)d."), length=len(note), max=MAX_NOTE_LENGTH)
        event = CollaborationEvent(collaboration_id=collab.id, at=self.clock(), by=by,
                                   kind=NOTE, text=note)
        self.session.add(event)
        await self.session.flush()
        return collab

    # -- consent: asking, confirming, leaving ----------------------------------------

    async def ask(self, collaboration_id: int, room_id: str, txn_id: str) -> str | None:
        """Ask the members who have not confirmed yet, with one notice in `room_id` (✅ on
        it confirms); returns its event id, None when nobody is left to ask."""
        collab = await self.get(collaboration_id)
        pending = await self.pending(collab.id)
        if not pending or self.requests is None:
            return None
        names = await self.display_names([collab.created_by, *pending])
        event_id = await self.requests.post(self.session, collab, pending, names, room_id,
                                            txn_id)
        collab.request_event_id, collab.request_room_id = event_id, room_id
        await self.session.flush()
        return event_id

    async def confirm(self, collaboration_id: int, by: str) -> Confirmation:
        """`by` confirms being part of it (again: nothing changes)."""
        collab = await self.visible(collaboration_id, by)
        row = await self.session.get(CollaborationMember, (collab.id, by))
        if row is None:
            raise UserError(N_("You are not named in collaboration #%(id)d."), id=collab.id)
        already = row.confirmed_at is not None
        if not already:
            await self._confirm(row, collab)
        return Confirmation(collab, already, await self.pending(collab.id))

    async def confirm_by_reaction(self, event_id: str, room_id: str,
                                  by: str) -> Confirmation | None:
        """✅ on a request notice: counts when `by` is named in that collaboration and has
        not confirmed yet; anything else (another event, someone else, a repeat) is None
        and changes nothing."""
        collab = await self.session.scalar(select(Collaboration).where(
            Collaboration.request_event_id == event_id,
            Collaboration.request_room_id == room_id))
        if collab is None:
            return None
        row = await self.session.get(CollaborationMember, (collab.id, by))
        if row is None or row.confirmed_at is not None:
            return None
        await self._confirm(row, collab)
        return Confirmation(collab, False, await self.pending(collab.id))

    async def _confirm(self, row: CollaborationMember, collab: Collaboration) -> None:
        now = self.clock()
        row.confirmed_at = now
        self.session.add(CollaborationEvent(collaboration_id=collab.id, at=now, by=row.mxid,
                                            kind=CONFIRM))
        await self.session.flush()

    async def leave(self, collaboration_id: int, by: str) -> Departure:
        """`by` leaves: their row goes, the history says they left. The collaboration is
        kept as it is for whoever remains (even one: its status and history are theirs);
        when nobody remains it is deleted, history and all — nobody could see or answer
        for it any more."""
        collab = await self.visible(collaboration_id, by)
        row = await self.session.get(CollaborationMember, (collab.id, by))
        if row is None:
            raise UserError(N_("You are not named in collaboration #%(id)d."), id=collab.id)
        departure_id, title = collab.id, collab.title
        await self.session.delete(row)
        await self.session.flush()
        remaining = await self.session.scalar(
            select(func.count()).select_from(CollaborationMember)
            .where(CollaborationMember.collaboration_id == departure_id)) or 0
        if remaining:
            self.session.add(CollaborationEvent(collaboration_id=departure_id,
                                                at=self.clock(), by=by, kind=LEFT))
        else:
            await self.session.execute(delete(CollaborationEvent).where(
                CollaborationEvent.collaboration_id == departure_id))
            await self.session.delete(collab)
        await self.session.flush()
        return Departure(departure_id, title, remaining)

    # -- a member's own data (GDPR) ----------------------------------------------------

    async def export(self, mxid: str) -> list[dict[str, object]]:
        """Every collaboration `mxid` is in, recorded or wrote in the history of: its
        title, status, their role, whether they confirmed, and their history entries."""
        mine = await self.session.scalars(select(CollaborationMember).where(
            CollaborationMember.mxid == mxid))
        rows = {m.collaboration_id: m for m in mine}
        entries: dict[int, list[CollaborationEvent]] = {}
        for event in await self.session.scalars(
                select(CollaborationEvent).where(CollaborationEvent.by == mxid)
                .order_by(CollaborationEvent.at, CollaborationEvent.id)):
            entries.setdefault(event.collaboration_id, []).append(event)
        ids = set(rows) | set(entries)
        recorded = await self.session.scalars(select(Collaboration.id).where(
            Collaboration.created_by == mxid))
        ids.update(recorded)
        out: list[dict[str, object]] = []
        for collab in await self.session.scalars(
                select(Collaboration).where(Collaboration.id.in_(sorted(ids)))
                .order_by(Collaboration.id)):
            row = rows.get(collab.id)
            out.append({
                "id": collab.id, "title": collab.title, "status": collab.status,
                "recorded_at": collab.created_at,
                "role": ("recorder" if collab.created_by == mxid
                         else "member" if row is not None else "former member"),
                "member": row is not None,
                "confirmed": row is not None and row.confirmed_at is not None,
                "confirmed_at": row.confirmed_at if row is not None else None,
                "location": row.location if row is not None else None,
                "history": [{"at": e.at, "kind": e.kind, "status": e.status, "note": e.text}
                            for e in entries.get(collab.id, [])],
            })
        return out

    async def erase(self, mxid: str, alias: str) -> Erased:
        """Put `alias` in place of `mxid` wherever a collaboration names them (its members,
        its recorder, its history): the collaboration keeps existing for the others,
        without their name; whether they had confirmed stays as it was (one who never did
        keeps it unpublished). Returns the records touched and the request notices of
        their collaborations (they name their members), for the caller to redact."""
        # their collaborations: as a member, the recorder, or in the history (one they left)
        theirs = or_(
            Collaboration.id.in_(select(CollaborationMember.collaboration_id).where(
                CollaborationMember.mxid == mxid)),
            Collaboration.id.in_(select(CollaborationEvent.collaboration_id).where(
                CollaborationEvent.by == mxid)),
            Collaboration.created_by == mxid)
        notices = [(room, event) for room, event in await self.session.execute(
            select(Collaboration.request_room_id, Collaboration.request_event_id).where(
                Collaboration.request_event_id.is_not(None), theirs)
            .order_by(Collaboration.id))
            if room and event]
        touched = 0
        for statement in (
                update(CollaborationMember).where(CollaborationMember.mxid == mxid)
                .values(mxid=alias),
                update(CollaborationEvent).where(CollaborationEvent.by == mxid)
                .values(by=alias),
                update(Collaboration).where(Collaboration.created_by == mxid)
                .values(created_by=alias)):
            result = await self.session.execute(statement)
            touched += getattr(result, "rowcount", 0) or 0
        await self.session.flush()
        return Erased(touched, notices)

    # -- helpers ---------------------------------------------------------------------

    async def _changeable(self, collaboration_id: int, by: str,
                          coordinator: Override) -> Collaboration:
        """The collaboration, when `by` may change it: a member, or else a coordinator (a
        check given as a callable is asked only then). Not confirmed yet, it is its
        members' only: to anyone else it does not exist."""
        collab = await self.visible(collaboration_id, by)
        if await self.is_member(collab.id, by):
            return collab
        allowed = coordinator if isinstance(coordinator, bool) else await coordinator()
        if not allowed:
            raise NotAllowed(N_("Only the members of collaboration #%(id)d or a coordinator "
                                "may change it."), id=collab.id)
        return collab

    async def _known_spelling(self, mxid: str) -> str:
        """`@Ala:test` as the bot has met it (`@ala:test`), else as given."""
        if mxid.lower() != mxid and await self.session.get(Member, mxid) is None \
                and await self.session.get(Member, mxid.lower()) is not None:
            return mxid.lower()
        return mxid

    async def _location(self, mxid: str) -> str | None:
        member = await self.session.get(Member, mxid)
        return member.location if member is not None else None
