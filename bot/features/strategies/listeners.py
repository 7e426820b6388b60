"""What members do on their clients: 👍 on any copy of a proposal endorses it (once per
member; redacting the reaction withdraws it), and a poll response votes (their latest
counts; a response with no answer withdraws the vote)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from bot.events import PollResponse, Reaction, Redaction, RoomEvent
from bot.features.strategies.dues import moment
from bot.features.strategies.service import StrategyService
from bot.sync_store import is_handled, mark_handled

if TYPE_CHECKING:
    from bot.deps import Deps

log = logging.getLogger(__name__)


def is_thumbs_up(key: str) -> bool:
    """👍 with or without a skin tone or variation selector."""
    base = "".join(ch for ch in key if not ("\U0001f3fb" <= ch <= "\U0001f3ff"
                                            or ch == "\ufe0f"))
    return base == "👍"


class StrategyListeners:
    def __init__(self, deps: Deps, service: Callable[[AsyncSession], StrategyService]) -> None:
        self.deps = deps
        self.service = service

    async def on_event(self, event: RoomEvent) -> None:
        if isinstance(event, Reaction) and is_thumbs_up(event.key):
            await self._endorse(event)
        elif isinstance(event, Redaction):
            await self._withdraw(event)
        elif isinstance(event, PollResponse):
            await self._vote(event)

    async def _endorse(self, event: Reaction) -> None:
        if event.sender == self.deps.gateway.user_id:
            return
        async with self.deps.db.session() as session:
            if await is_handled(session, event.event_id):
                return
            service = self.service(session)
            copy = await service.copy_of(event.relates_to)
            if copy is None or copy.room_id != event.room_id:
                return
            if await service.endorse(copy, event.sender, event.event_id):
                log.info("%s endorsed proposal %d", event.sender, copy.proposal_id)
            mark_handled(session, event.event_id, event.room_id, self.deps.clock())

    async def _withdraw(self, event: Redaction) -> None:
        async with self.deps.db.session() as session:
            if await self.service(session).withdraw(event.redacts, event.sender):
                log.info("%s withdrew an endorsement", event.sender)

    async def _vote(self, event: PollResponse) -> None:
        async with self.deps.db.session() as session:
            if await is_handled(session, event.event_id):
                return
            service = self.service(session)
            poll = await service.poll(event.poll_id)
            if poll is None or poll.room_id != event.room_id:
                return
            at = moment(event.timestamp_ms)
            counted = at is not None and await service.apply_response(
                poll, event.sender, event.answers, event.event_id, at)
            log.info("poll response from %s in strategy %d %s", event.sender,
                     poll.process_id, "counted" if counted else "not counted")
            mark_handled(session, event.event_id, event.room_id, self.deps.clock())
