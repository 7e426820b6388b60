"""Shared fixtures: databases on SQLite and (when SBCC_TEST_POSTGRES_URL is set) PostgreSQL,
the real dispatcher with a recording fake gateway."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.config import parse_config
from bot.db import Database
from bot.deps import Deps
from bot.dispatcher import Dispatcher
from bot.i18n import Translator
from commands import load_commands
from tests.fakes import Driver, FakeGateway

POSTGRES_URL = os.environ.get("SBCC_TEST_POSTGRES_URL")
DB_KINDS = ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]


@pytest.fixture(scope="session")
def translator() -> Translator:
    return Translator()


async def make_database(kind: str, tmp_path: Path) -> tuple[Database, str | None]:
    """A migrated, empty database; for PostgreSQL a fresh schema of its own."""
    if kind == "sqlite":
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'test.db'}")
        await db.migrate()
        return db, None
    assert POSTGRES_URL
    schema = "t_" + uuid.uuid4().hex[:12]
    admin = Database(POSTGRES_URL)
    async with admin.engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    await admin.close()
    db = Database(POSTGRES_URL, schema=schema)
    await db.migrate()
    return db, schema


async def drop_database(db: Database, schema: str | None) -> None:
    await db.close()
    if schema:
        admin = Database(POSTGRES_URL or "")
        async with admin.engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.close()


@pytest.fixture(params=DB_KINDS)
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    database, schema = await make_database(request.param, tmp_path)
    try:
        yield database
    finally:
        await drop_database(database, schema)


def base_config(**overrides: object) -> dict:
    raw: dict = {
        "matrix": {"homeserver": "http://127.0.0.1:1", "user_id": "@sbcc:test",
                   "access_token": "secret-token-value"},
        "coordinators": ["@coord:test"],
    }
    raw.update(overrides)
    return raw


class Clock:
    """A controllable clock for services and jobs."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime(2026, 11, 27, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def gateway() -> FakeGateway:
    return FakeGateway()


@pytest.fixture
def deps(db: Database, gateway: FakeGateway, translator: Translator, clock: Clock) -> Deps:
    config = parse_config(base_config(), environ={})
    return Deps(config=config, db=db, gateway=gateway, translator=translator,
                registry=load_commands(), clock=clock, started_at=clock())


@pytest.fixture
def dispatcher(deps: Deps) -> Dispatcher:
    return Dispatcher(deps, deps.registry)


@pytest.fixture
def driver(dispatcher: Dispatcher, gateway: FakeGateway) -> Driver:
    return Driver(dispatcher, gateway)


async def network_deps(db: Database, gateway: FakeGateway, translator: Translator, clock: Clock,
                       raw_config: dict, room_ids: dict[str, str]) -> Deps:
    """Deps for a config with a network whose rooms are already provisioned: `room_ids` maps
    room keys ("space", "location:szczecin", …) to room ids; languages come from config."""
    from rooms.network import NetworkRooms, room_key
    from rooms.settings import RoomSettingsService

    config = parse_config(raw_config, environ={})
    deps = Deps(config=config, db=db, gateway=gateway, translator=translator,
                registry=load_commands(), clock=clock, started_at=clock())
    network = config.network
    async with db.session() as session:
        rooms = NetworkRooms(session, network)
        for spec in (network.space, *network.rooms):
            room_id = room_ids[room_key(spec)]
            await rooms.record(spec, room_id, f"#{spec.alias}:test" if spec.alias else None,
                               clock())
            if spec.language:
                await RoomSettingsService(session).set(room_id, language=spec.language)
    return deps


# The network's places as tests configure them (a subset per test: `LOCATIONS["rostock"]`).
LOCATIONS: dict[str, dict[str, str]] = {
    "szczecin": {"key": "szczecin", "name": "Szczecin", "country": "PL", "language": "pl",
                 "timezone": "Europe/Warsaw", "alias": "t-szczecin"},
    "elblag": {"key": "elblag", "name": "Elbląg", "country": "PL", "language": "pl",
               "timezone": "Europe/Warsaw", "alias": "t-elblag"},
    "rostock": {"key": "rostock", "name": "Rostock", "country": "DE", "language": "de",
                "timezone": "Europe/Berlin", "alias": "t-rostock"},
    "blekinge": {"key": "blekinge", "name": "Blekinge", "country": "SE", "language": "sv",
                 "timezone": "Europe/Stockholm", "alias": "t-blekinge"},
}
