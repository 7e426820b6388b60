"""✅ on a collaboration's request notice confirms it, for a member it names who has not
confirmed yet. Anyone else's ✅, any other reaction, a repeat or a redelivery changes
nothing; taking the ✅ back does not withdraw (`!collab leave` does)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from bot.deps import Deps
from bot.events import Reaction, RoomEvent
from bot.features.collaborations.requests import is_confirm_key
from bot.features.collaborations.service import CollaborationService

log = logging.getLogger(__name__)


class ConfirmationReactions:
    """`collaborations` builds the service for a session (the feature's own factory)."""

    def __init__(self, deps: Deps,
                 collaborations: Callable[[AsyncSession], CollaborationService]) -> None:
        self.deps = deps
        self.collaborations = collaborations

    async def on_event(self, event: RoomEvent) -> None:
        if not isinstance(event, Reaction) or not is_confirm_key(event.key) \
                or event.sender == self.deps.gateway.user_id:
            return
        async with self.deps.db.session() as session:
            done = await self.collaborations(session).confirm_by_reaction(
                event.relates_to, event.room_id, event.sender)
        if done is not None:
            log.info("collaboration %d confirmed by a reaction (%d still to confirm)",
                     done.collaboration.id, len(done.pending))
