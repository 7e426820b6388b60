"""!provision, !rooms, !members — the network's rooms and who is in them."""

from __future__ import annotations

from collections import Counter

from bot.context import Context
from bot.errors import BadArgument, UserError
from bot.formatting import Rich, escape, fill, markup, pill
from bot.framework.checks import coordinator, is_coordinator
from bot.framework.command import check, command
from bot.i18n import N_
from rooms.membership import MembershipService
from rooms.network import KnownRoom, NetworkRooms, matrix_to
from rooms.provisioning import Outcome, Provisioner

NAMES_LISTED = 50
ACTIONS = {
    "created": N_("created"),
    "adopted": N_("adopted"),
    "unchanged": N_("unchanged"),
    "updated": N_("updated"),
    "failed": N_("failed"),
}
SECTIONS = (("location", N_("Locations")), ("topic", N_("Topics")),
            ("partners", N_("Partners")), ("advisory", N_("Advisory")))


def not_provisioned(ctx: Context) -> UserError:
    """The error for commands that need the network's rooms before they exist."""
    return UserError(N_("The network's rooms are not set up yet; a coordinator can run "
                        "%(command)s."), command=f"{ctx.prefix}provision")


def _require_network(ctx: Context) -> None:
    if not ctx.deps.config.network.configured:
        raise UserError(N_("No network is configured yet: the configuration needs a network "
                           "section with a space and its rooms."))


@command("provision", help=N_("Create or update the network's Space and rooms."))
@check(coordinator)
async def provision(ctx: Context) -> None:
    _require_network(ctx)
    outcomes: list[Outcome] = await Provisioner(ctx.deps).run()
    counts = Counter(o.action for o in outcomes)
    summary = ctx._(N_("Provisioning finished: %(created)d created, %(adopted)d adopted, "
                       "%(updated)d updated, %(unchanged)d unchanged, %(failed)d failed."),
                    **{a: counts.get(a, 0) for a in ACTIONS})
    lines, items = [summary], []
    for o in outcomes:
        action = ctx._(ACTIONS[o.action])
        detail = f" ({', '.join(o.changes)})" if o.changes else ""
        if o.error:
            detail += f" — {o.error}"
        lines.append(f"{o.spec.name}: {action}{detail}")
        items.append(markup("<li>%(n)s: <b>%(a)s</b>%(d)s</li>", n=o.spec.name, a=action,
                            d=detail))
    await ctx.reply("\n".join(lines), escape(summary) + "<ul>" + "".join(items) + "</ul>")


def _link(ctx: Context, room: KnownRoom) -> Rich:
    url = matrix_to(room.room_id, room.alias, ctx.deps.config.matrix.server_name)
    return Rich(f"{room.spec.name} — {url}",
                markup('<a href="%(u)s">%(n)s</a>', u=url, n=room.spec.name))


@command("rooms", help=N_("List the network's rooms with links to join them."))
async def rooms(ctx: Context) -> None:
    _require_network(ctx)
    known = await NetworkRooms(ctx.session, ctx.deps.config.network).known()
    if not known:
        raise not_provisioned(ctx)
    text_lines, html = [], []
    space = next((r for r in known if r.spec.kind == "space"), None)
    if space is not None:
        t, h = fill(ctx._(N_("The Space: %(link)s")), link=_link(ctx, space))
        text_lines.append(t)
        html.append(h)
    for kind, title in SECTIONS:
        group = [r for r in known if r.spec.kind == kind]
        if not group:
            continue
        heading = ctx._(title)
        text_lines.append(f"\n{heading}:")
        text_lines += [f"• {_link(ctx, r).text}" for r in group]
        html.append(f"<h4>{escape(heading)}</h4><ul>"
                    + "".join(f"<li>{_link(ctx, r).html}</li>" for r in group) + "</ul>")
    await ctx.reply("\n".join(text_lines), "".join(html))


@command("members", help=N_("How many members each location and room has."))
async def members(ctx: Context, location: str | None = None) -> None:
    _require_network(ctx)
    network = ctx.deps.config.network
    known = [r for r in await NetworkRooms(ctx.session, network).known()
             if r.spec.kind != "space"]
    if location is not None:
        key = location.lower()
        if key not in network.location_by_key:
            raise BadArgument(N_("“%(value)s” is not one of the locations: %(choices)s."),
                              value=location, choices=", ".join(network.location_by_key))
        known = [r for r in known if r.spec.kind == "location" and r.spec.key == key]
    if not known:
        raise not_provisioned(ctx)
    service = MembershipService(ctx.session, ctx.deps.clock)
    counts = await service.counts([r.room_id for r in known])
    show_names = await is_coordinator(ctx)
    text_lines, html = [], []
    for kind, title in SECTIONS:
        group = [r for r in known if r.spec.kind == kind]
        if not group:
            continue
        heading = ctx._(title)
        text_lines.append(f"{heading}:")
        html.append(f"<h4>{escape(heading)}</h4><ul>")
        for room in group:
            n = counts[room.room_id]
            count = ctx.ngettext("%(num)d member", "%(num)d members", n)
            line_text, line_html = f"{room.spec.name}: {count}", markup(
                "<b>%(r)s</b>: %(c)s", r=room.spec.name, c=count)
            if show_names and n:
                people = [pill(m) for m in (await service.current(room.room_id))]
                listed = people[:NAMES_LISTED]
                line_text += " — " + ", ".join(p.text for p in listed)
                line_html += " — " + ", ".join(p.html for p in listed)
                if len(people) > NAMES_LISTED:
                    more = ctx.ngettext("and %(num)d more", "and %(num)d more",
                                        len(people) - NAMES_LISTED)
                    line_text += f" {more}"
                    line_html += f" {escape(more)}"
            text_lines.append(f"• {line_text}")
            html.append(f"<li>{line_html}</li>")
        html.append("</ul>")
    await ctx.reply("\n".join(text_lines), "".join(html))
