"""Relays between the network's rooms: `!share` from a location room to the topic rooms it
concerns (or to every location room), and multilingual `!announce` to all rooms. Each room
gets the relay in its own language; a room that refuses it does not stop the others."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Member, MemberTag, Share
from bot.deps import Deps
from bot.errors import GatewayError, UserError
from bot.events import Outgoing
from bot.features.profiles.config import TagsConfig
from bot.features.profiles.introductions import tags_meet
from bot.features.relays.messages import announcement, shared
from bot.formatting import pill
from bot.i18n import N_, SUPPORTED_LANGUAGES, BoundTranslator
from rooms.network import KnownRoom, NetworkRooms, NotProvisioned

log = logging.getLogger(__name__)
HASHTAG_RE = re.compile(r"(?<![\w#])#([^\W_][\w-]{0,31})", re.UNICODE)
SHARES_PER_HOUR = 5
LANGUAGE_PART_RE = re.compile(r"^\s*([a-z]{2})\s*:\s*(.+)$", re.DOTALL)

Compose = Callable[[BoundTranslator], tuple[str, str]]  # a room's translator → (text, html)


def hashtags(text: str) -> list[str]:
    return list(dict.fromkeys(tag.casefold() for tag in HASHTAG_RE.findall(text)))


def language_versions(text: str) -> dict[str, str]:
    """An announcement's versions: `en: Hello | pl: Cześć` → {"en": "Hello", "pl": "Cześć"};
    text without language prefixes is one version for everyone (key "")."""
    versions: dict[str, str] = {}
    for part in text.split("|"):
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


async def shares_of(session: AsyncSession, mxid: str) -> list[Share]:
    """`mxid`'s recorded shares (when, and from which room; the text is not kept)."""
    return list((await session.scalars(select(Share).where(Share.mxid == mxid)
                                       .order_by(Share.at, Share.id))).all())


async def forget_shares(session: AsyncSession, mxid: str) -> int:
    result = await session.execute(delete(Share).where(Share.mxid == mxid))
    return getattr(result, "rowcount", 0) or 0


async def prune_shares(session: AsyncSession, before: datetime) -> int:
    """Forget shares made before `before` (see `privacy.shares`)."""
    result = await session.execute(delete(Share).where(Share.at < before))
    return getattr(result, "rowcount", 0) or 0


@dataclass(frozen=True)
class Relayed:
    """Where a relay went: the rooms that took it, and those that refused it."""

    reached: list[KnownRoom]
    failed: list[KnownRoom]


class Relays:
    """Decides where a share or an announcement goes, posts it there and records shares."""

    def __init__(self, session: AsyncSession, deps: Deps, tags: TagsConfig) -> None:
        self.session = session
        self.deps = deps
        self.tags = tags
        self.rooms = NetworkRooms(session, deps.config.network)
        self.locales = deps.locales(session)
        self.prefix = deps.config.command_prefix

    async def share(self, source: str, mxid: str, text: str, everywhere: bool,
                    txn: Callable[[], str]) -> Relayed:
        """Relay `text` from the location room `source` to the topic rooms its #hashtags
        (else the author's tags) concern, or to every other location room; `txn` gives each
        message its transaction id. Recorded for the hourly limit."""
        await self.check_rate(mxid)
        here, targets = await self._share_targets(source, mxid, text, everywhere)
        if not targets:
            raise UserError(N_("No topic room matches. Add a #hashtag such as %(example)s, or "
                               "use %(all)s."), example="#video", all=f"{self.prefix}share --all")
        member = await self.session.get(Member, mxid)
        who = pill(mxid, member.display_name if member else None)
        relayed = await self._post(
            targets, lambda tr: shared(tr, who, here.spec.name, text), txn, (mxid,))
        self.session.add(Share(mxid=mxid, room_id=source, at=self.deps.clock()))
        return relayed

    async def announce(self, text: str, txn: Callable[[], str]) -> Relayed:
        """Post `text` to every network room but the Space, each in the version for the
        room's language (see `language_versions`)."""
        versions = language_versions(text)
        rooms = [r for r in await self.rooms.known() if r.spec.kind != "space"]
        if not rooms:
            raise NotProvisioned(self.prefix)
        return await self._post(
            rooms, lambda tr: announcement(tr, version_for(versions, tr.locale)), txn)

    async def check_rate(self, mxid: str) -> None:
        since = self.deps.clock() - timedelta(hours=1)
        recent = await self.session.scalar(select(func.count()).select_from(Share).where(
            Share.mxid == mxid, Share.at > since)) or 0
        if recent >= SHARES_PER_HOUR:
            raise UserError(N_("You have shared %(num)d times in the last hour; please wait a "
                               "little before sharing again."), num=recent)

    async def _share_targets(self, source: str, mxid: str, text: str, everywhere: bool
                             ) -> tuple[KnownRoom, list[KnownRoom]]:
        known = await self.rooms.known()
        here = next((r for r in known if r.room_id == source), None)
        if here is None or here.spec.kind != "location":
            raise UserError(N_("Share from your location room: there I know where it comes "
                               "from."))
        if everywhere:
            return here, [r for r in known if r.spec.kind == "location" and r.room_id != source]
        canonical = self.tags.canonical
        tags = [canonical(t) for t in hashtags(text)]
        if not tags:
            tags = list(await self.session.scalars(select(MemberTag.canonical).where(
                MemberTag.mxid == mxid)))
        return here, [r for r in known if r.spec.kind == "topic"
                      and tags_meet(tags, [canonical(t) for t in r.spec.tags])]

    async def _post(self, rooms: list[KnownRoom], compose: Compose, txn: Callable[[], str],
                    mentions: tuple[str, ...] = ()) -> Relayed:
        """Post into each room in its language; a room that refuses (4xx) is reported, not
        fatal for the rest."""
        reached, failed = [], []
        for room in rooms:
            tr = self.deps.translator.bind(await self.locales.room(room.room_id))
            text, html = compose(tr)
            try:
                await self.deps.gateway.send(Outgoing(room.room_id, text, html,
                                                      mentions=mentions, txn_id=txn()))
                reached.append(room)
            except GatewayError as exc:
                log.warning("could not relay into %s: %s", room.room_id, exc)
                failed.append(room)
        return Relayed(reached, failed)
