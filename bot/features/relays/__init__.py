"""Relays between the network's rooms: `!share` from a location room to the topic rooms it
concerns (or every location room), and multilingual `!announce` to all of them. Shares are
recorded (for the hourly limit) and kept for `privacy.shares`, then pruned; a member's own
shares are theirs to see (`!mydata`) and erase (`!forget-me`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.feature import Feature, PersonalData, Wiring
from bot.features.privacy.config import PrivacyConfig
from bot.features.profiles.config import TagsConfig
from bot.features.relays.service import Relays, forget_shares, prune_shares, shares_of
from bot.i18n import N_
from rooms.network import NetworkRooms


def setup(wiring: Wiring) -> None:
    deps = wiring.deps
    tags = deps.config.section(TagsConfig)  # a share finds its topic rooms by tag
    kept = deps.config.section(PrivacyConfig).shares
    wiring.service("relays", lambda session: Relays(session, deps, tags))

    async def export(session: AsyncSession, mxid: str) -> list[dict[str, Any]]:
        rooms = NetworkRooms(session, deps.config.network)
        out = []
        for share in await shares_of(session, mxid):
            known = await rooms.by_room_id(share.room_id)
            out.append({"from": known.spec.name if known else None, "room_id": share.room_id,
                        "at": share.at})
        return out

    async def erase(session: AsyncSession, mxid: str, _alias: str) -> int:
        return await forget_shares(session, mxid)

    wiring.holds(PersonalData(
        "shares", N_("when and from which room you shared something (not what you wrote)"),
        export, erase))

    async def prune() -> None:
        async with deps.db.session() as session:
            await prune_shares(session, deps.clock() - kept.delta)

    wiring.job(prune, "interval", id="prune-shares", hours=6,
               next_run_time=deps.clock() + timedelta(minutes=3), coalesce=True)


FEATURE = Feature("relays", setup)
