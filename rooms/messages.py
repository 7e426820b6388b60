"""How the network's answers read: what provisioning did, the list of rooms with their
links, and how many members each room has."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from bot.formatting import Rich, escape, fill, markup, pill
from bot.i18n import N_, BoundTranslator
from rooms.network import Headcount, KnownRoom, matrix_to
from rooms.provisioning import Outcome

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


def provision_report(tr: BoundTranslator, outcomes: Sequence[Outcome]) -> tuple[str, str]:
    """A summary of the counts, then one line per room."""
    counts = Counter(o.action for o in outcomes)
    summary = tr(N_("Provisioning finished: %(created)d created, %(adopted)d adopted, "
                    "%(updated)d updated, %(unchanged)d unchanged, %(failed)d failed."),
                 **{a: counts.get(a, 0) for a in ACTIONS})
    lines, items = [summary], []
    for o in outcomes:
        action = tr(ACTIONS[o.action])
        detail = f" ({', '.join(o.changes)})" if o.changes else ""
        if o.error:
            detail += f" — {o.error}"
        lines.append(f"{o.spec.name}: {action}{detail}")
        items.append(markup("<li>%(n)s: <b>%(a)s</b>%(d)s</li>", n=o.spec.name, a=action,
                            d=detail))
    return "\n".join(lines), escape(summary) + "<ul>" + "".join(items) + "</ul>"


def _link(room: KnownRoom, server_name: str) -> Rich:
    url = matrix_to(room.room_id, room.alias, server_name)
    return Rich(f"{room.spec.name} — {url}",
                markup('<a href="%(u)s">%(n)s</a>', u=url, n=room.spec.name))


def room_list(tr: BoundTranslator, known: Sequence[KnownRoom], server_name: str
              ) -> tuple[str, str]:
    """The Space, then the rooms grouped by kind, each with a link to join it."""
    text_lines, html = [], []
    space = next((r for r in known if r.spec.kind == "space"), None)
    if space is not None:
        t, h = fill(tr(N_("The Space: %(link)s")), link=_link(space, server_name))
        text_lines.append(t)
        html.append(h)
    _by_kind(tr, [(r.spec.kind, _link(r, server_name)) for r in known], text_lines, html,
             gap="\n")
    return "\n".join(text_lines), "".join(html)


def _headcount(tr: BoundTranslator, entry: Headcount) -> Rich:
    name = entry.room.spec.name
    count = tr.ngettext("%(num)d member", "%(num)d members", entry.count)
    text, html = f"{name}: {count}", markup("<b>%(r)s</b>: %(c)s", r=name, c=count)
    if entry.present:
        people = [pill(m) for m in entry.present[:NAMES_LISTED]]
        text += " — " + ", ".join(p.text for p in people)
        html += " — " + ", ".join(p.html for p in people)
        if len(entry.present) > NAMES_LISTED:
            more = tr.ngettext("and %(num)d more", "and %(num)d more",
                               len(entry.present) - NAMES_LISTED)
            text += f" {more}"
            html += f" {escape(more)}"
    return Rich(text, html)


def headcounts(tr: BoundTranslator, entries: Sequence[Headcount]) -> tuple[str, str]:
    """The rooms grouped by kind, each with its number of members (and who, when given)."""
    text_lines: list[str] = []
    html: list[str] = []
    _by_kind(tr, [(e.room.spec.kind, _headcount(tr, e)) for e in entries], text_lines, html)
    return "\n".join(text_lines), "".join(html)


def _by_kind(tr: BoundTranslator, lines: Sequence[tuple[str, Rich]], text: list[str],
             html: list[str], gap: str = "") -> None:
    """Lines under a heading per kind of room (locations, topics, …), appended to `text`
    and `html`; `gap` goes before each heading of the plain text."""
    for kind, title in SECTIONS:
        group = [line for k, line in lines if k == kind]
        if not group:
            continue
        heading = tr(title)
        text.append(f"{gap}{heading}:")
        text.extend(f"• {line.text}" for line in group)
        html.append(f"<h4>{escape(heading)}</h4><ul>"
                    + "".join(f"<li>{line.html}</li>" for line in group) + "</ul>")
