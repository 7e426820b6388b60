"""What strategy processes send, once: the job (every minute and at start) moves a process
on when its phase's date has come, records the reminders that fell due, and sends every
`StrategyDue` left "sending":

- `announce` (per phase and room): the phase announced in the room's language; for the
  vote, the section polls of that room are posted first (each poll a row, its transaction
  id derived from the row);
- `remind` (per member): "you have not voted yet", in a direct chat, a day (config) before
  the vote ends, only to members of the covered locations who have not voted at all;
- `end`: the votes recounted from the polls' responses (the relations API: nothing lost to
  a restart or a sync gap), every poll ended (`poll.end` with the counts), and the results
  by section and location posted in every covered room.

Each row is committed before its messages go out with transaction ids derived from it,
and marked sent after; a crash in between sends again with the same ids, which the
homeserver folds into the first.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

import bot.features.strategies.messages as messages
from bot.db.models import (
    Member,
    RoomMembership,
    StrategyDue,
    StrategyPoll,
    StrategyProcess,
    StrategyVote,
)
from bot.errors import GatewayError, HomeserverUnavailable, UserError
from bot.events import Outgoing, PollResponse
from bot.features.strategies.config import StrategiesConfig
from bot.features.strategies.document import PHASES
from bot.features.strategies.service import StrategyService, room_tag, split_keys
from bot.polls import poll_end, poll_start
from bot.tasks import Background

if TYPE_CHECKING:
    from bot.deps import Deps

log = logging.getLogger(__name__)


def moment(timestamp_ms: int) -> datetime | None:
    """An event's origin_server_ts as a time; None for one no clock shows (hostile)."""
    try:
        return datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


