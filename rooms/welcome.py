"""Welcomes: a newcomer to a location room is greeted within seconds, in the room's language,
and whoever joins while that welcome is fresh is added to it — the message is edited to name
them too (and mentions only them) — so a dozen joins in a minute still share one welcome.

Timing: joins are gathered for `GATHER_SECONDS` (or `network.welcome_delay`, if shorter),
then greeted; for `network.welcome_delay` seconds after a welcome was posted (the window,
60 by default) later joins are added to it by an edit; after that, the next join gets a
new welcome.

Sending is two-phase so a crash never greets twice: the pending joins are first tied to a
batch (committed), which also records whether they get a new welcome ("n.<id>") or are
added to the room's open one ("e.<id>"); then the welcome is sent or edited with a
transaction id derived from that batch, and in the same transaction the rows are deleted
and the room's welcome post (`WelcomePost`) is recorded. A restart resends an unfinished
batch the same way with the same transaction id, which the homeserver folds into the first.
One batch at a time per room: a batch is only formed when the previous one is through.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import defaultdict
from datetime import datetime, timedelta

from babel.lists import format_list
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.database import is_unavailable
from bot.db.models import Member, PendingWelcome, WelcomePost
from bot.deps import Deps
from bot.errors import GatewayError, HomeserverUnavailable
from bot.events import Outgoing
from bot.formatting import Rich, fill, pill
from bot.i18n import BoundTranslator
from rooms.network import NetworkRooms

log = logging.getLogger(__name__)
NAMES_SHOWN = 12
GATHER_SECONDS = 3  # how long the first joins are gathered before the welcome goes out
RETRY_SECONDS = 30  # when the database or the homeserver was away
NEW, EDIT = "n", "e"  # what a batch does: post a new welcome, or add to the open one


def batch_id(event_ids: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(event_ids)).encode()).hexdigest()[:32]


def listed(mxids: str) -> list[str]:
    """The Matrix IDs a welcome post names (stored space-separated)."""
    return mxids.split()


class Welcomer:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    @property
    def window(self) -> timedelta:
        """How long after a welcome was posted later joins are added to it."""
        return timedelta(seconds=self.deps.config.network.welcome_delay)

    @property
    def gather(self) -> timedelta:
        return min(timedelta(seconds=GATHER_SECONDS), self.window)

    def schedule(self, room_id: str, delay: timedelta | None = None) -> None:
        """Greet the joins of `room_id` after the gathering delay (one job per room)."""
        scheduler = self.deps.scheduler
        if scheduler is None:
            return
        job_id = f"welcome:{room_id}"
        if scheduler.get_job(job_id) is None:
            run_date = self.deps.clock() + (self.gather if delay is None else delay)
            scheduler.add_job(self._job, "date", run_date=run_date, id=job_id, args=[room_id],
                              misfire_grace_time=None)

    async def _job(self, room_id: str) -> None:
        """The scheduled flush: when the database or the homeserver is away, it tries
        again a little later (the joins stay pending meanwhile)."""
        try:
            await self.flush(room_id)
        except Exception as exc:
            if not (isinstance(exc, HomeserverUnavailable) or is_unavailable(exc)):
                raise
            log.warning("welcome in %s delayed (%s); again in %ds", room_id,
                        type(exc).__name__, RETRY_SECONDS)
            self.schedule(room_id, timedelta(seconds=RETRY_SECONDS))

    async def flush_all(self) -> None:
        """At start: greet whatever was pending when the bot stopped."""
        async with self.deps.db.session() as session:
            rooms = (await session.scalars(select(PendingWelcome.room_id).distinct())).all()
        for room_id in rooms:
            await self.flush(room_id)

    async def flush(self, room_id: str) -> None:
        """Greet every pending join of the room: the unfinished batch first, then the rest."""
        async with self._locks[room_id]:
            while (batch := await self._next_batch(room_id)) is not None:
                try:
                    await self._send(room_id, batch)
                except HomeserverUnavailable:
                    raise  # not now: the batch stays, and is sent the same way later
                except GatewayError as exc:  # final (4xx): we may not post there any more
                    log.warning("cannot welcome in %s (%s); dropping batch %s", room_id, exc,
                                batch)
                    async with self.deps.db.session() as session:
                        await session.execute(delete(PendingWelcome).where(
                            PendingWelcome.batch == batch))

    async def _next_batch(self, room_id: str) -> str | None:
        """The room's unfinished batch, else its fresh joins tied into a new one (and
        whether they get a new welcome or join the open one decided), committed."""
        async with self.deps.db.session() as session:
            rows = (await session.scalars(select(PendingWelcome).where(
                PendingWelcome.room_id == room_id))).all()
            unfinished = sorted({r.batch for r in rows if r.batch})
            if unfinished:
                return unfinished[0]
            if not rows:
                return None
            post = await session.get(WelcomePost, room_id)
            kind = EDIT if post is not None and self._open(post, self.deps.clock()) else NEW
            batch = f"{kind}.{batch_id([r.event_id for r in rows])}"
            for row in rows:
                row.batch = batch
            return batch

    def _open(self, post: WelcomePost, now: datetime) -> bool:
        return now - post.opened_at < self.window

    async def _send(self, room_id: str, batch: str) -> None:
        deps = self.deps
        async with deps.db.session() as session:
            rows = (await session.scalars(select(PendingWelcome).where(
                PendingWelcome.batch == batch).order_by(PendingWelcome.joined_at,
                                                        PendingWelcome.mxid))).all()
            if not rows:
                return
            joined = list(dict.fromkeys(r.mxid for r in rows))
            post = await session.get(WelcomePost, room_id)
            txn = f"sbcc.welcome.{batch}"
            if batch.startswith(f"{EDIT}.") and post is not None:
                before = listed(post.mxids)
                added = [m for m in joined if m not in before]
                everyone = before + added
                text, html = await self._compose(session, room_id, everyone)
                await deps.gateway.send(Outgoing(room_id, text, html, mentions=tuple(added),
                                                 txn_id=txn, replaces=post.event_id))
                post.mxids = " ".join(everyone)
                log.info("added %d member(s) to the welcome in %s", len(added), room_id)
            else:
                if batch.startswith(f"{EDIT}."):
                    txn += ".new"  # the post it was to join is gone: a welcome of its own
                text, html = await self._compose(session, room_id, joined)
                event_id = await deps.gateway.send(Outgoing(room_id, text, html,
                                                            mentions=tuple(joined), txn_id=txn))
                if post is None:
                    post = WelcomePost(room_id=room_id)
                    session.add(post)
                post.event_id, post.opened_at = event_id, deps.clock()
                post.mxids = " ".join(joined)
                log.info("welcomed %d member(s) in %s", len(joined), room_id)
            await session.execute(delete(PendingWelcome).where(PendingWelcome.batch == batch))

    async def _compose(self, session: AsyncSession, room_id: str, mxids: list[str]
                       ) -> tuple[str, str]:
        deps = self.deps
        room = await NetworkRooms(session, deps.config.network).by_room_id(room_id)
        locale = await deps.locales(session).room(room_id)
        members = {m.mxid: m for m in (await session.scalars(
            select(Member).where(Member.mxid.in_(mxids)))).all()}
        names = [pill(x, members[x].display_name if x in members else None) for x in mxids]
        return self.compose(room.spec.name if room else "", names, deps.translator.bind(locale))

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


# -- what welcomes hold about members (for !mydata and !forget-me), and pruning --------------

async def welcomes_of(session: AsyncSession, mxid: str
                      ) -> tuple[list[PendingWelcome], list[WelcomePost]]:
    """`mxid`'s joins waiting for their welcome, and the welcome posts that name them."""
    pending = (await session.scalars(select(PendingWelcome).where(
        PendingWelcome.mxid == mxid).order_by(PendingWelcome.joined_at))).all()
    posts = (await session.scalars(select(WelcomePost).order_by(WelcomePost.room_id))).all()
    return list(pending), [p for p in posts if mxid in listed(p.mxids)]


async def forget_welcomes(session: AsyncSession, mxid: str) -> int:
    """Drop `mxid`'s pending welcomes and take them off the welcome posts' lists (a later
    edit of that welcome no longer names them). Returns how many records were touched."""
    result = await session.execute(delete(PendingWelcome).where(PendingWelcome.mxid == mxid))
    touched = getattr(result, "rowcount", 0) or 0
    _pending, posts = await welcomes_of(session, mxid)
    for post in posts:
        post.mxids = " ".join(m for m in listed(post.mxids) if m != mxid)
    return touched + len(posts)


async def prune_welcome_posts(session: AsyncSession, before: datetime) -> int:
    """Forget welcome posts opened before `before`: long closed, nobody is added to them."""
    result = await session.execute(delete(WelcomePost).where(WelcomePost.opened_at < before))
    return getattr(result, "rowcount", 0) or 0
