"""How the forums read: announcements (with ✅ 🤔 ❌ to react with), notices to those who
answered when an event changes or is cancelled, news for whoever leaves the waiting list,
reminders, and the lists and cards the commands answer with.

Each text is written through a translator bound to its reader's language (chosen with
`rooms.settings.Locales` by whoever sends it); dates are in the event's timezone unless the
reader set one of their own.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from bot.dates import event_time, relative
from bot.formatting import Rich, escape, fill, markup, pill
from bot.i18n import N_, BoundTranslator

if TYPE_CHECKING:
    from bot.db.models import ForumEvent
    from bot.features.forums.views import Agenda, Attendees, Details
    from rooms.topology import NetworkConfig

PROMOTED = N_("🎉 %(who)s: a place opened up — you are now on the list for “%(title)s” "
              "(%(date)s).")
CHANGED = N_("✏️ %(who)s: “%(title)s” has changed — it is now on %(date)s.")
CANCELLED = N_("❌ %(who)s: “%(title)s” (%(date)s) is cancelled.")
ANSWER_LABELS = {"yes": N_("yes"), "maybe": N_("maybe"), "no": N_("no")}


class ForumMessages:
    """The forums' texts for one network; `prefix` starts the commands they suggest."""

    def __init__(self, network: NetworkConfig, prefix: str) -> None:
        self.network = network
        self.prefix = prefix

    # -- pieces ----------------------------------------------------------------------------

    def place(self, event: ForumEvent) -> str:
        """"Szczecin (PL)", with the online link when there is one."""
        place = self.network.place(event.location)
        return place + (f" + online: {event.online_url}" if event.online_url else "")

    def place_name(self, event: ForumEvent) -> str:
        """The location's name alone ("Szczecin"), as reminders give it."""
        spec = self.network.location_by_key.get(event.location)
        return spec.name if spec else event.location

    def rsvp_usage(self, event: ForumEvent, answers: str = "yes|maybe|no") -> str:
        return f"{self.prefix}rsvp {event.id} {answers}"

    # -- notices ---------------------------------------------------------------------------

    def announcement(self, tr: BoundTranslator, event: ForumEvent) -> tuple[str, str]:
        """The post in a room that announces the event and asks for answers."""
        template = tr(N_("📅 %(title)s — %(date)s, %(place)s. React %(yes)s if you come, "
                         "%(maybe)s for maybe, %(no)s if you can't — or send %(rsvp)s."))
        text, html = fill(template, title=event.title,
                          date=event_time(event.starts_at, event.timezone, tr.locale),
                          place=self.place(event), yes="✅", maybe="🤔", no="❌",
                          rsvp=self.rsvp_usage(event))
        if event.capacity is not None:
            extra = tr.ngettext("%(num)d place.", "%(num)d places.", event.capacity)
            text, html = f"{text} {extra}", f"{html} {escape(extra)}"
        return text, html

    def notice(self, tr: BoundTranslator, msgid: str, event: ForumEvent,
               who: Sequence[Rich]) -> tuple[str, str]:
        """`msgid` (PROMOTED, CHANGED or CANCELLED; placeholders who, title, date) for the
        members mentioned in `who`."""
        people = Rich(", ".join(p.text for p in who), ", ".join(p.html for p in who))
        return fill(tr(msgid), who=people, title=event.title,
                    date=event_time(event.starts_at, event.timezone, tr.locale))

    def member_reminder(self, tr: BoundTranslator, event: ForumEvent, who: Rich,
                        timezone: str, now: datetime) -> tuple[str, str]:
        """A reminder for one member who answered, the time in `timezone`."""
        template = tr(N_("⏰ %(who)s, a reminder: “%(title)s” is %(when)s — %(date)s, "
                         "%(place)s."))
        return fill(template, who=who, title=event.title,
                    when=relative(event.starts_at, now, tr.locale),
                    date=event_time(event.starts_at, timezone, tr.locale),
                    place=self.place_name(event))

    def room_reminder(self, tr: BoundTranslator, event: ForumEvent,
                      now: datetime) -> tuple[str, str]:
        """A reminder in the location's room, inviting answers."""
        template = tr(N_("⏰ Coming up: “%(title)s” is %(when)s — %(date)s, %(place)s. Answer "
                         "with %(rsvp)s."))
        return fill(template, title=event.title, when=relative(event.starts_at, now, tr.locale),
                    date=event_time(event.starts_at, event.timezone, tr.locale),
                    place=self.place_name(event), rsvp=self.rsvp_usage(event, "yes"))

    # -- answers to commands ---------------------------------------------------------------

    def agenda(self, tr: BoundTranslator, agenda: Agenda) -> tuple[str, str]:
        """The upcoming events, one line each, in the reader's timezone."""
        if not agenda.events:
            empty = tr(N_("No events are planned yet."))
            return empty, escape(empty)
        lines, items = [], []
        for event in agenda.events:
            when = event_time(event.starts_at, agenda.timezone or event.timezone, tr.locale)
            soon = relative(event.starts_at, agenda.now, tr.locale)
            place = self.place(event)
            lines.append(f"#{event.id} {event.title} — {when} — {soon} — {place}")
            items.append(markup("<li><b>#%(id)s %(t)s</b> — %(w)s — %(s)s — %(p)s</li>",
                                id=event.id, t=event.title, w=when, s=soon, p=place))
        title = tr(N_("Upcoming events:"))
        return ("\n".join([title, *lines]),
                escape(title) + "<ul>" + "".join(items) + "</ul>")

    def details(self, tr: BoundTranslator, details: Details) -> str:
        """One event: when, where, its answers and places, and how to answer."""
        event, counts = details.event, details.counts
        tz = details.timezone or event.timezone
        lines = [f"#{event.id} {event.title}",
                 f"{event_time(event.starts_at, tz, tr.locale)} — "
                 f"{relative(event.starts_at, details.now, tr.locale)}",
                 self.place(event)]
        if event.status == "cancelled":
            lines.append(tr(N_("This event is cancelled.")))
        lines.append(tr(N_("Yes: %(yes)d · maybe: %(maybe)d · no: %(no)d"), yes=counts.yes,
                        maybe=counts.maybe, no=counts.no))
        if event.capacity is not None:
            lines.append(tr(N_("Places: %(taken)d of %(capacity)d; waiting: %(waiting)d"),
                            taken=counts.yes, capacity=event.capacity, waiting=counts.waiting))
        lines.append(tr(N_("Answer with %(usage)s."), usage=self.rsvp_usage(event)))
        return "\n".join(lines)

    def attendees(self, tr: BoundTranslator, attendees: Attendees) -> tuple[str, str]:
        """Who comes, counted by their location, then who said yes, maybe or waits."""
        rows = attendees.rows
        coming = [(r, m) for r, m in rows if r.answer == "yes" and not r.waitlisted]
        by_place = Counter((m.location if m else None) for _, m in coming)
        lines = [tr(N_("“%(title)s”: %(yes)d coming."), title=attendees.event.title,
                    yes=len(coming))]
        for key, n in sorted(by_place.items(), key=lambda kv: (-kv[1], kv[0] or "")):
            spec = self.network.location_by_key.get(key or "")
            lines.append(f"{spec.name if spec else tr(N_('no location'))}: {n}")
        html_lines = [escape(line) for line in lines]
        for label, group in ((N_("Yes"), coming),
                             (N_("Maybe"), [(r, m) for r, m in rows if r.answer == "maybe"]),
                             (N_("Waiting list"), [(r, m) for r, m in rows if r.waitlisted])):
            if group:
                people = [pill(r.mxid, m.display_name if m else None) for r, m in group]
                lines.append(f"{tr(label)}: " + ", ".join(p.text for p in people))
                html_lines.append(escape(tr(label)) + ": " + ", ".join(p.html for p in people))
        return "\n".join(lines), "<br>".join(html_lines)