class StrategyDues:
    """App-scoped: made once by the feature's setup."""

    def __init__(self, deps: Deps, config: StrategiesConfig,
                 service: Callable[[AsyncSession], StrategyService]) -> None:
        self.deps = deps
        self.config = config
        self.service = service
        self.lock = asyncio.Lock()  # one run at a time: a row is never sent by two at once
        self.background = Background()

    async def wake(self) -> None:
        """Run soon, in the background (a command's reply does not wait for it)."""
        self.background.spawn(self.run())

    async def run(self) -> None:
        async with self.lock:
            try:
                await self._move_on()
                await self._remind()
                await self._send_all()
            except HomeserverUnavailable as exc:
                log.warning("strategy follow-ups paused, the homeserver is away: %s", exc)

    async def _move_on(self) -> None:
        now = self.deps.clock()
        async with self.deps.db.session() as session:
            ids = [p.id for p in await self.service(session).open_processes()]
        for process_id in ids:  # one transaction each: one process cannot hold up another
            async with self.deps.db.session() as session:
                service = self.service(session)
                process = await service.get(process_id)
                ends = (await service.ends(process)).get(process.phase)
                if ends is None or ends > now or process.phase == "result":
                    continue
                following = PHASES[PHASES.index(process.phase) + 1]
                try:
                    await service.advance(process, following)
                except UserError as exc:  # e.g. a ballot too long: said once a minute
                    log.warning("strategy %d cannot move on to %s: %s", process_id,
                                following, exc.msgid % exc.params)
                    await session.rollback()
                    continue
                log.info("strategy %d moves on to %s (its date came)", process_id, following)

    async def _remind(self) -> None:
        now = self.deps.clock()
        async with self.deps.db.session() as session:
            service = self.service(session)
            for process in await service.open_processes():
                if process.phase != "vote":
                    continue
                ends = (await service.ends(process)).get("vote")
                if ends is None or not ends - self.config.remind_before.delta <= now < ends:
                    continue
                rooms = [room_id for _spec, room_id in await service.rooms_of(process)]
                members = set((await session.scalars(select(RoomMembership.mxid).where(
                    RoomMembership.room_id.in_(rooms), RoomMembership.until.is_(None)))).all())
                voted = set((await session.scalars(select(StrategyVote.mxid).where(
                    StrategyVote.process_id == process.id))).all())
                done = set((await session.scalars(select(StrategyDue.key).where(
                    StrategyDue.process_id == process.id,
                    StrategyDue.kind == "remind"))).all())
                for mxid in sorted(members - voted - done - {self.deps.gateway.user_id}):
                    session.add(StrategyDue(process_id=process.id, kind="remind", key=mxid,
                                            state="sending", created_at=now))

    async def _send_all(self) -> None:
        async with self.deps.db.session() as session:
            ids = (await session.scalars(select(StrategyDue.id).where(
                StrategyDue.state == "sending").order_by(StrategyDue.id))).all()
        for due_id in ids:
            await self.send(due_id)

    async def send(self, due_id: int) -> None:
        state = "sent"
        try:
            async with self.deps.db.session() as session:
                due = await session.get(StrategyDue, due_id)
                process = (await session.get(StrategyProcess, due.process_id)
                           if due is not None else None)
                if due is None or process is None or due.state != "sending":
                    return
                service = self.service(session)
                if due.kind == "announce":
                    await self._announce(session, service, process, due)
                elif due.kind == "remind":
                    await self._reminder(session, service, process, due)
                else:
                    await self._end(session, service, process, due)
        except HomeserverUnavailable:
            raise  # stays "sending": sent again with the same transaction ids
        except GatewayError as exc:
            log.warning("strategy message %d cannot be sent (%s); marked missed", due_id, exc)
            state = "missed"
        except Exception:  # noqa: BLE001 - one row must not stop every later one
            log.exception("strategy message %d failed; marked failed", due_id)
            state = "failed"
        async with self.deps.db.session() as session:
            due = await session.get(StrategyDue, due_id)
            if due is not None:
                due.state, due.sent_at = state, self.deps.clock()

    async def _tz(self, service: StrategyService, process: StrategyProcess,
                  room_id: str) -> str:
        for spec, covered in await service.rooms_of(process):
            if covered == room_id and spec.timezone:
                return spec.timezone
        return "UTC"

    async def _announce(self, session: AsyncSession, service: StrategyService,
                        process: StrategyProcess, due: StrategyDue) -> None:
        phase, _, room_id = due.key.partition("|")
        tr = self.deps.translator.bind(await self.deps.locales(session).room(room_id))
        tz = await self._tz(service, process, room_id)
        ends = (await service.ends(process)).get(phase)
        shown = StrategyProcess(id=process.id, title=process.title, phase=phase)
        text, html = messages.announcement(tr, self.deps.config.command_prefix, shown, ends,
                                           tz, split_keys(process.sections))
        await self.deps.gateway.send(Outgoing(room_id, text, html,
                                              txn_id=f"sbcc.strategy.due.{due.id}"))
        if phase == "vote":
            await self._polls(session, service, process, room_id, tr)

    async def _polls(self, session: AsyncSession, service: StrategyService,
                     process: StrategyProcess, room_id: str, tr) -> None:  # noqa: ANN001
        polls = (await session.scalars(select(StrategyPoll).where(
            StrategyPoll.process_id == process.id, StrategyPoll.room_id == room_id)
            .order_by(StrategyPoll.id))).all()
        network = self.deps.config.network
        for poll in polls:
            candidates = await service.candidates(process, poll.section)
            if not candidates:
                continue
            event_type, content = poll_start(
                messages.poll_question(tr, process, poll.section),
                [(str(p.number), messages.poll_answer(tr, network, p)) for p in candidates])
            try:
                poll.event_id = await self.deps.gateway.send_event(
                    room_id, event_type, content, f"sbcc.strategy.poll.{poll.id}")
            except HomeserverUnavailable:
                raise
            except GatewayError as exc:  # this room refuses: the others still vote
                log.warning("strategy %d: no poll in %s: %s", process.id, room_id, exc)
            await session.flush()

    async def _reminder(self, session: AsyncSession, service: StrategyService,
                        process: StrategyProcess, due: StrategyDue) -> None:
        if await session.scalar(select(StrategyVote.mxid).where(
                StrategyVote.process_id == process.id, StrategyVote.mxid == due.key)
                .limit(1)) is not None:
            return  # voted since it was recorded: nothing to remind of
        ends = (await service.ends(process)).get("vote")
        if ends is None or process.phase != "vote":
            return
        member = await session.get(Member, due.key)
        tr = self.deps.translator.bind(self.deps.locales(session).member(member))
        tz = (member.timezone if member and member.timezone else
              next((s.timezone for s in service.locations_of(process) if s.timezone), "UTC"))
        text, html = messages.reminder(tr, self.deps.config.command_prefix, process, ends, tz)
        room_id = await self.deps.direct.with_member(
            self.deps.gateway, self.deps.config.matrix.server_name, due.key)
        await self.deps.gateway.send(Outgoing(room_id, text, html, mentions=(due.key,),
                                              txn_id=f"sbcc.strategy.due.{due.id}"))

    async def _end(self, session: AsyncSession, service: StrategyService,
                   process: StrategyProcess, due: StrategyDue) -> None:
        polls = (await session.scalars(select(StrategyPoll).where(
            StrategyPoll.process_id == process.id, StrategyPoll.event_id.is_not(None))
            .order_by(StrategyPoll.id))).all()
        # what the rooms hold is what counts: every response, across the rooms of a
        # section in the order they were sent (a withdrawal in one room after a vote in
        # another is the latest word)
        heard: list[tuple[int, StrategyPoll, PollResponse]] = []
        for poll in polls:
            try:
                responses = await self.deps.gateway.poll_responses(poll.room_id,
                                                                   poll.event_id or "")
            except HomeserverUnavailable:
                raise
            except GatewayError as exc:
                log.warning("strategy %d: responses in %s not read: %s", process.id,
                            poll.room_id, exc)
                continue
            heard += [(r.timestamp_ms, poll, r) for r in responses]
        for stamp, poll, response in sorted(heard, key=lambda h: (h[0], h[2].event_id)):
            at = moment(stamp)
            if at is not None:
                await service.apply_response(poll, response.sender, response.answers,
                                             response.event_id, at)
        tallies = await service.tallies(process)
        network = self.deps.config.network
        for poll in polls:
            tr = self.deps.translator.bind(await self.deps.locales(session).room(poll.room_id))
            event_type, content = poll_end(
                poll.event_id or "", messages.end_text(tr, poll.section,
                                                       tallies.get(poll.section, [])))
            try:
                poll.ended_event_id = await self.deps.gateway.send_event(
                    poll.room_id, event_type, content, f"sbcc.strategy.pollend.{poll.id}")
            except HomeserverUnavailable:
                raise
            except GatewayError as exc:
                log.warning("strategy %d: poll in %s not ended: %s", process.id,
                            poll.room_id, exc)
        locations = [s.key for s in service.locations_of(process)]
        for _spec, room_id in await service.rooms_of(process):
            tr = self.deps.translator.bind(await self.deps.locales(session).room(room_id))
            text, html = messages.results(tr, network, process, tallies, locations)
            try:
                await self.deps.gateway.send(Outgoing(
                    room_id, text, html,
                    txn_id=f"sbcc.strategy.due.{due.id}.{room_tag(room_id)}"))
            except HomeserverUnavailable:
                raise
            except GatewayError as exc:  # one room refusing: the others get the results
                log.warning("strategy %d: no results in %s: %s", process.id, room_id, exc)
        log.info("strategy %d: the vote is counted and the results are posted", process.id)

