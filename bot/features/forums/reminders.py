"""Sending event reminders exactly once.

The database holds every reminder occurrence; APScheduler (in-memory) is only the timer and
is rebuilt from the rows at start. Sending is three steps — mark the row `sending` (commit),
send with a transaction id derived from the row, mark it `sent` — so a crash in between
resends with the same transaction id, which the homeserver folds into the first message.
A reminder that fell due while the bot was down is sent at start within the grace period,
else marked `missed` and logged.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from bot.db.models import ForumEvent, Member, Reminder, Rsvp
from bot.deps import Deps
from bot.errors import GatewayError
from bot.events import Outgoing
from bot.features.forums.config import ForumsConfig
from bot.features.forums.messages import ForumMessages
from bot.formatting import pill

log = logging.getLogger(__name__)
JOB_PREFIX = "reminder:"


class ReminderSender:
    """The app's one reminder timer and sender (made once, by the feature's setup)."""

    def __init__(self, deps: Deps, config: ForumsConfig, messages: ForumMessages) -> None:
        self.deps = deps
        self.config = config
        self.messages = messages

    # -- the timer -------------------------------------------------------------------------

    async def schedule(self, forum_id: int | None = None) -> None:
        """(Re)build the timer jobs from the rows: one job per pending reminder."""
        scheduler = self.deps.scheduler
        if scheduler is None:
            return
        async with self.deps.db.session() as session:
            query = select(Reminder.id, Reminder.forum_id, Reminder.due_at).where(
                Reminder.state.in_(("pending", "sending")))
            if forum_id is not None:
                query = query.where(Reminder.forum_id == forum_id)
            rows = (await session.execute(query)).all()
        wanted = {f"{JOB_PREFIX}{fid}:{rid}": (rid, due) for rid, fid, due in rows}
        prefix = f"{JOB_PREFIX}{forum_id}:" if forum_id is not None else JOB_PREFIX
        for job in scheduler.get_jobs():
            if job.id.startswith(prefix) and job.id not in wanted:
                job.remove()
        now = self.deps.clock()
        for job_id, (reminder_id, due) in wanted.items():
            scheduler.add_job(self.fire, "date", run_date=max(due, now), id=job_id,
                              args=[reminder_id], replace_existing=True,
                              misfire_grace_time=None)

    async def catch_up(self) -> None:
        """At start: whatever fell due while the bot was away, sent or marked missed."""
        async with self.deps.db.session() as session:
            due = (await session.scalars(select(Reminder.id).where(
                Reminder.state.in_(("pending", "sending")),
                Reminder.due_at <= self.deps.clock()).order_by(Reminder.due_at))).all()
        for reminder_id in due:
            await self.fire(reminder_id)
        await self.schedule()

    # -- one reminder ----------------------------------------------------------------------

    async def fire(self, reminder_id: int) -> None:
        deps = self.deps
        now = deps.clock()
        async with deps.db.session() as session:
            row = await session.get(Reminder, reminder_id)
            if row is None or row.state not in ("pending", "sending"):
                return
            event = await session.get(ForumEvent, row.forum_id)
            if event is None or event.status != "scheduled":
                await session.delete(row)
                return
            if row.due_at > now:
                return  # re-timed by an edit since this job was set; its new job will come
            if now - row.due_at > self.config.grace:
                row.state = "missed"
                log.warning("reminder %d (%s before event %d, for %s) missed: due %s, now %s",
                            row.id, row.offset, event.id, row.target, row.due_at, now)
                return
            row.state = "sending"
        state = "sent"
        try:
            await self._send(reminder_id)
        except GatewayError as exc:  # final (4xx), e.g. the bot was removed from the room
            log.warning("reminder %d cannot be sent (%s); marked missed", reminder_id, exc)
            state = "missed"
        async with deps.db.session() as session:
            row = await session.get(Reminder, reminder_id)
            if row is not None:
                row.state, row.sent_at = state, deps.clock()

    async def _send(self, reminder_id: int) -> None:
        """Send the reminder, with a transaction id derived from its row: sent twice (a
        restart between sending and marking it sent), the homeserver keeps one."""
        deps = self.deps
        async with deps.db.session() as session:
            row = await session.get(Reminder, reminder_id)
            event = await session.get(ForumEvent, row.forum_id) if row is not None else None
            if row is None or event is None:
                return
            locales = deps.locales(session)
            mentions: tuple[str, ...] = ()
            if row.target.startswith("@"):
                member = await session.get(Member, row.target)
                answer = await session.get(Rsvp, (event.id, row.target))
                tr = deps.translator.bind(locales.member(member))
                tz = member.timezone if member and member.timezone else event.timezone
                who = pill(row.target, member.display_name if member else None)
                text, html = self.messages.member_reminder(tr, event, who, tz, deps.clock())
                room_id = await self._member_room(member, answer)
                mentions = (row.target,)
            else:
                room_id = row.target
                tr = deps.translator.bind(await locales.room(room_id))
                text, html = self.messages.room_reminder(tr, event, deps.clock())
            if room_id is None:
                log.warning("no room to remind %s in; reminder %d skipped", row.target, row.id)
                return
            await deps.gateway.send(Outgoing(room_id, text, html, mentions=mentions,
                                             txn_id=f"sbcc.reminder.{row.id}"))

    async def _member_room(self, member: Member | None, answer: Rsvp | None) -> str | None:
        """The room where they answered, or (if configured) a direct chat with them."""
        if member is not None and self.config.direct_reminders:
            return await self.deps.direct.with_member(
                self.deps.gateway, self.deps.config.matrix.server_name, member.mxid)
        return answer.room_id if answer else None
