"""Per-room settings (the language and timezone a room speaks when a member has no choice),
and which language a reader gets: the member's own choice, else the room's, else the
configured default — decided here, once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import RoomSetting
from bot.i18n import resolve_locale

if TYPE_CHECKING:
    from bot.db.models import Member


class RoomSettingsService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, room_id: str) -> RoomSetting | None:
        return await self.session.get(RoomSetting, room_id)

    async def language(self, room_id: str) -> str | None:
        setting = await self.get(room_id)
        return setting.language if setting else None

    async def set(self, room_id: str, *, language: str | None = None,
                  timezone: str | None = None, direct: bool | None = None) -> RoomSetting:
        setting = await self.get(room_id)
        if setting is None:
            setting = RoomSetting(room_id=room_id, direct=False)
            self.session.add(setting)
        if language is not None:
            setting.language = language
        if timezone is not None:
            setting.timezone = timezone
        if direct is not None:
            setting.direct = direct
        return setting

    async def direct_rooms(self) -> list[str]:
        """The rooms that are direct chats with the bot (joined on an `is_direct` invite, or
        opened by the bot as one)."""
        return list(await self.session.scalars(
            select(RoomSetting.room_id).where(RoomSetting.direct.is_(True))))


class Locales:
    """The language to write in: for a room (a notice everyone reads), for a member (a
    message to them), or for a member in a room (a reply)."""

    def __init__(self, session: AsyncSession, default: str) -> None:
        self.settings = RoomSettingsService(session)
        self.default = default

    async def room(self, room_id: str) -> str:
        return resolve_locale(None, await self.settings.language(room_id), self.default)

    def member(self, member: Member | None) -> str:
        return resolve_locale(member.language if member else None, None, self.default)

    async def reader(self, member: Member | None, room_id: str) -> str:
        return resolve_locale(member.language if member else None,
                              await self.settings.language(room_id), self.default)
