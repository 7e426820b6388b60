"""The request's notice in the advisory room: posted once (its transaction id is the
reference), with 👀 offered on it to claim, then edited in place after every change.

Every change bumps `notice_version`; an edit carries that version in its transaction id and
records `notice_shown`, so an edit resent after a crash folds into the first, and an edit
that did not go out (the homeserver away) is made by the follow-up job later."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import AdvisoryRequest, Member
from bot.events import Outgoing
from bot.features.advice.advisors import AdvisorFit, AdvisorPool
from bot.features.advice.config import WorkflowConfig
from bot.features.advice.views import CLAIM_KEY, Case, notice
from bot.i18n import BoundTranslator
from rooms.network import NetworkRooms

if TYPE_CHECKING:
    from bot.deps import Deps

log = logging.getLogger(__name__)


class Notices:
    """App-scoped: made once by the feature's setup."""

    def __init__(self, deps: Deps, config: WorkflowConfig,
                 pool: Callable[[AsyncSession], AdvisorPool]) -> None:
        self.deps = deps
        self.config = config
        self.pool = pool

    async def advisory_room(self, session: AsyncSession) -> str | None:
        network = self.deps.config.network
        if network.advisory is None:
            return None
        return await NetworkRooms(session, network).room_id(network.advisory)

    async def room_tr(self, session: AsyncSession, room_id: str) -> BoundTranslator:
        return self.deps.translator.bind(await self.deps.locales(session).room(room_id))

    async def case(self, session: AsyncSession, request: AdvisoryRequest,
                   fits: list[AdvisorFit] | None = None) -> Case:
        assignee = await session.get(Member, request.assignee) if request.assignee else None
        if fits is None:
            fits = (await self.pool(session).suggest(request, self.config.suggest)
                    if request.status == "new" else [])
        return Case(request, assignee, fits)

    async def post(self, session: AsyncSession, request: AdvisoryRequest) -> str | None:
        """Post the request (once: the txn id is the ref), suggesting advisors (they are
        mentioned, so they hear of it), and offer 👀 on it. None, logged, when there is no
        advisory room."""
        if request.event_id is not None:
            return request.event_id
        room_id = await self.advisory_room(session)
        if room_id is None:
            log.warning("advisory request %s stored, but there is no advisory room (configure "
                        "network.advisory_room and run `sbcc-bot provision`): nobody was told",
                        request.ref)
            return None
        fits = await self.pool(session).suggest(request, self.config.suggest)
        request.suggested = ",".join(f.mxid for f in fits) or None
        case = await self.case(session, request, fits)
        text, html = notice(await self.room_tr(session, room_id), self.deps.config.network,
                                  self.deps.config.command_prefix, case)
        event_id = await self.deps.gateway.send(Outgoing(
            room_id, text, html, mentions=tuple(f.mxid for f in fits),
            txn_id=f"sbcc.advice.{request.ref}"))
        request.room_id, request.event_id = room_id, event_id
        request.notice_shown = request.notice_version
        await session.flush()
        await self.deps.gateway.react(room_id, event_id, CLAIM_KEY,
                                      f"sbcc.advice.{request.ref}.claim")
        return event_id

    async def refresh(self, session: AsyncSession, request: AdvisoryRequest) -> None:
        """Edit the notice to show the request as it is now (nothing when it is shown)."""
        if request.event_id is None or request.room_id is None:
            return
        if request.notice_shown >= request.notice_version:
            return
        case = await self.case(session, request)
        text, html = notice(await self.room_tr(session, request.room_id),
                                  self.deps.config.network, self.deps.config.command_prefix,
                                  case)
        version = request.notice_version
        await self.deps.gateway.send(Outgoing(
            request.room_id, text, html, replaces=request.event_id,
            txn_id=f"sbcc.advice.{request.ref}.v{version}"))
        request.notice_shown = version
        await session.flush()
