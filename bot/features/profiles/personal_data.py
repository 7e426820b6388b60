"""What profiles hold about a member besides the core's member record, for `!mydata` and
`!forget-me`: their tags, and the introduction cards the bot posted about them (erasing
redacts each card in its room, then forgets it)."""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import IntroCard, MemberTag
from bot.errors import GatewayError, HomeserverUnavailable
from bot.feature import PersonalData
from bot.i18n import N_
from bot.members import note_change

if TYPE_CHECKING:
    from bot.deps import Deps

log = logging.getLogger(__name__)
REDACT_REASON = "erased at the member's request"


async def export_tags(session: AsyncSession, mxid: str) -> list[dict[str, Any]]:
    rows = await session.execute(select(MemberTag.kind, MemberTag.tag)
                                 .where(MemberTag.mxid == mxid)
                                 .order_by(MemberTag.kind, MemberTag.tag))
    return [{"kind": kind, "tag": tag} for kind, tag in rows.all()]


async def erase_tags(session: AsyncSession, mxid: str, _alias: str) -> int:
    result = await session.execute(delete(MemberTag).where(MemberTag.mxid == mxid))
    note_change(session, mxid)
    return int(getattr(result, "rowcount", 0) or 0)


TAGS = PersonalData("tags", N_("your tags: what you offer and need"), export_tags, erase_tags)


async def export_cards(session: AsyncSession, mxid: str) -> list[dict[str, Any]]:
    cards = await session.scalars(select(IntroCard).where(IntroCard.mxid == mxid)
                                  .order_by(IntroCard.posted_at, IntroCard.id))
    return [{"room_id": c.room_id, "event_id": c.event_id, "posted_at": c.posted_at}
            for c in cards]


def redaction_txn(room_id: str, event_id: str) -> str:
    """The same card is redacted once, however often an erasure is run again."""
    digest = hashlib.sha256(f"{room_id}\n{event_id}".encode()).hexdigest()[:32]
    return f"sbcc.forget.{digest}"


def introductions(deps: Deps) -> PersonalData:
    """The introduction cards: where and when; erasing redacts each one in its room (a room
    that refuses is logged, the record goes anyway) and deletes the records."""

    async def erase(session: AsyncSession, mxid: str, _alias: str) -> int:
        cards = (await session.scalars(select(IntroCard).where(IntroCard.mxid == mxid))).all()
        for card in cards:
            try:
                await deps.gateway.redact(card.room_id, card.event_id, REDACT_REASON,
                                     redaction_txn(card.room_id, card.event_id))
            except HomeserverUnavailable:
                raise  # not now: the erasure runs again, redacting each card once
            except GatewayError as exc:
                log.warning("could not redact an introduction card in %s: %s",
                            card.room_id, exc)
        await session.execute(delete(IntroCard).where(IntroCard.mxid == mxid))
        return len(cards)

    return PersonalData("introductions",
                        N_("your introduction cards: in which rooms and when I posted them"),
                        export_cards, erase)
