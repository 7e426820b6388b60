"""The sync loop: long-poll, hand each batch to the dispatcher, save the position only after
the batch (and every batch before it) was handled."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from bot.backoff import Backoff
from bot.db import Database
from bot.db.database import is_unavailable
from bot.dispatcher import Dispatcher
from bot.errors import GatewayError, HomeserverUnavailable
from bot.events import SyncBatch
from bot.sync_store import load_position, save_position

log = logging.getLogger(__name__)
NEXT_SYNC_WAIT = 0.5  # seconds a batch's first answer may hold back the next /sync


class SyncSource(Protocol):
    user_id: str

    async def sync(self, since: str | None, timeout_ms: int) -> SyncBatch: ...


class SyncLoop:
    def __init__(self, gateway: SyncSource, dispatcher: Dispatcher, db: Database,
                 clock: Callable[[], datetime], timeout_ms: int = 30_000,
                 backoff: Backoff | None = None) -> None:
        self.gateway = gateway
        self.dispatcher = dispatcher
        self.db = db
        self.clock = clock
        self.timeout_ms = timeout_ms
        self.last_sync: datetime | None = None
        self.backoff = backoff or Backoff(base=0.5, cap=30.0)
        self._stopping = asyncio.Event()
        self._committer: asyncio.Task[None] | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self._unsaved: str | None = None  # a position past batches that carried nothing

    def stop(self) -> None:
        self._stopping.set()

    def abort(self) -> None:
        """Stop at once: batches in flight are cancelled, and the position stays before
        them (whoever syncs next gets their events again)."""
        self._stopping.set()
        for handler in self._handlers:
            handler.cancel()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    async def run(self) -> None:
        user_id = self.gateway.user_id
        async with self.db.session() as session:
            since = await load_position(session, user_id)
        loaded = since  # what came from here may have been handled before (a restart)
        if since is None:
            log.info("first start: skipping the room history, answering only new messages")
        else:
            log.info("resuming from the saved sync position; listening")
        backoff = self.backoff
        while not self.stopping:
            sync = asyncio.ensure_future(self.gateway.sync(since, self.timeout_ms if since else 0))
            stop = asyncio.ensure_future(self._stopping.wait())
            await asyncio.wait({sync, stop}, return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
            if self.stopping:
                sync.cancel()
                break
            try:
                batch = sync.result()
            except HomeserverUnavailable as exc:
                delay = backoff.next_delay()
                log.warning("sync failed (%s); retrying in %.1fs", exc, delay)
                await self._sleep(delay)
                continue
            except GatewayError as exc:
                if exc.errcode == "M_UNKNOWN_TOKEN":
                    raise
                delay = backoff.next_delay()
                log.error("sync refused (%s); retrying in %.1fs", exc, delay)
                await self._sleep(delay)
                continue
            backoff.reset()
            self.last_sync = self.clock()
            batch.fresh = since is not None and since != loaded
            if since is None:
                await self._first_batch(batch)
                log.info("caught up with the homeserver; listening")
            else:
                await self._handle(batch)
            since = batch.next_batch
        await self.drain()

    async def _sleep(self, delay: float) -> None:
        try:
            await asyncio.wait_for(self._stopping.wait(), timeout=delay)
        except TimeoutError:
            pass

    async def _first_batch(self, batch: SyncBatch) -> None:
        """On the very first start, old messages are history, not commands."""
        for invite in batch.invites:
            await self.dispatcher.on_invite(invite)
        await self._save(batch.next_batch)

    async def _handle(self, batch: SyncBatch) -> None:
        """Handle in the background and keep syncing; positions are saved in order. The
        next /sync goes out once the batch's first command is answered (or the batch is
        handled, or `NEXT_SYNC_WAIT` passed): on a homeserver that handles one request
        at a time, a /sync sent beside the reply delays the reply."""
        answered: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        handler = asyncio.create_task(self.dispatcher.handle_batch(batch, answered))
        self._handlers.add(handler)
        handler.add_done_callback(self._handlers.discard)
        self._committer = asyncio.create_task(
            self._commit_after(self._committer, handler, batch.next_batch,
                               not (batch.events or batch.invites or batch.left_rooms))
        )
        if batch.events or batch.invites:
            await asyncio.wait({handler, answered}, timeout=NEXT_SYNC_WAIT)
        if not answered.done():
            answered.cancel()

    async def _commit_after(self, previous: asyncio.Task[None] | None,
                            handler: asyncio.Task[None], token: str, empty: bool) -> None:
        if previous is not None:
            await asyncio.wait({previous})
        await asyncio.wait({handler})
        if handler.cancelled() or handler.exception() is not None or self.dispatcher.aborted:
            return  # leave the position where it was: these events come again next start
        if empty:
            self._unsaved = token  # nothing to redeliver: saved with the next batch or at exit
            return
        try:
            await self._save(token)
        except Exception as exc:
            if not self.stopping:
                raise
            log.warning("the sync position was not saved (%s): what came since is handled "
                        "again next start, once", type(exc).__name__)

    async def _save(self, token: str) -> None:
        """Save the position; while the database is away, try again (with backoff) until
        it answers or the bot stops (then the batch is redelivered next start)."""
        self._unsaved = None
        backoff = Backoff(base=0.5, cap=30.0)
        while True:
            try:
                async with self.db.session() as session:
                    await save_position(session, self.gateway.user_id, token, self.clock())
                return
            except Exception as exc:
                if not is_unavailable(exc) or self.stopping:
                    raise
                delay = backoff.next_delay()
                log.warning("could not save the sync position (%s); again in %.1fs",
                            type(exc).__name__, delay)
                await self._sleep(delay)

    async def drain(self, timeout: float = 20.0) -> None:
        """Let in-flight commands finish (bounded), then let the last position be saved."""
        pending = set(self._handlers)
        if pending:
            log.info("waiting for %d in-flight batch(es)", len(pending))
            done, still = await asyncio.wait(pending, timeout=timeout)
            for task in still:
                task.cancel()
            if still:
                await asyncio.wait(still)
        if self._committer is not None:
            await asyncio.wait({self._committer})
        if self._unsaved is not None and not self.dispatcher.aborted:
            await self._save(self._unsaved)
