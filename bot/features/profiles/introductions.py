"""Introduction cards: a member's card posted in their location room and in each topic
room whose tags meet theirs — at most one card per room per day (a repeat edits it)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import IntroCard
from bot.deps import Deps
from bot.features.profiles.messages import introduction_card
from bot.features.profiles.service import Profile, ProfileService
from rooms.network import KnownRoom, NetworkRooms

EDIT_WINDOW = timedelta(days=1)


class Send(Protocol):
    """How cards go out: `Context.send`, so a redelivered command resends nothing new."""

    async def __call__(self, room_id: str, text: str, html: str | None = None, *,
                       mentions: tuple[str, ...] = (), replaces: str | None = None) -> str: ...


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
    def __init__(self, session: AsyncSession, deps: Deps, profiles: ProfileService) -> None:
        self.session = session
        self.deps = deps
        self.profiles = profiles
        self.network = deps.config.network

    async def introduce(self, mxid: str, bio: str, send: Send) -> list[Posted]:
        """`!intro`: save the bio, then post (or, within a day, edit) the member's card in
        every room that fits them. No room yet is not an error: the bio is kept."""
        await self.profiles.set_bio(mxid, bio)
        profile = await self.profiles.get(mxid)
        assert profile is not None  # set_bio made the member
        return await self.post(profile, send)

    async def targets(self, profile: Profile) -> list[KnownRoom]:
        """The member's location room and each topic room whose tags meet theirs."""
        tags = [*profile.offers, *profile.needs]
        out = []
        for room in await NetworkRooms(self.session, self.network).known():
            spec = room.spec
            if spec.kind == "location" and spec.key == profile.member.location:
                out.append(room)
            elif spec.kind == "topic" and tags_meet(tags, spec.tags):
                out.append(room)
        return out

    async def post(self, profile: Profile, send: Send) -> list[Posted]:
        """Post (or, within a day, edit) the card in every target room, in its language."""
        now = self.deps.clock()
        mxid = profile.member.mxid
        locales = self.deps.locales(self.session)
        posted = []
        for room in await self.targets(profile):
            tr = self.deps.translator.bind(await locales.room(room.room_id))
            text, html = introduction_card(profile, tr, self.network,
                                           self.deps.config.command_prefix)
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
