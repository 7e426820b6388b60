"""Who is (and was) in which network room: stays recorded from joins, leaves, kicks, bans.
Ended stays are kept for `privacy.memberships` (a year by default), then pruned; a member's
own stays are theirs to see (`!mydata`) and erase (`!forget-me`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import RoomMembership
from bot.events import MembershipChange

IN_ROOM = frozenset({"join"})
BULK = 500  # rows per statement when importing (bound parameters stay within limits)


def ended_how(change: MembershipChange) -> str:
    if change.membership == "ban":
        return "ban"
    return "leave" if change.sender == change.user_id else "kick"


class MembershipService:
    def __init__(self, session: AsyncSession, clock: Callable[[], datetime]) -> None:
        self.session = session
        self.clock = clock

    async def _open(self, room_id: str, mxid: str) -> RoomMembership | None:
        return await self.session.scalar(select(RoomMembership).where(
            RoomMembership.room_id == room_id, RoomMembership.mxid == mxid,
            RoomMembership.until.is_(None)))

    async def ever_member(self, room_id: str, mxid: str) -> bool:
        found = await self.session.scalar(select(RoomMembership.id).where(
            RoomMembership.room_id == room_id, RoomMembership.mxid == mxid).limit(1))
        return found is not None

    async def apply(self, change: MembershipChange, when: datetime) -> str | None:
        """Record one membership event; returns "joined", "left", "present" (a profile
        change of someone whose stay was not recorded: recorded now, as an import is, and
        never an arrival) or None (no change)."""
        current = await self._open(change.room_id, change.user_id)
        if change.membership in IN_ROOM:
            if current is not None:
                return None  # a display-name change, or a redelivery
            renamed = change.prev_membership in IN_ROOM
            self.session.add(RoomMembership(room_id=change.room_id, mxid=change.user_id,
                                            since=when, imported=renamed))
            await self.session.flush()
            return "present" if renamed else "joined"
        if change.membership in ("leave", "ban") and current is not None:
            current.until = when
            current.ended = ended_how(change)
            return "left"
        return None

    async def import_room(self, room_id: str, joined: set[str], exclude: str) -> tuple[int, int]:
        """Align the record with who is joined now, without welcoming anyone.
        Returns (opened, closed). Reads and writes rows in bulk, not as objects: at start
        this runs for every network room, thousands of members each."""
        now = self.clock()
        open_rows = (await self.session.execute(select(RoomMembership.id, RoomMembership.mxid)
                                                .where(RoomMembership.room_id == room_id,
                                                       RoomMembership.until.is_(None)))).all()
        have = {mxid for _id, mxid in open_rows}
        new = sorted(joined - have - {exclude})
        gone = [row_id for row_id, mxid in open_rows if mxid not in joined]
        for start in range(0, len(new), BULK):
            await self.session.execute(insert(RoomMembership), [
                {"room_id": room_id, "mxid": mxid, "since": now, "imported": True}
                for mxid in new[start:start + BULK]])
        for start in range(0, len(gone), BULK):
            await self.session.execute(
                update(RoomMembership).where(RoomMembership.id.in_(gone[start:start + BULK]))
                .values(until=now, ended="leave"))
        return len(new), len(gone)

    async def stays_of(self, mxid: str) -> list[RoomMembership]:
        """Every recorded stay of `mxid`, oldest first."""
        return list((await self.session.scalars(select(RoomMembership).where(
            RoomMembership.mxid == mxid).order_by(RoomMembership.since,
                                                 RoomMembership.id))).all())

    async def forget(self, mxid: str) -> int:
        """Erase every stay of `mxid` (current ones too); returns how many."""
        result = await self.session.execute(delete(RoomMembership).where(
            RoomMembership.mxid == mxid))
        return getattr(result, "rowcount", 0) or 0

    async def prune(self, before: datetime) -> int:
        """Forget stays that ended before `before` (current stays are kept)."""
        result = await self.session.execute(delete(RoomMembership).where(
            RoomMembership.until.is_not(None), RoomMembership.until < before))
        return getattr(result, "rowcount", 0) or 0

    async def current(self, room_id: str) -> list[str]:
        rows = await self.session.scalars(select(RoomMembership.mxid).where(
            RoomMembership.room_id == room_id, RoomMembership.until.is_(None))
            .order_by(RoomMembership.mxid))
        return list(rows)

    async def counts(self, room_ids: list[str]) -> dict[str, int]:
        rows = await self.session.execute(
            select(RoomMembership.room_id, func.count()).where(
                RoomMembership.room_id.in_(room_ids), RoomMembership.until.is_(None))
            .group_by(RoomMembership.room_id))
        found = {room_id: n for room_id, n in rows.all()}
        return {room_id: found.get(room_id, 0) for room_id in room_ids}
