"""Counting messages per network room per day — counts only, never content — for the
digest's most-active rooms and its chart."""

from __future__ import annotations

import time
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from bot.db.models import NetworkRoom, RoomActivity
from bot.deps import Deps
from bot.events import Message, RoomEvent
from bot.features.digest.config import DigestConfig

ROOMS_TTL = 60.0  # seconds between re-reading which rooms are the network's


class ActivityCounter:
    """Listens to every message; days are counted in the digest's timezone."""

    def __init__(self, deps: Deps, config: DigestConfig) -> None:
        self.deps = deps
        self.timezone = ZoneInfo(config.timezone)
        self._rooms: set[str] = set()
        self._read_at = -ROOMS_TTL

    async def _network_rooms(self) -> set[str]:
        if time.monotonic() - self._read_at > ROOMS_TTL:
            async with self.deps.db.session() as session:
                self._rooms = set(await session.scalars(select(NetworkRoom.room_id)))
            self._read_at = time.monotonic()
        return self._rooms

    async def on_event(self, event: RoomEvent) -> None:
        if (not isinstance(event, Message) or event.sender == self.deps.gateway.user_id
                or event.msgtype == "m.notice"
                or event.room_id not in await self._network_rooms()):
            return
        day = self.deps.clock().astimezone(self.timezone).date()
        dialect = postgresql if self.deps.db.dialect == "postgresql" else sqlite
        stmt = dialect.insert(RoomActivity).values(room_id=event.room_id, day=day, count=1)
        stmt = stmt.on_conflict_do_update(index_elements=["room_id", "day"],
                                          set_={"count": RoomActivity.count + 1})
        async with self.deps.db.session() as session:
            await session.execute(stmt)
