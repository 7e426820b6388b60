"""Per-room settings: the language and timezone a room speaks when a member has no choice."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import RoomSetting


class RoomSettingsService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, room_id: str) -> RoomSetting | None:
        return await self.session.get(RoomSetting, room_id)

    async def language(self, room_id: str) -> str | None:
        setting = await self.get(room_id)
        return setting.language if setting else None

    async def set(self, room_id: str, *, language: str | None = None,
                  timezone: str | None = None) -> RoomSetting:
        setting = await self.get(room_id)
        if setting is None:
            setting = RoomSetting(room_id=room_id)
            self.session.add(setting)
        if language is not None:
            setting.language = language
        if timezone is not None:
            setting.timezone = timezone
        return setting
