"""How relays read: the shared post and the announcement as each room gets them, and the
answer to whoever relayed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.formatting import Rich, fill
from bot.i18n import N_, BoundTranslator

if TYPE_CHECKING:
    from rooms.network import KnownRoom


def shared(tr: BoundTranslator, who: Rich, place: str, text: str) -> tuple[str, str]:
    return fill(tr(N_("📣 %(who)s from %(place)s shares: %(text)s")), who=who, place=place,
                text=text)


def announcement(tr: BoundTranslator, body: str) -> tuple[str, str]:
    return fill("%(title)s\n%(body)s", title=tr(N_("📢 Announcement from the coordinators")),
                body=body)


def outcome(tr: BoundTranslator, done: str, failed: Sequence[KnownRoom]) -> str:
    """What was done, and the rooms that refused, if any."""
    if not failed:
        return done
    return done + " " + tr(N_("I could not post in: %(rooms)s."),
                           rooms=", ".join(r.spec.name for r in failed))


def shared_to(tr: BoundTranslator, reached: Sequence[KnownRoom],
              failed: Sequence[KnownRoom]) -> str:
    return outcome(tr, tr(N_("Shared to: %(rooms)s."),
                          rooms=", ".join(r.spec.name for r in reached)), failed)


def announced(tr: BoundTranslator, reached: Sequence[KnownRoom],
              failed: Sequence[KnownRoom]) -> str:
    done = tr.ngettext("Announced in %(num)d room.", "Announced in %(num)d rooms.",
                       len(reached))
    return outcome(tr, done, failed)
