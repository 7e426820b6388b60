"""Permission checks attached to commands with `@check(...)`."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
