"""The sample network (`bot.sample`): deterministic for a seed, spread over the five
locations, and what a newcomer tries — `!match`, the showcase, the calendar, the digest —
shows it. Expected values come from the configuration or from the rows read back here,
never from what `fill` says it did. On every test database."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.db import Database
from bot.db.models import (
    Collaboration,
    CollaborationMember,
    Connection,
    ForumEvent,
    Member,
    MemberTag,
    Reminder,
    RoomActivity,
    RoomMembership,
    Rsvp,
)
from bot.deps import Deps
from bot.features.digest.composer import DigestComposer
from bot.features.digest.config import DigestConfig
from bot.features.matchmaking.matching import MatchingService
from bot.features.profiles.config import TagsConfig
from bot.i18n import Translator
from bot.sample import Sample, fill, starter_profile
from tests.conftest import Clock, make_database, room_id, web_app
from tests.fakes import Driver

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.yaml"
SECTIONS = ("network", "tags", "matchmaking", "forums", "digest")
TABLES = (Member, MemberTag, RoomMembership, Connection, Collaboration, CollaborationMember,
          ForumEvent, Rsvp, Reminder, RoomActivity)


def example() -> dict[str, Any]:
    raw = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    return {key: raw[key] for key in SECTIONS}


@pytest.fixture
async def deps(make_deps) -> Deps:  # noqa: ANN001
    """The network of config.example.yaml, its rooms provisioned as `!location-szczecin:test`."""
    return await make_deps(**example())


@pytest.fixture
async def sample(deps: Deps, clock: Clock) -> Sample:
    return await fill(deps.db, deps.config, members=40, seed=7, now=clock())


async def dump(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row the sample writes, as plain sorted tuples."""
    out = {}
    async with db.session() as s:
        for model in TABLES:
            columns = list(model.__table__.columns)
            rows = (await s.execute(select(*columns))).all()
            out[model.__tablename__] = sorted(tuple(map(repr, r)) for r in rows)
    return out


async def test_the_same_seed_gives_the_same_network(deps: Deps, clock: Clock,
                                                    sample: Sample, tmp_path: Path) -> None:
    for name in ("again", "seed8"):
        (tmp_path / name).mkdir()
    other, _ = await make_database("sqlite", tmp_path / "again")
    third, _ = await make_database("sqlite", tmp_path / "seed8")
    try:
        for database, seed in ((other, 7), (third, 8)):
            await fill(database, deps.config, members=40, seed=seed, now=clock())
        mine, again, different = await dump(deps.db), await dump(other), await dump(third)
    finally:
        await other.close()
        await third.close()
    # the stand-in room ids of a database without provisioned rooms differ; the rest not
    assert mine["members"] == again["members"]
    assert mine["member_tags"] == again["member_tags"]
    assert mine["collaborations"] == again["collaborations"]
    assert mine["collaboration_members"] == again["collaboration_members"]
    assert mine["connections"] == again["connections"]
    assert mine["rsvps"] != [] and len(mine["rsvps"]) == len(again["rsvps"])
    assert mine["members"] != different["members"]
    assert mine["member_tags"] != different["member_tags"]


async def test_members_live_in_all_five_locations_and_their_rooms(deps: Deps,
                                                                 sample: Sample) -> None:
    configured = {loc["key"] for loc in example()["network"]["locations"]}
    async with deps.db.session() as s:
        members = (await s.scalars(select(Member))).all()
        stays = (await s.execute(select(RoomMembership.mxid, RoomMembership.room_id)
                                 .where(RoomMembership.until.is_(None)))).all()
        tags = (await s.execute(select(MemberTag.mxid, MemberTag.kind))).all()
    assert len(members) == 40
    assert {m.location for m in members} == configured
    by_location = {key: sum(1 for m in members if m.location == key) for key in configured}
    assert min(by_location.values()) >= 2, by_location
    present = set(stays)
    for m in members:  # in their location room, with its timezone, and a profile
        assert (m.mxid, room_id(f"location:{m.location}")) in present
        assert m.organisation and m.display_name and m.languages
        assert {"offer", "need"} <= {kind for who, kind in tags if who == m.mxid}
    # consent is each member's own: some agreed to the showcase, not everyone
    agreed = sum(m.showcase for m in members)
    assert 0 < agreed < len(members)


async def test_given_accounts_are_the_members(deps: Deps, clock: Clock) -> None:
    accounts = [f"@bench{i}:test" for i in range(12)]
    done = await fill(deps.db, deps.config, user_ids=accounts, now=clock())
    async with deps.db.session() as s:
        mxids = set(await s.scalars(select(Member.mxid)))
    assert mxids == set(accounts)
    assert done.members == 12


async def test_a_second_fill_adds_nothing(deps: Deps, clock: Clock, sample: Sample) -> None:
    before = await dump(deps.db)
    again = await fill(deps.db, deps.config, members=40, seed=7, now=clock())
    assert not again.filled
    assert await dump(deps.db) == before


