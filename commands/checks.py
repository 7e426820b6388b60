"""Permission checks attached to commands with `@check(...)`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.i18n import N_
from commands.registry import Check

if TYPE_CHECKING:
    from bot.context import Context

COORDINATOR_LEVEL = 50
ADMIN_LEVEL = 100


async def is_coordinator(ctx: Context) -> bool:
    """Listed in `coordinators`, or power ≥ 50 in a room the bot administers.

    A room's power levels only count where the bot itself is an administrator (power 100 or a
    room-version-12 creator): otherwise anyone could create a room, invite the bot, and be
    its creator — and so "coordinator" — there.
    """
    if ctx.sender in ctx.deps.config.coordinators:
        return True
    gateway = ctx.deps.gateway
    if await gateway.power_level(ctx.room_id, gateway.user_id) < ADMIN_LEVEL:
        return False
    return await gateway.power_level(ctx.room_id, ctx.sender) >= COORDINATOR_LEVEL


coordinator = Check(is_coordinator, N_("Only coordinators may use this command."), "coordinator")
