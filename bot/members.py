"""Members: who the bot has met, and their language and timezone; and the feed of changes
to what matching ranks from (`note_change`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.database import insert_if_missing
from bot.db.models import Member, MemberChange, MemberTag

FORMER = "@former-"  # the start of the name that takes a forgotten member's place


def is_former(mxid: str) -> bool:
    return mxid.startswith(FORMER)


def note_change(session: AsyncSession, mxid: str | None) -> None:
    """Record, in the transaction that makes it, that `mxid`'s tags or location changed or
    that they were deleted (None: many members at once, as a bulk fill). Matching's index
    in every process reads these before each query, so it never ranks from stale data;
    any code that writes `member_tags` or `members.location` or deletes a member calls this."""
    session.add(MemberChange(mxid=mxid, at=datetime.now(UTC)))


class MemberService:
    def __init__(self, session: AsyncSession, clock: Callable[[], datetime]) -> None:
        self.session = session
        self.clock = clock

    async def get(self, mxid: str) -> Member | None:
        return await self.session.get(Member, mxid)

    async def get_or_create(self, mxid: str, display_name: str | None = None) -> Member:
        member = await self.session.get(Member, mxid)
        if member is None:
            # a new member's first messages in two rooms are handled at once: both may find
            # no row, and both insert it — one row, and neither command fails for it
            await insert_if_missing(self.session, Member, mxid=mxid,
                                    display_name=display_name, first_seen=self.clock())
            member = await self.session.get(Member, mxid, populate_existing=True)
            assert member is not None
        elif display_name and member.display_name != display_name:
            member.display_name = display_name
        return member

    async def set_location(self, member: Member, key: str | None) -> None:
        """Move a member; their tags carry the location too (matching ranks from them)."""
        member.location = key
        await self.session.execute(
            update(MemberTag).where(MemberTag.mxid == member.mxid).values(location=key))
        note_change(self.session, member.mxid)

    async def set_language(self, mxid: str, language: str) -> Member:
        member = await self.get_or_create(mxid)
        member.language = language
        return member
