"""Which of several `sbcc-bot run` processes on one PostgreSQL database leads.

Exactly one leads: it holds a PostgreSQL session-level advisory lock on a connection of its
own (never one from the pool, which would hand the session — and the lock — to whatever
borrows it next). Only the leader logs in, syncs, runs the scheduled jobs and takes writes on
the web side; the others stand by, try the lock every `poll` seconds and take over when it
comes free.

The lock comes free the moment the leader's session ends: at once when its process dies
(the kernel closes the socket, PostgreSQL ends the session), and within a few seconds when
the leader is cut off from the database without a word (TCP keepalives, set low on this one
connection, end the session on the server's side). The leader asks its connection every
`heartbeat` seconds whether it is still there; when it is not, or does not answer within
`timeout` seconds, the leader has lost the lock — another process may lead by now — and
stops handling at once (`on_lost`), before the server lets go of the lock.

SQLite is one file on one machine: a process on it leads from the start, as before.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from enum import Enum

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from bot.db.database import is_unavailable

log = logging.getLogger(__name__)

# the server ends a silent client's session after IDLE + INTERVAL * COUNT seconds
KEEPALIVE = {"tcp_keepalives_idle": "2", "tcp_keepalives_interval": "1",
             "tcp_keepalives_count": "3"}


class Role(Enum):
    STANDBY = "standby"
    LEADER = "leader"


def lock_key(user_id: str, schema: str | None) -> int:
    """One lock per bot account and schema: two different bots may share a database."""
    digest = hashlib.sha256(f"sbcc-bot\0{schema or ''}\0{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class Leadership:
    def __init__(self, url: str, *, user_id: str, schema: str | None = None,
                 poll: float = 1.0, heartbeat: float = 1.0, timeout: float = 3.0) -> None:
        self.shared = make_url(url).get_backend_name() == "postgresql"
        self.url = url
        self.key = lock_key(user_id, schema)
        self.poll, self.heartbeat, self.timeout = poll, heartbeat, timeout
        self.role = Role.STANDBY
        self._engine: AsyncEngine | None = None
        self._conn: AsyncConnection | None = None
        self._watch: asyncio.Task[None] | None = None

    @property
    def leading(self) -> bool:
        return self.role is Role.LEADER

    async def acquire(self, stopping: asyncio.Event) -> bool:
        """Wait until this process leads (True) or `stopping` is set (False)."""
        if not self.shared:
            self.role = Role.LEADER
            return True
        said = ""  # what the log last said: each change once, not every `poll`
        while not stopping.is_set():
            try:
                if await self._try_lock():
                    self.role = Role.LEADER
                    log.info("leading: this process holds the database lock")
                    return True
                if said != "standby":
                    log.info("standby: another sbcc-bot leads (it holds the database lock); "
                             "taking over when it stops")
                    said = "standby"
            except Exception as exc:
                if not is_unavailable(exc):
                    raise
                if said != "away":
                    log.warning("standby: cannot reach the database for the lock (%s); "
                                "trying every %.0f s", type(exc).__name__, self.poll)
                    said = "away"
                await self._drop()
            try:
                await asyncio.wait_for(stopping.wait(), timeout=self.poll)
            except TimeoutError:
                pass
        return False

    async def _try_lock(self) -> bool:
        if self._conn is None:
            if self._engine is None:
                self._engine = create_async_engine(
                    self.url, poolclass=NullPool,
                    connect_args={"server_settings": {**KEEPALIVE,
                                                      "application_name": "sbcc-bot lock"},
                                  "timeout": self.timeout})
            conn = await asyncio.wait_for(self._engine.connect(), self.timeout * 2)
            self._conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        async with asyncio.timeout(self.timeout):
            got = await self._conn.scalar(text("SELECT pg_try_advisory_lock(:key)"),
                                          {"key": self.key})
        return bool(got)

    def watch(self, on_lost: Callable[[], None]) -> None:
        """While leading, check the lock's connection; call `on_lost` once it is gone."""
        if self.shared and self._watch is None:
            self._watch = asyncio.create_task(self._heartbeat(on_lost))

    async def _heartbeat(self, on_lost: Callable[[], None]) -> None:
        while True:
            await asyncio.sleep(self.heartbeat)
            try:
                assert self._conn is not None
                async with asyncio.timeout(self.timeout):
                    await self._conn.execute(text("SELECT 1"))
            except Exception as exc:  # noqa: BLE001 - any failure: the lock may be gone
                log.error("lost the database lock (%s): another process may lead now; "
                          "stopping at once", type(exc).__name__)
                self.role = Role.STANDBY
                on_lost()
                return

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                async with asyncio.timeout(self.timeout):
                    await conn.close()
            except Exception:  # noqa: BLE001 - it is gone either way; the session ends
                log.debug("closing the lock's connection failed", exc_info=True)

    async def release(self) -> None:
        """Let go (on a clean stop): the session ends, and with it the lock."""
        if self._watch is not None:
            self._watch.cancel()
            await asyncio.gather(self._watch, return_exceptions=True)
            self._watch = None
        await self._drop()
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None
        self.role = Role.STANDBY
