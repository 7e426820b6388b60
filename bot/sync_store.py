"""The sync position and the record of handled events: the two halves of exactly-once."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import HandledEvent, SyncState


async def load_position(session: AsyncSession, user_id: str) -> str | None:
    row = await session.get(SyncState, user_id)
    return row.next_batch if row else None


async def save_position(session: AsyncSession, user_id: str, token: str, now: datetime) -> None:
    """One UPDATE per batch (the row is there after the first start), an INSERT the first
    time: this runs after every batch, beside the homeserver, on the same cores."""
    result = await session.execute(update(SyncState).where(SyncState.user_id == user_id)
                                   .values(next_batch=token, updated_at=now))
    if not getattr(result, "rowcount", 0):
        session.add(SyncState(user_id=user_id, next_batch=token, updated_at=now))


async def is_handled(session: AsyncSession, event_id: str) -> bool:
    found = await session.scalar(
        select(HandledEvent.event_id).where(HandledEvent.event_id == event_id)
    )
    return found is not None


def mark_handled(session: AsyncSession, event_id: str, room_id: str, now: datetime) -> None:
    session.add(HandledEvent(event_id=event_id, room_id=room_id, handled_at=now))


async def prune_handled(session: AsyncSession, now: datetime, keep: timedelta) -> int:
    """Forget handled ids older than `keep`; a redelivery that late cannot happen."""
    result = await session.execute(delete(HandledEvent).where(HandledEvent.handled_at < now - keep))
    return getattr(result, "rowcount", 0) or 0  # a CursorResult: rows the DELETE removed
