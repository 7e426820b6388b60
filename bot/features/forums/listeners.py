"""RSVP by reaction: ✅ / 🤔 / ❌ on an announcement answers yes / maybe / no; redacting
that reaction withdraws the answer (and may free a place for the waiting list)."""

from __future__ import annotations

import logging

from bot.db.models import Announcement, ForumEvent
from bot.deps import Deps
from bot.errors import UserError
from bot.events import Reaction, Redaction, RoomEvent
from bot.features.forums.messages import PROMOTED, notify
from bot.features.forums.reminders import ReminderSender
from bot.features.forums.service import ForumService, reaction_answer
from bot.members import MemberService
from bot.sync_store import is_handled, mark_handled

log = logging.getLogger(__name__)


class ForumReactions:
    def __init__(self, deps: Deps, reminders: ReminderSender) -> None:
        self.deps = deps
        self.reminders = reminders

    async def on_event(self, event: RoomEvent) -> None:
        if isinstance(event, Reaction):
            await self._reaction(event)
        elif isinstance(event, Redaction):
            await self._redaction(event)

    async def _reaction(self, event: Reaction) -> None:
        answer = reaction_answer(event.key)
        if answer is None or event.sender == self.deps.gateway.user_id:
            return
        forum_id = None
        async with self.deps.db.session() as session:
            post = await session.get(Announcement, event.relates_to)
            if post is None or await is_handled(session, event.event_id):
                return
            service = ForumService(session, self.deps)
            forum = await session.get(ForumEvent, post.forum_id)
            await MemberService(session, self.deps.clock).get_or_create(event.sender)
            try:
                result = await service.rsvp(forum, event.sender, answer, post.room_id,
                                            reaction_event_id=event.event_id)
            except UserError as exc:  # cancelled or over: nothing to record
                log.info("reaction %s not counted: %s", event.event_id, exc.msgid)
                mark_handled(session, event.event_id, event.room_id, self.deps.clock())
                return
            if result.promoted:
                await notify(self.deps, session, forum, result.promoted, PROMOTED,
                             f"sbcc.promote.{event.event_id}")
            mark_handled(session, event.event_id, event.room_id, self.deps.clock())
            forum_id = forum.id
        log.info("%s answered %s to event %d by reaction", event.sender, answer, forum_id)
        await self.reminders.schedule(forum_id)

    async def _redaction(self, event: Redaction) -> None:
        async with self.deps.db.session() as session:
            service = ForumService(session, self.deps)
            row = await service.by_reaction(event.redacts)
            if row is None or row.mxid != event.sender:
                return
            forum = await session.get(ForumEvent, row.forum_id)
            result = await service.withdraw(forum, row.mxid)
            if result.promoted:
                await notify(self.deps, session, forum, result.promoted, PROMOTED,
                             f"sbcc.promote.{event.event_id}")
            forum_id, who = forum.id, row.mxid
        log.info("%s withdrew from event %d", who, forum_id)
        await self.reminders.schedule(forum_id)
