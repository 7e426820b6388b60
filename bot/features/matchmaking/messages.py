"""How matchmaking reads: `!match` suggestions and why each fits, `!find`'s list, the
introduction in a new room, and the "did you meet?" question of a round."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.db.models import Member
from bot.features.matchmaking.matching import Fit, Offered, Suggestion
from bot.formatting import Rich, escape, fill, markup, pill
from bot.i18n import N_, language_name

if TYPE_CHECKING:
    from bot.i18n import BoundTranslator
    from rooms.topology import NetworkConfig

YES, NO = "✅", "❌"


def _place(network: NetworkConfig, key: str | None) -> str | None:
    """A configured location as "Szczecin (PL)"; None for none, or one no longer there."""
    return network.place(key) if key in network.location_by_key else None


def suggestion_line(tr: BoundTranslator, s: Suggestion, network: NetworkConfig
                    ) -> tuple[str, str]:
    """One line: who, which tags meet in which direction, where, which languages."""
    parts = []
    if s.gives:
        parts.append(tr(N_("offers what you need: %(tags)s"), tags=", ".join(s.gives)))
    if s.takes:
        parts.append(tr(N_("needs what you offer: %(tags)s"), tags=", ".join(s.takes)))
    place = _place(network, s.location)
    if place is not None:
        parts.append(place)
    if s.shared_languages:
        parts.append(tr(N_("you both read %(languages)s"), languages=", ".join(
            language_name(c, tr.locale) for c in s.shared_languages)))
    else:
        parts.append(tr(N_("⚠️ no language in common on your profiles")))
    who = pill(s.mxid, s.display_name)
    mark = "⇄ " if s.mutual else ""
    return (f"{mark}{who.text} — " + "; ".join(parts),
            escape(mark) + who.html + " — " + escape("; ".join(parts)))


def suggestions(tr: BoundTranslator, found: Sequence[Suggestion], network: NetworkConfig,
                prefix: str) -> tuple[str, str]:
    """The answer to `!match`: the suggestions in order, or what widens the search."""
    if not found:
        text = tr(N_("Nobody fits yet. More tags in %(offer)s and %(need)s widen the search."),
                  offer=f"{prefix}offer", need=f"{prefix}need")
        return text, escape(text)
    title = tr.ngettext("%(num)d suggestion (⇄ = you fit both ways):",
                        "%(num)d suggestions (⇄ = you fit both ways):", len(found))
    lines = [suggestion_line(tr, s, network) for s in found]
    hint = tr(N_("Introduce yourselves with %(connect)s."), connect=f"{prefix}connect @name:server")
    return ("\n".join([title, *(t for t, _ in lines), hint]),
            escape(title) + "<ol>" + "".join(f"<li>{h}</li>" for _, h in lines) + "</ol>"
            + escape(hint))


def offered(tr: BoundTranslator, found: Offered, network: NetworkConfig) -> tuple[str, str]:
    """The answer to `!find`: who offers the tag, by location in the configured order."""
    text = [tr(N_("Who offers “%(tag)s”:"), tag=found.tag)]
    html = [escape(text[0]) + "<ul>"]
    order = [*network.location_by_key, None]
    for key in sorted(found.by_location,
                      key=lambda k: order.index(k) if k in order else len(order)):
        spec = network.location_by_key.get(key or "")
        place = spec.name if spec else tr(N_("no location"))
        people = [pill(m.mxid, m.display_name) for m in found.by_location[key]]
        text.append(f"{place}: " + ", ".join(p.text for p in people))
        html.append(markup("<li><b>%(p)s</b>: ", p=place) + ", ".join(p.html for p in people)
                    + "</li>")
    return "\n".join(text), "".join(html) + "</ul>"


def fit_lines(tr: BoundTranslator, a: Member, b: Member, fit: Fit, network: NetworkConfig
              ) -> list[tuple[str, str]]:
    """Lines (text, html) saying why a and b fit."""
    lines: list[tuple[str, str]] = []
    pa, pb = pill(a.mxid, a.display_name), pill(b.mxid, b.display_name)
    gives = tr(N_("%(giver)s offers %(tags)s, which %(taker)s needs."))
    if fit.a_gives:
        lines.append(fill(gives, giver=pa, taker=pb, tags=", ".join(fit.a_gives)))
    if fit.b_gives:
        lines.append(fill(gives, giver=pb, taker=pa, tags=", ".join(fit.b_gives)))
    first, second = _place(network, a.location), _place(network, b.location)
    if first is not None and second is not None:
        lines.append(fill(tr(N_("From %(first)s and %(second)s.")), first=first, second=second))
    if fit.shared_languages:
        names = ", ".join(language_name(c, tr.locale) for c in fit.shared_languages)
        lines.append(fill(tr(N_("You both read: %(languages)s.")), languages=names))
    return lines


def introduction(tr: BoundTranslator, members: Sequence[Member],
                 fits: Sequence[tuple[Member, Member, Fit]], note: str | None,
                 network: NetworkConfig, prefix: str) -> tuple[str, str]:
    """The first message in a room the bot opened for two (or three) members: who they are,
    why they fit, the note of whoever asked, and what to do next."""
    parts = [fill(tr(N_("Meet each other: %(names)s!")), names=_names(members))]
    for a, b, fit in fits:
        parts += fit_lines(tr, a, b, fit, network)
    if note:
        parts.append(fill(tr(N_("A note from %(who)s: %(note)s")),
                          who=pill(members[0].mxid, members[0].display_name), note=note))
    parts.append(fill(tr(N_("Say hello and find a time to talk. When you start working "
                            "together, record it with %(collab)s.")),
                      collab=f"{prefix}collab add"))
    return "\n".join(t for t, _ in parts), "<br>".join(h for _, h in parts)


def did_you_meet(tr: BoundTranslator) -> tuple[str, str]:
    """A round's follow-up, a week after the introduction."""
    return fill(tr(N_("A week ago you were introduced here. Did you meet? React with %(yes)s "
                      "or %(no)s.")), yes=YES, no=NO)


def _names(members: Sequence[Member]) -> Rich:
    pills = [pill(m.mxid, m.display_name) for m in members]
    return Rich(" & ".join(p.text for p in pills), " &amp; ".join(p.html for p in pills))
