"""Relays between the network's rooms: `!share` from a location room to the topic rooms it
concerns (or to every location room), and multilingual `!announce` to all rooms."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import MemberTag, Share
from bot.deps import Deps
from bot.errors import UserError
from bot.features.profiles.config import TagsConfig
from bot.features.profiles.introductions import tags_meet
from bot.i18n import N_, SUPPORTED_LANGUAGES
from rooms.network import KnownRoom, NetworkRooms

HASHTAG_RE = re.compile(r"(?<![\w#])#([^\W_][\w-]{0,31})", re.UNICODE)
SHARES_PER_HOUR = 5
LANGUAGE_PART_RE = re.compile(r"^\s*([a-z]{2})\s*:\s*(.+)$", re.DOTALL)


def hashtags(text: str) -> list[str]:
    return list(dict.fromkeys(tag.casefold() for tag in HASHTAG_RE.findall(text)))


def split_languages(text: str) -> dict[str, str]:
    """`en: Hello | pl: Cześć` → {"en": "Hello", "pl": "Cześć"}; text without language
    prefixes is one version for everyone (key "")."""
    parts = [p for p in text.split("|")]
    versions: dict[str, str] = {}
    for part in parts:
        m = LANGUAGE_PART_RE.match(part)
        if not m or m[1] not in SUPPORTED_LANGUAGES:
            return {"": text.strip()}
        versions[m[1]] = m[2].strip()
    return versions


def version_for(versions: dict[str, str], language: str | None) -> str:
    """The room's language, else English, else the first version given."""
    for code in (language, "en", ""):
        if code is not None and code in versions:
            return versions[code]
    return next(iter(versions.values()))


class Relays:
    def __init__(self, session: AsyncSession, deps: Deps) -> None:
        self.session = session
        self.deps = deps
        self.rooms = NetworkRooms(session, deps.config.network)

    async def check_rate(self, mxid: str) -> None:
        since = self.deps.clock() - timedelta(hours=1)
        recent = await self.session.scalar(select(func.count()).select_from(Share).where(
            Share.mxid == mxid, Share.at > since)) or 0
        if recent >= SHARES_PER_HOUR:
            raise UserError(N_("You have shared %(num)d times in the last hour; please wait a "
                               "little before sharing again."), num=recent)

    async def share_targets(self, source: str, mxid: str, text: str, everywhere: bool
                            ) -> list[KnownRoom]:
        known = await self.rooms.known()
        here = next((r for r in known if r.room_id == source), None)
        if here is None or here.spec.kind != "location":
            raise UserError(N_("Share from your location room: there I know where it comes "
                               "from."))
        if everywhere:
            return [r for r in known if r.spec.kind == "location" and r.room_id != source]
        canonical = self.deps.config.section(TagsConfig).canonical
        tags = [canonical(t) for t in hashtags(text)]
        if not tags:
            tags = list(await self.session.scalars(select(MemberTag.canonical).where(
                MemberTag.mxid == mxid)))
        return [r for r in known if r.spec.kind == "topic"
                and tags_meet(tags, [canonical(t) for t in r.spec.tags])]

    def record(self, mxid: str, room_id: str) -> None:
        self.session.add(Share(mxid=mxid, room_id=room_id, at=self.deps.clock()))

    async def all_rooms(self) -> list[KnownRoom]:
        return [r for r in await self.rooms.known() if r.spec.kind != "space"]
