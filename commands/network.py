"""!provision, !rooms, !members — the network's rooms and who is in them.

`!rooms` is open to anyone: it is how people find the network (the Space and its rooms are
public anyway). `!members` is for the network's members: how many people each room has,
and for coordinators who they are."""

from __future__ import annotations

from bot.context import Context
from bot.framework import Place, check, command, coordinator, is_coordinator, member
from bot.i18n import N_
from rooms import messages


@command("provision", help=N_("Create or update the network's Space and rooms."))
@check(coordinator)
async def provision(ctx: Context) -> None:
    outcomes = await ctx.services.provisioning.run()
    await ctx.reply(*messages.provision_report(ctx.tr, outcomes))


@command("rooms", help=N_("List the network's rooms with links to join them."))
async def rooms(ctx: Context) -> None:
    known = await ctx.services.network.provisioned()
    await ctx.reply(*messages.room_list(ctx.tr, known, ctx.deps.config.matrix.server_name))


@command("members", help=N_("How many members each location and room has."))
@check(member)
async def members(ctx: Context, location: Place | None = None) -> None:
    counts = await ctx.services.network.headcounts(location, names=await is_coordinator(ctx))
    await ctx.reply(*messages.headcounts(ctx.tr, counts))
