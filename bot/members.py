"""Members: who the bot has met, and their language and timezone."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Member, MemberTag


class MemberService:
    def __init__(self, session: AsyncSession, clock: Callable[[], datetime]) -> None:
        self.session = session
        self.clock = clock

    async def get(self, mxid: str) -> Member | None:
        return await self.session.get(Member, mxid)

    async def get_or_create(self, mxid: str, display_name: str | None = None) -> Member:
        member = await self.session.get(Member, mxid)
        if member is None:
            member = Member(mxid=mxid, display_name=display_name, first_seen=self.clock())
            self.session.add(member)
            await self.session.flush()
        elif display_name and member.display_name != display_name:
            member.display_name = display_name
        return member

    async def set_location(self, member: Member, key: str | None) -> None:
        """Move a member; their tags carry the location too (matching ranks from them)."""
        member.location = key
        await self.session.execute(
            update(MemberTag).where(MemberTag.mxid == member.mxid).values(location=key))

    async def set_language(self, mxid: str, language: str) -> Member:
        member = await self.get_or_create(mxid)
        member.language = language
        return member
