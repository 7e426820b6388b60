"""Delivering what travels between the network and a requester, once, from its
`AdviceMessage` row: answers by e-mail ("out"), and the requester's replies from the status
page into the request's case room ("in"; the advisory room, under the notice, while there
is no case room).

A row goes pending → sending (committed before anything leaves) → sent. A crash while
sending leaves it "sending": the next run sends it again with the same identity — the same
Matrix transaction id (the homeserver keeps one message) or the same e-mail Message-ID
(SMTP has no idempotency; mail clients fold a repeat with the same Message-ID). A
homeserver or mail server away: tried again later, with growing pauses; refused for good
(a 5xx from the mail server, the bot out of the room): marked failed, and for an e-mail the
case room is told that the answer is on the status page only.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from email.utils import parseaddr
from typing import TYPE_CHECKING

from sqlalchemy import or_, select, update

from bot.db.models import AdviceMessage, AdvisoryRequest, Member
from bot.errors import GatewayError, HomeserverUnavailable
from bot.events import Outgoing
from bot.features.advice.mail import Mailer, MailError, compose
from bot.features.advice.notices import Notices
from bot.features.advice.views import answer_email, mail_failed, requester_reply
from bot.tasks import Background

if TYPE_CHECKING:
    from bot.deps import Deps

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 12
FIRST_PAUSE = timedelta(minutes=1)
LONGEST_PAUSE = timedelta(hours=6)
LEASE = timedelta(minutes=5)  # a delivery taking longer than this is taken as dead


def pause(attempts: int) -> timedelta:
    return min(FIRST_PAUSE * (2 ** max(0, attempts - 1)), LONGEST_PAUSE)


class Outbox:
    """App-scoped: made once by the feature's setup."""

    def __init__(self, deps: Deps, notices: Notices, mailer: Mailer | None) -> None:
        self.deps = deps
        self.notices = notices
        self.mailer = mailer
        self.lock = asyncio.Lock()
        self.background = Background()

    async def flush(self) -> None:
        """The job: every row due (pending and its time has come, or left "sending")."""
        now = self.deps.clock()
        async with self.lock:  # the job and the start-up catch-up never overlap
            async with self.deps.db.session() as session:
                due = (await session.scalars(select(AdviceMessage.id).where(
                    AdviceMessage.state.in_(("pending", "sending")),
                    or_(AdviceMessage.next_try_at.is_(None),
                        AdviceMessage.next_try_at <= now))
                    .order_by(AdviceMessage.id))).all()
            for message_id in due:
                await self.deliver(message_id)

    async def wake(self, message_id: int) -> None:
        """Deliver soon, in the background: a command's room does not wait for SMTP."""
        self.background.spawn(self.deliver(message_id))

    async def _take(self, message_id: int) -> bool:
        """Lease the row for one delivery: pending (or a lease run out: the bot died while
        sending) becomes "sending" until LEASE from now, in one statement — two callers
        never both send it."""
        now = self.deps.clock()
        async with self.deps.db.session() as session:
            taken = await session.execute(
                update(AdviceMessage).where(
                    AdviceMessage.id == message_id,
                    AdviceMessage.state.in_(("pending", "sending")),
                    or_(AdviceMessage.state == "pending", AdviceMessage.next_try_at.is_(None),
                        AdviceMessage.next_try_at <= now))
                .values(state="sending", attempts=AdviceMessage.attempts + 1,
                        next_try_at=now + LEASE))
            return bool(getattr(taken, "rowcount", 0))

    async def deliver(self, message_id: int) -> None:
        """Send one row now (nothing when it went out already, or another delivery of it
        is under way)."""
        if not await self._take(message_id):
            return
        async with self.deps.db.session() as session:
            row = await session.get(AdviceMessage, message_id)
            if row is None:
                return
        try:
            if row.direction == "out":
                if not await self._mail(message_id):
                    return  # nothing to send: the status page alone
            else:
                await self._post(message_id)
        except (HomeserverUnavailable, MailError) as exc:
            if isinstance(exc, MailError) and exc.permanent:
                await self._failed(message_id, str(exc))
                return
            await self._later(message_id, exc)
            return
        except (GatewayError, ValueError) as exc:  # refused for good, or cannot be a mail
            await self._failed(message_id, str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - tried again later, within MAX_ATTEMPTS
            log.exception("advice message %d: delivery failed", message_id)
            await self._later(message_id, exc)
            return
        async with self.deps.db.session() as session:
            row = await session.get(AdviceMessage, message_id)
            if row is not None:
                row.state, row.sent_at = "sent", self.deps.clock()

    async def _later(self, message_id: int, exc: Exception) -> None:
        async with self.deps.db.session() as session:
            row = await session.get(AdviceMessage, message_id)
            if row is None:
                return
            if row.attempts >= MAX_ATTEMPTS:
                log.warning("advice message %d given up after %d attempts: %s", message_id,
                            row.attempts, exc)
            else:
                log.info("advice message %d not delivered yet (%s); trying again later",
                         message_id, exc)
                row.state = "pending"
                row.next_try_at = self.deps.clock() + pause(row.attempts)
                return
        await self._failed(message_id, str(exc))

    async def _failed(self, message_id: int, why: str) -> None:
        log.warning("advice message %d cannot be delivered: %s", message_id, why)
        async with self.deps.db.session() as session:
            row = await session.get(AdviceMessage, message_id)
            if row is None:
                return
            row.state = "failed"
            request = await session.get(AdvisoryRequest, row.request_id)
            room_id = request.case_room_id or request.room_id if request else None
            if row.direction != "out" or request is None or room_id is None:
                return
            tr = await self.notices.room_tr(session, room_id)
            text, html = mail_failed(tr, request)
        try:
            await self.deps.gateway.send(Outgoing(room_id, text, html,
                                                  txn_id=f"sbcc.advice.mail.{message_id}.failed"))
        except GatewayError as exc:
            log.warning("could not tell the case room of %s about a failed e-mail: %s",
                        request.ref, exc)

    async def _mail(self, message_id: int) -> bool:
        deps = self.deps
        async with deps.db.session() as session:
            row = await session.get(AdviceMessage, message_id)
            request = await session.get(AdvisoryRequest, row.request_id) if row else None
            if row is None or request is None:
                return False
            if self.mailer is None or request.email is None:
                row.state = "shown"  # the status page alone: nothing to send
                return False
            advisor = await session.get(Member, row.author) if row.author else None
            network = deps.config.network
            place = network.place(advisor.location) if advisor and advisor.location else None
            tr = deps.translator.bind(request.language)
            subject, body = answer_email(tr, network.name, request, row.text, advisor,
                                               place)
            sender = self.mailer.config.sender
            domain = parseaddr(sender)[1].rpartition("@")[2] or "sbcc-bot.invalid"
            message = compose(sender=sender, to=request.email, subject=subject, text=body,
                              html=None, message_id=f"<sbcc-advice-{message_id}@{domain}>",
                              language=request.language)
        await self.mailer.send(message)
        log.info("advice answer %d for %s sent by e-mail", message_id, request.ref)
        return True

    async def _post(self, message_id: int) -> None:
        deps = self.deps
        async with deps.db.session() as session:
            row = await session.get(AdviceMessage, message_id)
            request = await session.get(AdvisoryRequest, row.request_id) if row else None
            if row is None or request is None:
                return
            room_id = request.case_room_id or request.room_id
            if room_id is None:
                raise HomeserverUnavailable("no room to post the requester's reply in yet")
            tr = await self.notices.room_tr(session, room_id)
            text, html = requester_reply(tr, request, row.text)
            mentions = (request.assignee,) if request.assignee else ()
            reply_to = None if request.case_room_id else request.event_id
        await deps.gateway.send(Outgoing(room_id, text, html, mentions=mentions,
                                         reply_to=reply_to,
                                         txn_id=f"sbcc.advice.in.{message_id}"))
