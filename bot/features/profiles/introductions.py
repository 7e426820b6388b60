"""Introduction cards: a member's card posted in their location room and in each topic
room whose tags meet theirs — at most one card per room per day (a repeat edits it)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import IntroCard
from bot.deps import Deps
from bot.features.profiles.service import Profile, profile_card
from bot.formatting import escape
from bot.i18n import N_
from rooms.network import KnownRoom, NetworkRooms
from rooms.settings import RoomSettingsService

EDIT_WINDOW = timedelta(days=1)
Send = Callable[..., Awaitable[str]]


def tags_meet(member_tags: Iterable[str], room_tags: Iterable[str]) -> set[str]:
    """Room tags met by a member's tags: the same tag, or a word of a longer tag
    ("video editing" meets "video")."""
    wanted = set(room_tags)
    met = set()
    for tag in member_tags:
        if tag in wanted:
            met.add(tag)
        met.update(word for word in tag.replace("/", " ").split() if word in wanted)
    return met


@dataclass(frozen=True)
class Posted:
    room: KnownRoom
    edited: bool


class Introductions:
    def __init__(self, session: AsyncSession, deps: Deps) -> None:
        self.session = session
        self.deps = deps

    async def targets(self, profile: Profile) -> list[KnownRoom]:
        tags = [*profile.offers, *profile.needs]
        out = []
        for room in await NetworkRooms(self.session, self.deps.config.network).known():
            spec = room.spec
            if spec.kind == "location" and spec.key == profile.member.location:
                out.append(room)
            elif spec.kind == "topic" and tags_meet(tags, spec.tags):
                out.append(room)
        return out

    def card(self, profile: Profile, locale: str) -> tuple[str, str]:
        tr = self.deps.translator

        def translate(msgid: str, **params: Any) -> str:
            return tr.gettext(msgid, locale, **params)

        text, html = profile_card(profile.member, profile.offers, profile.needs, translate,
                                  locale, self.deps.config.network,
                                  prefix=self.deps.config.command_prefix)
        title = tr.gettext(N_("👋 Introducing a member of the network"), locale)
        return f"{title}\n{text}", f"<b>{escape(title)}</b><br>{html}"

    async def post(self, profile: Profile, send: Send) -> list[Posted]:
        """Post (or, within a day, edit) the card in every target room."""
        now = self.deps.clock()
        mxid = profile.member.mxid
        posted = []
        for room in await self.targets(profile):
            language = await RoomSettingsService(self.session).language(room.room_id)
            text, html = self.card(profile, language or self.deps.config.default_language)
            recent = await self.session.scalar(
                select(IntroCard).where(IntroCard.mxid == mxid,
                                        IntroCard.room_id == room.room_id,
                                        IntroCard.posted_at > now - EDIT_WINDOW)
                .order_by(IntroCard.posted_at.desc()).limit(1))
            if recent is not None:
                await send(room.room_id, text, html, replaces=recent.event_id)
                posted.append(Posted(room, edited=True))
                continue
            event_id = await send(room.room_id, text, html, mentions=(mxid,))
            self.session.add(IntroCard(mxid=mxid, room_id=room.room_id, event_id=event_id,
                                       posted_at=now))
            posted.append(Posted(room, edited=False))
        profile.member.intro_at = now
        return posted
