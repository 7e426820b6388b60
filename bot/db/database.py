"""The Database object: one engine and one sessionmaker, owned by the App."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import event, exc, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)
AFTER_COMMIT = "sbcc.after_commit"
# What says "the database is away for now" rather than "this statement is wrong": the
# server restarting or unreachable, a connection dropped, SQLite busy past its timeout.
_SQLITE_TRANSIENT = ("database is locked", "database is busy", "unable to open database",
                     "disk i/o error")
_PG_TRANSIENT = ("AdminShutdownError", "CannotConnectNowError", "ConnectionDoesNotExistError",
                 "ConnectionFailureError", "ConnectionRejectionError", "CrashShutdownError",
                 "PostgresConnectionError", "TooManyConnectionsError", "InterfaceError")


def is_unavailable(error: BaseException) -> bool:
    """Whether `error` means the database is away for a while (worth retrying the whole
    unit of work later), not that the work itself is wrong."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, exc.DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, (ConnectionError, TimeoutError, exc.TimeoutError)):
            return True  # refused or reset connections; no connection free in the pool
        if isinstance(current, OSError) and current.errno is not None:
            return True
        if type(current).__name__ in _PG_TRANSIENT:
            return True
        if isinstance(current, exc.OperationalError) and any(
                text in str(current.orig).lower() for text in _SQLITE_TRANSIENT):
            return True
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__
    return False


def after_commit(session: AsyncSession, action: Callable[[], Awaitable[None]]) -> None:
    """Run `action` once `session`'s transaction has committed (e.g. set timers that read
    what it wrote); nothing runs when it rolls back."""
    session.info.setdefault(AFTER_COMMIT, []).append(action)


async def run_after_commit(session: AsyncSession) -> None:
    """What was registered with `after_commit`, each once; a failure is logged, never
    raised: the transaction is committed, and the next one must not suffer for it."""
    for action in session.info.pop(AFTER_COMMIT, []):
        try:
            await action()
        except Exception:
            log.exception("work after a commit failed")


async def insert_if_missing(session: AsyncSession, model: Any, **values: Any) -> None:
    """INSERT … ON CONFLICT DO NOTHING (SQLite and PostgreSQL): when two transactions
    create the same row at once, both go through and one row results."""
    insert = (postgresql.insert if session.get_bind().dialect.name == "postgresql"
              else sqlite.insert)
    await session.execute(insert(model).values(**values).on_conflict_do_nothing())


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()


def alembic_config() -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(resources.files("bot.db") / "migrations"))
    return cfg


def _upgrade(connection: Connection) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, "head")


class Database:
    """Engine + sessions. `session()` is one transaction: commit on success, rollback on error."""

    def __init__(self, url: str, *, schema: str | None = None, echo: bool = False) -> None:
        """`schema` (PostgreSQL only) puts every table in that schema via `search_path`."""
        self.url = url
        self.schema = schema
        # statement parameters are members' data: never in a log line or an error message
        kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"timeout": 15}
        else:
            kwargs.update(pool_size=10, max_overflow=5, pool_pre_ping=True)
            if schema:
                kwargs["connect_args"] = {"server_settings": {"search_path": schema}}
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        # this database's own Session class: what listens to its flushes hears only its own
        self._session_class: type[Session] = type("Session", (Session,), {})
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False,
                                               sync_session_class=self._session_class)

    def after_flush(self, listener: Callable[[Session, Any], None]) -> None:
        """Call `listener(session, flush_context)` after each flush of this database's
        sessions; `session.new`, `.dirty` and `.deleted` still say what was written."""
        event.listen(self._session_class, "after_flush", listener)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision."""
        async with self.engine.begin() as conn:
            if self.schema and self.dialect == "postgresql":
                await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))
            await conn.run_sync(_upgrade)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessionmaker() as session:
            async with session.begin():
                yield session
            await run_after_commit(session)

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except Exception:  # noqa: BLE001 - any failure means "not answering"
            log.warning("database ping failed", exc_info=True)
            return False

    async def close(self) -> None:
        await self.engine.dispose()
