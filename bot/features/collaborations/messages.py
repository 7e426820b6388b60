"""How collaborations read: the names of their statuses (shown by `!collab`, the digest
and the showcase alike), a collaboration's card, lists of them, the notice asking the named
members to confirm, and the answers of `!collab`. Everything is written for one reader,
through their bound translator; every piece of member text that goes into HTML is escaped
here. A member who asked to be forgotten reads as "a former member", never as the stand-in
name that took their place."""

from __future__ import annotations

from typing import TYPE_CHECKING

from babel import Locale
from babel.dates import format_datetime

from bot.features.collaborations.service import (
    CONFIRM,
    CREATED,
    LEFT,
    NOTE,
    STATUS,
    STATUSES,
    Card,
    Confirmation,
    Departure,
    Listing,
    StatusChange,
)
from bot.formatting import Rich, escape, fill, markup, pill, text_to_html
from bot.i18n import N_
from bot.members import is_former

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from bot.db.models import Collaboration, CollaborationEvent, CollaborationMember
    from bot.i18n import BoundTranslator
    from rooms.topology import NetworkConfig

STATUS_LABELS = {
    "planned": N_("planned"),
    "active": N_("active"),
    "done": N_("done"),
    "dropped": N_("dropped"),
}

Reply = tuple[str, str]  # plain text and HTML

FORMER_MEMBER = N_("a former member")
UNTIL_CONFIRMED = N_("Until everyone named has confirmed, only its members see it.")


def status_label(tr: BoundTranslator, status: str) -> str:
    """A status in the reader's language (an unknown one as it is stored)."""
    label = STATUS_LABELS.get(status)
    return tr(label) if label else status


def forms(prefix: str) -> str:
    """Every form of `!collab`, on one line."""
    base = f"{prefix}collab"
    return "; ".join((
        f"{base} add <title> with @name:server … [#topic]",
        f"{base} list [@user|location]",
        f"{base} show <id>",
        f"{base} status <id> {'|'.join(STATUSES)}",
        f"{base} note <id> <text>",
        f"{base} confirm <id>",
        f"{base} leave <id>",
    ))


def origin(tr: BoundTranslator, collab: Collaboration) -> str:
    if collab.origin == "connection":
        return tr(N_("from connection #%(id)d"), id=collab.origin_id or 0)
    if collab.origin == "round":
        return tr(N_("from matchmaking round #%(id)d"), id=collab.origin_id or 0)
    return tr(N_("recorded directly"))


def countries(tr: BoundTranslator, network: NetworkConfig,
              members: list[CollaborationMember]) -> list[str]:
    """The countries of the members' locations, named in the reader's language."""
    codes = sorted({network.country(m.location) or "" for m in members} - {""})
    names = Locale.parse(tr.locale).territories
    return [names.get(code, code) for code in codes]


def pills(tr: BoundTranslator, names: dict[str, str], mxids: list[str]) -> dict[str, Rich]:
    """Mentions of these members, with the display names the bot knows; a member who was
    forgotten is "a former member" (no link, no stand-in name)."""
    former = tr(FORMER_MEMBER)
    return {m: Rich(former, escape(former)) if is_former(m) else pill(m, names.get(m))
            for m in mxids}


def _joined(people: list[Rich]) -> Rich:
    return Rich(", ".join(p.text for p in people), ", ".join(p.html for p in people))


def unconfirmed(members: list[CollaborationMember]) -> list[str]:
    """Who of these members has not confirmed yet."""
    return [m.mxid for m in members if m.confirmed_at is None]


