"""The bot's direct chats with members, as Matrix marks them: a room the bot joined on an
invite marked `is_direct`, or one it opened as a direct chat itself (reminders, `!mydata`).
In a direct chat a member needs no command prefix. Not any room of two: a room that merely
has two members is a room."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rooms.private import private_room
from rooms.settings import RoomSettingsService

if TYPE_CHECKING:
    from bot.db import Database
    from bot.protocols import Gateway


class DirectChats:
    """Which rooms are direct chats (read from the database once, then kept in step)."""

    def __init__(self, db: Database, encrypted: bool = True) -> None:
        self.db = db
        self.encrypted = encrypted  # direct chats the bot opens are end-to-end encrypted
        self._rooms: set[str] | None = None

    async def is_direct(self, room_id: str) -> bool:
        if self._rooms is None:
            async with self.db.session() as session:
                self._rooms = set(await RoomSettingsService(session).direct_rooms())
        return room_id in self._rooms

    async def record(self, room_id: str) -> None:
        async with self.db.session() as session:
            await RoomSettingsService(session).set(room_id, direct=True)
        if self._rooms is not None:
            self._rooms.add(room_id)

    async def with_member(self, gateway: Gateway, server_name: str, mxid: str) -> str:
        """The bot's direct chat with `mxid`: the one it opened before, else a new one."""
        room_id = await private_room(gateway, server_name, "dm", mxid, name="sbcc-bot",
                                     invite=[mxid], is_direct=True, encrypted=self.encrypted)
        if not await self.is_direct(room_id):
            await self.record(room_id)
        return room_id