async def cross_border_needs(db: Database, countries: dict[str, str]) -> dict[str, set[str]]:
    """Read back: each member → those in another country who offer what they need."""
    async with db.session() as s:
        rows = (await s.execute(select(MemberTag.mxid, MemberTag.kind, MemberTag.canonical,
                                       Member.location, Member.connect_ok)
                                .join(Member, Member.mxid == MemberTag.mxid))).all()
    offered: dict[str, set[tuple[str, str]]] = {}
    for mxid, kind, tag, location, ok in rows:
        if kind == "offer" and ok:
            offered.setdefault(tag, set()).add((mxid, countries[location]))
    out: dict[str, set[str]] = {}
    home = {mxid: countries[location] for mxid, _, _, location, _ in rows}
    for mxid, kind, tag, _location, _ok in rows:
        if kind == "need":
            out.setdefault(mxid, set()).update(
                who for who, country in offered.get(tag, ()) if country != home[mxid])
    return {mxid: found for mxid, found in out.items() if found}


async def test_match_finds_people_across_borders(deps: Deps, sample: Sample,
                                                 driver: Driver) -> None:
    countries = {loc["key"]: loc["country"] for loc in example()["network"]["locations"]}
    fits = await cross_border_needs(deps.db, countries)
    assert len(fits) >= 10  # most members have someone abroad who offers what they need
    member = sorted(fits)[0]
    async with deps.db.session() as s:
        me = await s.get(Member, member)
        assert me is not None
        found = await MatchingService(s, deps.config.network, "!", deps.config.section(
            TagsConfig).canonical).suggest(member, 5)
        names = {m.mxid: m.display_name for m in (await s.scalars(select(Member))).all()}
    abroad = [f for f in found if countries[f.location or ""] != countries[me.location or ""]]
    assert abroad and abroad[0].mxid in fits[member] | {f.mxid for f in abroad}
    assert fits[member] & {f.mxid for f in found}
    # and through the real command, in the member's language
    [reply] = await driver.send("!match", sender=member)
    assert any(names[f.mxid] in reply.body for f in abroad), reply.body


async def test_the_coordinator_gets_a_profile_that_meets_the_sample(
        deps: Deps, sample: Sample, driver: Driver) -> None:
    assert await starter_profile(deps.db, deps.config, "@coord:test", sample)
    assert not await starter_profile(deps.db, deps.config, "@coord:test", sample)
    [reply] = await driver.send("!match", sender="@coord:test")
    async with deps.db.session() as s:
        names = [n for n in await s.scalars(select(Member.display_name)) if n]
    assert sum(name in reply.body for name in names) >= 3, reply.body


@pytest.fixture
async def client(deps: Deps) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(web_app(deps))) as c:
        yield c


async def test_the_showcase_shows_only_consented_collaborations(
        deps: Deps, sample: Sample, client: TestClient) -> None:
    async with deps.db.session() as s:
        members = {m.mxid: m for m in (await s.scalars(select(Member))).all()}
        people = (await s.scalars(select(CollaborationMember))).all()
        titles = {c.id: c.title for c in (await s.scalars(select(Collaboration))).all()}
    shown_by_all: dict[int, bool] = {}
    for p in people:
        ok = p.confirmed_at is not None and members[p.mxid].showcase
        shown_by_all[p.collaboration_id] = shown_by_all.get(p.collaboration_id, True) and ok
    consented = {cid for cid, ok in shown_by_all.items() if ok}
    assert consented, "the sample should have something on the showcase"
    assert set(titles) - consented, "and something that is not (not everyone agreed)"
    resp = await client.get("/showcase.json")
    assert resp.status == 200
    body = json.loads(await resp.text())
    assert {c["id"] for c in body["collaborations"]} == consented
    assert {m["name"] for m in body["members"]} == {
        m.display_name for m in members.values() if m.showcase}


async def test_the_calendar_lists_the_upcoming_events(deps: Deps, clock: Clock,
                                                      sample: Sample,
                                                      client: TestClient) -> None:
    async with deps.db.session() as s:
        events = (await s.scalars(select(ForumEvent))).all()
        answers = (await s.scalars(select(Rsvp))).all()
    upcoming = [e for e in events if e.starts_at > clock()]
    assert len(upcoming) >= 2 and len(events) > len(upcoming)
    forum = next(e for e in upcoming if e.capacity)
    yes = [a for a in answers if a.forum_id == forum.id and a.answer == "yes"]
    assert sum(not a.waitlisted for a in yes) <= forum.capacity
    resp = await client.get("/calendar.ics")
    feed = (await resp.text()).replace("\r\n ", "")
    assert resp.status == 200
    for event in upcoming:
        assert event.title in feed


async def test_the_digest_has_new_members_collaborations_and_events(
        deps: Deps, clock: Clock, sample: Sample, translator: Translator) -> None:
    composer = DigestComposer(deps.config.network, deps.config.section(DigestConfig))
    async with deps.db.session() as s:
        digest = await composer.compose(s, translator.bind("en"), clock(), chart=False)
        week_ago = clock() - timedelta(days=7)
        newcomer = await s.scalar(select(Member.display_name).where(
            Member.intro_at >= week_ago).order_by(Member.intro_at).limit(1))
        forum = await s.scalar(select(ForumEvent.title).where(
            ForumEvent.starts_at > clock()).order_by(ForumEvent.starts_at).limit(1))
    assert not digest.empty
    for heading in ("New members", "Collaborations", "Coming up", "Connections",
                    "Most active rooms"):
        assert heading in digest.text, digest.text
    assert newcomer and newcomer in digest.text
    assert forum and forum in digest.text
