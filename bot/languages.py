"""The languages a command is answered in — its sender's and its room's — as last read, so
that a command the bot surely meets for the first time is answered without a round trip to
the database before the reply (see `SyncBatch.fresh`).

Every flush in this process that touches a member or a room's settings forgets what it
touched at once; a change made by another process (`sbcc-bot provision`, the other replica
before a takeover — a new leader starts with nothing known) is seen within `TTL` seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from bot.db.models import Member, RoomSetting
from bot.lru import Lru

TTL = 60.0  # seconds a language read from the database is believed
KEPT = 50_000  # members (and rooms) whose languages are remembered at most


class KnownLanguages:
    def __init__(self, clock: Callable[[], float] = time.monotonic, ttl: float = TTL,
                 kept: int = KEPT) -> None:
        self.clock = clock
        self.ttl = ttl
        self._members: Lru[str, tuple[str | None, float]] = Lru(kept)
        self._rooms: Lru[str, tuple[str | None, float]] = Lru(kept)

    def get(self, mxid: str, room_id: str) -> tuple[str | None, str | None] | None:
        """(the member's language, the room's), or None when either is not known now."""
        now = self.clock()
        member, room = self._members.get(mxid), self._rooms.get(room_id)
        if member is None or room is None or now - member[1] > self.ttl \
                or now - room[1] > self.ttl:
            return None
        return member[0], room[0]

    def put(self, mxid: str, member_language: str | None, room_id: str,
            room_language: str | None) -> None:
        now = self.clock()
        self._members.put(mxid, (member_language, now))
        self._rooms.put(room_id, (room_language, now))

    def forget_flushed(self, session: Session, _context: Any = None) -> None:
        """After a flush: forget every member and room whose rows it wrote or deleted
        (whether or not the transaction then commits: read again, nothing is lost)."""
        for obj in (*session.new, *session.dirty, *session.deleted):
            if isinstance(obj, Member):
                self._members.pop(obj.mxid)
            elif isinstance(obj, RoomSetting):
                self._rooms.pop(obj.room_id)
