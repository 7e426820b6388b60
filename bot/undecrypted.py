"""Encrypted events the bot cannot read yet — never lost, never answered twice.

When a message arrives before its room key (a client shares the key by to-device message,
which may come a /sync later, or not at all if the sender's client did not know the bot's
device yet), the event is kept in the database, still encrypted, and the key is asked for
from the sender's device. After each /sync that brought room keys (and every half minute)
the kept events are tried again: one that opens is handled as if it had just arrived (a
command's handled-event record keeps it from being answered twice). One that stays closed
past `matrix.encryption.undecryptable_wait` is given up: the sender is told in the room —
always in a direct chat, at most once a day per person elsewhere — and the event is
recorded as handled, so a late key can no longer make the bot answer after saying it could
not read the message."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import txn_base
from bot.db.models import KeptEvent, Member
from bot.deps import Deps
from bot.errors import GatewayError, HomeserverUnavailable
from bot.events import Outgoing, RoomEvent, Undecryptable
from bot.formatting import escape
from bot.i18n import N_
from bot.sync_store import is_handled, mark_handled

log = logging.getLogger(__name__)
TELL_EVERY = timedelta(days=1)  # outside direct chats: at most one notice per person a day
COULD_NOT_READ = N_("I could not read your message: it is end-to-end encrypted and its key "
                    "has not reached me. Please send it again.")


class KeptEvents:
    """The `kept_events` table."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def keep(self, event: Undecryptable, now: datetime) -> bool:
        """Keep `event`; False when it was kept already (a redelivery)."""
        if await self.session.get(KeptEvent, event.event_id) is not None:
            return False
        self.session.add(KeptEvent(event_id=event.event_id, room_id=event.room_id,
                                   sender=event.sender, source=json.dumps(event.source),
                                   received_at=now))
        return True

    async def waiting(self) -> list[KeptEvent]:
        """Those not given up yet, oldest first."""
        return list(await self.session.scalars(
            select(KeptEvent).where(KeptEvent.given_up_at.is_(None))
            .order_by(KeptEvent.received_at)))

    async def told_recently(self, room_id: str, sender: str, since: datetime) -> bool:
        found = await self.session.scalar(
            select(KeptEvent.event_id).where(KeptEvent.room_id == room_id,
                                             KeptEvent.sender == sender,
                                             KeptEvent.told,
                                             KeptEvent.given_up_at >= since).limit(1))
        return found is not None

    async def prune(self, now: datetime, keep: timedelta) -> int:
        """Forget events given up on (or still closed) longer than `keep` ago."""
        result = await self.session.execute(
            delete(KeptEvent).where(KeptEvent.received_at < now - keep))
        return getattr(result, "rowcount", 0) or 0

    async def export(self, mxid: str) -> list[dict[str, Any]]:
        rows = await self.session.scalars(select(KeptEvent).where(KeptEvent.sender == mxid))
        return [{"event_id": r.event_id, "room_id": r.room_id, "received_at": r.received_at,
                 "given_up_at": r.given_up_at} for r in rows]

    async def erase(self, mxid: str) -> int:
        result = await self.session.execute(delete(KeptEvent).where(KeptEvent.sender == mxid))
        return getattr(result, "rowcount", 0) or 0


def as_event(row: KeptEvent) -> Undecryptable:
    source = json.loads(row.source)
    return Undecryptable(event_id=row.event_id, room_id=row.room_id, sender=row.sender,
                         source=source,
                         session_id=str((source.get("content") or {}).get("session_id", "")),
                         timestamp_ms=int(source.get("origin_server_ts") or 0))


class WaitingForKeys:
    """Keeps undecryptable events, retries them, and gives up politely (module docstring).
    `dispatch` handles a decrypted event as the dispatcher handles any event."""

    def __init__(self, deps: Deps, dispatch: Callable[[RoomEvent], Awaitable[None]]) -> None:
        self.deps = deps
        self.dispatch = dispatch
        self.wait = deps.config.matrix.encryption.undecryptable_wait.delta
        # one retry at a time: the regular one and the one after a /sync that brought keys
        # would otherwise both take up an event, and a key arriving while the first tells
        # the sender it gave up would let the second answer the message after all
        self._retrying = asyncio.Lock()

    async def keep(self, event: Undecryptable) -> None:
        """Keep a just-arrived event that would not open, and ask for its key."""
        deps = self.deps
        async with deps.db.session() as session:
            if await is_handled(session, event.event_id):
                return
            fresh = await KeptEvents(session).keep(event, deps.clock())
        if not fresh:
            return
        log.info("could not decrypt %s in %s yet; kept, asking for its key", event.event_id,
                 event.room_id)
        if not deps.gateway.encryption:
            return  # it will never open: the sender is told at the next retry
        try:
            asked = await deps.gateway.request_keys(event)
        except GatewayError as exc:  # asking is a courtesy: the wait goes on regardless
            log.warning("could not ask for the key of %s: %s", event.event_id, exc)
            return
        if asked:
            async with deps.db.session() as session:
                row = await session.get(KeptEvent, event.event_id)
                if row is not None:
                    row.keys_requested = True

    async def retry(self) -> int:
        """Try every waiting event again; returns how many opened."""
        async with self._retrying:
            return await self._retry()

    async def _retry(self) -> int:
        deps = self.deps
        async with deps.db.session() as session:
            rows = [(as_event(r), r.received_at) for r in await KeptEvents(session).waiting()]
        opened = 0
        for event, received_at in rows:
            plain = deps.gateway.decrypt(event)
            if plain is not None:
                await self.dispatch(plain)
                async with deps.db.session() as session:
                    await session.execute(
                        delete(KeptEvent).where(KeptEvent.event_id == event.event_id))
                opened += 1
            elif not deps.gateway.encryption or deps.clock() - received_at >= self.wait:
                await self._give_up(event)
        return opened

    async def _give_up(self, event: Undecryptable) -> None:
        """Tell the sender (see module docstring), then record the event as handled."""
        deps = self.deps
        now = deps.clock()
        async with deps.db.session() as session:
            direct = await deps.direct.is_direct(event.room_id)
            kept = KeptEvents(session)
            quiet = not direct and await kept.told_recently(event.room_id, event.sender,
                                                           now - TELL_EVERY)
            member = await session.get(Member, event.sender)
            locale = await deps.locales(session).reader(member, event.room_id)
        told = False
        if not quiet:
            text = deps.translator.bind(locale)(COULD_NOT_READ)
            try:
                await deps.gateway.send(Outgoing(
                    event.room_id, text, escape(text), reply_to=event.event_id,
                    mentions=(event.sender,), txn_id=txn_base(event.event_id) + ".unreadable"))
                told = True
            except HomeserverUnavailable:
                raise  # not now: tried again at the next retry
            except GatewayError as exc:  # the room refuses us (we left, were banned)
                log.warning("could not tell %s about %s: %s", event.room_id,
                            event.event_id, exc)
        async with deps.db.session() as session:
            row = await session.get(KeptEvent, event.event_id)
            if row is not None:
                row.given_up_at, row.told = now, told
            if not await is_handled(session, event.event_id):
                mark_handled(session, event.event_id, event.room_id, now)
        log.info("gave up on %s in %s (%s)", event.event_id, event.room_id,
                 "sender told" if told else "sender not told")
