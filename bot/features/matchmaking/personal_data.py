"""What matchmaking holds about a member, for `!mydata` and `!forget-me`: their
connections (and the notes of `!connect`), and the rounds they were paired in with their
answers to "did you meet?". A connection or a round group stays for the others: erasing
puts the forgotten member's stand-in (`alias`) in their place; the notes they wrote and
their answers are deleted. (Whether they take part in rounds is in the member record.)"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Connection, MatchRound, RoundAnswer, RoundGroup
from bot.feature import PersonalData
from bot.i18n import N_


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


async def export_connections(session: AsyncSession, mxid: str) -> list[dict[str, Any]]:
    rows = await session.scalars(
        select(Connection).where(or_(Connection.a == mxid, Connection.b == mxid))
        .order_by(Connection.created_at, Connection.id))
    return [{"with": c.b if c.a == mxid else c.a, "origin": c.origin, "room_id": c.room_id,
             "round": c.round_id, "created_at": c.created_at, "note": c.note,
             "note_by_you": c.note is not None and c.a == mxid} for c in rows]


async def erase_connections(session: AsyncSession, mxid: str, alias: str) -> int:
    """The member's side becomes `alias`; the note they wrote (`a` asked) goes."""
    asked = await session.execute(update(Connection).where(Connection.a == mxid)
                                  .values(a=alias, note=None))
    asked_for = await session.execute(update(Connection).where(Connection.b == mxid)
                                      .values(b=alias))
    return _rowcount(asked) + _rowcount(asked_for)


CONNECTIONS = PersonalData(
    "connections", N_("your connections: whom I introduced you to, in which room, and the "
                      "notes of the introductions"),
    export_connections, erase_connections)


async def _groups(session: AsyncSession, mxid: str) -> list[tuple[RoundGroup, MatchRound]]:
    """The round groups `mxid` is in (found by their member list, then checked word by
    word, so that @a:x is not taken for @a:xy)."""
    rows = await session.execute(
        select(RoundGroup, MatchRound).join(MatchRound, MatchRound.id == RoundGroup.round_id)
        .where(RoundGroup.members.contains(mxid, autoescape=True))
        .order_by(RoundGroup.round_id, RoundGroup.id))
    return [(g, r) for g, r in rows.all() if mxid in g.members.split()]


async def export_rounds(session: AsyncSession, mxid: str) -> list[dict[str, Any]]:
    answers = {a.group_id: a for a in await session.scalars(
        select(RoundAnswer).where(RoundAnswer.mxid == mxid))}
    out: list[dict[str, Any]] = []
    for group, round_ in await _groups(session, mxid):
        answer = answers.get(group.id)
        out.append({"round": round_.id, "started_at": round_.started_at,
                    "with": [m for m in group.members.split() if m != mxid],
                    "room_id": group.room_id,
                    "met": None if answer is None else answer.met,
                    "answered_at": None if answer is None else answer.answered_at})
    started = await session.scalars(select(MatchRound).where(MatchRound.started_by == mxid)
                                    .order_by(MatchRound.id))
    out += [{"round": r.id, "started_at": r.started_at, "started_by_you": True,
             "scope": r.scope} for r in started]
    return out


async def erase_rounds(session: AsyncSession, mxid: str, alias: str) -> int:
    """In every group the member's place goes to `alias`; their answers are deleted; a
    round they started names `alias` as who started it."""
    touched = 0
    for group, _round in await _groups(session, mxid):
        group.members = " ".join(sorted(alias if m == mxid else m
                                        for m in group.members.split()))
        touched += 1
    answers = await session.execute(delete(RoundAnswer).where(RoundAnswer.mxid == mxid))
    started = await session.execute(update(MatchRound).where(MatchRound.started_by == mxid)
                                    .values(started_by=alias))
    return touched + _rowcount(answers) + _rowcount(started)


ROUNDS = PersonalData(
    "rounds", N_("your matchmaking rounds: the groups you were in and your answers to “did "
                 "you meet?”"),
    export_rounds, erase_rounds)
