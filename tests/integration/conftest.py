"""A real Synapse for the whole session, fresh accounts per test, the bot as a process."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.homeserver import EmbeddedSynapse, RegisteredUser
from tests.conftest import DB_KINDS, POSTGRES_URL
from tests.integration.harness import BotProcess, Member

pytestmark = pytest.mark.integration
_seq = itertools.count(1)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `one_database` exercise the homeserver side (encryption, login, the
    web side), not the bot's SQL: they run on SQLite only. Their PostgreSQL variant is
    deselected, not skipped — the unit tests run every query on both databases, and the
    integration tests about restarts, outages and exactly-once keep both.
    Tests marked `shared_database` run replicas on one PostgreSQL database: their SQLite
    variant is deselected (SQLite is one file on one machine: no standby)."""
    kept, dropped = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_postgres = callspec is not None and callspec.params.get("bot_db") == "postgresql"
        on_sqlite = callspec is not None and callspec.params.get("bot_db") == "sqlite"
        drop = ((on_postgres and item.get_closest_marker("one_database"))
                or (on_sqlite and item.get_closest_marker("shared_database")))
        (dropped if drop else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(scope="session")
async def synapse(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[EmbeddedSynapse]:
    hs = EmbeddedSynapse(tmp_path_factory.mktemp("synapse"))
    await hs.start()
    try:
        yield hs
    finally:
        await hs.stop()


@pytest.fixture
async def register(synapse: EmbeddedSynapse) -> Callable[[str], Awaitable[RegisteredUser]]:
    async def make(name: str) -> RegisteredUser:
        localpart = f"{name}{next(_seq)}x{uuid.uuid4().hex[:6]}"
        return await synapse.register(localpart, "pw-" + uuid.uuid4().hex)
    return make


@pytest.fixture
async def member_factory(synapse: EmbeddedSynapse, tmp_path: Path) -> AsyncIterator[
        Callable[..., Awaitable[Member]]]:
    """A member's client; `encrypting=True`: one that encrypts, as Element does."""
    members: list[Member] = []

    async def make(user: RegisteredUser, encrypting: bool = False) -> Member:
        store = tmp_path / f"keys-{user.user_id[1:].split(':')[0]}" if encrypting else None
        m = Member(synapse.base_url, user.user_id, user.access_token, user.device_id, store)
        await m.start()
        members.append(m)
        return m

    yield make
    for m in members:
        await m.close()


def bot_config(synapse: EmbeddedSynapse, bot: RegisteredUser, db_url: str,
               schema: str | None = None, **extra: Any) -> dict[str, Any]:
    database: dict[str, Any] = {"url": db_url}
    if schema:
        database["schema"] = schema
    return {
        "matrix": {"homeserver": synapse.base_url, "user_id": bot.user_id,
                   "access_token": bot.access_token, "device_id": bot.device_id},
        "database": database,
        "log_level": "INFO",
        **extra,
    }


@pytest.fixture(params=DB_KINDS)
def bot_db(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str | None]:
    """(url, schema) of an empty database for one bot."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}", None
    assert POSTGRES_URL
    return POSTGRES_URL, "it_" + uuid.uuid4().hex[:12]


@pytest.fixture
def bot_sql(bot_db: tuple[str, str | None]) -> Callable[[str], Awaitable[list[tuple]]]:
    """Run SQL on the bot's own database (to move a due time, or read what was recorded)."""
    from sqlalchemy import text

    from bot.db import Database

    async def run(statement: str) -> list[tuple]:
        db = Database(*bot_db[:1], schema=bot_db[1])
        try:
            async with db.engine.begin() as conn:
                result = await conn.execute(text(statement))
                return [tuple(r) for r in result.all()] if result.returns_rows else []
        finally:
            await db.close()

    return run


@pytest.fixture
async def bot_factory(tmp_path: Path, synapse: EmbeddedSynapse, bot_db: tuple[str, str | None]
                      ) -> AsyncIterator[Callable[..., Awaitable[BotProcess]]]:
    bots: list[BotProcess] = []

    async def make(account: RegisteredUser, start: bool = True,
                   encryption: dict[str, Any] | None = None, **extra: Any) -> BotProcess:
        """The bot as a process; `encryption`: keys of `matrix.encryption`."""
        workdir = tmp_path / f"bot{len(bots)}"
        workdir.mkdir()
        config = bot_config(synapse, account, *bot_db, **extra)
        config["matrix"]["encryption"] = {"store_path": str(workdir / "crypto"),
                                          **(encryption or {})}
        bot = BotProcess(workdir, config)
        bots.append(bot)
        if start:
            await bot.start()
        return bot

    yield make
    for bot in bots:
        await bot.close()
