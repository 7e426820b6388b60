"""!match, !find, !connect — people across borders whose offers meet your needs."""

from __future__ import annotations

from bot.context import Context
from bot.errors import BadArgument, UserError
from bot.features.matchmaking.connections import ConnectionService
from bot.features.matchmaking.matching import MatchingService, Suggestion
from bot.features.profiles.service import normalise_tag
from bot.formatting import escape, fill, markup, pill
from bot.framework.command import Rest, command
from bot.framework.converters import user_argument
from bot.i18n import N_, language_name

MAX_SUGGESTIONS = 20


def _explain(ctx: Context, s: Suggestion) -> tuple[str, str]:
    """One line: who, which tags meet in which direction, where, which languages."""
    parts = []
    if s.gives:
        parts.append(ctx._(N_("offers what you need: %(tags)s"), tags=", ".join(s.gives)))
    if s.takes:
        parts.append(ctx._(N_("needs what you offer: %(tags)s"), tags=", ".join(s.takes)))
    spec = ctx.deps.config.network.location_by_key.get(s.location or "")
    if spec is not None:
        parts.append(f"{spec.name} ({spec.country})")
    if s.shared_languages:
        parts.append(ctx._(N_("you both read %(languages)s"), languages=", ".join(
            language_name(c, ctx.locale) for c in s.shared_languages)))
    else:
        parts.append(ctx._(N_("⚠️ no language in common on your profiles")))
    who = pill(s.mxid, s.display_name)
    mark = "⇄ " if s.mutual else ""
    return (f"{mark}{who.text} — " + "; ".join(parts),
            escape(mark) + who.html + " — " + escape("; ".join(parts)))


@command("match", help=N_("Suggest members whose offers meet your needs, or whose needs your "
                          "offers meet — across borders first."))
async def match(ctx: Context, n: int = 5) -> None:
    if not 1 <= n <= MAX_SUGGESTIONS:
        raise BadArgument(N_("Ask for 1 to %(max)d suggestions."), max=MAX_SUGGESTIONS)
    suggestions = await MatchingService(ctx.session, ctx.deps).suggest(ctx.sender, n)
    if not suggestions:
        await ctx.reply(ctx._(N_("Nobody fits yet. More tags in %(offer)s and %(need)s widen the "
                                 "search."), offer=f"{ctx.prefix}offer",
                              need=f"{ctx.prefix}need"))
        return
    title = ctx.ngettext("%(num)d suggestion (⇄ = you fit both ways):",
                         "%(num)d suggestions (⇄ = you fit both ways):", len(suggestions))
    lines = [_explain(ctx, s) for s in suggestions]
    hint = ctx._(N_("Introduce yourselves with %(connect)s."),
                 connect=f"{ctx.prefix}connect @name:server")
    await ctx.reply("\n".join([title, *(t for t, _ in lines), hint]),
                    escape(title) + "<ol>" + "".join(f"<li>{h}</li>" for _, h in lines)
                    + "</ol>" + escape(hint))


@command("find", help=N_("Who offers a tag, grouped by location."))
async def find(ctx: Context, tag: Rest) -> None:
    wanted = normalise_tag(tag)
    grouped = await MatchingService(ctx.session, ctx.deps).find(wanted)
    if not grouped:
        raise UserError(N_("Nobody offers “%(tag)s” yet."), tag=wanted)
    network = ctx.deps.config.network
    text = [ctx._(N_("Who offers “%(tag)s”:"), tag=wanted)]
    html = [escape(text[0]) + "<ul>"]
    order = [*network.location_by_key, None]
    for key in sorted(grouped, key=lambda k: order.index(k) if k in order else len(order)):
        spec = network.location_by_key.get(key or "")
        place = spec.name if spec else ctx._(N_("no location"))
        people = [pill(m.mxid, m.display_name) for m in grouped[key]]
        text.append(f"{place}: " + ", ".join(p.text for p in people))
        html.append(markup("<li><b>%(p)s</b>: ", p=place) + ", ".join(p.html for p in people)
                    + "</li>")
    await ctx.reply("\n".join(text), "".join(html) + "</ul>")


@command("connect", help=N_("Open a private room with another member and introduce you two."))
async def connect(ctx: Context, user: str, note: Rest = "") -> None:
    target = user_argument(ctx, user)
    if target == ctx.sender:
        raise UserError(N_("That is you. Try %(match)s to find someone."),
                        match=f"{ctx.prefix}match")
    members = ctx.services.members
    me = await members.get_or_create(ctx.sender)
    other = await members.get(target)
    if other is None:
        raise UserError(N_("I have not met %(user)s yet, so I cannot introduce you."),
                        user=target)
    if not other.connect_ok:
        raise UserError(N_("%(user)s is not taking introductions at the moment — sorry."),
                        user=other.display_name or target)
    service = ConnectionService(ctx.session, ctx.deps)
    room_id = await service.open_room([me, other], ctx.message.event_id,
                                      f"{me.display_name or me.mxid} & "
                                      f"{other.display_name or other.mxid}")
    await service.introduce(room_id, [me, other], note or None, ctx.next_txn_id())
    service.record(me, other, room_id, note or None, "connect")
    text, html = fill(ctx._(N_("I opened a room for you and %(user)s, with an introduction. "
                               "Look for the invitation.")),
                      user=pill(other.mxid, other.display_name))
    await ctx.reply(text, html)