def card(tr: BoundTranslator, network: NetworkConfig, shown: Card) -> Reply:
    """A collaboration: its facts, members and (when the card has it) history."""
    collab, members, history = shown.collaboration, shown.members, shown.history
    head = f"#{collab.id} {collab.title}"
    text = [head]
    html = [markup("<b>%(head)s</b>", head=head)]

    def line(label: str, value: str) -> None:
        text.append(f"{tr(label)} {value}")
        html.append(markup("<b>%(label)s</b> %(value)s", label=tr(label), value=value))

    line(N_("Status:"), status_label(tr, collab.status))
    line(N_("Origin:"), origin(tr, collab))
    if collab.topic:
        topic = next((t.name for t in network.topics if t.key == collab.topic), collab.topic)
        line(N_("Topic:"), topic)
    if collab.cross_border:
        line(N_("Across borders:"), ", ".join(countries(tr, network, members)))

    names = pills(tr, shown.names, [m.mxid for m in members]
                  + ([e.by for e in history.items] if history else []))
    who_text, who_html = [], []
    for m in members:
        where = f" ({network.place(m.location, tr.locale)})" if m.location else ""
        who_text.append(names[m.mxid].text + where)
        who_html.append(names[m.mxid].html + escape(where))
    label = tr(N_("Members:"))
    text.append(f"{label} {', '.join(who_text)}")
    html.append(f"<b>{escape(label)}</b> {', '.join(who_html)}")
    waiting = _joined([names[m] for m in unconfirmed(members)])
    if waiting.text:
        label = tr(N_("Not confirmed yet by:"))
        text.append(f"{label} {waiting.text}")
        html.append(f"<b>{escape(label)}</b> {waiting.html}")

    if history is not None:
        label = tr(N_("History:"))
        text.append(label)
        items = []
        if history.more:
            earlier = tr.ngettext("%(num)d earlier entry is not shown.",
                                  "%(num)d earlier entries are not shown.", history.more)
            text.append(f"• {earlier}")
            items.append(f"<li><i>{escape(earlier)}</i></li>")
        for event in history.items:
            t, h = event_line(tr, event, names[event.by], shown.timezone)
            text.append(f"• {t}")
            items.append(f"<li>{h}</li>")
        html.append(f"<b>{escape(label)}</b><ul>" + "".join(items) + "</ul>")
    return "\n".join(text), "<br>".join(html)


def event_line(tr: BoundTranslator, event: CollaborationEvent, who: Rich,
               tz: ZoneInfo) -> Reply:
    """One entry of a collaboration's history."""
    when = format_datetime(event.at, "short", tzinfo=tz, locale=tr.locale)
    if event.kind == CREATED:
        return fill(tr(N_("%(when)s — %(who)s recorded it")), when=when, who=who)
    if event.kind == STATUS:
        return fill(tr(N_("%(when)s — %(who)s set the status to %(status)s")), when=when,
                    who=who, status=status_label(tr, event.status or ""))
    if event.kind == NOTE:
        return fill(tr(N_("%(when)s — %(who)s: %(note)s")), when=when, who=who,
                    note=event.text or "")
    if event.kind == CONFIRM:
        return fill(tr(N_("%(when)s — %(who)s confirmed taking part")), when=when, who=who)
    if event.kind == LEFT:
        return fill(tr(N_("%(when)s — %(who)s left")), when=when, who=who)
    return fill("%(when)s — %(who)s: %(kind)s", when=when, who=who, kind=event.kind)


def listing(tr: BoundTranslator, header: Reply, found: Listing) -> Reply:
    """A header, then one line per collaboration: number, title, status and members."""
    names = pills(tr, found.names,
                  sorted({m.mxid for ms in found.members.values() for m in ms}))
    text, items = [header[0]], []
    for c in found.items:
        people = [names[m.mxid] for m in found.members[c.id]]
        status = status_label(tr, c.status)
        if unconfirmed(found.members[c.id]):
            status = tr(N_("%(status)s, not confirmed yet"), status=status)
        text.append(f"• #{c.id} {c.title} ({status}) — " + ", ".join(p.text for p in people))
        items.append(markup("<li><b>#%(id)s %(title)s</b> (%(status)s) — ", id=c.id,
                            title=c.title, status=status)
                     + ", ".join(p.html for p in people) + "</li>")
    if found.more:
        more = tr.ngettext("and %(num)d more", "and %(num)d more", found.more)
        text.append(more)
        items.append(f"<li><i>{escape(more)}</i></li>")
    return "\n".join(text), header[1] + "<ul>" + "".join(items) + "</ul>"


def _plain(text: str) -> Reply:
    return text, text_to_html(text)


# -- the answers of !collab ------------------------------------------------------------


def added(tr: BoundTranslator, network: NetworkConfig, prefix: str, new: Card, *,
          asking: bool = True) -> Reply:
    """The answer to `!collab add`; `asking`: the request notice follows in this room (not
    in a direct chat, where nobody else would read it)."""
    collab = new.collaboration
    done = tr(N_("Collaboration #%(id)d is recorded. Change its status with %(status)s, "
                 "add a note with %(note)s."), id=collab.id,
              status=f"{prefix}collab status {collab.id} active",
              note=f"{prefix}collab note {collab.id} <text>")
    if unconfirmed(new.members):
        if asking:
            ask = tr(N_("I am asking the others named to confirm it."))
        else:
            ask = tr(N_("Nobody else reads this chat: ask the others named to confirm it "
                        "with %(confirm)s, or record it in a room of the network they are "
                        "in, where I ask them."), confirm=f"{prefix}collab confirm {collab.id}")
        done += f" {ask} {tr(UNTIL_CONFIRMED)}"
    t, h = card(tr, network, new)
    return f"{done}\n{t}", f"{escape(done)}<br>{h}"


