"""Permission checks attached to commands with `@check(...)`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from bot.db.models import NetworkRoom, RoomMembership
from bot.framework.command import Check
from bot.i18n import N_
from rooms.network import BOT_LEVEL, COORDINATOR_LEVEL, NetworkRooms

if TYPE_CHECKING:
    from bot.context import Context


async def is_coordinator(ctx: Context) -> bool:
    """Listed in `coordinators`, or power ≥ 50 in one of the network's own rooms.

    Power levels only count in rooms the bot provisioned (and administers: power 100 or a
    room-version-12 creator). Anyone can create a room, give themselves and the bot power
    100 and invite it; such a room's levels must not make them a coordinator.
    """
    if ctx.sender in ctx.deps.config.coordinators:
        return True
    if await NetworkRooms(ctx.session, ctx.deps.config.network).by_room_id(ctx.room_id) is None:
        return False
    gateway = ctx.deps.gateway
    if await gateway.power_level(ctx.room_id, gateway.user_id) < BOT_LEVEL:
        return False
    return await gateway.power_level(ctx.room_id, ctx.sender) >= COORDINATOR_LEVEL


coordinator = Check(is_coordinator, N_("Only coordinators may use this command."), "coordinator")


async def is_member(ctx: Context) -> bool:
    """A member of the network: in one of its rooms now (as recorded from the rooms'
    membership events), or a coordinator. Anyone anywhere on Matrix can write to the bot;
    what the network knows about its members is for its members."""
    joined = await ctx.session.scalar(
        select(RoomMembership.id)
        .join(NetworkRoom, NetworkRoom.room_id == RoomMembership.room_id)
        .where(RoomMembership.mxid == ctx.sender, RoomMembership.until.is_(None)).limit(1))
    return joined is not None or await is_coordinator(ctx)


member = Check(is_member, N_("This is for members of the network: join one of its rooms "
                             "first (%(prefix)srooms lists them)."), "member")
