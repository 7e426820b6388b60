"""Forums and events: announcements in the location's timezone, RSVPs (by command or by
reaction) with a waiting list, reminders sent exactly once, and calendar files and feeds."""

from __future__ import annotations

from bot.config import SectionSpec
from bot.feature import Feature, Wiring
from bot.features.forums import web
from bot.features.forums.config import parse_forums
from bot.features.forums.listeners import ForumReactions
from bot.features.forums.reminders import ReminderSender
from bot.features.forums.service import ForumService


def setup(wiring: Wiring) -> None:
    deps = wiring.deps
    reminders = ReminderSender(deps)
    wiring.service("forums", lambda session: ForumService(session, deps))
    wiring.service("reminders", lambda _session: reminders)
    wiring.listen(ForumReactions(deps, reminders).on_event)
    wiring.on_start(reminders.catch_up)
    wiring.routes(web.setup)


FEATURE = Feature("forums", setup, config=(SectionSpec("forums", parse_forums),))
