"""How privacy answers read: the summary of an export, what `!forget-me` will erase, and
`!privacy` — what is stored, why, for how long, and who sees it."""

from __future__ import annotations

from collections.abc import Sequence

from bot.config_reader import Duration
from bot.feature import PersonalData
from bot.features.privacy.service import Export
from bot.formatting import escape
from bot.i18n import N_, BoundTranslator


def export_summary(tr: BoundTranslator, parts: Sequence[PersonalData],
                   export: Export) -> tuple[str, str]:
    """A short readable summary of what the JSON file holds."""
    title = tr(N_("Everything the network holds about you is in this file (JSON). In short:"))
    lines = [f"{tr(part.what)}: {export.counts.get(part.name, 0)}" for part in parts
             if export.counts.get(part.name)]
    if not lines:
        lines = [tr(N_("nothing at all yet."))]
    return ("\n".join([title, *(f"• {line}" for line in lines)]),
            escape(title) + "<ul>" + "".join(f"<li>{escape(line)}</li>" for line in lines)
            + "</ul>")


def forget_me_plan(tr: BoundTranslator, parts: Sequence[PersonalData],
                   usage: str) -> tuple[str, str]:
    """What `!forget-me confirm` will erase, and that it cannot be undone."""
    head = tr(N_("This erases everything the network holds about you:"))
    tail = tr(N_("Collaborations you are part of keep existing for the others, without your "
                 "name; the cards about you that I posted are removed. This cannot be undone. "
                 "If you are sure, send %(usage)s."), usage=usage)
    lines = [tr(part.what) for part in parts]
    return ("\n".join([head, *(f"• {line}" for line in lines), tail]),
            escape(head) + "<ul>" + "".join(f"<li>{escape(line)}</li>" for line in lines)
            + "</ul>" + escape(tail))


def privacy_notice(tr: BoundTranslator, retention: dict[str, Duration | None]
                   ) -> tuple[str, str]:
    """What is stored, why, for how long and who sees it."""
    def days(key: str) -> str:
        kept = retention.get(key)
        return kept.text if kept is not None else tr(N_("as long as it is needed"))

    paragraphs = [
        tr(N_("What I store: what you tell me for your profile (organisation, location, "
              "languages, timezone, bio, what you offer and need), which network rooms you "
              "are in, your introductions, connections, matchmaking rounds and their "
              "answers, collaborations, event answers and shares, and your choices "
              "(language, matches, rounds, showcase).")),
        tr(N_("Why: to connect the creative actors of the network across borders — to "
              "introduce you, suggest matches, plan events and report what the network "
              "achieves. Nothing is sold or given to anyone outside the network.")),
        tr(N_("Who sees it: members of the network see the profile cards (including needs, "
              "bio, languages and timezone) and who offers what; coordinators also see who "
              "is in which room and who comes to events. People outside the network see "
              "nothing, except the public showcase if you switch it on: your name, "
              "organisation, location and offers, and collaborations all of whose members "
              "agreed.")),
        tr(N_("For how long: your profile and records until you erase them with %(forget)s; "
              "room membership history for %(memberships)s, shares for %(shares)s, the "
              "e-mail addresses of advisory requests for %(emails)s after the request is "
              "closed."), forget="!forget-me", memberships=days("memberships"),
           shares=days("shares"), emails=days("advice_emails")),
        tr(N_("Your rights: %(mydata)s sends you everything stored about you as a file, "
              "%(forget)s erases it; %(consent)s says what is shown in public."),
           mydata="!mydata", forget="!forget-me", consent="!consent"),
    ]
    return "\n\n".join(paragraphs), "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
