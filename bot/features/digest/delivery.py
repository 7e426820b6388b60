"""Delivering the weekly digest: exactly one per room per ISO week, even across restarts;
a digest missed while the bot was down goes out at start if less than 24 hours late. The
schedule is a wall-clock time in the configured timezone, so daylight saving never moves it."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import DigestDelivery, DigestSubscription
from bot.deps import Deps
from bot.errors import GatewayError
from bot.events import Outgoing
from bot.features.digest.composer import Digest, DigestComposer
from bot.features.digest.config import DigestConfig
from rooms.network import NetworkRooms

log = logging.getLogger(__name__)
LATE_LIMIT = timedelta(hours=24)


class DigestSender:
    """Posts the digest: weekly to the configured and subscribed rooms (the scheduled job
    and the catch-up at start), or now as a preview."""

    def __init__(self, deps: Deps, config: DigestConfig, composer: DigestComposer) -> None:
        self.deps = deps
        self.config = config
        self.composer = composer

    def trigger(self) -> CronTrigger:
        c = self.config
        return CronTrigger(day_of_week=c.weekday, hour=c.hour, minute=c.minute,
                           timezone=ZoneInfo(c.timezone))

    def last_slot(self, now: datetime) -> datetime:
        """The most recent scheduled time at or before `now` (UTC)."""
        tz = ZoneInfo(self.config.timezone)
        local = now.astimezone(tz)
        day = local.date() - timedelta(days=(local.weekday() - self.config.weekday) % 7)
        slot = datetime(day.year, day.month, day.day, self.config.hour, self.config.minute,
                        tzinfo=tz)
        if slot > local:
            slot -= timedelta(days=7)  # aware arithmetic keeps the wall-clock time
        return slot.astimezone(ZoneInfo("UTC"))

    @staticmethod
    def week_of(slot: datetime, tz: str) -> str:
        year, week, _ = slot.astimezone(ZoneInfo(tz)).isocalendar()
        return f"{year}-W{week:02d}"

    async def targets(self) -> list[tuple[str, str]]:
        """(room id, language) of every room that gets the digest: the configured rooms
        (`digest.rooms`) and the subscribed ones, less those that unsubscribed."""
        network = self.deps.config.network
        async with self.deps.db.session() as session:
            rooms = NetworkRooms(session, network)
            configured = [await rooms.room_id(spec) for key in self.config.rooms
                          if (spec := network.room_by_key(key)) is not None]
            subs = {s.room_id: s for s in (await session.scalars(
                select(DigestSubscription))).all()}
            out = []
            for room_id in dict.fromkeys([*filter(None, configured),
                                          *(r for r, s in subs.items() if s.active)]):
                sub = subs.get(room_id)
                if sub is not None and not sub.active:
                    continue
                out.append((room_id, await self._language(session, room_id, sub)))
        return out

    async def language_for(self, room_id: str) -> str:
        """A room's digest language: its subscription's, else the room's, else the default."""
        async with self.deps.db.session() as session:
            sub = await session.get(DigestSubscription, room_id)
            return await self._language(session, room_id, sub)

    async def _language(self, session: AsyncSession, room_id: str,
                        sub: DigestSubscription | None) -> str:
        if sub is not None and sub.language:
            return sub.language
        return await self.deps.locales(session).room(room_id)

    async def preview(self, room_id: str, days: int, txn_id: str) -> None:
        """Post the digest of the last `days` into `room_id` now, in the language the room
        reads it in (the room reads it, not just the one who asked)."""
        tr = self.deps.translator.bind(await self.language_for(room_id))
        async with self.deps.db.session() as session:
            composed = await self.composer.compose(session, tr, self.deps.clock(), days)
        await self.post(room_id, composed, txn_id)

    async def deliver(self, now: datetime | None = None) -> int:
        """The digest of the latest slot to every room that has not had it; returns how many
        were sent now."""
        slot = self.last_slot(now or self.deps.clock())
        week = self.week_of(slot, self.config.timezone)
        sent = 0
        for room_id, locale in await self.targets():
            try:
                sent += await self.deliver_room(room_id, locale, week, slot)
            except GatewayError as exc:  # one room's refusal never stops the others
                log.warning("digest %s not delivered to %s: %s", week, room_id, exc)
        return sent

    async def catch_up(self) -> None:
        now = self.deps.clock()
        slot = self.last_slot(now)
        if now - slot < LATE_LIMIT:
            sent = await self.deliver(now)
            if sent:
                log.info("sent %d digest(s) missed while the bot was down", sent)

    async def deliver_room(self, room_id: str, locale: str, week: str, end: datetime) -> bool:
        async with self.deps.db.session() as session:
            row = await session.get(DigestDelivery, (room_id, week))
            if row is not None and row.state == "sent":
                return False
            if row is None:
                session.add(DigestDelivery(room_id=room_id, week=week, state="sending"))
        async with self.deps.db.session() as session:
            digest = await self.composer.compose(session, self.deps.translator.bind(locale),
                                                 end)
        await self.post(room_id, digest, f"sbcc.digest.{week}.{room_id}")
        async with self.deps.db.session() as session:
            row = await session.get(DigestDelivery, (room_id, week))
            if row is None:  # removed meanwhile: record it again
                row = DigestDelivery(room_id=room_id, week=week)
                session.add(row)
            row.state, row.sent_at = "sent", self.deps.clock()
        log.info("digest %s sent to %s", week, room_id)
        return True

    async def post(self, room_id: str, digest: Digest, txn: str) -> None:
        gateway = self.deps.gateway
        await gateway.send(Outgoing(room_id, digest.text, digest.html, txn_id=txn))
        if digest.chart is not None:
            media = await gateway.upload(room_id, digest.chart, "image/png", "activity.png")
            await gateway.send(Outgoing(
                room_id, digest.chart_alt or "activity.png", msgtype="m.image",
                txn_id=f"{txn}.chart",
                extra=(*media.items(), ("filename", "activity.png"),
                       ("info", {"mimetype": "image/png", "size": len(digest.chart),
                                 "w": 800, "h": 400}))))


class DigestSubscriptions:
    """Rooms that asked for the digest (or asked to stop getting it)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def subscribe(self, room_id: str, language: str | None) -> None:
        row = await self.session.get(DigestSubscription, room_id)
        if row is None:
            row = DigestSubscription(room_id=room_id)
            self.session.add(row)
        row.language, row.active = language, True

    async def unsubscribe(self, room_id: str) -> None:
        row = await self.session.get(DigestSubscription, room_id)
        if row is None:
            self.session.add(DigestSubscription(room_id=room_id, active=False))
        else:
            row.active = False
