"""Nothing falls through: the follow-up job, run at start and every few minutes.

- a request whose notice did not go out (the homeserver was away) is posted;
- a notice behind its request's last change is edited;
- an unclaimed request is raised again in the advisory room once per `nudge_unclaimed`;
- a claimed request without activity for `remind_assignee` reminds its assignee in a
  direct chat (once per such period; any activity starts the count again);
- an answered request without activity for `auto_close` closes by itself (as helped).

Each follow-up is an `AdviceDue` row, unique per request, kind and period, committed
("sending") before its message goes out with a transaction id derived from the row and
marked "sent" after; a crash in between sends it again with the same id, which the
homeserver folds into the first — once, like the forums' reminders.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import AdviceDue, AdvisoryRequest, Member
from bot.errors import GatewayError, HomeserverUnavailable
from bot.events import Outgoing
from bot.features.advice.config import WorkflowConfig
from bot.features.advice.history import BOT, record
from bot.features.advice.notices import Notices
from bot.features.advice.views import closed_by_itself, nudge, reminder

if TYPE_CHECKING:
    from bot.deps import Deps

log = logging.getLogger(__name__)


def period(since: datetime, now: datetime, every: timedelta) -> int:
    """How many whole periods of `every` lie between `since` and `now`."""
    return int((now - since) / every) if now > since else 0


class FollowUps:
    """App-scoped: made once by the feature's setup."""

    def __init__(self, deps: Deps, config: WorkflowConfig, notices: Notices) -> None:
        self.deps = deps
        self.config = config
        self.notices = notices
        self.lock = asyncio.Lock()

    async def run(self) -> None:
        async with self.lock:  # the start-up run and the timer's never overlap
            for step in (self._unsent, self._post_missing, self._refresh_stale, self._plan):
                try:
                    await step()
                except HomeserverUnavailable as exc:
                    log.warning("advice follow-ups paused, the homeserver is away: %s", exc)
                    return

    # -- notices --------------------------------------------------------------------------

    async def _post_missing(self) -> None:
        async with self.deps.db.session() as session:
            refs = (await session.scalars(select(AdvisoryRequest.id).where(
                AdvisoryRequest.event_id.is_(None), AdvisoryRequest.status != "closed")
                .order_by(AdvisoryRequest.id))).all()
        for request_id in refs:
            async with self.deps.db.session() as session:
                request = await session.get(AdvisoryRequest, request_id)
                if request is None or request.event_id is not None:
                    continue
                try:
                    if await self.notices.post(session, request) is None:
                        return  # no advisory room: the warning is logged, nothing to retry
                    record(session, request, BOT, "posted", self.deps.clock(), activity=False)
                except HomeserverUnavailable:
                    raise
                except GatewayError as exc:  # this one refused: the others still go out
                    log.warning("advisory request %s cannot be posted: %s", request.ref, exc)
                    continue

    async def _refresh_stale(self) -> None:
        async with self.deps.db.session() as session:
            ids = (await session.scalars(select(AdvisoryRequest.id).where(
                AdvisoryRequest.event_id.is_not(None),
                AdvisoryRequest.notice_shown < AdvisoryRequest.notice_version))).all()
        for request_id in ids:
            async with self.deps.db.session() as session:
                request = await session.get(AdvisoryRequest, request_id)
                if request is not None:
                    try:
                        await self.notices.refresh(session, request)
                    except HomeserverUnavailable:
                        raise
                    except GatewayError as exc:
                        log.warning("the notice of %s cannot be edited: %s", request.ref, exc)
                        request.notice_shown = request.notice_version

    # -- what fell due --------------------------------------------------------------------

    async def _plan(self) -> None:
        """Record what fell due (and close what closes by itself), then send it."""
        now = self.deps.clock()
        cfg = self.config
        new: list[int] = []
        async with self.deps.db.session() as session:
            rows = (await session.scalars(select(AdvisoryRequest).where(
                AdvisoryRequest.status.in_(("new", "claimed", "answered"))))).all()
            for request in rows:
                if request.status == "new" and request.event_id is not None:
                    n = period(request.created_at, now, cfg.nudge_unclaimed.delta)
                    if n >= 1:
                        await self._due(session, request, "nudge", str(n), new)
                elif request.status == "claimed" and request.assignee:
                    since = request.activity_at or request.claimed_at or request.created_at
                    n = period(since, now, cfg.remind_assignee.delta)
                    if n >= 1:
                        await self._due(session, request, "remind",
                                        f"{since.isoformat()}|{n}", new)
                elif request.status == "answered":
                    since = request.activity_at or request.answered_at or request.created_at
                    if period(since, now, cfg.auto_close.delta) >= 1:
                        # closed only if nothing happened since it was read (a reply from
                        # the requester committed meanwhile keeps it open)
                        closed = await session.execute(
                            update(AdvisoryRequest).where(
                                AdvisoryRequest.id == request.id,
                                AdvisoryRequest.status == "answered",
                                AdvisoryRequest.activity_at == request.activity_at)
                            .values(status="closed", outcome="helped", closed_at=now)
                            .execution_options(synchronize_session=False))
                        if getattr(closed, "rowcount", 0) and await self._due(
                                session, request, "close", since.isoformat(), new):
                            request.status, request.outcome = "closed", "helped"
                            request.closed_at = now
                            record(session, request, BOT, "closed", now, "helped")
        for due_id in new:
            await self._send(due_id)

    async def _due(self, session: AsyncSession, request: AdvisoryRequest, kind: str, key: str,
                   new: list[int]) -> bool:
        exists = await session.scalar(select(AdviceDue.id).where(
            AdviceDue.request_id == request.id, AdviceDue.kind == kind, AdviceDue.key == key))
        if exists is not None:
            return False
        due = AdviceDue(request_id=request.id, kind=kind, key=key, state="sending",
                        created_at=self.deps.clock())
        session.add(due)
        if kind != "close":
            record(session, request, BOT, "nudged" if kind == "nudge" else "reminded",
                   self.deps.clock(), activity=False)
        await session.flush()
        new.append(due.id)
        return True

    async def _unsent(self) -> None:
        """Follow-ups recorded but not known to be sent (a crash between the two)."""
        async with self.deps.db.session() as session:
            ids = (await session.scalars(select(AdviceDue.id).where(
                AdviceDue.state == "sending").order_by(AdviceDue.id))).all()
        for due_id in ids:
            await self._send(due_id)

    async def _send(self, due_id: int) -> None:
        deps = self.deps
        state = "sent"
        try:
            async with deps.db.session() as session:
                due = await session.get(AdviceDue, due_id)
                request = await session.get(AdvisoryRequest, due.request_id) if due else None
                if due is None or request is None or due.state != "sending":
                    return
                message = await self._message(session, due, request)
                if message is not None:
                    await deps.gateway.send(message)
                if due.kind == "close":
                    await self.notices.refresh(session, request)
        except HomeserverUnavailable:
            raise  # stays "sending": the next run sends it again, with the same txn id
        except GatewayError as exc:
            log.warning("advice follow-up %d cannot be sent (%s); marked missed", due_id, exc)
            state = "missed"
        async with deps.db.session() as session:
            due = await session.get(AdviceDue, due_id)
            if due is not None:
                due.state, due.sent_at = state, deps.clock()

    async def _message(self, session: AsyncSession, due: AdviceDue,
                       request: AdvisoryRequest) -> Outgoing | None:
        deps = self.deps
        prefix = deps.config.command_prefix
        now = deps.clock()
        txn = f"sbcc.advice.due.{due.id}"
        if due.kind == "nudge":
            room_id = request.room_id
            if room_id is None:
                return None
            tr = await self.notices.room_tr(session, room_id)
            fits = await self.notices.pool(session).suggest(request, self.config.suggest)
            text, html, mentions = nudge(
                tr, prefix, request, (now - request.created_at).total_seconds(), fits)
            return Outgoing(room_id, text, html, mentions=mentions, reply_to=request.event_id,
                            txn_id=txn)
        if due.kind == "remind":
            if request.assignee is None:
                return None
            member = await session.get(Member, request.assignee)
            tr = deps.translator.bind(deps.locales(session).member(member))
            since = request.activity_at or request.claimed_at or request.created_at
            text, html = reminder(tr, prefix, request, (now - since).total_seconds())
            room_id = await deps.direct.with_member(deps.gateway, deps.config.matrix.server_name,
                                                    request.assignee)
            return Outgoing(room_id, text, html, mentions=(request.assignee,), txn_id=txn)
        room_id = request.case_room_id or request.room_id
        if room_id is None:
            return None
        tr = await self.notices.room_tr(session, room_id)
        text, html = closed_by_itself(tr, prefix, request, self.config.auto_close.delta
                                            .total_seconds())
        return Outgoing(room_id, text, html, txn_id=txn,
                        reply_to=None if request.case_room_id else request.event_id)
