"""The network feature: membership recorded from events, newcomers welcomed, the record
brought up to date at start, the member gauges of `/metrics`, the services behind
`!provision`, `!rooms` and `!members`; what it holds about members (their stays in the
network's rooms, their welcomes) for `!mydata` and `!forget-me`, and ended stays pruned
after `privacy.memberships`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.feature import Feature, PersonalData, Wiring
from bot.features.privacy.config import PrivacyConfig
from bot.i18n import N_
from rooms.arrivals import Arrivals
from rooms.membership import MembershipService
from rooms.network import NetworkRooms, NetworkService
from rooms.provisioning import Provisioner
from rooms.settings import RoomSettingsService
from rooms.welcome import Welcomer, forget_welcomes, prune_welcome_posts, welcomes_of

WELCOME_POSTS_KEPT = timedelta(days=1)  # at least: a welcome's window is at most an hour


def setup(wiring: Wiring) -> None:
    deps = wiring.deps
    network = deps.config.network
    privacy = deps.config.section(PrivacyConfig)
    welcomer = Welcomer(deps)
    provisioner = Provisioner(deps)
    wiring.listen(Arrivals(deps, welcomer).on_event)
    wiring.service("rooms", RoomSettingsService)
    wiring.service("network", lambda session: NetworkService(
        session, network, deps.clock, deps.config.command_prefix))
    wiring.service("provisioning", lambda _session: provisioner)

    async def export(session: AsyncSession, mxid: str) -> list[dict[str, Any]]:
        rooms = NetworkRooms(session, network)

        async def name(room_id: str) -> str | None:
            known = await rooms.by_room_id(room_id)
            return known.spec.name if known else None

        out: list[dict[str, Any]] = [
            {"room": await name(s.room_id), "room_id": s.room_id, "since": s.since,
             "until": s.until, "ended": s.ended}
            for s in await MembershipService(session, deps.clock).stays_of(mxid)]
        pending, posts = await welcomes_of(session, mxid)
        out += [{"room": await name(p.room_id), "room_id": p.room_id,
                 "welcome": "pending", "joined": p.joined_at} for p in pending]
        out += [{"room": await name(p.room_id), "room_id": p.room_id,
                 "welcome": "named in the welcome message", "posted": p.opened_at}
                for p in posts]
        return out

    async def erase(session: AsyncSession, mxid: str, _alias: str) -> int:
        return (await MembershipService(session, deps.clock).forget(mxid)
                + await forget_welcomes(session, mxid))

    wiring.holds(PersonalData(
        "memberships", N_("which of the network's rooms you are in and were in, and your "
                          "welcome"), export, erase))

    async def prune() -> None:
        now = deps.clock()
        async with deps.db.session() as session:
            await MembershipService(session, deps.clock).prune(now - privacy.memberships.delta)
            await prune_welcome_posts(session, now - max(welcomer.window, WELCOME_POSTS_KEPT))

    wiring.job(prune, "interval", id="prune-memberships", hours=6,
               next_run_time=deps.clock() + timedelta(minutes=2), coalesce=True)

    async def member_gauges() -> None:
        async with deps.db.session() as session:
            known = await NetworkRooms(session, network).known()
            location_of = {k.room_id: k.spec.key for k in known if k.spec.kind == "location"}
            counts = await MembershipService(session, deps.clock).counts(list(location_of))
        members = {location_of[room_id]: n for room_id, n in counts.items()}
        for spec in network.locations:
            deps.metrics.members.labels(location=spec.key).set(members.get(spec.key, 0))

    wiring.on_start(provisioner.import_all)
    wiring.on_start(welcomer.flush_all)
    wiring.on_scrape(member_gauges)


FEATURE = Feature("network", setup)
