"""A request's history: every step recorded with who and when, and the two counters that
keep the room notice up to date (`notice_version` is bumped by every change; the notice is
edited until `notice_shown` catches up)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import AdviceEntry, AdvisoryRequest

REQUESTER = "requester"  # the actor of what the requester did on their status page
BOT = "bot"  # the actor of what happened by itself (a nudge, closing after a while)

# what can happen to a request, as recorded in `AdviceEntry.action`
ACTIONS = ("created", "posted", "claimed", "assigned", "note", "answered", "replied", "rated",
           "closed", "reopened", "nudged", "reminded")


def record(session: AsyncSession, request: AdvisoryRequest, actor: str, action: str,
           now: datetime, detail: str | None = None, *, activity: bool = True) -> AdviceEntry:
    """Add a step to `request`'s history; `activity` marks the request as moving (what the
    assignee's reminder counts from) and the notice as needing an edit (a follow-up of the
    bot's own is neither)."""
    if action not in ACTIONS:
        raise ValueError(action)
    entry = AdviceEntry(request_id=request.id, at=now, actor=actor, action=action,
                        detail=detail)
    session.add(entry)
    if activity:
        request.activity_at = now
        request.notice_version = (request.notice_version or 0) + 1
    return entry


async def history(session: AsyncSession, request_id: int) -> list[AdviceEntry]:
    return list((await session.scalars(
        select(AdviceEntry).where(AdviceEntry.request_id == request_id)
        .order_by(AdviceEntry.at, AdviceEntry.id))).all())
