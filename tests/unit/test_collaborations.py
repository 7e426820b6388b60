"""Collaborations: !collab add, list, show, status, note, confirm, leave through the real
dispatcher, ✅ on the request notice, what a non-member and an outsider learn (nothing), a
member's own data, and the service's reading methods, on every test database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import wire
from bot.db.models import (
    Collaboration,
    CollaborationEvent,
    CollaborationMember,
    Connection,
    MatchRound,
    Member,
    RoomMembership,
    RoundGroup,
)
from bot.deps import Deps
from bot.errors import HomeserverUnavailable, NotAllowed, UserError
from bot.events import Message, Outgoing, Reaction
from bot.features.collaborations import messages
from bot.features.collaborations.service import CollaborationService
from bot.i18n import Translator
from rooms.settings import RoomSettingsService
from tests.conftest import Clock, network, room_id
from tests.fakes import Driver, FakeGateway

# a network room without a language of its own: replies there are in English
DESIGN_ROOM = room_id("topic:design")
# members of the network (in one of its rooms); @eve:test and @out:elsewhere are not
NETWORK_MEMBERS = ("@ala:test", "@bob:test", "@cat:test", "@dan:test", "@ewa:test")
MEMBER_REFUSAL = ("⚠️ This is for members of the network: join one of its rooms first "
                  "(!rooms lists them).")


@pytest.fixture
async def deps(make_deps) -> Deps:  # noqa: ANN001
    """The shared `dispatcher` and `driver` fixtures use this one: locations and topics."""
    return await make_deps(network=network("szczecin", "elblag", "rostock",
                                           topics=("design", "games")))


def service_of(s: AsyncSession, deps: Deps) -> CollaborationService:
    return CollaborationService(s, deps.config.network, deps.clock)


@pytest.fixture(autouse=True)
async def network_members(deps: Deps, clock: Clock) -> None:
    async with deps.db.session() as s:
        s.add_all(RoomMembership(room_id=room_id("location:szczecin"), mxid=mxid,
                                 since=clock(), imported=True) for mxid in NETWORK_MEMBERS)


@pytest.fixture
async def people(driver: Driver) -> None:
    """@ala and @cat in Szczecin (PL), @ewa in Elbląg (PL), @bob in Rostock (DE)."""
    for sender, where in (("@ala:test", "szczecin"), ("@cat:test", "szczecin"),
                          ("@ewa:test", "elblag"), ("@bob:test", "rostock")):
        await driver.send(f"!set location {where}", sender=sender)


async def one(driver: Driver, body: str, **kwargs: str) -> str:
    [out] = await driver.send(body, **kwargs)
    return out.body


async def add(driver: Driver, body: str, **kwargs: str) -> tuple[Outgoing, Outgoing]:
    """`!collab add …`: the reply, and the request notice (✅ offered on it)."""
    reply, notice, offered = await driver.send(body, **kwargs)
    assert offered.msgtype == "m.reaction" and offered.body == "✅"
    assert offered.room_id == notice.room_id
    return reply, notice


def reaction(driver: Driver, notice_id: str, sender: str, key: str = "✅",
             room: str = "!room:test", event_id: str | None = None) -> Reaction:
    return Reaction(event_id=event_id or f"$react{next(driver._n)}", room_id=room,
                    sender=sender, relates_to=notice_id, key=key)


async def confirmed_by(deps: Deps, cid: int) -> dict[str, bool]:
    async with deps.db.session() as s:
        found = await s.scalars(select(CollaborationMember)
                                .where(CollaborationMember.collaboration_id == cid))
        return {m.mxid: m.confirmed_at is not None for m in found}


async def rows(deps: Deps) -> list[Collaboration]:
    async with deps.db.session() as s:
        return list(await s.scalars(select(Collaboration).order_by(Collaboration.id)))


async def members_of(deps: Deps, cid: int) -> dict[str, str | None]:
    async with deps.db.session() as s:
        found = await s.scalars(select(CollaborationMember)
                                .where(CollaborationMember.collaboration_id == cid))
        return {m.mxid: m.location for m in found}


async def events_of(deps: Deps, cid: int) -> list[tuple[str, str, str | None, str | None]]:
    async with deps.db.session() as s:
        found = await s.scalars(select(CollaborationEvent)
                                .where(CollaborationEvent.collaboration_id == cid)
                                .order_by(CollaborationEvent.id))
        return [(e.kind, e.by, e.status, e.text) for e in found]


# -- add -------------------------------------------------------------------------------


@pytest.mark.usefixtures("people")
async def test_add_across_borders_with_a_topic(driver: Driver, deps: Deps) -> None:
    out, _ = await add(driver, "!collab add Joint exhibition with @bob:test #Design")
    assert out.body.splitlines() == [
        "Collaboration #1 is recorded. Change its status with !collab status 1 active, add a "
        "note with !collab note 1 <text>. I am asking the others named to confirm it. Until "
        "everyone named has confirmed, only its members see it.",
        "#1 Joint exhibition",
        "Status: planned",
        "Origin: recorded directly",
        "Topic: Design & Media",
        "Across borders: Germany, Poland",
        "Members: @ala:test (Szczecin, Poland), @bob:test (Rostock, Germany)",
        "Not confirmed yet by: @bob:test",
    ]
    assert out.mentions == ("@ala:test",)
    [c] = await rows(deps)
    assert (c.title, c.status, c.origin, c.origin_id, c.topic, c.created_by, c.cross_border) == (
        "Joint exhibition", "planned", "direct", None, "design", "@ala:test", True)
    assert c.created_at == deps.clock()
    assert await members_of(deps, c.id) == {"@ala:test": "szczecin", "@bob:test": "rostock"}
    assert await events_of(deps, c.id) == [("created", "@ala:test", "planned", None)]


@pytest.mark.usefixtures("people")
async def test_add_within_one_country_is_not_cross_border(driver: Driver, deps: Deps) -> None:
    out, _ = await add(driver, "!collab add Coffee with friends with @cat:test, @ewa:test "
                               "@nowhere:test", sender="@ala:test")
    body = out.body
    assert "#1 Coffee with friends" in body and "Across borders" not in body
    assert "Topic:" not in body
    [c] = await rows(deps)
    assert c.title == "Coffee with friends" and c.cross_border is False and c.topic is None
    assert await members_of(deps, c.id) == {"@ala:test": "szczecin", "@cat:test": "szczecin",
                                            "@ewa:test": "elblag", "@nowhere:test": None}


async def test_add_quoted_title_sender_listed_and_links(driver: Driver, deps: Deps) -> None:
    await driver.send('!collab add "Sound  design" WITH @ala:test '
                      "https://matrix.to/#/%40bob%3Atest @bob:test", sender="@ala:test")
    [c] = await rows(deps)
    assert c.title == "Sound design"
    assert set(await members_of(deps, c.id)) == {"@ala:test", "@bob:test"}


async def test_add_members_as_mention_pills(driver: Driver, deps: Deps) -> None:
    pills = Message(event_id="$pills", room_id="!room:test", sender="@ala:test",
                    body="!collab add Film with Bob Builder, Cat #games",
                    formatted_body='!collab add Film with <a href="https://matrix.to/#/'
                                   '%40bob%3Atest">Bob Builder</a>, <a href="https://matrix.to'
                                   '/#/@cat:test">Cat</a> #games')
    out, *_ = await driver.deliver(pills)
    assert "Collaboration #1 is recorded" in out.body
    [c] = await rows(deps)
    assert c.topic == "games"
    assert set(await members_of(deps, c.id)) == {"@ala:test", "@bob:test", "@cat:test"}


@pytest.mark.parametrize(("body", "expected"), [
    ("!collab add Joint exhibition @bob:test", "Who is it with?"),
    ("!collab add with @bob:test", "What is the collaboration called?"),
    ("!collab add " + "x" * 201 + " with @bob:test", "201"),
    ("!collab add Expo with @bob:test #cooking", "“#cooking” is not one of our topics. "
                                                 "Choose one of: design, games."),
    ("!collab add Expo with @bob:test #design #games", "one topic only"),
    ("!collab add Solo with @ala:test", "at least two people"),
    ("!collab add Solo with", "at least two people"),
    ("!collab add Expo with bob", "“bob” is not a Matrix ID"),
    ("!collab add Expo with @bob", "“@bob” is not a Matrix ID"),
    ("!collab add Expo with @bob:test and @cat:test", "“and” is not a Matrix ID"),
])
async def test_add_refusals_change_nothing(driver: Driver, deps: Deps, body: str,
                                           expected: str) -> None:
    reply = await one(driver, body)
    assert reply.startswith("⚠️") and expected in reply
    assert await rows(deps) == []


async def test_add_is_refused_with_usage(driver: Driver) -> None:
    reply = await one(driver, "!collab add Expo")
    assert "Usage: !collab add [title with @name … [#topic]]" in reply
    assert "!collab add Joint exhibition with @ana:example.org #design" in reply


# -- origin ----------------------------------------------------------------------------


async def test_origin_is_the_latest_connection_of_two_members(driver: Driver, deps: Deps,
                                                              clock: Clock) -> None:
    async with deps.db.session() as s:
        rnd = MatchRound(started_at=clock() - timedelta(days=1), followup_at=clock())
        s.add(rnd)
        await s.flush()
        s.add(RoundGroup(round_id=rnd.id, members="@ala:test @bob:test"))
        s.add_all([
            Connection(a="@cat:test", b="@ala:test", origin="connect",
                       created_at=clock() - timedelta(days=9)),
            Connection(a="@bob:test", b="@cat:test", origin="connect",
                       created_at=clock() - timedelta(days=3)),
            Connection(a="@bob:test", b="@dan:test", origin="connect",
                       created_at=clock() - timedelta(days=1)),  # @dan is not in it
        ])
    out, _ = await add(driver, "!collab add Expo with @bob:test @cat:test")
    assert "Origin: from connection #2" in out.body
    [c] = await rows(deps)
    assert (c.origin, c.origin_id) == ("connection", 2)


async def test_origin_is_a_round_that_grouped_two_members(driver: Driver, deps: Deps,
                                                          clock: Clock) -> None:
    async with deps.db.session() as s:
        old = MatchRound(started_at=clock() - timedelta(days=30), followup_at=clock())
        new = MatchRound(started_at=clock() - timedelta(days=2), followup_at=clock())
        other = MatchRound(started_at=clock() - timedelta(days=1), followup_at=clock())
        s.add_all([old, new, other])
        await s.flush()
        s.add_all([
            RoundGroup(round_id=old.id, members="@ala:test @bob:test"),
            RoundGroup(round_id=new.id, members="@ala:test @bob:test @cat:test"),
            # the newest round has @ala but with someone else, and a look-alike of @bob
            RoundGroup(round_id=other.id, members="@ala:test @xbob:test"),
        ])
        new_id = new.id
    out, _ = await add(driver, "!collab add Expo with @bob:test")
    assert f"Origin: from matchmaking round #{new_id}" in out.body
    [c] = await rows(deps)
    assert (c.origin, c.origin_id) == ("round", new_id)


async def test_origin_service_direct_for_strangers(deps: Deps) -> None:
    async with deps.db.session() as s:
        service = service_of(s, deps)
        origin = await service.origin(["@ala:test", "@bob:test"])
        assert (origin.kind, origin.id) == ("direct", None)
        assert (await service.origin(["@ala:test"])).kind == "direct"


# -- status and notes ------------------------------------------------------------------


async def test_status_changes_are_recorded(driver: Driver, deps: Deps, clock: Clock) -> None:
    await driver.send("!collab add Expo with @bob:test")
    clock.now += timedelta(days=1)
    assert await one(driver, "!collab status 1 Active", sender="@bob:test") == (
        "Collaboration #1 “Expo” is now active (it was planned).")
    clock.now += timedelta(days=1)
    assert await one(driver, "!collab status #1 done") == (
        "Collaboration #1 “Expo” is now done (it was active).")
    [c] = await rows(deps)
    assert c.status == "done"
    assert await events_of(deps, 1) == [("created", "@ala:test", "planned", None),
                                        ("status", "@bob:test", "active", None),
                                        ("status", "@ala:test", "done", None)]


async def test_same_and_unknown_status_are_refused(driver: Driver, deps: Deps) -> None:
    await driver.send("!collab add Expo with @bob:test")
    assert await one(driver, "!collab status 1 planned") == (
        "⚠️ Collaboration #1 already has the status “planned”.")
    body = await one(driver, "!collab status 1 finished")
    assert "“finished” is not a status" in body and "planned, active, done, dropped" in body
    body = await one(driver, "!collab status 1")
    assert body.startswith("⚠️") and "!collab status 12 active" in body
    body = await one(driver, "!collab status one active")
    assert "“one” is not a collaboration number" in body
    body = await one(driver, "!collab status 7 active")
    assert body == "⚠️ There is no collaboration #7."
    assert len(await events_of(deps, 1)) == 1


async def test_only_members_or_coordinators_change_it(driver: Driver, deps: Deps) -> None:
    await driver.send("!collab add Expo with @bob:test")
    # not confirmed yet: for anyone but its members it does not exist, coordinators too
    for sender in ("@eve:test", "@dan:test", "@coord:test"):
        for body in ("!collab status 1 dropped", "!collab note 1 spam"):
            assert await one(driver, body, sender=sender) == (
                "⚠️ There is no collaboration #1.")
    assert await one(driver, "!collab confirm 1", sender="@bob:test")
    body = await one(driver, "!collab status 1 dropped", sender="@eve:test")
    assert body == "⚠️ Only the members of collaboration #1 or a coordinator may change it."
    body = await one(driver, "!collab note 1 spam", sender="@eve:test")
    assert body.startswith("⚠️ Only the members")
    assert await one(driver, "!collab status 1 dropped", sender="@coord:test") == (
        "Collaboration #1 “Expo” is now dropped (it was planned).")
    await driver.send("!collab note 1 Checked with both.", sender="@coord:test")
    assert await events_of(deps, 1) == [
        ("created", "@ala:test", "planned", None),
        ("confirm", "@bob:test", None, None),
        ("status", "@coord:test", "dropped", None),
        ("note", "@coord:test", None, "Checked with both."),
    ]


async def test_power_in_an_administered_room_makes_a_coordinator(driver: Driver,
                                                                 gateway: FakeGateway) -> None:
    await driver.send("!collab add Expo with @bob:test")
    await driver.send("!collab confirm 1", sender="@bob:test")
    # power counts in the network's own rooms only: the topic room is one of them
    gateway.power[(DESIGN_ROOM, "@sbcc:test")] = 100
    gateway.power[(DESIGN_ROOM, "@mod:test")] = 50
    assert "is now active" in await one(driver, "!collab status 1 active", sender="@mod:test",
                                        room_id=DESIGN_ROOM)


async def test_notes(driver: Driver, deps: Deps) -> None:
    await driver.send("!collab add Expo with @bob:test")
    assert await one(driver, "!collab note 1 First   call went well.\nNext: Rostock.",
                     sender="@bob:test") == "Your note is added to collaboration #1 “Expo”."
    body = await one(driver, "!collab note 1 " + "n" * 1001)
    assert body.startswith("⚠️") and "1001" in body and "1000" in body
    body = await one(driver, "!collab note 1")
    assert body.startswith("⚠️") and "What should the note say?" in body
    assert await events_of(deps, 1) == [
        ("created", "@ala:test", "planned", None),
        ("note", "@bob:test", None, "First call went well.\nNext: Rostock."),
    ]


# -- show and list ---------------------------------------------------------------------


@pytest.mark.usefixtures("people")
async def test_show(driver: Driver, deps: Deps, clock: Clock) -> None:
    await driver.send("!collab add Expo with @bob:test #games")
    clock.now += timedelta(hours=2)
    await driver.send("!collab status 1 active", sender="@bob:test")
    await driver.send("!collab note 1 Booked the hall.")
    await driver.send("!set tz Europe/Warsaw", sender="@cat:test")
    # @bob has not confirmed: @cat, not a member, sees nothing
    assert await one(driver, "!collab show 1", sender="@cat:test") == (
        "⚠️ There is no collaboration #1.")
    clock.now += timedelta(minutes=5)
    await driver.send("!collab confirm 1", sender="@bob:test")
    [out] = await driver.send("!collab show 1", sender="@cat:test")
    assert out.body.splitlines() == [
        "#1 Expo",
        "Status: active",
        "Origin: recorded directly",
        "Topic: Games",
        "Across borders: Germany, Poland",
        "Members: @ala:test (Szczecin, Poland), @bob:test (Rostock, Germany)",
        "History:",
        "• 11/27/26, 1:00\u202fPM — @ala:test recorded it",
        "• 11/27/26, 3:00\u202fPM — @bob:test set the status to active",
        "• 11/27/26, 3:00\u202fPM — @ala:test: Booked the hall.",
        "• 11/27/26, 3:05\u202fPM — @bob:test confirmed taking part",
    ]
    assert out.html is not None
    assert '<a href="https://matrix.to/#/@bob:test">@bob:test</a> set the status' in out.html
    body = await one(driver, "!collab show 2")
    assert body == "⚠️ There is no collaboration #2."
    assert "!collab show 12" in await one(driver, "!collab show")


async def test_show_in_the_readers_language(driver: Driver) -> None:
    await driver.send("!collab add Expo with @bob:test")
    await driver.send("!lang pl", sender="@bob:test")
    body = await one(driver, "!collab show 1", sender="@bob:test")
    assert "27.11.2026" in body


async def test_show_keeps_the_latest_twenty_history_entries(driver: Driver,
                                                            clock: Clock) -> None:
    await driver.send("!collab add Expo with @bob:test")
    for i in range(21):
        clock.now += timedelta(minutes=1)
        await driver.send(f"!collab note 1 note {i}")
    body = await one(driver, "!collab show 1")
    lines = body.splitlines()
    assert "• 2 earlier entries are not shown." in lines
    assert lines[-1].endswith("note 20") and not any(line.endswith("note 0") for line in lines)
    assert sum(1 for line in lines if line.startswith("• ") and "—" in line) == 20


async def test_html_escapes_the_title_and_notes(driver: Driver) -> None:
    added, notice = await add(driver, "!collab add <script>alert(1)</script> & Co with "
                                      "@bob:test")
    assert "#1 <script>alert(1)</script> & Co" in added.body
    await driver.send("!collab note 1 <img src=x onerror=alert(2)>")
    [shown] = await driver.send("!collab show 1")
    [listed] = await driver.send("!collab list")
    [changed] = await driver.send("!collab status 1 active")
    [confirmed] = await driver.send("!collab confirm 1", sender="@bob:test")
    for out in (added, notice, shown, listed, changed, confirmed):
        assert out.html is not None
        assert "<script" not in out.html and "<img" not in out.html
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in out.html
    assert "&lt;img src=x onerror=alert(2)&gt;" in shown.html


@pytest.mark.usefixtures("people")
async def test_list_own_by_user_and_by_location(driver: Driver, clock: Clock) -> None:
    assert "You have no collaborations yet" in await one(driver, "!collab list")
    await driver.send("!collab add Expo with @bob:test")
    clock.now += timedelta(hours=1)
    await driver.send("!collab add Games jam with @ewa:test", sender="@cat:test")
    clock.now += timedelta(hours=1)
    await driver.send("!collab add Archive with @cat:test")
    await driver.send("!collab status 3 active")
    # one's own list has everything, marked while not everyone has confirmed
    assert (await one(driver, "!collab list")).splitlines() == [
        "You have 2 collaborations:",
        "• #3 Archive (active, not confirmed yet) — @ala:test, @cat:test",
        "• #1 Expo (planned, not confirmed yet) — @ala:test, @bob:test",
    ]
    # to others, not before everyone named has confirmed
    assert await one(driver, "!collab list @cat:test", sender="@bob:test") == (
        "@cat:test has no collaborations yet.")
    assert await one(driver, "!collab list Elbląg") == (
        "No collaborations with members from Elbląg, Poland yet.")
    await driver.send("!collab confirm 3", sender="@cat:test")
    await driver.send("!collab confirm 2", sender="@ewa:test")
    assert (await one(driver, "!collab list @cat:test", sender="@bob:test")).splitlines() == [
        "@cat:test has 2 collaborations:",
        "• #3 Archive (active) — @ala:test, @cat:test",
        "• #2 Games jam (planned) — @cat:test, @ewa:test",
    ]
    assert (await one(driver, "!collab list Elbląg")).splitlines() == [
        "1 collaboration with members from Elbląg, Poland:",
        "• #2 Games jam (planned) — @cat:test, @ewa:test",
    ]
    # a member sees their own unconfirmed one in a location's list; others do not
    assert (await one(driver, "!collab list rostock")).splitlines() == [
        "1 collaboration with members from Rostock, Germany:",
        "• #1 Expo (planned, not confirmed yet) — @ala:test, @bob:test"]
    assert await one(driver, "!collab list rostock", sender="@cat:test") == (
        "No collaborations with members from Rostock, Germany yet.")
    assert await one(driver, "!collab list @nobody:test") == (
        "@nobody:test has no collaborations yet.")
    body = await one(driver, "!collab list paris")
    assert body.startswith("⚠️") and "“paris” is not one of our locations" in body
    pill = Message(event_id="$pill", room_id="!room:test", sender="@bob:test",
                   body="!collab list Ewa", formatted_body='!collab list <a href="https://'
                   'matrix.to/#/@ewa:test">Ewa</a>')
    [out] = await driver.deliver(pill)
    assert out.body.startswith("@ewa:test has 1 collaboration:")
    assert (await one(driver, "!collab list @ala:test", sender="@ewa:test")).splitlines() == [
        "@ala:test has 1 collaboration:", "• #3 Archive (active) — @ala:test, @cat:test"]


async def test_list_stops_at_twenty(driver: Driver, clock: Clock) -> None:
    for i in range(23):
        clock.now += timedelta(minutes=1)
        await driver.send(f"!collab add Project {i} with @bob:test")
    lines = (await one(driver, "!collab list", sender="@bob:test")).splitlines()
    assert lines[0] == "You have 23 collaborations:"
    assert lines[1].startswith("• #23 Project 22 ") and lines[20].startswith("• #4 Project 3 ")
    assert lines[21:] == ["and 3 more"]


async def test_subcommands_are_listed(driver: Driver) -> None:
    body = await one(driver, "!collab")
    assert body.startswith("⚠️ What should I do?") and "!collab note <id> <text>" in body
    body = await one(driver, "!collab frobnicate 3")
    assert "“frobnicate” is not one of: add, list, show, status, note, confirm, leave." in body
    assert "!collab confirm <id>; !collab leave <id>" in await one(driver, "!collab")
    assert "!collab status [id] [status]" in body
    assert "Usage: !collab add [title with @name … [#topic]]" in body


async def test_help_describes_the_forms(driver: Driver) -> None:
    body = await one(driver, "!help collab")
    assert "add <title> with @a @b [#topic]" in body


# -- the service -----------------------------------------------------------------------


async def test_service_counts_and_since(driver: Driver, deps: Deps, clock: Clock) -> None:
    start = clock()
    await driver.send("!collab add One with @bob:test")
    clock.now += timedelta(days=8)
    await driver.send("!collab add Two with @bob:test")
    await driver.send("!collab add Three with @bob:test")
    await driver.send("!collab status 3 active")
    async with deps.db.session() as s:
        service = service_of(s, deps)
        assert await service.counts_by_status() == {"planned": 2, "active": 1, "done": 0,
                                                    "dropped": 0}
        assert [c.title for c in await service.since(start + timedelta(days=7))] == [
            "Two", "Three"]
        assert [c.title for c in await service.since(start)] == ["One", "Two", "Three"]
        assert [m.mxid for m in await service.members(1)] == ["@ala:test", "@bob:test"]
        history = await service.history(3, limit=1)
        assert history.total == 2 and history.more == 1
        assert [e.status for e in history.items] == ["active"]
        page = await service.list_for_member("@ALA:test", limit=2)
        assert page.total == 3 and [c.title for c in page.items] == ["Three", "Two"]


async def test_service_cards(driver: Driver, deps: Deps, clock: Clock) -> None:
    await driver.send("!set tz Europe/Warsaw", sender="@bob:test")
    await driver.send("!collab add Expo with @bob:test")
    clock.now += timedelta(hours=1)
    await driver.send("!collab note 1 Booked.", sender="@bob:test")
    async with deps.db.session() as s:
        service = service_of(s, deps)
        card = await service.card(1)
        assert card.collaboration.title == "Expo" and card.history is None
        assert [m.mxid for m in card.members] == ["@ala:test", "@bob:test"]
        full = await service.card_with_history(1, "@bob:test", "!room:test")
        assert full.history is not None
        assert [e.kind for e in full.history.items] == ["created", "note"]
        assert str(full.timezone) == "Europe/Warsaw"  # the reader's own
        # no timezone of their own: the room's, else UTC
        assert str((await service.card_with_history(1, "@ala:test", "!room:test")).timezone) \
            == "UTC"
        await RoomSettingsService(s).set("!room:test", timezone="Europe/Berlin")
        assert str(await service.reader_timezone("@ala:test", "!room:test")) == "Europe/Berlin"


async def test_a_coordinator_check_is_asked_only_of_non_members(driver: Driver,
                                                                deps: Deps) -> None:
    await driver.send("!collab add Expo with @bob:test")
    await driver.send("!collab confirm 1", sender="@bob:test")
    asked: list[str] = []

    async def coordinator() -> bool:
        asked.append("asked")
        return True

    async with deps.db.session() as s:
        service = service_of(s, deps)
        change = await service.set_status(1, "active", "@bob:test", coordinator=coordinator)
        assert (change.collaboration.status, change.old) == ("active", "planned")
        assert asked == []  # a member: nobody asks whether they are a coordinator
        noted = await service.add_note(1, "Checked.", "@coord:test", coordinator=coordinator)
        assert noted.id == 1 and asked == ["asked"]

        async def nobody() -> bool:
            return False

        with pytest.raises(NotAllowed):
            await service.add_note(1, "spam", "@eve:test", coordinator=nobody)


async def test_a_listing_names_the_member_it_lists(driver: Driver, deps: Deps) -> None:
    await driver.send("!collab add Expo with @bob:test")
    await driver.send("!collab confirm 1", sender="@bob:test")  # the bot meets @bob
    async with deps.db.session() as s:
        await s.execute(update(Member).where(Member.mxid == "@bob:test")
                        .values(display_name="Bob Berg"))
    async with deps.db.session() as s:
        found = await service_of(s, deps).list_for_member("@bob:test")
        assert found.total == 1 and [c.title for c in found.items] == ["Expo"]
        assert [m.mxid for m in found.members[1]] == ["@ala:test", "@bob:test"]
        assert found.names == {"@bob:test": "Bob Berg"}
    [out] = await driver.send("!collab list @bob:test", sender="@cat:test")
    assert out.body.splitlines() == ["Bob Berg has 1 collaboration:",
                                     "• #1 Expo (planned) — @ala:test, Bob Berg"]


@pytest.mark.usefixtures("people")
async def test_the_card_reads_in_the_readers_language(deps: Deps, driver: Driver,
                                                      translator: Translator) -> None:
    await driver.send("!collab add Expo with @bob:test")
    async with deps.db.session() as s:
        card = await service_of(s, deps).card(1)
    text, html = messages.card(translator.bind("pl"), deps.config.network, card)
    assert "@ala:test (Szczecin, Polska), @bob:test (Rostock, Niemcy)" in text
    assert messages.status_label(translator.bind("en"), "dropped") == "dropped"
    assert messages.status_label(translator.bind("en"), "unheard-of") == "unheard-of"
    assert '<a href="https://matrix.to/#/@bob:test">@bob:test</a>' in html


async def test_help_has_a_line_for_each_subcommand(driver: Driver) -> None:
    body = await one(driver, "!help collab")
    for line in ("!collab add [title with @name … [#topic]] — Record a collaboration",
                 "!collab list [@user|location] — List your collaborations",
                 "!collab show [id] — Show a collaboration",
                 "!collab status [id] [status] — Set a collaboration's status",
                 "!collab note [id] [text…] — Add a note",
                 "!collab confirm [id] — Confirm that you take part",
                 "!collab leave [id] — Leave a collaboration"):
        assert line in body
    listed = await one(driver, "!help")
    assert "!collab status [id] [status] — " in listed


async def test_missing_numbers_are_asked_for(driver: Driver) -> None:
    await driver.send("!collab add Expo with @bob:test")
    assert "!collab note 12 First meeting in Rostock." in await one(driver, "!collab note")
    assert "!collab status 12 active" in await one(driver, "!collab status")
    body = await one(driver, "!collab show #x")
    assert "“#x” is not a collaboration number like 12." in body
    assert "Too many arguments: 2" in await one(driver, "!collab show 1 2")


# -- consent: the request, confirming, leaving -----------------------------------------


async def test_the_request_asks_the_named_members_in_the_rooms_language(
        driver: Driver, deps: Deps, translator: Translator) -> None:
    szczecin = room_id("location:szczecin")  # a Polish room
    await driver.send("!lang en", sender="@ala:test")
    reply, notice = await add(driver, "!collab add Expo with @bob:test @cat:test",
                              room_id=szczecin)
    assert reply.room_id == notice.room_id == szczecin
    assert reply.body.startswith("Collaboration #1 is recorded.")  # the reader's language
    # only those asked are mentioned (and so notified), never the recorder
    assert notice.mentions == ("@bob:test", "@cat:test") and notice.reply_to is None
    async with deps.db.session() as s:
        [c] = await s.scalars(select(Collaboration))
        expected = messages.request(translator.bind("pl"), "!", c, ["@bob:test", "@cat:test"],
                                    {})
    assert (notice.body, notice.html) == expected
    assert notice.body.startswith("@bob:test, @cat:test: ")  # those asked, named first
    for part in ("@ala:test", "#1", "„Expo”", "✅", "!collab confirm 1", "!collab leave 1"):
        assert part in notice.body, part
    assert "recorded collaboration" not in notice.body  # Polish, not the English source
    [notice_id] = [i for t, i in driver.gateway._by_txn.items() if t.endswith(".2")]
    assert (c.request_event_id, c.request_room_id) == (notice_id, szczecin)
    assert await confirmed_by(deps, 1) == {"@ala:test": True, "@bob:test": False,
                                           "@cat:test": False}


async def test_a_redelivered_add_posts_the_request_once(driver: Driver, deps: Deps,
                                                        gateway: FakeGateway) -> None:
    message = driver.message("!collab add Expo with @bob:test", event_id="$same")
    first = await driver.deliver(message)
    assert len(first) == 3
    assert await driver.deliver(message) == []  # handled: nothing again
    assert len(await rows(deps)) == 1


async def test_a_check_mark_on_the_request_confirms_only_a_named_pending_member(
        driver: Driver, deps: Deps, gateway: FakeGateway) -> None:
    _, notice = await add(driver, "!collab add Expo with @bob:test @cat:test")
    [c] = await rows(deps)
    notice_id = c.request_event_id
    assert notice_id is not None
    dispatcher = driver.dispatcher
    posted = len(gateway.sent)
    # someone not named, another key, another event, the same event id in another room
    for event in (reaction(driver, notice_id, "@dan:test"),
                  reaction(driver, notice_id, "@eve:test"),
                  reaction(driver, notice_id, "@bob:test", key="👍"),
                  reaction(driver, "$other", "@bob:test"),
                  reaction(driver, notice_id, "@bob:test", room="!elsewhere:test")):
        await dispatcher.on_event(event)
    assert await confirmed_by(deps, 1) == {"@ala:test": True, "@bob:test": False,
                                           "@cat:test": False}
    mark = reaction(driver, notice_id, "@bob:test", key="✅\ufe0f", event_id="$bobs")
    await dispatcher.on_event(mark)
    await dispatcher.on_event(mark)  # redelivered
    await dispatcher.on_event(reaction(driver, notice_id, "@bob:test"))  # and repeated
    await dispatcher.on_event(reaction(driver, notice_id, "@ala:test"))  # already confirmed
    assert await confirmed_by(deps, 1) == {"@ala:test": True, "@bob:test": True,
                                           "@cat:test": False}
    assert [e[:2] for e in await events_of(deps, 1)] == [("created", "@ala:test"),
                                                         ("confirm", "@bob:test")]
    # still @cat's to confirm: a non-member sees nothing yet
    assert await one(driver, "!collab show 1", sender="@dan:test") == (
        "⚠️ There is no collaboration #1.")
    await dispatcher.on_event(reaction(driver, notice_id, "@cat:test"))
    assert len(gateway.sent) == posted + 1  # nothing was posted for the reactions
    assert "#1 Expo" in await one(driver, "!collab show 1", sender="@dan:test")


async def test_confirm_by_command(driver: Driver, deps: Deps) -> None:
    await driver.send("!collab add Expo with @bob:test @cat:test")
    assert await one(driver, "!collab confirm 1", sender="@bob:test") == (
        "You confirmed collaboration #1 “Expo”. Still to confirm: @cat:test. Until everyone "
        "named has confirmed, only its members see it.")
    assert await one(driver, "!collab confirm #1", sender="@bob:test") == (
        "You had already confirmed collaboration #1 “Expo”. Still to confirm: @cat:test. "
        "Until everyone named has confirmed, only its members see it.")
    assert await one(driver, "!collab confirm 1", sender="@cat:test") == (
        "You confirmed collaboration #1 “Expo”. Everyone named in it has confirmed: the "
        "network can see it now.")
    assert await one(driver, "!collab confirm 1") == (  # the recorder had by recording it
        "You had already confirmed collaboration #1 “Expo”. Everyone named in it has "
        "confirmed: the network can see it now.")
    assert [e[:2] for e in await events_of(deps, 1)] == [
        ("created", "@ala:test"), ("confirm", "@bob:test"), ("confirm", "@cat:test")]
    assert "!collab confirm 12" in await one(driver, "!collab confirm")


async def test_nobody_confirms_for_someone_else(driver: Driver, deps: Deps) -> None:
    await driver.send("!collab add Expo with @bob:test @cat:test")
    body = await one(driver, "!collab confirm 1 @cat:test", sender="@bob:test")
    assert body.startswith("⚠️ Too many arguments: @cat:test")
    # a network member not named, while it is unconfirmed: as if it did not exist
    assert await one(driver, "!collab confirm 1", sender="@dan:test") == (
        "⚠️ There is no collaboration #1.")
    assert await confirmed_by(deps, 1) == {"@ala:test": True, "@bob:test": False,
                                           "@cat:test": False}
    await driver.send("!collab confirm 1", sender="@bob:test")
    await driver.send("!collab confirm 1", sender="@cat:test")
    assert await one(driver, "!collab confirm 1", sender="@dan:test") == (
        "⚠️ You are not named in collaboration #1.")
    assert await one(driver, "!collab leave 1", sender="@dan:test") == (
        "⚠️ You are not named in collaboration #1.")


async def test_a_non_member_learns_nothing_of_an_unconfirmed_collaboration(
        driver: Driver) -> None:
    await driver.send("!collab add Secret plan with @bob:test")
    for body in ("!collab show {}", "!collab status {} done", "!collab note {} hi",
                 "!collab confirm {}", "!collab leave {}"):
        known = await one(driver, body.format(1), sender="@dan:test")
        unknown = await one(driver, body.format(2), sender="@dan:test")
        assert known == "⚠️ There is no collaboration #1.", body
        assert unknown == "⚠️ There is no collaboration #2.", body
    for body in ("!collab list @ala:test", "!collab list @bob:test", "!collab list szczecin"):
        assert "Secret plan" not in await one(driver, body, sender="@dan:test")
    # the coordinators neither: it is its members' until they all confirm
    assert await one(driver, "!collab show 1", sender="@coord:test") == (
        "⚠️ There is no collaboration #1.")
    # its members see it, the one who has not confirmed yet too
    assert "#1 Secret plan" in await one(driver, "!collab show 1", sender="@bob:test")
    assert "Secret plan" in await one(driver, "!collab list", sender="@bob:test")


@pytest.mark.parametrize("number", ["0", "#0", "2147483648", "99999999999999999999"])
async def test_numbers_no_collaboration_can_have_are_no_such(driver: Driver,
                                                              number: str) -> None:
    for body in ("show", "confirm", "leave", "status {} done", "note {} hi"):
        command = "!collab " + (body.format(number) if "{}" in body else f"{body} {number}")
        reply = await one(driver, command)
        assert reply == f"⚠️ There is no collaboration #{number.lstrip('#')}.", command


async def test_an_outsider_is_refused_what_is_for_members(driver: Driver, deps: Deps) -> None:
    await driver.send("!collab add Expo with @bob:test")
    await driver.send("!collab confirm 1", sender="@bob:test")
    for body in ("!collab list @ala:test", "!collab list", "!collab list szczecin",
                 "!collab show 1", "!collab show 99", "!collab add Spam with @ala:test"):
        assert await one(driver, body, sender="@eve:test") == MEMBER_REFUSAL, body
    assert len(await rows(deps)) == 1
    # a coordinator is a member without being in a room
    assert "#1 Expo" in await one(driver, "!collab show 1", sender="@coord:test")


async def test_someone_named_from_outside_the_network_can_confirm_and_leave(
        driver: Driver, deps: Deps) -> None:
    await driver.send("!collab add Expo with @out:elsewhere @bob:test")
    assert (await one(driver, "!collab confirm 1", sender="@out:elsewhere")).startswith(
        "You confirmed collaboration #1 “Expo”.")
    assert await one(driver, "!collab show 1", sender="@out:elsewhere") == MEMBER_REFUSAL
    assert (await one(driver, "!collab leave 1", sender="@out:elsewhere")).startswith(
        "You have left collaboration #1")
    assert set(await members_of(deps, 1)) == {"@ala:test", "@bob:test"}


async def test_leave(driver: Driver, deps: Deps, clock: Clock) -> None:
    await driver.send("!collab add Expo with @bob:test @cat:test")
    await driver.send("!collab confirm 1", sender="@bob:test")
    clock.now += timedelta(hours=1)
    # the one who had not confirmed leaves: everyone left has, so the network sees it
    assert await one(driver, "!collab leave 1", sender="@cat:test") == (
        "You have left collaboration #1 “Expo”: your name is no longer on it.")
    assert await members_of(deps, 1) == {"@ala:test": None, "@bob:test": None}
    body = await one(driver, "!collab show 1", sender="@cat:test")
    assert "Members: @ala:test, @bob:test" in body and "Not confirmed" not in body
    assert body.splitlines()[-1] == "• 11/27/26, 1:00\u202fPM — @cat:test left"
    assert await events_of(deps, 1) == [("created", "@ala:test", "planned", None),
                                        ("confirm", "@bob:test", None, None),
                                        ("left", "@cat:test", None, None)]
    # leaving again, or changing it, is for members only
    assert await one(driver, "!collab leave 1", sender="@cat:test") == (
        "⚠️ You are not named in collaboration #1.")
    assert (await one(driver, "!collab status 1 done", sender="@cat:test")).startswith(
        "⚠️ Only the members")
    # one member left: kept as it is, still theirs to change
    await driver.send("!collab leave 1", sender="@bob:test")
    assert await members_of(deps, 1) == {"@ala:test": None}
    assert "is now active" in await one(driver, "!collab status 1 active")
    # the last one: nobody can answer for it any more, so it goes, history and all
    assert await one(driver, "!collab leave 1") == (
        "You have left collaboration #1 “Expo”. Nobody is left in it, so it is deleted.")
    assert await rows(deps) == [] and await events_of(deps, 1) == []
    assert await one(driver, "!collab show 1") == "⚠️ There is no collaboration #1."
    assert "!collab leave 12" in await one(driver, "!collab leave")


async def test_a_bidi_override_in_a_title_is_dropped(driver: Driver, deps: Deps) -> None:
    reply, notice = await add(driver, "!collab add Invoice \u202egnp.exe\u202c and \u2066more"
                                      "\u2069 with @bob:test")
    [c] = await rows(deps)
    assert c.title == "Invoice gnp.exe and more"
    for out in (reply, notice):
        assert not any(ch in out.body + (out.html or "") for ch in "\u202e\u202c\u2066\u2069")


async def test_room_pings_in_a_title_ping_nobody(driver: Driver) -> None:
    reply, notice = await add(driver, "!collab add @room party with @bob:test")
    for out in (reply, notice):
        content = out.content()
        assert "@room" not in content["body"] and "@\u2060room party" in content["body"]
        assert "@room" not in content["formatted_body"]


# -- a member's own data ---------------------------------------------------------------


async def test_mydata_and_forget_me_for_collaborations(driver: Driver, deps: Deps,
                                                      gateway: FakeGateway) -> None:
    await driver.send("!collab add Expo with @bob:test @cat:test")
    await driver.send("!collab confirm 1", sender="@bob:test")
    await driver.send("!collab note 1 Booked the hall.", sender="@bob:test")
    await driver.send("!collab add Archive with @cat:test", sender="@bob:test")
    [part] = [p for p in wire(deps).personal_data if p.name == "collaborations"]
    async with deps.db.session() as s:
        exported = await part.export(s, "@bob:test")
    assert [(c["id"], c["title"], c["role"], c["confirmed"]) for c in exported] == [
        (1, "Expo", "member", True), (2, "Archive", "recorder", True)]
    assert [(h["kind"], h["note"]) for h in exported[0]["history"]] == [
        ("confirm", None), ("note", "Booked the hall.")]
    async with deps.db.session() as s:
        assert [c["confirmed"] for c in await part.export(s, "@cat:test")] == [False, False]
        assert await part.export(s, "@nobody:test") == []

    notices = {c.id: (c.request_room_id, c.request_event_id) for c in await rows(deps)}
    assert "!forget-me confirm" in (await driver.send("!forget-me", sender="@bob:test"))[0].body
    await driver.send("!forget-me confirm", sender="@bob:test")
    # both collaborations keep existing for the others, without @bob's name
    members = await members_of(deps, 1)
    assert set(members) - {"@ala:test", "@cat:test"} and "@bob:test" not in members
    async with deps.db.session() as s:
        assert await part.export(s, "@bob:test") == []
        found = await s.scalars(select(CollaborationEvent.by))
        assert "@bob:test" not in set(found)
        assert "@bob:test" not in {c.created_by for c in await s.scalars(select(Collaboration))}
    # the requests that named @bob are taken down
    assert set(gateway.redacted) == {notices[1], notices[2]}
    # the cards say "a former member", never the stand-in name
    body = await one(driver, "!collab show 1")
    assert "former-" not in body and "@bob:test" not in body
    [members_line] = [line for line in body.splitlines() if line.startswith("Members:")]
    assert sorted(members_line.removeprefix("Members: ").split(", ")) == [
        "@ala:test", "@cat:test", "a former member"]
    assert "— a former member: Booked the hall." in body
    listed = await one(driver, "!collab list", sender="@cat:test")
    assert "former-" not in listed and "a former member" in listed
    archive = await one(driver, "!collab show 2", sender="@cat:test")
    assert "a former member recorded it" in archive and "Not confirmed yet by: @cat:test" \
        in archive


async def test_a_former_member_who_never_confirmed_keeps_it_unpublished(
        driver: Driver, deps: Deps) -> None:
    await driver.send("!collab add Expo with @bob:test")
    await driver.send("!forget-me confirm", sender="@bob:test")
    assert await confirmed_by(deps, 1) == {
        next(m for m in await members_of(deps, 1) if m != "@ala:test"): False,
        "@ala:test": True}
    assert await one(driver, "!collab show 1", sender="@dan:test") == (
        "⚠️ There is no collaboration #1.")
    body = await one(driver, "!collab show 1")
    assert "Not confirmed yet by: a former member" in body


async def test_forgetting_takes_down_the_request_of_one_they_left(
        driver: Driver, deps: Deps, gateway: FakeGateway) -> None:
    await driver.send("!collab add Expo with @bob:test @cat:test")
    await driver.send("!collab leave 1", sender="@bob:test")
    [c] = await rows(deps)
    await driver.send("!forget-me confirm", sender="@bob:test")
    assert gateway.redacted == [(c.request_room_id, c.request_event_id)]
    assert [e[:2] for e in await events_of(deps, 1)][0] == ("created", "@ala:test")
    assert "@bob:test" not in {e[1] for e in await events_of(deps, 1)}


async def test_erase_survives_a_request_the_homeserver_will_not_redact(
        driver: Driver, deps: Deps, gateway: FakeGateway) -> None:
    await driver.send("!collab add Expo with @bob:test", room_id="!gone:test")
    gateway.refuse.add("!gone:test")  # the bot was kicked from that room since
    await driver.send("!forget-me confirm", sender="@bob:test")
    assert "@bob:test" not in await members_of(deps, 1)


async def test_service_visibility(driver: Driver, deps: Deps) -> None:
    await driver.send("!collab add Expo with @bob:test")
    async with deps.db.session() as s:
        service = service_of(s, deps)
        assert await service.pending(1) == ["@bob:test"]
        assert not await service.is_confirmed(1)
        assert (await service.visible(1, "@bob:test")).title == "Expo"
        with pytest.raises(UserError) as caught:
            await service.visible(1, "@dan:test")
        assert caught.value.msgid == "There is no collaboration #%(id)s."
        assert (await service.list_for_member("@ala:test", reader="@dan:test")).total == 0
        assert (await service.list_for_member("@ala:test")).total == 1
        # without a way to post, nobody is asked (and nothing fails)
        assert await service.ask(1, "!room:test", "txn") is None


async def test_in_a_direct_chat_the_recorder_passes_the_request_on(driver: Driver,
                                                                   deps: Deps) -> None:
    await deps.direct.record("!dm:test")
    [reply] = await driver.send("collab add Expo with @bob:test", room_id="!dm:test")
    assert "ask the others named to confirm it with !collab confirm 1" in reply.body
    [c] = await rows(deps)
    assert c.request_event_id is None
    assert (await one(driver, "!collab confirm 1", sender="@bob:test")).startswith(
        "You confirmed")


async def test_a_homeserver_fault_mid_request_records_and_asks_once(
        driver: Driver, deps: Deps, gateway: FakeGateway,
        monkeypatch: pytest.MonkeyPatch) -> None:
    real_react = gateway.react
    failures = [HomeserverUnavailable("react: 502 (fake)", None, 502)]

    async def flaky_react(room: str, event_id: str, key: str, txn_id: str) -> str:
        if failures:
            raise failures.pop()
        return await real_react(room, event_id, key, txn_id)

    monkeypatch.setattr(gateway, "react", flaky_react)
    out = await driver.send("!collab add Expo with @bob:test")
    # the whole command ran again: the homeserver folded the resent reply and notice
    reply, notice, offered = out
    assert reply.body.startswith("Collaboration #") and offered.body == "✅"
    # recorded once (on PostgreSQL the first attempt used up a number of the sequence)
    [c] = await rows(deps)
    assert c.request_event_id == gateway._by_txn[notice.txn_id or ""]
    assert [e[0] for e in await events_of(deps, c.id)] == ["created"]
    # ✅ on the notice that was posted confirms the collaboration that was recorded
    await driver.dispatcher.on_event(reaction(driver, c.request_event_id, "@bob:test"))
    assert await confirmed_by(deps, c.id) == {"@ala:test": True, "@bob:test": True}
