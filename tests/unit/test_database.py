"""Schema and stores on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from bot.db import Base, Database
from bot.sync_store import (
    is_handled,
    load_position,
    mark_handled,
    prune_handled,
    save_position,
)


async def test_migrations_match_the_models(db: Database) -> None:
    def diff(conn):  # noqa: ANN001, ANN202
        return compare_metadata(MigrationContext.configure(conn), Base.metadata)

    async with db.engine.connect() as conn:
        assert await conn.run_sync(diff) == []


async def test_migrate_twice_is_harmless(db: Database) -> None:
    await db.migrate()
    async with db.engine.connect() as conn:
        tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
    assert {"members", "sync_state", "handled_events", "room_settings"} <= set(tables)


async def test_position_and_handled_events(db: Database, clock) -> None:
    async with db.session() as s:
        assert await load_position(s, "@bot:x") is None
        await save_position(s, "@bot:x", "s1", clock())
        mark_handled(s, "$old", "!r", clock() - timedelta(days=8))
        mark_handled(s, "$new", "!r", clock())
    async with db.session() as s:
        await save_position(s, "@bot:x", "s2", clock())
    async with db.session() as s:
        assert await load_position(s, "@bot:x") == "s2"
        assert await prune_handled(s, clock(), timedelta(days=7)) == 1
    async with db.session() as s:
        assert not await is_handled(s, "$old")
        assert await is_handled(s, "$new")


async def test_datetimes_come_back_aware_utc(db: Database, clock) -> None:
    from bot.members import MemberService

    async with db.session() as s:
        await MemberService(s, clock).get_or_create("@ala:x", "Ala")
    async with db.session() as s:
        member = await MemberService(s, clock).get("@ala:x")
    assert member is not None and member.first_seen == clock()
    assert member.first_seen.utcoffset() == timedelta(0)


def test_migrate_command_creates_the_schema(tmp_path: Path) -> None:
    db_path = tmp_path / "m.db"
    config = tmp_path / "c.yaml"
    config.write_text(
        "matrix: {homeserver: 'http://h', user_id: '@a:b', access_token: tok}\n"
        f"database: {{url: 'sqlite+aiosqlite:///{db_path}'}}\n")
    result = subprocess.run([sys.executable, "-m", "bot", "migrate", "--config", str(config)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    import sqlite3

    with sqlite3.connect(db_path) as conn:
        names = {r[0] for r in conn.execute("select name from sqlite_master")}
    assert {"members", "handled_events", "alembic_version"} <= names
