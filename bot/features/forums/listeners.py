"""RSVP by reaction: ✅ / 🤔 / ❌ on an announcement answers yes / maybe / no; redacting
that reaction withdraws the answer (and may free a place for the waiting list). What an
answer sets off — news for whoever the waiting list lets in, new reminder times — is
`ForumService`'s, the same as for `!rsvp`."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from bot.deps import Deps
from bot.errors import UserError
from bot.events import Reaction, Redaction, RoomEvent
from bot.features.forums.service import ForumService, reaction_answer
from bot.sync_store import is_handled, mark_handled

log = logging.getLogger(__name__)


class ForumReactions:
    """`forums` builds the service for a session (the feature's own factory)."""

    def __init__(self, deps: Deps, forums: Callable[[AsyncSession], ForumService]) -> None:
        self.deps = deps
        self.forums = forums

    async def on_event(self, event: RoomEvent) -> None:
        if isinstance(event, Reaction):
            await self._reaction(event)
        elif isinstance(event, Redaction):
            await self._redaction(event)

    async def _reaction(self, event: Reaction) -> None:
        answer = reaction_answer(event.key)
        if answer is None or event.sender == self.deps.gateway.user_id:
            return
        async with self.deps.db.session() as session:
            if await is_handled(session, event.event_id):
                return
            try:
                result = await self.forums(session).react(
                    event.relates_to, event.sender, answer, reaction_event_id=event.event_id,
                    cause=event.event_id)
            except UserError as exc:  # cancelled or over: nothing to record
                log.info("reaction %s not counted: %s", event.event_id, exc.msgid)
                mark_handled(session, event.event_id, event.room_id, self.deps.clock())
                return
            if result is None:  # not a reaction to an announcement
                return
            mark_handled(session, event.event_id, event.room_id, self.deps.clock())
        log.info("%s answered %s to event %d by reaction", event.sender, answer,
                 result.event.id)

    async def _redaction(self, event: Redaction) -> None:
        async with self.deps.db.session() as session:
            result = await self.forums(session).unreact(event.redacts, event.sender,
                                                        cause=event.event_id)
        if result is not None:
            log.info("%s withdrew from event %d", event.sender, result.event.id)
