"""What the bot posts about events: announcements (with ✅ 🤔 ❌ to react with), notices
to those who answered when an event changes, and news for whoever leaves the waiting list.
Every message carries a transaction id derived from what caused it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.dates import event_time
from bot.db.models import Announcement, ForumEvent, Member, Rsvp
from bot.deps import Deps
from bot.events import Outgoing
from bot.features.forums.config import ForumsConfig
from bot.features.forums.service import REACTIONS
from bot.formatting import Rich, fill, pill
from bot.i18n import N_
from rooms.network import NetworkRooms
from rooms.settings import RoomSettingsService


def place_of(deps: Deps, event: ForumEvent) -> str:
    spec = deps.config.network.location_by_key.get(event.location)
    place = f"{spec.name} ({spec.country})" if spec else event.location
    return place + (f" + online: {event.online_url}" if event.online_url else "")


async def announcement_rooms(deps: Deps, session: AsyncSession, event: ForumEvent) -> list[str]:
    network = deps.config.network
    rooms = NetworkRooms(session, network)
    specs = [network.location_by_key.get(event.location), network.partners,
             *(t for t in network.topics if t.key in deps.config.section(ForumsConfig).announce_topics)]
    found = [await rooms.room_id(spec) for spec in specs if spec is not None]
    return list(dict.fromkeys(r for r in found if r))


async def announce(deps: Deps, session: AsyncSession, event: ForumEvent, txn_base: str
                   ) -> list[str]:
    """Post the event in its rooms, offer the three answers as reactions, record the posts.
    Returns the rooms it went to."""
    rooms = await announcement_rooms(deps, session, event)
    for room_id in rooms:
        locale = (await RoomSettingsService(session).language(room_id)
                  or deps.config.default_language)
        tr = deps.translator
        template = tr.gettext(N_("📅 %(title)s — %(date)s, %(place)s. React %(yes)s if you "
                                 "come, %(maybe)s for maybe, %(no)s if you can't — or send "
                                 "%(rsvp)s."), locale)
        text, html = fill(template, title=event.title,
                          date=event_time(event.starts_at, event.timezone, locale),
                          place=place_of(deps, event), yes="✅", maybe="🤔", no="❌",
                          rsvp=f"{deps.config.command_prefix}rsvp {event.id} yes|maybe|no")
        if event.capacity is not None:
            extra = tr.ngettext("%(num)d place.", "%(num)d places.", event.capacity, locale)
            text, html = f"{text} {extra}", f"{html} {extra}"
        txn = f"{txn_base}.announce.{room_id}"
        post = await deps.gateway.send(Outgoing(room_id, text, html, txn_id=txn))
        for key in REACTIONS:
            await deps.gateway.react(room_id, post, key, f"{txn}.{REACTIONS[key]}")
        if await session.get(Announcement, post) is None:
            session.add(Announcement(matrix_event_id=post, forum_id=event.id, room_id=room_id))
    await session.flush()
    return rooms


async def _members(session: AsyncSession, mxids: Sequence[str]) -> dict[str, Member]:
    found = await session.scalars(select(Member).where(Member.mxid.in_(list(mxids))))
    return {m.mxid: m for m in found}


async def notify(deps: Deps, session: AsyncSession, event: ForumEvent, rows: Sequence[Rsvp],
                 msgid: str, txn_base: str) -> None:
    """Tell these members about `event` with `msgid` (placeholders: who, title, date),
    one message per room and language, mentioning them."""
    members = await _members(session, [r.mxid for r in rows])
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for row in rows:
        if not row.room_id:
            continue
        member = members.get(row.mxid)
        locale = (member.language if member and member.language
                  else deps.config.default_language)
        groups[(row.room_id, locale)].append(row.mxid)
    for (room_id, locale), mxids in sorted(groups.items()):
        pills = [pill(m, members[m].display_name if m in members else None) for m in mxids]
        who = Rich(", ".join(p.text for p in pills), ", ".join(p.html for p in pills))
        tz = event.timezone
        text, html = fill(deps.translator.gettext(msgid, locale), who=who, title=event.title,
                          date=event_time(event.starts_at, tz, locale))
        await deps.gateway.send(Outgoing(room_id, text, html, mentions=tuple(mxids),
                                         txn_id=f"{txn_base}.{room_id}.{locale}"))


PROMOTED = N_("🎉 %(who)s: a place opened up — you are now on the list for “%(title)s” "
              "(%(date)s).")
CHANGED = N_("✏️ %(who)s: “%(title)s” has changed — it is now on %(date)s.")
CANCELLED = N_("❌ %(who)s: “%(title)s” (%(date)s) is cancelled.")
