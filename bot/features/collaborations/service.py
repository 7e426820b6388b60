"""Collaborations: members working on something together, with where it came from (a
connection, a matchmaking round, or direct), the members' locations at the time, a topic,
and a history of status changes and notes.

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
from typing import TYPE_CHECKING, Generic, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import ColumnElement, func, or_, select
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
from bot.errors import BadArgument, NotAllowed, UsageError, UserError
from bot.i18n import N_
from bot.text import clean_block, clean_line
from rooms.settings import RoomSettingsService

if TYPE_CHECKING:
    from rooms.topology import NetworkConfig

T = TypeVar("T")

STATUSES = ("planned", "active", "done", "dropped")
INITIAL_STATUS = "planned"
ORIGINS = ("connection", "round", "direct")
MAX_TITLE_LENGTH = 200
MAX_NOTE_LENGTH = 1000
MAX_MEMBERS = 20
LIST_LIMIT = 20
HISTORY_LIMIT = 20

CREATED, STATUS, NOTE = "created", "status", "note"  # CollaborationEvent.kind
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


class CollaborationService:
    def __init__(self, session: AsyncSession, network: NetworkConfig,
                 clock: Callable[[], datetime]) -> None:
        self.session = session
        self.network = network
        self.clock = clock

    # -- reading ---------------------------------------------------------------------

    async def get(self, collaboration_id: int) -> Collaboration:
        found = await self.session.get(Collaboration, collaboration_id)
        if found is None:
            raise UserError(N_("There is no collaboration #%(id)d."), id=collaboration_id)
        return found

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
        timezone of `reader` (reading in `room_id`)."""
        collab = await self.get(collaboration_id)
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

    async def list_for_member(self, mxid: str, limit: int = LIST_LIMIT) -> Listing:
        """The member's collaborations, newest first (with `mxid`'s display name, as
        given, among the names)."""
        known = await self._known_spelling(mxid)
        ids = select(CollaborationMember.collaboration_id).where(
            CollaborationMember.mxid == known)
        return await self._listing(Collaboration.id.in_(ids), limit, also=(mxid,))

    async def list_for_location(self, key: str, limit: int = LIST_LIMIT) -> Listing:
        """Collaborations with a member who was at that location (key or name) when it was
        recorded, newest first."""
        spec = self.network.find_location(key)
        ids = select(CollaborationMember.collaboration_id).where(
            CollaborationMember.location == spec.key)
        return await self._listing(Collaboration.id.in_(ids), limit)

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
        collab = Collaboration(title=clean, status=INITIAL_STATUS, origin=origin.kind,
                               origin_id=origin.id, topic=topic_key, created_by=by,
                               created_at=now, cross_border=len(countries - {None}) > 1)
        self.session.add(collab)
        await self.session.flush()
        self.session.add_all(CollaborationMember(collaboration_id=collab.id, mxid=m,
                                                 location=locations[m]) for m in mxids)
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

    # -- helpers ---------------------------------------------------------------------

    async def _changeable(self, collaboration_id: int, by: str,
                          coordinator: Override) -> Collaboration:
        """The collaboration, when `by` may change it: a member, or else a coordinator (a
        check given as a callable is asked only then)."""
        collab = await self.get(collaboration_id)
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
