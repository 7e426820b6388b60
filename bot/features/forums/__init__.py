"""Forums and events: announcements in the location's timezone, RSVPs (by command or by
reaction) with a waiting list, reminders sent exactly once, and calendar files and feeds.

- `service.py`: every workflow (plan, edit, cancel, answer by command or reaction), once;
- `messages.py`: how announcements, notices, reminders and cards read;
- `reminders.py`: the one timer and sender of reminders; `listeners.py`: reactions;
- `calendar.py` (pure iCalendar) and `web.py` (its routes); `converters.py` for `!forum`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import SectionSpec
from bot.feature import Feature, PersonalData, Wiring
from bot.features.forums.config import ForumsConfig, parse_forums
from bot.features.forums.listeners import ForumReactions
from bot.features.forums.messages import ForumMessages
from bot.features.forums.reminders import ReminderSender
from bot.features.forums.service import ForumService
from bot.features.forums.web import CalendarRoutes
from bot.i18n import N_


def setup(wiring: Wiring) -> None:
    deps = wiring.deps
    config = deps.config.section(ForumsConfig)
    messages = ForumMessages(deps.config.network, deps.config.command_prefix)
    reminders = ReminderSender(deps, config, messages)

    def forums(session: AsyncSession) -> ForumService:
        return ForumService(session, deps, config, reminders, messages)

    wiring.service("forums", forums)
    wiring.listen(ForumReactions(deps, forums).on_event)
    wiring.on_start(reminders.catch_up)
    wiring.routes(CalendarRoutes(deps.db, forums).setup)

    async def export(session: AsyncSession, mxid: str) -> list[dict[str, Any]]:
        return await forums(session).held_about(mxid)

    async def erase(session: AsyncSession, mxid: str, alias: str) -> int:
        return await forums(session).forget(mxid, alias)

    wiring.holds(PersonalData(
        "events", N_("your answers to events, the reminders they brought you, and the events "
                     "you planned"), export, erase))


FEATURE = Feature("forums", setup, config=(SectionSpec("forums", parse_forums),))