def own_list(tr: BoundTranslator, prefix: str, found: Listing) -> Reply:
    """The reader's own collaborations."""
    if not found.total:
        return _plain(tr(N_("You have no collaborations yet. Record one with %(usage)s."),
                         usage=f"{prefix}collab add <title> with @name:server"))
    header = fill(tr.ngettext_template("You have %(num)d collaboration:",
                                       "You have %(num)d collaborations:", found.total),
                  num=found.total)
    return listing(tr, header, found)


def member_list(tr: BoundTranslator, mxid: str, found: Listing) -> Reply:
    """Another member's collaborations (those the reader may see)."""
    who = pills(tr, found.names, [mxid])[mxid]
    if not found.total:
        return fill(tr(N_("%(user)s has no collaborations yet.")), user=who)
    header = fill(tr.ngettext_template("%(user)s has %(num)d collaboration:",
                                       "%(user)s has %(num)d collaborations:", found.total),
                  num=found.total, user=who)
    return listing(tr, header, found)


def location_list(tr: BoundTranslator, network: NetworkConfig, key: str,
                  found: Listing) -> Reply:
    """The collaborations with members from a location."""
    where = network.place(key, tr.locale)
    if not found.total:
        return _plain(tr(N_("No collaborations with members from %(location)s yet."),
                         location=where))
    header = fill(tr.ngettext_template(
        "%(num)d collaboration with members from %(location)s:",
        "%(num)d collaborations with members from %(location)s:", found.total),
        num=found.total, location=where)
    return listing(tr, header, found)


def status_changed(tr: BoundTranslator, change: StatusChange) -> Reply:
    collab = change.collaboration
    return fill(tr(N_("Collaboration #%(id)d “%(title)s” is now %(status)s (it was "
                      "%(old)s).")), id=collab.id, title=collab.title,
                status=status_label(tr, collab.status), old=status_label(tr, change.old))


def note_added(tr: BoundTranslator, collab: Collaboration) -> Reply:
    return fill(tr(N_("Your note is added to collaboration #%(id)d “%(title)s”.")),
                id=collab.id, title=collab.title)


def request(tr: BoundTranslator, prefix: str, collab: Collaboration, pending: list[str],
            names: dict[str, str]) -> Reply:
    """The notice asking the members who have not confirmed yet (mentioned) to confirm."""
    people = pills(tr, names, [collab.created_by, *pending])
    text, html = fill(tr(N_("%(members)s: %(who)s recorded collaboration #%(id)d "
                            "“%(title)s” with you. If that is right, confirm with ✅ on this "
                            "message or with %(confirm)s; if not, leave it with %(leave)s.")),
                      members=_joined([people[m] for m in pending]),
                      who=people[collab.created_by], id=collab.id, title=collab.title,
                      confirm=f"{prefix}collab confirm {collab.id}",
                      leave=f"{prefix}collab leave {collab.id}")
    until = tr(UNTIL_CONFIRMED)
    return f"{text} {until}", f"{html} {escape(until)}"


def confirmed(tr: BoundTranslator, names: dict[str, str], done: Confirmation) -> Reply:
    collab = done.collaboration
    if done.already:
        first = tr(N_("You had already confirmed collaboration #%(id)d “%(title)s”."),
                   id=collab.id, title=collab.title)
    else:
        first = tr(N_("You confirmed collaboration #%(id)d “%(title)s”."), id=collab.id,
                   title=collab.title)
    if not done.pending:
        rest = _plain(tr(N_("Everyone named in it has confirmed: the network can see it "
                            "now.")))
    else:
        waiting = pills(tr, names, done.pending)
        rest = fill(tr(N_("Still to confirm: %(members)s. %(until)s")),
                    members=_joined([waiting[m] for m in done.pending]),
                    until=tr(UNTIL_CONFIRMED))
    return f"{first} {rest[0]}", f"{escape(first)} {rest[1]}"


def left(tr: BoundTranslator, gone: Departure) -> Reply:
    if gone.remaining:
        return _plain(tr(N_("You have left collaboration #%(id)d “%(title)s”: your name is "
                            "no longer on it."), id=gone.id, title=gone.title))
    return _plain(tr(N_("You have left collaboration #%(id)d “%(title)s”. Nobody is left in "
                        "it, so it is deleted."), id=gone.id, title=gone.title))
