"""How strategy processes read in the rooms: phase announcements, proposals (the original
and its mirrored copies), vote reminders, results by section and location, and the
answers of `!strategy`. Every value a member wrote is escaped in HTML."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.dates import event_time
from bot.db.models import Proposal, StrategyProcess
from bot.formatting import escape, fill, text_to_html
from bot.i18n import N_, BoundTranslator
from rooms.topology import NetworkConfig

PHASE_NAMES = {
    "proposals": N_("proposals"),
    "discussion": N_("discussion"),
    "vote": N_("vote"),
    "result": N_("result"),
}
STATUS_NAMES = {
    "open": N_("open"),
    "accepted": N_("accepted"),
    "declined": N_("declined"),
    "merged": N_("merged"),
}
ENDORSE_KEY = "👍"
EXCERPT = 90  # characters of a proposal on a poll answer


def excerpt(text: str, n: int = EXCERPT) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= n else one_line[:n - 1].rstrip() + "…"


def section_name(section: str) -> str:
    return section[:1].upper() + section[1:]


def phase_name(tr: BoundTranslator, phase: str) -> str:
    return tr(PHASE_NAMES.get(phase, phase))


def _until(tr: BoundTranslator, ends: datetime | None, tz: str) -> str:
    if ends is None:
        return ""
    return " " + tr(N_("(until %(when)s)"), when=event_time(ends, tz, tr.locale))


def announcement(tr: BoundTranslator, prefix: str, process: StrategyProcess,
                 ends: datetime | None, tz: str, sections: Sequence[str]) -> tuple[str, str]:
    """A phase begins: what members can do now."""
    head = tr(N_("🧭 Joint strategy #%(id)d “%(title)s”: the %(phase)s phase begins"),
              id=process.id, title=process.title, phase=phase_name(tr, process.phase))
    head += _until(tr, ends, tz) + "."
    names = ", ".join(section_name(s) for s in sections)
    what = {
        "proposals": tr(N_("Propose what should go into it, section by section (%(sections)s): "
                           "%(usage)s. Endorse proposals with %(key)s; reply in a thread to "
                           "discuss them."), sections=names,
                        usage=f"{prefix}propose <section> <text>", key=ENDORSE_KEY),
        "discussion": tr(N_("No new proposals now: discuss them in their threads and endorse "
                            "them with %(key)s. Coordinators answer each one."),
                         key=ENDORSE_KEY),
        "vote": tr(N_("Vote in the polls below, one per section — or with %(usage)s. Only "
                      "your latest vote counts."), usage=f"{prefix}vote {process.id} <number>"),
        "result": tr(N_("The vote is over: the results follow.")),
    }[process.phase]
    text = f"{head}\n{what}"
    return text, f"<p><strong>{escape(head)}</strong></p><p>{escape(what)}</p>"


def proposal(tr: BoundTranslator, network: NetworkConfig, process: StrategyProcess,
             item: Proposal, *, origin: bool) -> tuple[str, str]:
    """The proposal as posted in its location room, or mirrored into another one."""
    place = network.place(item.location) or item.location
    if origin:
        head = tr(N_("💡 Proposal %(number)d for “%(section)s” in strategy #%(id)d:"),
                  number=item.number, section=section_name(item.section), id=process.id)
    else:
        head = tr(N_("💡 Proposal %(number)d for “%(section)s” in strategy #%(id)d, from "
                     "%(place)s:"), number=item.number, section=section_name(item.section),
                  id=process.id, place=place)
    status = ""
    if item.status != "open":
        status = tr(N_("Answer: %(status)s"), status=tr(STATUS_NAMES[item.status]))
        if item.status == "merged" and item.merged_into:
            status += f" → {item.merged_into}"
        if item.reason:
            status += f" — {item.reason}"
    hint = tr(N_("%(key)s to endorse · reply in a thread to discuss"), key=ENDORSE_KEY)
    text = "\n".join(p for p in (head, item.text, status, hint) if p)
    html = (f"<p><strong>{escape(head)}</strong></p><blockquote>{text_to_html(item.text)}"
            "</blockquote>" + (f"<p>{escape(status)}</p>" if status else "")
            + f"<p><em>{escape(hint)}</em></p>")
    return text, html


def poll_question(tr: BoundTranslator, process: StrategyProcess, section: str) -> str:
    return tr(N_("Strategy #%(id)d “%(title)s” — %(section)s: which proposal should go "
                 "into the strategy?"), id=process.id, title=excerpt(process.title, 120),
              section=section_name(section))


def poll_answer(tr: BoundTranslator, network: NetworkConfig, item: Proposal) -> str:
    return tr(N_("%(number)d · %(place)s: %(text)s"), number=item.number,
              place=network.place(item.location) or item.location, text=excerpt(item.text))


def reminder(tr: BoundTranslator, prefix: str, process: StrategyProcess, ends: datetime,
             tz: str) -> tuple[str, str]:
    return fill(tr(N_("🗳 You have not voted yet in strategy #%(id)d “%(title)s”. The vote "
                      "ends %(when)s: vote in the polls in your location room, or with "
                      "%(usage)s.")), id=process.id, title=process.title,
                when=event_time(ends, tz, tr.locale), usage=f"{prefix}vote {process.id} <number>")


def results(tr: BoundTranslator, network: NetworkConfig, process: StrategyProcess,
            tallies: dict[str, list[tuple[Proposal, dict[str, int]]]],
            locations: Sequence[str]) -> tuple[str, str]:
    """The results by section (most votes first) and by location."""
    head = tr(N_("📊 Results of strategy #%(id)d “%(title)s”:"), id=process.id,
              title=process.title)
    texts, htmls = [head], [f"<p><strong>{escape(head)}</strong></p>"]
    for section, rows in tallies.items():
        texts.append(section_name(section))
        items = []
        if not rows:
            none = tr(N_("no proposals went to the vote"))
            texts.append(f"• {none}")
            items.append(f"<li>{escape(none)}</li>")
        for item, by_place in rows:
            total = sum(by_place.values())
            places = ", ".join(f"{network.place(k) or k} {by_place.get(k, 0)}"
                               for k in locations)
            line = tr.ngettext("%(number)d “%(text)s”: %(num)d vote (%(places)s)",
                               "%(number)d “%(text)s”: %(num)d votes (%(places)s)", total,
                               number=item.number, text=excerpt(item.text, 60), places=places)
            texts.append(f"• {line}")
            items.append(f"<li>{escape(line)}</li>")
        htmls.append(f"<p>{escape(section_name(section))}</p><ul>{''.join(items)}</ul>")
    return "\n".join(texts), "".join(htmls)


def end_text(tr: BoundTranslator, section: str, rows: list[tuple[Proposal, dict[str, int]]]
             ) -> str:
    """The poll's closing text (shown by clients as the poll's end)."""
    parts = [f"{item.number}: {sum(by.values())}" for item, by in rows]
    return tr(N_("The vote on %(section)s is over. Votes: %(votes)s."),
              section=section_name(section), votes=", ".join(parts) or "—")


def process_line(tr: BoundTranslator, process: StrategyProcess, proposals: int) -> str:
    return tr.ngettext("#%(id)d “%(title)s” — %(phase)s, %(num)d proposal",
                       "#%(id)d “%(title)s” — %(phase)s, %(num)d proposals", proposals,
                       id=process.id, title=process.title, phase=phase_name(tr, process.phase))
