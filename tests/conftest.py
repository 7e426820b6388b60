"""Shared fixtures: databases on SQLite and (when SBCC_TEST_POSTGRES_URL is set) PostgreSQL,
the real dispatcher with a recording fake gateway."""

from __future__ import annotations

import dataclasses
import os
import shutil
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import text

from bot.app import load_commands, parse_config, wire
from bot.db import Base, Database
from bot.deps import Deps
from bot.dispatcher import Dispatcher
from bot.i18n import Translator
from bot.web.pages import WebState
from bot.web.server import create_app
from rooms.network import NetworkRooms, room_key
from rooms.settings import RoomSettingsService
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


@pytest.fixture(scope="session")
async def migrated(tmp_path_factory: pytest.TempPathFactory
                   ) -> AsyncIterator[dict[str, tuple[Database, str | None]]]:
    """One migrated database of each kind for the whole session (migrating takes longer
    than most tests): each test copies the SQLite file, or empties the PostgreSQL schema."""
    made = {kind: await make_database(kind, tmp_path_factory.mktemp(f"template-{kind}"))
            for kind in DB_KINDS}
    for database, _schema in made.values():
        await database.close()
    yield made
    for database, schema in made.values():
        await drop_database(database, schema)


async def _emptied(database: Database) -> None:
    """Every table of the bot emptied and its id sequences reset, as freshly migrated (a
    DELETE per table: on tables this small much quicker than TRUNCATE's locks and files)."""
    async with database.engine.begin() as conn:
        await conn.execute(text("SET CONSTRAINTS ALL DEFERRED"))
        for table in reversed(Base.metadata.sorted_tables):  # children before parents
            await conn.execute(table.delete())
        sequences = (await conn.execute(text(
            "SELECT sequence_name FROM information_schema.sequences "
            "WHERE sequence_schema = current_schema()"))).scalars().all()
        for name in sequences:
            await conn.execute(text(f'ALTER SEQUENCE "{name}" RESTART'))


@pytest.fixture(params=DB_KINDS)
async def db(request: pytest.FixtureRequest, tmp_path: Path,
             migrated: dict[str, tuple[Database, str | None]]) -> AsyncIterator[Database]:
    template, schema = migrated[request.param]
    if request.param == "sqlite":
        copy = tmp_path / "test.db"
        shutil.copyfile(template.url.removeprefix("sqlite+aiosqlite:///"), copy)
        database = Database(f"sqlite+aiosqlite:///{copy}")
    else:
        database = Database(POSTGRES_URL or "", schema=schema)
    try:
        yield database
    finally:
        if request.param != "sqlite":
            await _emptied(database)
        await database.close()


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
    return Deps(config=config, db=db, gateway=gateway, translator=translator, clock=clock,
                started_at=clock())


def make_dispatcher(deps: Deps) -> Dispatcher:
    """The real dispatcher with every command and every feature wired in."""
    wiring = wire(deps)
    return Dispatcher(deps, load_commands(), wiring.services, wiring.listeners)


def web_app(deps: Deps, state: WebState | None = None, middlewares: tuple = ()
            ) -> web.Application:
    """The HTTP side as the App builds it: the core's routes and every feature's."""
    wiring = wire(deps)
    state = dataclasses.replace(state or WebState(), scrape_steps=wiring.scrape_steps)
    return create_app(deps, state, wiring.route_setups, wiring.template_packages, middlewares)


@pytest.fixture
def dispatcher(deps: Deps) -> Dispatcher:
    return make_dispatcher(deps)


@pytest.fixture
def driver(dispatcher: Dispatcher, gateway: FakeGateway) -> Driver:
    return Driver(dispatcher, gateway)


async def network_deps(db: Database, gateway: FakeGateway, translator: Translator, clock: Clock,
                       raw_config: dict, room_ids: dict[str, str] | None = None) -> Deps:
    """Deps for a config with a network whose rooms are already provisioned: `room_ids` maps
    room keys ("space", "location:szczecin", …) to room ids (by default `room_id(key)`);
    languages come from config."""
    config = parse_config(raw_config, environ={})
    deps = Deps(config=config, db=db, gateway=gateway, translator=translator, clock=clock,
                started_at=clock())
    network = config.network
    async with db.session() as session:
        rooms = NetworkRooms(session, network)
        for spec in (network.space, *network.rooms):
            if spec is None:
                continue
            key = room_key(spec)
            room = room_ids[key] if room_ids is not None else room_id(key)
            await rooms.record(spec, room, f"#{spec.alias}:test" if spec.alias else None,
                               clock())
            if spec.language:
                await RoomSettingsService(session).set(room, language=spec.language)
    return deps


def room_id(key: str) -> str:
    """The room id a provisioned room gets by default: `!location-szczecin:test`."""
    return f"!{key.replace(':', '-')}:test"


@pytest.fixture
def make_deps(db: Database, gateway: FakeGateway, translator: Translator, clock: Clock):  # noqa: ANN201
    """`await make_deps(network=network("szczecin", topics=("design",)), forums={…})`: Deps
    for that config, its network's rooms provisioned (ids from `room_id`, unless `rooms=`
    maps keys to ids)."""
    async def make(rooms: dict[str, str] | None = None, **config: object) -> Deps:
        return await network_deps(db, gateway, translator, clock, base_config(**config), rooms)

    return make


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

TOPICS: dict[str, dict[str, object]] = {
    "design": {"key": "design", "name": "Design & Media", "alias": "t-design",
               "tags": ["design", "video"]},
    "games": {"key": "games", "name": "Games", "alias": "t-games", "tags": ["games"]},
}


def network(*locations: str, topics: tuple[str, ...] = (), partners: str | None = None,
            advisory: str | None = None, name: str | None = None) -> dict[str, object]:
    """A `network:` config section of the sample places, e.g. `network("szczecin",
    "rostock", topics=("design",), partners="en")`; `partners`/`advisory` give that room's
    language ("" for none)."""
    section: dict[str, object] = {"space": {"alias": "t"},
                                  "locations": [LOCATIONS[k] for k in locations]}
    if name is not None:
        section["name"] = name
    if topics:
        section["topics"] = [TOPICS[t] for t in topics]
    for key, language, alias in (("partners_room", partners, "t-partners"),
                                 ("advisory_room", advisory, "t-advisory")):
        if language is not None:
            section[key] = {"alias": alias, **({"language": language} if language else {})}
    return section
