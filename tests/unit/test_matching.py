"""Matching, connections and rounds through services and the real dispatcher."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.db.models import (
    Collaboration,
    CollaborationMember,
    Connection,
    MatchRound,
    Member,
    RoomMembership,
    RoundAnswer,
    RoundGroup,
)
from bot.deps import Deps
from bot.errors import UserError
from bot.events import Reaction
from bot.features.matchmaking import messages
from bot.features.matchmaking.config import MatchmakingConfig
from bot.features.matchmaking.connections import ConnectionService
from bot.features.matchmaking.jobs import is_round_week, round_trigger
from bot.features.matchmaking.matching import Fit, MatchingService, Suggestion
from bot.features.matchmaking.rounds import RoundRunner, Rounds, round_stats
from bot.features.profiles.config import TagsConfig
from bot.features.profiles.service import ProfileService
from bot.i18n import Translator
from tests.conftest import Clock, network, room_id
from tests.fakes import Driver, FakeGateway

SYNONYMS = {"synonyms": {"video": ["wideo", "film", "filmas"]}}


@pytest.fixture
async def deps(make_deps) -> Deps:  # noqa: ANN001
    return await make_deps(network=network("szczecin", "elblag", "rostock", topics=("design",)),
                           tags=SYNONYMS, matchmaking={"rounds": "every 2 weeks mon 10:00"})


def canonical(deps: Deps):  # noqa: ANN201
    return deps.config.section(TagsConfig).canonical


def runner(deps: Deps) -> RoundRunner:
    return RoundRunner(deps, deps.config.section(MatchmakingConfig), canonical(deps))


async def person(deps: Deps, mxid: str, location: str | None, offers=(), needs=(),
                 languages: str = "en", **extra) -> None:  # noqa: ANN001
    async with deps.db.session() as s:
        profiles = ProfileService(s, deps.clock, canonical(deps))
        member = await profiles.members.get_or_create(mxid, mxid[1:4].title())
        member.languages = languages
        for key, value in extra.items():
            setattr(member, key, value)
        if location:
            await profiles.set_location(mxid, deps.config.network.find_location(location))
        if offers:
            await profiles.add_tags(mxid, "offer", list(offers))
        if needs:
            await profiles.add_tags(mxid, "need", list(needs))


async def joined(deps: Deps, *mxids: str, room: str = "location:szczecin") -> None:
    """Make `mxids` members of the network: in one of its rooms now."""
    async with deps.db.session() as s:
        s.add_all(RoomMembership(room_id=room_id(room), mxid=mxid, since=deps.clock(),
                                 imported=False) for mxid in mxids)


async def suggest(deps: Deps, mxid: str, n: int = 5) -> list:
    async with deps.db.session() as s:
        return await MatchingService(s, deps.config.network, deps.config.command_prefix,
                                     canonical(deps)).suggest(mxid, n)


async def test_mutual_then_fit_then_cross_border(deps: Deps) -> None:
    await person(deps, "@ala:x", "szczecin", offers=["design"], needs=["video", "sound"])
    await person(deps, "@one:x", "szczecin", offers=["video"])                 # gives 1, same city
    await person(deps, "@two:x", "rostock", offers=["video"])                  # gives 1, abroad
    await person(deps, "@eve:x", "elblag", offers=["video"])   # gives 1, same country
    await person(deps, "@mut:x", "szczecin", offers=["sound"], needs=["design"])  # mutual
    await person(deps, "@big:x", "szczecin", offers=["video", "sound"])        # gives 2
    await person(deps, "@nil:x", "rostock", offers=["games"])                  # no fit
    order = [s.mxid for s in await suggest(deps, "@ala:x")]
    assert order == ["@mut:x", "@big:x", "@two:x", "@eve:x", "@one:x"]
    first = (await suggest(deps, "@ala:x"))[0]
    assert first.mutual and first.gives == ("sound",) and first.takes == ("design",)


async def test_synonyms_meet_across_languages(deps: Deps) -> None:
    await person(deps, "@ola:x", "szczecin", needs=["Wideo"], languages="pl,de")
    await person(deps, "@udo:x", "rostock", offers=["Video"], languages="de")
    [hit] = await suggest(deps, "@ola:x")
    assert hit.mxid == "@udo:x" and hit.gives == ("video",)
    assert hit.cross_border and hit.shared_languages == ("de",)


async def test_no_shared_language_comes_last(deps: Deps) -> None:
    await person(deps, "@ala:x", "szczecin", needs=["video"], languages="pl")
    await person(deps, "@de1:x", "rostock", offers=["video", "film"], languages="de")
    await person(deps, "@pl1:x", "szczecin", offers=["video"], languages="pl")
    hits = await suggest(deps, "@ala:x")
    assert [h.mxid for h in hits] == ["@pl1:x", "@de1:x"]
    assert hits[1].shared_languages == ()


async def test_opted_out_and_collaborators_are_left_out(deps: Deps, clock: Clock) -> None:
    await person(deps, "@ala:x", "szczecin", needs=["video"])
    await person(deps, "@off:x", "rostock", offers=["video"], connect_ok=False)
    await person(deps, "@col:x", "rostock", offers=["video"])
    await person(deps, "@new:x", "rostock", offers=["video"])
    async with deps.db.session() as s:
        c = Collaboration(title="x", status="active", origin="direct", created_by="@ala:x",
                          created_at=clock())
        s.add(c)
        await s.flush()
        s.add_all([CollaborationMember(collaboration_id=c.id, mxid="@ala:x"),
                   CollaborationMember(collaboration_id=c.id, mxid="@col:x")])
    assert [h.mxid for h in await suggest(deps, "@ala:x")] == ["@new:x"]


async def test_match_command_explains_each_line(deps: Deps, driver: Driver) -> None:
    await joined(deps, "@ala:test")
    await person(deps, "@ala:test", "szczecin", offers=["design"], needs=["video"])
    await person(deps, "@udo:x", "rostock", offers=["video"], needs=["design"])
    [out] = await driver.send("!match 3")
    line = out.body.splitlines()[1]
    assert line.startswith("⇄ ") and "video" in line and "design" in line
    assert "Rostock (DE)" in line and "English" in line
    [bad] = await driver.send("!match 50")
    assert "20" in bad.body


async def test_match_without_tags_says_what_to_do(deps: Deps, driver: Driver) -> None:
    await joined(deps, "@ala:test")
    [out] = await driver.send("!match")
    assert "!offer" in out.body and "!need" in out.body


async def test_find_groups_by_location(deps: Deps, driver: Driver) -> None:
    await joined(deps, "@ala:test")
    await person(deps, "@udo:x", "rostock", offers=["video"])
    await person(deps, "@ola:x", "szczecin", offers=["wideo"])
    await person(deps, "@ida:x", None, offers=["film"])
    [out] = await driver.send("!find Video")
    lines = out.body.splitlines()
    assert lines[1].startswith("Szczecin: Ola") and lines[2].startswith("Rostock: Udo")
    assert "Ida" in lines[3]


async def test_connect_opens_a_room_and_records(deps: Deps, driver: Driver,
                                                gateway: FakeGateway) -> None:
    await joined(deps, "@ala:test")
    await person(deps, "@ala:test", "szczecin", offers=["design"], needs=["video"])
    await person(deps, "@udo:x", "rostock", offers=["video"], languages="de,en")
    out = await driver.send("!connect @udo:x Let us talk <soon>", event_id="$c1")
    [room] = gateway.created
    assert room["invite"] == ()  # created empty; invited once the introduction is there
    assert gateway.invited == [(room["room_id"], "@udo:x"), (room["room_id"], "@ala:test")]
    intro = next(o for o in out if o.room_id == room["room_id"])
    assert "video" in intro.body and "Let us talk <soon>" in intro.body
    assert "&lt;soon&gt;" in intro.html
    assert set(intro.mentions) == {"@ala:test", "@udo:x"}
    async with deps.db.session() as s:
        [conn] = (await s.scalars(select(Connection))).all()
    assert (conn.a, conn.b, conn.cross_border, conn.origin) == ("@ala:test", "@udo:x", True,
                                                               "connect")
    # the same command redelivered after a crash finds the room by its alias
    gateway.sent.clear()
    async with deps.db.session() as s:
        from bot.db.models import HandledEvent
        await s.execute(HandledEvent.__table__.delete())
        await s.execute(Connection.__table__.delete())
    await driver.send("!connect @udo:x Let us talk <soon>", event_id="$c1")
    assert len(gateway.created) == 1


async def test_connect_refused_politely(deps: Deps, driver: Driver) -> None:
    await joined(deps, "@ala:test")
    await person(deps, "@shy:x", "rostock", connect_ok=False)
    [out] = await driver.send("!connect @shy:x")
    assert out.body.startswith("⚠️") and "Shy" in out.body
    [unknown] = await driver.send("!connect @nobody:x")
    assert "@nobody:x" in unknown.body
    [me] = await driver.send("!connect @ala:test")
    assert "!match" in me.body


async def test_set_connect_off_and_on(deps: Deps, driver: Driver) -> None:
    await driver.send("!set connect off")
    async with deps.db.session() as s:
        from bot.members import MemberService
        assert (await MemberService(s, deps.clock).get("@ala:test")).connect_ok is False
    [bad] = await driver.send("!set connect maybe")
    assert "maybe" in bad.body


async def test_round_pairs_rooms_followup_and_answers(deps: Deps, gateway: FakeGateway,
                                                      driver: Driver) -> None:
    people = [("@a:x", "szczecin"), ("@b:x", "rostock"), ("@c:x", "elblag"),
              ("@d:x", "rostock"), ("@e:x", "szczecin")]
    for mxid, loc in people:
        await person(deps, mxid, loc, offers=["video"], needs=["design"], rounds=True)
    await person(deps, "@out:x", "rostock", rounds=False)
    rounds = runner(deps)
    round_id, count = await rounds.start("k1", None, "@coord:test")
    assert count == 5
    assert await rounds.start("k1", None, "@coord:test") == (round_id, 5)  # same key: same round
    async with deps.db.session() as s:
        groups = (await s.scalars(select(RoundGroup))).all()
    assert sorted(len(g.members.split()) for g in groups) == [2, 3]
    assert all(g.room_id for g in groups) and len(gateway.created) == 2
    assert all(g.cross_border for g in groups)
    intros = [o for o in gateway.sent if o.txn_id and o.txn_id.endswith(".intro")]
    assert len(intros) == 2

    await rounds.follow_up(round_id)
    async with deps.db.session() as s:
        groups = (await s.scalars(select(RoundGroup))).all()
    questions = {g.question_event_id for g in groups}
    assert None not in questions
    reactions = [o for o in gateway.sent if o.msgtype == "m.reaction"]
    assert sorted(o.body for o in reactions) == ["✅", "✅", "❌", "❌"]

    pair = next(g for g in groups if len(g.members.split()) == 2)
    member = pair.members.split()[0]
    await rounds.on_event(Reaction("$r1", pair.room_id, member, pair.question_event_id, "✅️"))
    await rounds.on_event(Reaction("$r2", pair.room_id, "@out:x", pair.question_event_id, "✅"))
    await rounds.on_event(Reaction("$r3", pair.room_id, member, pair.question_event_id, "🎉"))
    async with deps.db.session() as s:
        answers = (await s.scalars(select(RoundAnswer))).all()
        stats = await round_stats(s)
    assert [(a.mxid, a.met) for a in answers] == [(member, True)]
    assert (stats.rounds, stats.groups, stats.met, stats.cross_border) == (1, 2, 1, 2)
    [out] = await driver.send("!rounds stats")
    assert "1" in out.body and "100%" in out.body


async def test_rounds_opt_in_and_matchround_needs_people(deps: Deps, driver: Driver) -> None:
    await joined(deps, "@ala:test")
    await driver.send("!rounds on")
    async with deps.db.session() as s:
        from bot.members import MemberService
        assert (await MemberService(s, deps.clock).get("@ala:test")).rounds is True
    [out] = await driver.send("!matchround", sender="@coord:test")
    assert "!rounds on" in out.body
    [bad] = await driver.send("!matchround paris", sender="@coord:test")
    assert "szczecin" in bad.body
    [denied] = await driver.send("!matchround", sender="@ala:test")
    assert denied.body.startswith("⚠️")


def test_scheduled_rounds_keep_their_weekday_and_hour_across_dst(deps: Deps) -> None:
    trigger = round_trigger(deps.config.section(MatchmakingConfig))
    tz = ZoneInfo("Europe/Berlin")
    fire = trigger.get_next_fire_time(None, datetime(2027, 3, 20, tzinfo=tz))
    fires = []
    for _ in range(8):  # across the end of March, when Berlin moves to summer time
        fires.append(fire)
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    local = [f.astimezone(tz) for f in fires]
    assert all(f.weekday() == 0 and (f.hour, f.minute) == (10, 0) for f in local)
    rounds = [f.date() for f in local if is_round_week(f.date(), 2)]
    assert len(rounds) == 4
    assert all((b - a).days == 14 for a, b in zip(rounds, rounds[1:], strict=False))
    assert is_round_week(date(2026, 1, 5), 2) and not is_round_week(date(2026, 1, 12), 2)


async def test_the_follow_up_is_scheduled_a_week_later(deps: Deps, clock: Clock) -> None:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    for mxid, loc in (("@a:x", "szczecin"), ("@b:x", "rostock")):
        await person(deps, mxid, loc, rounds=True)
    deps.scheduler = AsyncIOScheduler(timezone="UTC")  # not started: only its jobs are read
    round_id, _ = await runner(deps).start("k-later", None, None)
    job = deps.scheduler.get_job(f"round-followup:{round_id}")
    assert job is not None
    assert job.trigger.run_date == clock() + timedelta(days=7)


async def test_connect_is_one_service_call(deps: Deps, gateway: FakeGateway) -> None:
    await person(deps, "@ala:x", "szczecin", offers=["design"], needs=["video"])
    await person(deps, "@udo:x", "rostock", offers=["video"], languages="de,en")
    await person(deps, "@shy:x", "rostock", connect_ok=False)
    async with deps.db.session() as s:
        service = ConnectionService(s, deps)
        for target, msgid_part in (("@ala:x", "That is you"), ("@who:x", "I have not met"),
                                   ("@shy:x", "not taking introductions")):
            with pytest.raises(UserError) as refused:
                await service.connect("@ala:x", target, None, "t1")
            assert msgid_part in refused.value.msgid
        assert gateway.created == [] and gateway.sent == []
        done = await service.connect("@ala:x", "@udo:x", "Hi", "t1")
    assert done.member.mxid == "@udo:x" and not done.reused
    [room] = gateway.created
    assert room["name"] == "Ala & Udo" and room["room_id"] == done.room_id
    assert {who for _, who in gateway.invited} == {"@ala:x", "@udo:x"}
    [intro] = gateway.sent
    assert intro.room_id == room["room_id"] and intro.txn_id == "t1"
    assert "Udo offers video, which Ala needs." in intro.body
    assert "From Szczecin (PL) and Rostock (DE)." in intro.body
    assert "A note from Ala: Hi" in intro.body and "!collab add" in intro.body
    async with deps.db.session() as s:
        [conn] = (await s.scalars(select(Connection))).all()
    assert (conn.a, conn.b, conn.note, conn.cross_border) == ("@ala:x", "@udo:x", "Hi", True)


async def test_rounds_service_takes_part_and_counts(deps: Deps) -> None:
    await person(deps, "@a:x", "szczecin")
    async with deps.db.session() as s:
        rounds = Rounds(s, runner(deps), deps.clock)
        assert await rounds.takes_part("@a:x") is False
        assert await rounds.takes_part("@new:x") is False
        assert await rounds.take_part("@a:x", True) is True
        assert await rounds.takes_part("@a:x") is True
        stats = await rounds.stats()
    assert (stats.rounds, stats.groups, stats.answered, stats.met) == (0, 0, 0, 0)


async def test_rounds_group_answers_its_own_and_its_subcommands(deps: Deps,
                                                                 driver: Driver) -> None:
    await joined(deps, "@ala:test")
    [status] = await driver.send("!rounds")
    assert status.body == ("You do not take part in matchmaking rounds. Change it with "
                           "!rounds on|off.")
    [on] = await driver.send("!rounds on")
    assert on.body.startswith("You are in:")
    [status] = await driver.send("!rounds")
    assert status.body.startswith("You take part in matchmaking rounds.")
    [off] = await driver.send("!rounds OFF")
    assert off.body == "You are out of the matchmaking rounds."
    [bad] = await driver.send("!rounds maybe")
    assert bad.body.startswith("⚠️") and "“maybe”" in bad.body and "on, off, stats" in bad.body
    [help_] = await driver.send("!help rounds")
    assert all(u in help_.body for u in ("!rounds on", "!rounds off", "!rounds stats"))


async def test_matchround_scope_is_a_location_or_a_topic(deps: Deps, driver: Driver) -> None:
    await person(deps, "@a:x", "szczecin", offers=["video"], rounds=True)
    await person(deps, "@b:x", "rostock", offers=["wideo"], rounds=True)
    await person(deps, "@c:x", "rostock", offers=["games"], rounds=True)
    sent = await driver.send("!matchround #Design", sender="@coord:test", event_id="$r1")
    [out] = [o for o in sent if o.reply_to == "$r1"]
    assert out.body.startswith("Round 1: 2 people paired")
    [lonely] = await driver.send("!matchround szczecin", sender="@coord:test")
    assert "!rounds on" in lonely.body
    async with deps.db.session() as s:
        [row] = (await s.scalars(select(MatchRound))).all()
        [group] = (await s.scalars(select(RoundGroup))).all()
    assert (row.scope, row.started_by, group.members) == ("topic:design", "@coord:test",
                                                          "@a:x @b:x")


def test_a_suggestion_reads_its_place_only_when_configured(deps: Deps,
                                                           translator: Translator) -> None:
    tr = translator.bind("en")
    network = deps.config.network
    here = Suggestion("@udo:x", "Udo", ("video",), (), "rostock", True, ("en",), 10)
    text, html = messages.suggestion_line(tr, here, network)
    assert text == "Udo — offers what you need: video; Rostock (DE); you both read English"
    assert html.startswith('<a href="https://matrix.to/#/@udo:x">Udo</a> — ')
    gone = Suggestion("@old:x", None, (), ("design",), "gdansk", False, (), 10)
    text, _ = messages.suggestion_line(tr, gone, network)
    assert text == ("@old:x — needs what you offer: design; ⚠️ no language in common on your "
                    "profiles")


def test_fit_lines_say_where_both_are_from(deps: Deps, translator: Translator) -> None:
    tr = translator.bind("en")
    network = deps.config.network
    ala = Member(mxid="@ala:x", display_name="Ala", location="szczecin")
    udo = Member(mxid="@udo:x", display_name="Udo", location="rostock")
    fit = Fit(("design",), ("video",), ("en",), True)
    lines = [t for t, _ in messages.fit_lines(tr, ala, udo, fit, network)]
    assert lines == ["Ala offers design, which Udo needs.", "Udo offers video, which Ala needs.",
                     "From Szczecin (PL) and Rostock (DE).", "You both read: English."]
    udo.location = "gdansk"  # a location no longer configured: no "From" line
    lines = [t for t, _ in messages.fit_lines(tr, ala, udo, fit, network)]
    assert not any(line.startswith("From") for line in lines)


# -- who may see what (issue 11) -------------------------------------------------------

MEMBERS_ONLY = "⚠️ This is for members of the network"


async def test_an_outsider_learns_nothing_from_match_find_connect(
        deps: Deps, driver: Driver, gateway: FakeGateway) -> None:
    await person(deps, "@eve:evil", "szczecin", offers=["design"], needs=["video"])
    await person(deps, "@udo:x", "rostock", offers=["video"], needs=["design"])
    for line in ("!match", "!find video", "!connect @udo:x hello", "!rounds on"):
        [out] = await driver.send(line, sender="@eve:evil")
        assert out.body.startswith(MEMBERS_ONLY), line
        assert "Udo" not in out.body and "udo" not in out.body, line
    assert gateway.created == [] and gateway.invited == []
    async with deps.db.session() as s:
        assert (await s.scalars(select(Connection))).all() == []
        assert (await s.get(Member, "@eve:evil")).rounds is False
    await joined(deps, "@eve:evil")  # once in a network room, a member like any other
    [out] = await driver.send("!find video", sender="@eve:evil")
    assert "Udo" in out.body


# -- !connect: one room per pair, a daily limit, a bounded note, nothing half-made ---


async def test_a_second_connect_either_way_reuses_the_room(deps: Deps, driver: Driver,
                                                           gateway: FakeGateway) -> None:
    await joined(deps, "@ala:test", "@udo:test")
    await person(deps, "@ala:test", "szczecin", offers=["design"])
    await person(deps, "@udo:test", "rostock", offers=["video"])
    await driver.send("!connect @udo:test Hello", sender="@ala:test")
    [room] = gateway.created
    intros = len(gateway.sent)
    gateway.invited.clear()
    [again] = await driver.send("!connect @ala:test Hi back", sender="@udo:test")
    assert "already have a room" in again.body and room["room_id"] in again.body
    assert gateway.created == [room]  # no second room
    assert gateway.sent[intros:] == [again]  # no second introduction
    assert gateway.invited == [(room["room_id"], "@udo:test")]  # only the asker, back in
    [same] = await driver.send("!connect @udo:test", sender="@ala:test")
    assert "already have a room" in same.body
    async with deps.db.session() as s:
        [conn] = (await s.scalars(select(Connection))).all()
    assert (conn.a, conn.b, conn.note) == ("@ala:test", "@udo:test", "Hello")


async def test_connects_are_limited_per_sender_per_day(make_deps, clock: Clock,  # noqa: ANN001
                                                       gateway: FakeGateway) -> None:
    from tests.conftest import make_dispatcher

    deps = await make_deps(network=network("szczecin", "rostock"),
                           matchmaking={"connects_per_day": 2})
    driver = Driver(make_dispatcher(deps), gateway)
    await joined(deps, "@ala:test")
    for mxid in ("@b:x", "@c:x", "@d:x"):
        await person(deps, mxid, "rostock", offers=["video"])
    await driver.send("!connect @b:x")
    await driver.send("!connect @c:x")
    [refused] = await driver.send("!connect @d:x")
    assert refused.body == ("⚠️ You can open at most 2 introductions a day; try again "
                            "tomorrow.")
    assert len(gateway.created) == 2
    [reused] = await driver.send("!connect @b:x")  # the rooms there are still there
    assert "already have a room" in reused.body
    clock.now += timedelta(days=1, seconds=1)
    [opened] = [o for o in await driver.send("!connect @d:x") if o.reply_to]
    assert opened.body.startswith("I opened a room") and len(gateway.created) == 3


@pytest.mark.parametrize("value", [0, -1, "ten", 1001, True])
def test_connects_per_day_is_validated(value: object) -> None:
    from bot.app import parse_config
    from bot.errors import ConfigError
    from tests.conftest import base_config

    with pytest.raises(ConfigError) as err:
        parse_config(base_config(matchmaking={"connects_per_day": value}), environ={})
    assert any("connects_per_day" in p for p in err.value.problems)
    config = parse_config(base_config(matchmaking={"connects_per_day": 3}), environ={})
    assert config.section(MatchmakingConfig).connects_per_day == 3
    assert parse_config(base_config(), environ={}).section(
        MatchmakingConfig).connects_per_day == 10


async def test_a_long_note_is_refused_before_any_room(deps: Deps, driver: Driver,
                                                      gateway: FakeGateway) -> None:
    await joined(deps, "@ala:test")
    await person(deps, "@udo:x", "rostock", offers=["video"])
    [out] = await driver.send("!connect @udo:x " + "n" * 501)
    assert out.body.startswith("⚠️ That note is 501 characters; a note may have at most 500.")
    assert gateway.created == [] and gateway.invited == []
    [ok] = [o for o in await driver.send("!connect @udo:x " + "n" * 500) if o.reply_to]
    assert ok.body.startswith("I opened a room")


async def test_the_note_loses_bidi_controls_and_cannot_ping(deps: Deps, driver: Driver,
                                                            gateway: FakeGateway) -> None:
    await joined(deps, "@ala:test")
    await person(deps, "@udo:x", "rostock", offers=["video"])
    await driver.send("!connect @udo:x Hi \u202e@room\u202c")
    intro = next(o for o in gateway.sent if o.room_id == gateway.created[0]["room_id"])
    content = intro.content()
    assert "\u202e" not in content["body"] and "@room" not in content["body"]
    async with deps.db.session() as s:
        [conn] = (await s.scalars(select(Connection))).all()
    assert conn.note == "Hi @room"


async def test_a_refused_invitation_leaves_nothing_half_made(
        deps: Deps, driver: Driver, gateway: FakeGateway,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.errors import GatewayError

    await joined(deps, "@ala:test")
    await person(deps, "@udo:x", "rostock", offers=["video"])
    real = gateway.invite

    async def refusing(room: str, user: str) -> None:
        if user == "@udo:x":
            raise GatewayError("M_FORBIDDEN (fake)", "M_FORBIDDEN", 403)
        await real(room, user)

    monkeypatch.setattr(gateway, "invite", refusing)
    out = await driver.send("!connect @udo:x")
    [room] = gateway.created
    assert out[-1].body.startswith("⚠️ I could not invite Udo")
    assert gateway.invited == []  # the asker was not invited to an empty room
    async with deps.db.session() as s:
        assert (await s.scalars(select(Connection))).all() == []
    monkeypatch.setattr(gateway, "invite", real)
    [done] = [o for o in await driver.send("!connect @udo:x") if o.reply_to]
    assert done.body.startswith("I opened a room")
    assert gateway.created == [room]  # the same room, found by its alias
    assert gateway.invited == [(room["room_id"], "@udo:x"), (room["room_id"], "@ala:test")]


async def test_a_homeserver_outage_mid_connect_makes_one_of_everything(
        deps: Deps, driver: Driver, gateway: FakeGateway,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.dispatcher as dispatcher_module
    from bot.backoff import Backoff
    from bot.errors import HomeserverUnavailable

    monkeypatch.setattr(dispatcher_module, "Backoff",
                        lambda base, cap: Backoff(base=0.01, cap=0.05))
    await joined(deps, "@ala:test")
    await person(deps, "@udo:x", "rostock", offers=["video"])
    real, failures = gateway.invite, [1]

    async def away_once(room: str, user: str) -> None:
        if user == "@ala:test" and failures:
            failures.pop()
            raise HomeserverUnavailable("invite: 502 (fake)", None, 502)
        await real(room, user)

    monkeypatch.setattr(gateway, "invite", away_once)
    out = await driver.send("!connect @udo:x Hello", event_id="$c1")
    [room] = gateway.created
    intros = [o for o in gateway.sent if o.room_id == room["room_id"]]
    assert len(intros) == 1  # the re-run's introduction folded into the first
    assert [o.body.startswith("I opened a room") for o in out if o.reply_to] == [True]
    assert gateway.invited == [(room["room_id"], "@udo:x"), (room["room_id"], "@udo:x"),
                               (room["room_id"], "@ala:test")]
    async with deps.db.session() as s:
        assert len((await s.scalars(select(Connection))).all()) == 1


async def test_the_room_name_is_a_clean_bounded_name(deps: Deps, gateway: FakeGateway) -> None:
    await person(deps, "@ala:x", "szczecin", offers=["design"])
    await person(deps, "@udo:x", "rostock", offers=["video"])
    async with deps.db.session() as s:
        (await s.get_one(Member, "@ala:x")).display_name = "A\u202ela" + "a" * 250
    async with deps.db.session() as s:
        await ConnectionService(s, deps).connect("@ala:x", "@udo:x", None, "t1")
    [room] = gateway.created
    assert "\u202e" not in room["name"] and len(room["name"]) <= 100
    assert room["name"].startswith("Alaaa")


# -- forgotten members -----------------------------------------------------------------

FORMER = "@former-0123456789ab:invalid"


async def test_a_forgotten_members_stand_in_is_never_suggested_or_paired(deps: Deps) -> None:
    await person(deps, "@ala:x", "szczecin", needs=["video"], rounds=True)
    await person(deps, "@udo:x", "rostock", offers=["video"], rounds=True)
    await person(deps, FORMER, "rostock", offers=["video"], rounds=True)  # a stale row
    assert [h.mxid for h in await suggest(deps, "@ala:x")] == ["@udo:x"]
    async with deps.db.session() as s:
        found = await MatchingService(s, deps.config.network, "!", canonical(deps)).find("video")
        people = await runner(deps).participants(s, None)
    assert [m.mxid for ms in found.by_location.values() for m in ms] == ["@udo:x"]
    assert [m.mxid for m in people] == ["@ala:x", "@udo:x"]


async def test_forget_me_anonymises_connections_and_rounds(deps: Deps, driver: Driver,
                                                           gateway: FakeGateway) -> None:
    import json

    from bot.members import is_former

    await joined(deps, "@ala:test")
    await person(deps, "@ala:test", "szczecin", offers=["design"], rounds=True)
    await person(deps, "@udo:x", "rostock", offers=["video"], rounds=True)
    await driver.send("!connect @udo:x My secret plan")
    rounds = runner(deps)
    round_id, _ = await rounds.start("k1", None, "@ala:test")
    await rounds.follow_up(round_id)
    async with deps.db.session() as s:
        [group] = (await s.scalars(select(RoundGroup))).all()
    await rounds.on_event(Reaction("$r1", group.room_id, "@ala:test", group.question_event_id,
                                   "✅"))
    await driver.send("!mydata")
    data = json.loads(gateway.uploads[-1][1])
    by_origin = {c["origin"]: c for c in data["connections"]}
    assert by_origin["connect"]["with"] == "@udo:x"
    assert by_origin["connect"]["note"] == "My secret plan"
    assert by_origin["connect"]["note_by_you"] is True
    assert by_origin["round"]["round"] == round_id
    in_group = [r for r in data["rounds"] if "with" in r]
    assert in_group == [{"round": round_id, "started_at": in_group[0]["started_at"],
                         "with": ["@udo:x"], "room_id": group.room_id, "met": True,
                         "answered_at": in_group[0]["answered_at"]}]
    assert any(r.get("started_by_you") for r in data["rounds"])

    [done] = await driver.send("!forget-me confirm")
    assert done.body.startswith("Done:")
    async with deps.db.session() as s:
        connections = (await s.scalars(select(Connection))).all()
        [group] = (await s.scalars(select(RoundGroup))).all()
        answers = (await s.scalars(select(RoundAnswer))).all()
        [row] = (await s.scalars(select(MatchRound))).all()
    assert len(connections) == 2  # they stay for Udo, without Ala's name or note
    assert all(is_former(c.a) and c.b == "@udo:x" and c.note is None for c in connections)
    alias = connections[0].a
    assert {c.a for c in connections} == {alias}  # one stand-in everywhere
    assert group.members.split() == sorted([alias, "@udo:x"]) and answers == []
    assert row.started_by == alias
    # and the stand-in is never paired again
    await person(deps, "@new:x", "szczecin", rounds=True)
    round2, paired = await rounds.start("k2", None, None)
    assert paired == 2
    async with deps.db.session() as s:
        groups = (await s.scalars(select(RoundGroup).where(RoundGroup.round_id == round2)))
        assert [g.members for g in groups] == ["@new:x @udo:x"]


async def test_a_group_whose_member_was_forgotten_meanwhile(deps: Deps,
                                                            gateway: FakeGateway) -> None:
    for mxid, loc in (("@a:x", "szczecin"), ("@b:x", "rostock"), ("@c:x", "elblag")):
        await person(deps, mxid, loc, rounds=True)
    async with deps.db.session() as s:
        r = MatchRound(scope=None, started_at=deps.clock(), started_by=None,
                       scheduled_for="k", followed_up=False, followup_at=deps.clock())
        s.add(r)
        await s.flush()
        s.add_all([RoundGroup(round_id=r.id, members=f"@a:x {FORMER}"),
                   RoundGroup(round_id=r.id, members=f"@b:x @c:x {FORMER}")])
    await runner(deps).open_rooms(1)
    async with deps.db.session() as s:
        groups = (await s.scalars(select(RoundGroup).order_by(RoundGroup.id))).all()
    assert groups[0].room_id is None  # nobody left to introduce @a:x to
    assert groups[1].room_id is not None
    [room] = gateway.created
    assert room["invite"] == ()
    assert sorted(who for _, who in gateway.invited) == ["@b:x", "@c:x"]
    [intro] = gateway.sent
    assert set(intro.mentions) == {"@b:x", "@c:x"}
