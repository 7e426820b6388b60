"""Welcomes: joins to a location room are gathered for a short while, then greeted with one
message in the room's language — one person or a dozen.

Sending is two-phase so a crash never greets twice: the pending joins are first tied to a
batch id (committed), then the welcome is sent with a transaction id derived from that batch
and the rows are deleted. A restart resends an unfinished batch with the same transaction
id, which the homeserver folds into the first.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

from babel.lists import format_list
from sqlalchemy import delete, select

from bot.db.models import Member, PendingWelcome
from bot.deps import Deps
from bot.errors import GatewayError
from bot.events import Outgoing
from bot.formatting import Rich, fill, pill
from bot.i18n import BoundTranslator
from rooms.network import NetworkRooms

log = logging.getLogger(__name__)
NAMES_SHOWN = 12


def batch_id(event_ids: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(event_ids)).encode()).hexdigest()[:32]


class Welcomer:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def schedule(self, room_id: str) -> None:
        """Greet the joins of `room_id` after the gathering delay (one job per room)."""
        scheduler = self.deps.scheduler
        if scheduler is None:
            return
        job_id = f"welcome:{room_id}"
        if scheduler.get_job(job_id) is None:
            delay = timedelta(seconds=self.deps.config.network.welcome_delay)
            scheduler.add_job(self.flush, "date", run_date=self.deps.clock() + delay,
                              id=job_id, args=[room_id], misfire_grace_time=None)

    async def flush_all(self) -> None:
        """At start: greet whatever was pending when the bot stopped."""
        async with self.deps.db.session() as session:
            rooms = (await session.scalars(select(PendingWelcome.room_id).distinct())).all()
        for room_id in rooms:
            await self.flush(room_id)

    async def flush(self, room_id: str) -> None:
        async with self.deps.db.session() as session:
            rows = (await session.scalars(select(PendingWelcome).where(
                PendingWelcome.room_id == room_id))).all()
            unfinished = sorted({r.batch for r in rows if r.batch})
            fresh = [r for r in rows if r.batch is None]
            if fresh:
                new_batch = batch_id([r.event_id for r in fresh])
                for row in fresh:
                    row.batch = new_batch
                unfinished.append(new_batch)
        for batch in unfinished:
            try:
                await self._send(room_id, batch)
            except GatewayError as exc:  # final (4xx): we may not post there any more
                log.warning("cannot welcome in %s (%s); dropping batch %s", room_id, exc, batch)
                async with self.deps.db.session() as session:
                    await session.execute(delete(PendingWelcome).where(
                        PendingWelcome.batch == batch))

    async def _send(self, room_id: str, batch: str) -> None:
        deps = self.deps
        async with deps.db.session() as session:
            rows = (await session.scalars(select(PendingWelcome).where(
                PendingWelcome.batch == batch).order_by(PendingWelcome.joined_at,
                                                        PendingWelcome.mxid))).all()
            if not rows:
                return
            room = await NetworkRooms(session, deps.config.network).by_room_id(room_id)
            locale = await deps.locales(session).room(room_id)
            mxids = list(dict.fromkeys(r.mxid for r in rows))
            members = {m.mxid: m for m in (await session.scalars(
                select(Member).where(Member.mxid.in_(mxids)))).all()}
            names = [pill(x, members[x].display_name if x in members else None) for x in mxids]
            room_name = room.spec.name if room else ""
            text, html = self.compose(room_name, names, deps.translator.bind(locale))
            await deps.gateway.send(Outgoing(room_id, text, html, mentions=tuple(mxids),
                                             txn_id=f"sbcc.welcome.{batch}"))
            await session.execute(delete(PendingWelcome).where(PendingWelcome.batch == batch))
        log.info("welcomed %d member(s) in %s", len(mxids), room_id)

    def compose(self, room_name: str, names: list[Rich], tr: BoundTranslator
                ) -> tuple[str, str]:
        locale = tr.locale
        shown = names[:NAMES_SHOWN]
        rest = len(names) - len(shown)
        text_list = [n.text for n in shown]
        html_list = [n.html for n in shown]
        if rest:
            more = tr.ngettext("%(num)d more", "%(num)d more", rest)
            text_list.append(more)
            html_list.append(more)
        listed = Rich(format_list(text_list, locale=locale), format_list(html_list,
                                                                         locale=locale))
        prefix = self.deps.config.command_prefix
        template = tr.ngettext_template(
            "Welcome to %(room)s, %(names)s! Tell the network who you are with %(intro)s, "
            "and what you offer and need with %(offer)s and %(need)s. %(help)s shows "
            "everything I can do.",
            "Welcome to %(room)s, %(names)s! Tell the network who you are with %(intro)s, "
            "and what you offer and need with %(offer)s and %(need)s — each of you. "
            "%(help)s shows everything I can do.",
            len(names),
        )
        return fill(template, num=len(names), room=room_name, names=listed,
                    intro=f"{prefix}intro", offer=f"{prefix}offer", need=f"{prefix}need",
                    help=f"{prefix}help")
