"""Meeting members: a new member's first messages in several rooms at once are each
answered, and leave one member row (on SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from bot.db import Database
from bot.db.models import Member
from bot.events import SyncBatch
from bot.members import MemberService
from tests.conftest import Clock


async def test_a_new_member_in_several_rooms_at_once_is_answered_everywhere(
        driver, gateway) -> None:  # noqa: ANN001
    rooms = [f"!r{i}:test" for i in range(5)]
    batch = SyncBatch("s1", events=[driver.message(f"!ping {i}", sender="@new:test",
                                                   room_id=room)
                                    for i, room in enumerate(rooms)])
    await driver.dispatcher.handle_batch(batch)
    assert sorted(m.room_id for m in gateway.sent) == rooms


async def test_two_transactions_meeting_the_same_member_make_one_row(db: Database) -> None:
    clock = Clock()

    async def meet() -> str:
        async with db.session() as session:
            member = await MemberService(session, clock).get_or_create("@new:test", "New")
            await asyncio.sleep(0.05)  # both transactions open at once
            return member.mxid

    assert await asyncio.gather(meet(), meet(), meet()) == ["@new:test"] * 3
    async with db.session() as session:
        rows = await session.scalar(select(func.count()).select_from(Member))
        member = await session.get(Member, "@new:test")
    assert rows == 1
    assert member is not None and member.display_name == "New"
    assert member.first_seen is not None
