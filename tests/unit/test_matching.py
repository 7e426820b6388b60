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
from tests.conftest import Clock, network
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
    await person(deps, "@ala:test", "szczecin", offers=["design"], needs=["video"])
    await person(deps, "@udo:x", "rostock", offers=["video"], needs=["design"])
    [out] = await driver.send("!match 3")
    line = out.body.splitlines()[1]
    assert line.startswith("⇄ ") and "video" in line and "design" in line
    assert "Rostock (DE)" in line and "English" in line
    [bad] = await driver.send("!match 50")
    assert "20" in bad.body


async def test_match_without_tags_says_what_to_do(driver: Driver) -> None:
    [out] = await driver.send("!match")
    assert "!offer" in out.body and "!need" in out.body


async def test_find_groups_by_location(deps: Deps, driver: Driver) -> None:
    await person(deps, "@udo:x", "rostock", offers=["video"])
    await person(deps, "@ola:x", "szczecin", offers=["wideo"])
    await person(deps, "@ida:x", None, offers=["film"])
    [out] = await driver.send("!find Video")
    lines = out.body.splitlines()
    assert lines[1].startswith("Szczecin: Ola") and lines[2].startswith("Rostock: Udo")
    assert "Ida" in lines[3]


async def test_connect_opens_a_room_and_records(deps: Deps, driver: Driver,
                                                gateway: FakeGateway) -> None:
    await person(deps, "@ala:test", "szczecin", offers=["design"], needs=["video"])
    await person(deps, "@udo:x", "rostock", offers=["video"], languages="de,en")
    out = await driver.send("!connect @udo:x Let us talk <soon>", event_id="$c1")
    [room] = gateway.created
    assert set(room["invite"]) == {"@ala:test", "@udo:x"}
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
                await service.connect("@ala:x", target, None, "$k", "t1")
            assert msgid_part in refused.value.msgid
        assert gateway.created == [] and gateway.sent == []
        other = await service.connect("@ala:x", "@udo:x", "Hi", "$k", "t1")
    assert other.mxid == "@udo:x"
    [room] = gateway.created
    assert room["name"] == "Ala & Udo" and set(room["invite"]) == {"@ala:x", "@udo:x"}
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


async def test_rounds_group_answers_its_own_and_its_subcommands(driver: Driver) -> None:
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
