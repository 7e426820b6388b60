"""Collaborations: !collab add, list, show, status, note through the real dispatcher, and the
service's reading methods, on every test database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import (
    Collaboration,
    CollaborationEvent,
    CollaborationMember,
    Connection,
    MatchRound,
    Member,
    RoundGroup,
)
from bot.deps import Deps
from bot.errors import NotAllowed
from bot.events import Message
from bot.features.collaborations import messages
from bot.features.collaborations.service import CollaborationService
from bot.i18n import Translator
from rooms.settings import RoomSettingsService
from tests.conftest import Clock, network, room_id
from tests.fakes import Driver, FakeGateway

# a network room without a language of its own: replies there are in English
DESIGN_ROOM = room_id("topic:design")


@pytest.fixture
async def deps(make_deps) -> Deps:  # noqa: ANN001
    """The shared `dispatcher` and `driver` fixtures use this one: locations and topics."""
    return await make_deps(network=network("szczecin", "elblag", "rostock",
                                           topics=("design", "games")))


def service_of(s: AsyncSession, deps: Deps) -> CollaborationService:
    return CollaborationService(s, deps.config.network, deps.clock)


@pytest.fixture
async def people(driver: Driver) -> None:
    """@ala and @cat in Szczecin (PL), @ewa in Elbląg (PL), @bob in Rostock (DE)."""
    for sender, where in (("@ala:test", "szczecin"), ("@cat:test", "szczecin"),
                          ("@ewa:test", "elblag"), ("@bob:test", "rostock")):
        await driver.send(f"!set location {where}", sender=sender)


async def one(driver: Driver, body: str, **kwargs: str) -> str:
    [out] = await driver.send(body, **kwargs)
    return out.body


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
    [out] = await driver.send("!collab add Joint exhibition with @bob:test #Design")
    assert out.body.splitlines() == [
        "Collaboration #1 is recorded. Change its status with !collab status 1 active, add a "
        "note with !collab note 1 <text>.",
        "#1 Joint exhibition",
        "Status: planned",
        "Origin: recorded directly",
        "Topic: Design & Media",
        "Across borders: Germany, Poland",
        "Members: @ala:test (Szczecin, Poland), @bob:test (Rostock, Germany)",
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
    body = await one(driver, "!collab add Coffee with friends with @cat:test, @ewa:test "
                             "@nowhere:test", sender="@ala:test")
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
    [out] = await driver.deliver(pills)
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
    body = await one(driver, "!collab add Expo with @bob:test @cat:test")
    assert "Origin: from connection #2" in body
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
    body = await one(driver, "!collab add Expo with @bob:test")
    assert f"Origin: from matchmaking round #{new_id}" in body
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
    body = await one(driver, "!collab status 1 dropped", sender="@eve:test")
    assert body == "⚠️ Only the members of collaboration #1 or a coordinator may change it."
    body = await one(driver, "!collab note 1 spam", sender="@eve:test")
    assert body.startswith("⚠️ Only the members")
    assert await one(driver, "!collab status 1 dropped", sender="@coord:test") == (
        "Collaboration #1 “Expo” is now dropped (it was planned).")
    await driver.send("!collab note 1 Checked with both.", sender="@coord:test")
    assert await events_of(deps, 1) == [
        ("created", "@ala:test", "planned", None),
        ("status", "@coord:test", "dropped", None),
        ("note", "@coord:test", None, "Checked with both."),
    ]


async def test_power_in_an_administered_room_makes_a_coordinator(driver: Driver,
                                                                 gateway: FakeGateway) -> None:
    await driver.send("!collab add Expo with @bob:test")
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
    [added] = await driver.send("!collab add <script>alert(1)</script> & Co with @bob:test")
    assert "#1 <script>alert(1)</script> & Co" in added.body
    await driver.send("!collab note 1 <img src=x onerror=alert(2)>")
    [shown] = await driver.send("!collab show 1")
    [listed] = await driver.send("!collab list")
    [changed] = await driver.send("!collab status 1 active")
    for out in (added, shown, listed, changed):
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

    assert (await one(driver, "!collab list")).splitlines() == [
        "You have 2 collaborations:",
        "• #3 Archive (active) — @ala:test, @cat:test",
        "• #1 Expo (planned) — @ala:test, @bob:test",
    ]
    assert (await one(driver, "!collab list @cat:test", sender="@bob:test")).splitlines() == [
        "@cat:test has 2 collaborations:",
        "• #3 Archive (active) — @ala:test, @cat:test",
        "• #2 Games jam (planned) — @cat:test, @ewa:test",
    ]
    assert (await one(driver, "!collab list Elbląg")).splitlines() == [
        "1 collaboration with members from Elbląg, Poland:",
        "• #2 Games jam (planned) — @cat:test, @ewa:test",
    ]
    assert (await one(driver, "!collab list rostock")).splitlines()[0] == (
        "1 collaboration with members from Rostock, Germany:")
    assert await one(driver, "!collab list @nobody:test") == (
        "@nobody:test has no collaborations yet.")
    body = await one(driver, "!collab list paris")
    assert body.startswith("⚠️") and "“paris” is not one of our locations" in body
    pill = Message(event_id="$pill", room_id="!room:test", sender="@bob:test",
                   body="!collab list Ewa", formatted_body='!collab list <a href="https://'
                   'matrix.to/#/@ewa:test">Ewa</a>')
    [out] = await driver.deliver(pill)
    assert out.body.startswith("@ewa:test has 1 collaboration:")


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
    assert "“frobnicate” is not one of: add, list, show, status, note." in body
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
    await driver.send("!collab list", sender="@bob:test")  # the bot meets @bob
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
                 "!collab note [id] [text…] — Add a note"):
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
