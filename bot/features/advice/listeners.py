"""👀 on a request's notice claims it, for an advisor or a coordinator (the same as
`!advice claim`); anyone else who tries is told once how to become an advisor."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Member
from bot.errors import GatewayError, HomeserverUnavailable, UserError
from bot.events import Outgoing, Reaction, RoomEvent
from bot.features.advice.views import CLAIM_KEY
from bot.features.advice.workflow import CaseService
from bot.i18n import N_
from bot.sync_store import is_handled, mark_handled
from rooms.network import COORDINATOR_LEVEL

if TYPE_CHECKING:
    from bot.deps import Deps

log = logging.getLogger(__name__)


def is_claim_key(key: str) -> bool:
    return key.replace("\ufe0f", "") == CLAIM_KEY


class ClaimReactions:
    def __init__(self, deps: Deps, cases: Callable[[AsyncSession], CaseService]) -> None:
        self.deps = deps
        self.cases = cases

    async def on_event(self, event: RoomEvent) -> None:
        if not isinstance(event, Reaction) or not is_claim_key(event.key):
            return
        if event.sender == self.deps.gateway.user_id:
            return
        deps = self.deps
        async with deps.db.session() as session:
            if await is_handled(session, event.event_id):
                return
            cases = self.cases(session)
            request = await cases.by_notice(event.relates_to)
            if request is None or request.room_id != event.room_id:
                return
            tr = deps.translator.bind(await deps.locales(session).reader(
                await session.get(Member, event.sender), event.room_id))

            async def coordinator() -> bool:
                if event.sender in deps.config.coordinators:
                    return True
                return await deps.gateway.power_level(event.room_id,
                                                      event.sender) >= COORDINATOR_LEVEL

            answer: str | None = None
            if not await cases.may_work(event.sender, coordinator):
                answer = tr(N_("Only advisors and coordinators can claim advisory requests. "
                               "To become an advisor, write %(usage)s to me."),
                            usage=f"{deps.config.command_prefix}set advisor on")
            else:
                try:
                    await cases.claim(request, event.sender)
                    log.info("%s claimed %s by reaction", event.sender, request.ref)
                except UserError as exc:
                    answer = tr(exc.msgid, **exc.params)
            if answer is not None:
                try:
                    await deps.gateway.send(Outgoing(
                        event.room_id, answer, reply_to=event.relates_to,
                        mentions=(event.sender,), txn_id=f"sbcc.advice.react.{event.event_id}"))
                except HomeserverUnavailable:
                    raise
                except GatewayError as exc:
                    log.warning("could not answer a claim reaction: %s", exc)
            mark_handled(session, event.event_id, event.room_id, deps.clock())

