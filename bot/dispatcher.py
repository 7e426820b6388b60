"""From events to commands: filtering, de-duplication, locale, transactions, error replies.

Each command runs in its own transaction. Its replies are sent before the transaction
commits, with transaction ids derived from the triggering event: if the bot dies between the
send and the commit, the event is redelivered (the sync position was not saved), handled
again, and the homeserver folds the resent reply into the first one. After the commit the
event id is in `handled_events`, so a redelivery is ignored. Together: answered exactly once.
Only the first batch after a start can hold redeliveries (it is synced from the saved
position); later batches are `fresh`, and a fresh command whose sender's and room's
languages are known (`bot.languages`) is answered before the database is asked anything.

Faults lose nothing: when the homeserver or the database is away, a command (or a
listener's handling of an event) is rolled back — no database lock is held while waiting —
and run again, with backoff, until it goes through; on shutdown it is left for the next
start (the sync position does not move past it).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextvars import ContextVar
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import bindparam, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.backoff import Backoff
from bot.context import Context
from bot.db.database import is_unavailable, run_after_commit
from bot.db.models import HandledEvent, Member, RoomSetting
from bot.deps import Deps
from bot.errors import GatewayError, HomeserverUnavailable, UserError
from bot.events import Invite, Message, RoomEvent, SyncBatch, Undecryptable
from bot.feature import Listener, ServiceFactory, Services
from bot.formatting import escape, markup
from bot.framework import Command, Invocation, Registry
from bot.framework.parsing import strip_reply_fallback
from bot.i18n import N_, resolve_locale
from bot.languages import KnownLanguages
from bot.lru import Lru
from bot.members import MemberService
from bot.retries import within_unit
from bot.sync_store import is_handled, mark_handled
from bot.undecrypted import WaitingForKeys

log = logging.getLogger(__name__)

COMMAND_MSGTYPES = frozenset({"m.text"})
MAX_COMMAND_BYTES = 4096  # a longer message is answered with a refusal, never parsed
KNOWN_MEMBERS = 50_000  # senders remembered as met (anyone on Matrix can write to the bot)

# The batch being handled here, told when its first answer is out (see `handle_batch`)
_answered: ContextVar[asyncio.Future[None] | None] = ContextVar("sbcc_batch_answered",
                                                                default=None)


def _note_answered() -> None:
    answered = _answered.get()
    if answered is not None and not answered.done():
        answered.set_result(None)


class Arrival(NamedTuple):
    """What a command needs to know before it can answer."""

    handled: bool  # a redelivery: it was answered (and recorded) before
    member_language: str | None  # the sender's chosen language, if any
    room_language: str | None  # the room's own language, if it has one


async def arrival(session: AsyncSession, message: Message,
                  clock: Callable[[], datetime]) -> Arrival:
    """Whether `message` was handled, its sender's member row and the room's language, in
    one statement: every round trip to the database before the reply is one the member
    waits for. (Should the member row be gone — forgotten since the bot met them — it is
    made again, as any command's sender has one.)"""
    params = {"event_id": message.event_id, "mxid": message.sender,
              "room_id": message.room_id}
    row = (await session.execute(_ARRIVAL, params)).first()
    if row is not None:
        return Arrival(bool(row[1]), row[0], row[2])
    member = await MemberService(session, clock).get_or_create(message.sender)
    return Arrival(await is_handled(session, message.event_id), member.language,
                   await session.scalar(_ROOM_LANGUAGE, params))


# built once: only the parameters differ from one command to the next
_ROOM_LANGUAGE = select(RoomSetting.language).where(
    RoomSetting.room_id == bindparam("room_id"))
_ARRIVAL = select(
    Member.language,
    exists().where(HandledEvent.event_id == bindparam("event_id")),
    _ROOM_LANGUAGE.scalar_subquery(),
).where(Member.mxid == bindparam("mxid"))


class Stopping(Exception):
    """The bot is shutting down while a unit of work waited for the homeserver or the
    database: it is left for the next start."""


def transient(error: BaseException) -> bool:
    """A failure that says "not now" (the homeserver or the database away), not "never"."""
    return isinstance(error, HomeserverUnavailable) or is_unavailable(error)


def error_reference(event_id: str) -> str:
    """A short, stable reference the user can quote and an admin can grep for in the log."""
    return hashlib.sha256(event_id.encode()).hexdigest()[:8]


class Dispatcher:
    def __init__(self, deps: Deps, registry: Registry,
                 services: Mapping[str, ServiceFactory] | None = None,
                 listeners: Sequence[Listener] = ()) -> None:
        self.deps = deps
        self.registry = registry
        self.services = services or {}
        self.prefix = deps.config.command_prefix
        self._inflight: set[str] = set()
        self._room_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._listeners: list[Listener] = list(listeners)
        self._known_members: Lru[str, bool] = Lru(KNOWN_MEMBERS)
        self.languages = KnownLanguages()
        deps.db.after_flush(self.languages.forget_flushed)
        self._stopping = asyncio.Event()
        self.waiting = WaitingForKeys(deps, self._dispatch_opened)
        # Set when a handler could not finish (shutdown while the homeserver was away): the
        # sync position must then not move past that event, so it is redelivered next start.
        self.aborted = False

    def stop(self) -> None:
        """Units of work waiting for the homeserver or the database give up from now on."""
        self._stopping.set()

    async def until_done(self, what: str, event_id: str,
                         unit: Callable[[], Awaitable[Any]]) -> Any:
        """Run `unit` (a command, a listener on one event) until it is not interrupted by
        the homeserver or the database being away: each attempt gives up on the
        homeserver after a few seconds and its transaction rolls back, so no lock is held
        while waiting; the next attempt comes after a capped, jittered backoff."""
        backoff = Backoff(base=0.5, cap=30.0)
        while True:
            try:
                with within_unit():
                    return await unit()
            except asyncio.CancelledError:
                self.aborted = True
                raise
            except Exception as exc:
                if not transient(exc):
                    raise
                if self._stopping.is_set() or getattr(self.deps.gateway, "stopping", False):
                    self.aborted = True
                    raise Stopping(what) from exc
                delay = backoff.next_delay()
                log.warning("%s of %s interrupted (%s); again in %.1fs", what, event_id,
                            type(exc).__name__, delay)
                try:
                    await asyncio.wait_for(self._stopping.wait(), timeout=delay)
                except TimeoutError:
                    pass

    def add_listener(self, listener: Listener) -> None:
        """Let a feature see every room event (memberships, state, messages)."""
        self._listeners.append(listener)

    # -- batches -------------------------------------------------------------------------

    async def handle_batch(self, batch: SyncBatch,
                           answered: asyncio.Future[None] | None = None) -> None:
        """Handle one sync batch: invites first, then each room's events in order, rooms
        concurrently. Returns when everything in the batch is handled; `answered` is
        resolved as soon as the batch's first command has been answered."""
        if answered is not None:
            _answered.set(answered)  # this task's (and its room tasks') own context
        by_room: dict[str, list[RoomEvent]] = defaultdict(list)
        for event in batch.events:
            by_room[event.room_id].append(event)
        if len(by_room) == 1 and not batch.invites:
            # one room (most often one member's command): handled now, not after whatever
            # else is ready to run first (the next /sync being sent); its lock is taken
            # as early as a task's would be
            [(room_id, events)] = by_room.items()
            await self._room_events(room_id, events, batch.fresh)
        else:
            # the rooms' tasks first, so each takes its room's lock before any later
            # batch's can
            rooms = [asyncio.create_task(self._room_events(r, evs, batch.fresh))
                     for r, evs in by_room.items()]
            for invite in batch.invites:
                await self.on_invite(invite)
            await asyncio.gather(*rooms)
        if batch.room_keys:
            await self.retry_kept()

    async def retry_kept(self) -> None:
        """Try the kept encrypted events again (after room keys came, and regularly)."""
        try:
            opened = await self.waiting.retry()
        except (asyncio.CancelledError, Stopping):
            raise
        except Exception as exc:  # tried again at the next chance; nothing is lost
            log.warning("retrying kept encrypted events failed: %s", exc)
            return
        if opened:
            log.info("%d kept encrypted event(s) decrypted and handled", opened)

    async def _dispatch_opened(self, event: RoomEvent) -> None:
        async with self._room_locks[event.room_id]:
            await self.on_event(event)

    async def _room_events(self, room_id: str, events: list[RoomEvent], fresh: bool) -> None:
        async with self._room_locks[room_id]:
            for event in events:
                await self.on_event(event, fresh)

    async def on_event(self, event: RoomEvent, fresh: bool = False) -> None:
        """Never raises: a broken event or handler must not stop the sync loop. A message
        is answered first and seen by the listeners after: their bookkeeping (counting it
        for the digest) is nothing the member waits for. `fresh`: never delivered before
        (see `SyncBatch.fresh`)."""
        self.deps.metrics.events.inc()
        if isinstance(event, Undecryptable):  # kept until its key comes
            await self._guarded(self.waiting.keep, event)
            return
        if isinstance(event, Message):
            await self._guarded(lambda message: self.on_message(message, fresh), event)
        for step in self._listeners:
            await self._guarded(step, event)

    async def _guarded(self, step: Callable[[Any], Awaitable[None]], event: RoomEvent) -> None:
        """Run one listener until it is through (see `until_done`): its failure is logged,
        never raised, and costs no other listener the event; a shutdown goes through."""
        try:
            await self.until_done("handling", event.event_id, lambda: step(event))
        except (asyncio.CancelledError, Stopping):
            raise
        except Exception:  # one listener's failure never costs the others the event
            log.exception("failed to handle event %s in %s", event.event_id, event.room_id)

    async def on_invite(self, invite: Invite) -> None:
        if invite.inviter is None or not self.deps.config.may_invite(invite.inviter):
            log.info("declining invite to %s from %s", invite.room_id, invite.inviter)
            try:
                await self.deps.gateway.leave(invite.room_id)
            except GatewayError as exc:
                log.warning("could not decline invite to %s: %s", invite.room_id, exc)
            return
        try:
            await self.deps.gateway.join(invite.room_id)
            log.info("joined %s (invited by %s)", invite.room_id, invite.inviter)
        except GatewayError as exc:
            log.warning("could not join %s: %s", invite.room_id, exc)
            return
        if invite.is_direct:
            await self.until_done("recording", invite.room_id,
                                  lambda: self.deps.direct.record(invite.room_id))

    # -- messages ------------------------------------------------------------------------

    async def command_line(self, message: Message) -> str | None:
        """The text after the prefix, or the whole text in a direct chat; None otherwise."""
        if message.sender == self.deps.gateway.user_id or message.is_edit:
            return None
        if message.msgtype not in COMMAND_MSGTYPES:
            return None
        text = strip_reply_fallback(message.body).strip()
        if text.startswith(self.prefix):
            rest = text[len(self.prefix):]
            return rest if rest[:1].isalpha() else None
        if text and await self.until_done("reading", message.event_id,
                                          lambda: self.deps.direct.is_direct(message.room_id)):
            return text
        return None

    async def on_message(self, message: Message, fresh: bool = False) -> None:
        line = await self.command_line(message)
        if line is None or message.event_id in self._inflight:
            return
        self._inflight.add(message.event_id)
        try:
            await self.until_done("command", message.event_id,
                                  lambda: self._run(message, line, fresh))
        finally:
            self._inflight.discard(message.event_id)

    async def _run(self, message: Message, line: str, fresh: bool) -> None:
        started = time.perf_counter()
        outcome = await self._run_timed(message, line, fresh)
        if outcome is not None:
            name, result = outcome
            metrics = self.deps.metrics
            metrics.commands.labels(name, result).inc()
            metrics.command_seconds.labels(name).observe(time.perf_counter() - started)

    async def _run_timed(self, message: Message, line: str,
                         fresh: bool) -> tuple[str, str] | None:
        """Handle one command; returns (command, outcome) for the metrics, None for a
        redelivery. A `fresh` command from a member and room whose languages are known is
        answered without asking the database anything first: it cannot be a redelivery."""
        name, _, args = line.partition(" ")
        if "\n" in name:
            name, _, more = name.partition("\n")
            args = more + " " + args
        deps = self.deps
        seen = Invocation()
        async with deps.db.sessionmaker() as session:
            ctx: Context | None = None
            failure: BaseException | None = None
            try:
                await self._meet(message.sender)
                async with session.begin():
                    known = (self.languages.get(message.sender, message.room_id)
                             if fresh else None)
                    if known is None:
                        handled, member_language, room_language = await arrival(
                            session, message, deps.clock)
                        if handled:
                            return None
                        self.languages.put(message.sender, member_language,
                                           message.room_id, room_language)
                    else:
                        member_language, room_language = known
                    services = Services(session, self.services)
                    locale = resolve_locale(member_language, room_language,
                                            deps.config.default_language)
                    ctx = Context(message, deps, session, services,
                                  deps.translator.bind(locale), self.prefix)
                    if len(line.encode()) > MAX_COMMAND_BYTES:
                        raise UserError(N_("That message is too long for a command: "
                                           "%(size)d bytes, at most %(max)d."),
                                        size=len(line.encode()), max=MAX_COMMAND_BYTES)
                    await self.registry.resolve(name, self.prefix).invoke(ctx, args, seen)
                    _note_answered()
                    mark_handled(session, message.event_id, message.room_id, deps.clock())
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the transaction is rolled back; answer, then record
                if transient(exc):
                    raise  # not now: the whole command runs again (see `until_done`)
                failure = exc
            if failure is None:
                await run_after_commit(session)
            elif ctx is None:
                log.error("could not start handling %s", message.event_id, exc_info=failure)
                return "unknown", "error"
            if failure is None or ctx is None:
                return _label(seen.command), "ok"
            await self._reply_error(ctx, failure, seen.command)
            _note_answered()
            async with session.begin():
                mark_handled(session, message.event_id, message.room_id, deps.clock())
        # command names only: what users typed would make the label set unbounded
        return _label(seen.command), "user_error" if isinstance(failure, UserError) else "error"

    async def _meet(self, mxid: str) -> None:
        """Make sure the sender has a member row, outside the command's transaction: meeting
        someone is not part of a command's effect, and a long command must not hold SQLite's
        write lock for it. Remembered, so known members cost nothing here."""
        if mxid in self._known_members:
            return
        async with self.deps.db.session() as session:
            await MemberService(session, self.deps.clock).get_or_create(mxid)
        self._known_members.put(mxid, True)  # the longest known is forgotten past the bound

    async def _reply_error(self, ctx: Context, exc: BaseException,
                           command: Command | None) -> None:
        if isinstance(exc, UserError):
            text = ctx._(exc.msgid, **exc.params)
            html = escape(text)
            if exc.show_usage and command is not None:
                usage = command.usage_lines(self.prefix)
                label = ctx._(N_("Usage:"))
                text += f"\n{label} " + "\n".join(usage)
                html += markup("<br>%(label)s ", label=label) + "<br>".join(
                    markup("<code>%(usage)s</code>", usage=u) for u in usage)
            elif command is None:
                hint = ctx._(N_("Send %(help)s for the list of commands."),
                             help=self.prefix + "help")
                text += " " + hint
                html += " " + escape(hint)
        else:
            ref = error_reference(ctx.message.event_id)
            log.error("command failed on event %s in %s (ref %s)", ctx.message.event_id,
                      ctx.room_id, ref, exc_info=exc)
            text = ctx._(N_("Something went wrong (reference %(ref)s). The coordinators can "
                            "look it up."), ref=ref)
            html = escape(text)
        try:
            await ctx.reply("⚠️ " + text, "⚠️ " + html)
        except HomeserverUnavailable:
            raise  # not now: answered when the command runs again
        except GatewayError as send_error:
            log.warning("could not send the error reply for %s: %s", ctx.message.event_id,
                        send_error)


def _label(command: Command | None) -> str:
    return command.qualified_name if command is not None else "unknown"
