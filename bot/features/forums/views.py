"""What the forum workflows answer (`ForumService`) and the messages render
(`ForumMessages`): plain records, so neither module needs the other's internals."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.db.models import ForumEvent, Member, Rsvp


@dataclass
class RsvpResult:
    event: ForumEvent
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


@dataclass(frozen=True)
class Planned:
    event: ForumEvent
    rooms: list[str]  # where it was announced


@dataclass(frozen=True)
class Agenda:
    """The upcoming events, for a reader in `timezone` (None: each event's own)."""

    events: list[ForumEvent]
    timezone: str | None
    now: datetime


@dataclass(frozen=True)
class Details:
    event: ForumEvent
    counts: Counts
    timezone: str | None  # the reader's, if they set one
    now: datetime


@dataclass(frozen=True)
class Attendees:
    event: ForumEvent
    rows: list[tuple[Rsvp, Member | None]]  # in the order they answered


@dataclass(frozen=True)
class CalendarFile:
    data: bytes
    filename: str
    mimetype: str = "text/calendar"
