"""Joint strategies through the real dispatcher and services with the recording fake
gateway and a controllable clock: opening a process, phases announced once, proposals
mirrored, endorsements, answers, polls, votes (latest counts, once across rooms, not after
the deadline), reminders to those who have not voted, the end with results by location,
and what refused or odd input gets."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import wire
from bot.db.models import (
    Endorsement,
    Member,
    Proposal,
    ProposalVersion,
    RoomMembership,
    StrategyDue,
    StrategyPoll,
    StrategyVote,
)
from bot.deps import Deps
from bot.events import PollResponse, Reaction, Redaction
from rooms.settings import RoomSettingsService
from tests.conftest import Clock, network, room_id
from tests.fakes import Driver, FakeGateway

SZ, RO, EL = room_id("location:szczecin"), room_id("location:rostock"), room_id("location:elblag")
COORD, ALA, UDO, EVE = "@coord:test", "@ala:test", "@udo:test", "@eve:test"
DM = "!dm:test"


@pytest.fixture
async def deps(make_deps) -> Deps:  # noqa: ANN001
    deps = await make_deps(network=network("szczecin", "rostock", "elblag"),
                           coordinators=[COORD], default_language="en")
    return await with_members(deps)


@pytest.fixture
async def english(deps: Deps) -> Deps:
    """The location rooms switched to English, so that tests read what is sent (the
    rooms' own languages are `test_each_room_reads_its_own_language`)."""
    async with deps.db.session() as s:
        for room in (SZ, RO, EL):
            await RoomSettingsService(s).set(room, language="en")
    return deps


async def with_members(deps: Deps) -> Deps:
    async with deps.db.session() as s:
        for mxid, room in ((ALA, SZ), (UDO, RO), (EVE, EL), (COORD, SZ)):
            s.add(RoomMembership(room_id=room, mxid=mxid, since=deps.clock(), imported=False))
            s.add(Member(mxid=mxid, display_name=mxid[1:4].title(), language="en",
                         first_seen=deps.clock()))
    return deps


async def say(driver: Driver, body: str, sender: str = COORD, room: str = DM) -> str:
    """The reply to `body` (not an announcement sent meanwhile from the background)."""
    message = driver.message(body, sender=sender, room_id=room)
    out = await driver.deliver(message)
    replies = [o for o in out if o.room_id == room and not o.replaces]
    assert replies, f"no reply to {body!r}"
    answers = [o for o in replies if o.reply_to == message.event_id]
    return (answers or replies)[-1].body


async def dues(deps: Deps) -> None:
    await wire(deps).services["strategy_dues"](None).run()


async def opened(deps: Deps, driver: Driver) -> None:
    body = await say(driver, "!strategy new Szczecin and Rostock 2037 "
                             "locations=szczecin,rostock sections=culture,tourism")
    assert body.startswith("Strategy #1 “Szczecin and Rostock 2037” is open"), body
    await dues(deps)


def announcements(gateway: FakeGateway, phase: str) -> list[str]:
    return [m.room_id for m in gateway.sent if f"the {phase} phase begins" in m.body]


async def test_a_process_is_opened_and_its_first_phase_announced_once_per_room(
        english: Deps, deps: Deps, driver: Driver, gateway: FakeGateway) -> None:
    await opened(deps, driver)
    await dues(deps)
    assert sorted(announcements(gateway, "proposals")) == sorted([SZ, RO])  # not Elbląg
    listing = await say(driver, "!strategy")
    assert "#1 “Szczecin and Rostock 2037” — proposals, 0 proposals" in listing


async def test_each_room_reads_its_own_language(deps: Deps, driver: Driver,
                                               gateway: FakeGateway) -> None:
    await opened(deps, driver)
    [polish] = [m.body for m in gateway.sent if m.room_id == SZ and m.body.startswith("🧭")]
    [german] = [m.body for m in gateway.sent if m.room_id == RO and m.body.startswith("🧭")]
    assert "#1" in polish and "#1" in german
    assert "begins" not in polish and "begins" not in german and polish != german


@pytest.mark.parametrize(("line", "expected"), [
    ("!strategy new T locations=szczecin", "between 3 and 200"),
    ("!strategy new A title", "Give a title and the locations"),
    ("!strategy new A title locations=atlantis", "not one of our locations"),
    ("!strategy new A title locations=rostock sections=Ünïcode!", "cannot be a section"),
])
async def test_opening_refuses_bad_input_clearly(driver: Driver, line: str,
                                                 expected: str) -> None:
    body = await say(driver, line)
    assert body.startswith("⚠️") and expected in body, body


async def test_only_coordinators_run_a_process(deps: Deps, driver: Driver) -> None:
    await opened(deps, driver)
    for line in ("!strategy new X y locations=rostock", "!strategy phase 1 vote",
                 "!strategy answer 1 1 accept", "!strategy public 1 on",
                 "!strategy dates 1 vote 2030-01-01 10:00"):
        body = await say(driver, line, sender=ALA, room=SZ)
        assert body.startswith("⚠️ Only coordinators"), (line, body)


async def test_outsiders_learn_nothing_of_the_strategies(deps: Deps, driver: Driver) -> None:
    await opened(deps, driver)
    for line in ("!strategy", "!strategy show 1", "!vote 1 1",
                 "!propose culture Something from outside the network"):
        body = await say(driver, line, sender="@stranger:elsewhere", room="!x:elsewhere")
        assert body.startswith("⚠️ This is for members of the network"), (line, body)
        assert "k=" not in body and "Szczecin and Rostock" not in body


async def propose(driver: Driver, sender: str, room: str, text: str) -> str:
    return await say(driver, text, sender=sender, room=room)


async def test_a_proposal_is_posted_at_home_and_mirrored_with_its_origin(
        english: Deps, deps: Deps, driver: Driver, gateway: FakeGateway) -> None:
    await opened(deps, driver)
    body = await propose(driver, ALA, SZ, "!propose culture A residency for <artists> of "
                                          "both cities")
    assert "proposal 1 is posted" in body
    home = [m for m in gateway.sent if m.room_id == SZ and "💡 Proposal 1" in m.body]
    away = [m for m in gateway.sent if m.room_id == RO and "💡 Proposal 1" in m.body]
    assert len(home) == 1 and len(away) == 1
    assert "from Szczecin (PL)" in away[0].body and "from" not in home[0].body.split("\n")[0]
    assert "&lt;artists&gt;" in (away[0].html or "")
    assert not [m for m in gateway.sent if m.room_id == EL]  # not covered
    shown = await say(driver, "!strategy show 1", sender=ALA, room=SZ)
    assert "Culture — proposals: 1, votes: 0" in shown and "Tourism — proposals: 0" in shown
    assert "1 · Szczecin (PL) · open · 👍 0 · A residency for <artists>" in shown


async def test_proposals_are_refused_from_outside_and_outside_the_phase(
        deps: Deps, driver: Driver) -> None:
    await opened(deps, driver)
    outside = await propose(driver, EVE, EL, "!propose culture Something from Elbląg here")
    assert outside.startswith("⚠️") and "No strategy is taking proposals from you" in outside
    section = await propose(driver, ALA, SZ, "!propose sport Football for everyone, please")
    assert "is not a section of this strategy" in section
    short = await propose(driver, ALA, SZ, "!propose culture Hi")
    assert "between 10 and 2000" in short
    await say(driver, "!strategy phase 1 discussion")
    late = await propose(driver, ALA, SZ, "!propose 1 culture Something quite late now")
    assert "takes no new proposals now" in late


async def first_copy(deps: Deps, room: str) -> str:
    async with deps.db.session() as s:
        from bot.db.models import ProposalCopy  # noqa: PLC0415
        copy = await s.scalar(select(ProposalCopy).where(ProposalCopy.room_id == room))
        assert copy is not None and copy.event_id
        return copy.event_id


async def test_thumbs_up_on_any_copy_counts_once_and_a_redaction_withdraws(
        deps: Deps, driver: Driver) -> None:
    await opened(deps, driver)
    await propose(driver, ALA, SZ, "!propose culture A residency for artists of both cities")
    mirror, home = await first_copy(deps, RO), await first_copy(deps, SZ)
    on = driver.dispatcher.on_event
    await on(Reaction("$r1", RO, UDO, mirror, "👍🏽"))
    await on(Reaction("$r2", SZ, UDO, home, "👍"))  # the same member on another copy
    await on(Reaction("$r3", SZ, EVE, home, "👍"))  # not of a covered location
    async with deps.db.session() as s:
        assert [e.mxid for e in (await s.scalars(select(Endorsement))).all()] == [UDO]
    await on(Redaction("$x1", RO, UDO, "$r1"))
    async with deps.db.session() as s:
        assert (await s.scalars(select(Endorsement))).all() == []


async def test_authors_amend_with_history_and_coordinators_answer(
        english: Deps, deps: Deps, driver: Driver, gateway: FakeGateway) -> None:
    await opened(deps, driver)
    await propose(driver, ALA, SZ, "!propose culture A residency for artists of both cities")
    refused = await say(driver, "!amend 1 1 Someone else's better text here", sender=UDO,
                        room=RO)
    assert "Only its author" in refused
    assert "amended" in await say(driver, "!amend 1 1 A residency and a shared studio space",
                                  sender=ALA, room=SZ)
    edits = [m for m in gateway.sent if m.replaces]
    assert len(edits) == 2 and all("shared studio" in m.body for m in edits)
    async with deps.db.session() as s:
        [old] = (await s.scalars(select(ProposalVersion))).all()
        assert old.text == "A residency for artists of both cities"
    declined = await say(driver, "!strategy answer 1 1 decline")
    assert "Say why" in declined
    assert "is declined" in await say(driver, "!strategy answer 1 1 decline out of scope")
    async with deps.db.session() as s:
        item = (await s.scalars(select(Proposal))).one()
        assert (item.status, item.reason) == ("declined", "out of scope")


async def into_vote(deps: Deps, driver: Driver, gateway: FakeGateway) -> dict[str, Any]:
    await opened(deps, driver)
    await propose(driver, ALA, SZ, "!propose culture A residency for artists of both cities")
    await propose(driver, UDO, RO, "!propose culture A harbour festival every summer")
    await propose(driver, UDO, RO, "!propose tourism Bike routes between the two cities")
    await say(driver, "!strategy answer 1 3 decline covered by the regional plan")
    await say(driver, "!strategy phase 1 vote")
    await dues(deps)
    async with deps.db.session() as s:
        polls = {(p.section, p.room_id): p for p in (await s.scalars(select(StrategyPoll)))}
    return polls


async def test_the_vote_posts_one_native_poll_per_section_and_room(
        english: Deps, deps: Deps, driver: Driver, gateway: FakeGateway) -> None:
    polls = await into_vote(deps, driver, gateway)
    starts = [e for e in gateway.events_sent if e[1] == "org.matrix.msc3381.poll.start"]
    assert sorted(room for room, *_ in starts) == sorted([SZ, RO])  # tourism: none left
    content = starts[0][2]["org.matrix.msc3381.poll.start"]
    assert [a["id"] for a in content["answers"]] == ["1", "2"]
    assert json.loads(polls[("culture", SZ)].answers) == {"1": 1, "2": 2}
    assert sorted(announcements(gateway, "vote")) == sorted([SZ, RO])


async def vote(driver: Driver, poll: StrategyPoll, sender: str, answers: tuple[str, ...],
               event_id: str, at_ms: int) -> None:
    await driver.dispatcher.on_event(PollResponse(event_id, poll.room_id, sender,
                                                  poll.event_id or "", answers, at_ms))


async def votes(deps: Deps) -> list[tuple[str, int, str]]:
    async with deps.db.session() as s:
        return sorted((v.mxid, v.proposal, v.location)
                      for v in (await s.scalars(select(StrategyVote))).all())


async def test_the_latest_vote_counts_once_across_rooms_members_only(
        deps: Deps, driver: Driver, gateway: FakeGateway, clock: Clock) -> None:
    polls = await into_vote(deps, driver, gateway)
    now_ms = int(clock().timestamp() * 1000)
    await vote(driver, polls[("culture", SZ)], ALA, ("1",), "$v1", now_ms)
    await vote(driver, polls[("culture", RO)], UDO, ("1",), "$v2", now_ms)
    await vote(driver, polls[("culture", RO)], UDO, ("2",), "$v3", now_ms + 1000)
    await vote(driver, polls[("culture", RO)], UDO, ("1",), "$v0", now_ms - 1000)  # older
    await vote(driver, polls[("culture", SZ)], EVE, ("1",), "$v4", now_ms)  # Elbląg: no
    await vote(driver, polls[("culture", SZ)], ALA, ("9",), "$v5", now_ms + 2000)  # no such
    assert await votes(deps) == [(ALA, 1, "szczecin"), (UDO, 2, "rostock")]
    body = await say(driver, "!vote 1 2", sender=ALA, room=SZ)
    assert "Your vote for proposal 2" in body
    assert await votes(deps) == [(ALA, 2, "szczecin"), (UDO, 2, "rostock")]
    declined = await say(driver, "!vote 1 3", sender=ALA, room=SZ)
    assert "is not on the ballot" in declined
    await vote(driver, polls[("culture", SZ)], ALA, (), "$v6", now_ms + 5000 + 10**6)
    assert await votes(deps) == [(UDO, 2, "rostock")]  # withdrawn


async def test_a_reminder_a_day_before_the_end_goes_only_to_who_has_not_voted(
        english: Deps, deps: Deps, driver: Driver, gateway: FakeGateway, clock: Clock) -> None:
    await opened(deps, driver)
    await propose(driver, ALA, SZ, "!propose culture A residency for artists of both cities")
    await say(driver, "!strategy dates 1 vote 2026-12-10 12:00")
    await say(driver, "!strategy phase 1 vote")
    await dues(deps)
    await say(driver, "!vote 1 1", sender=ALA, room=SZ)
    clock.now = datetime(2026, 12, 9, 12, 30, tzinfo=UTC)  # within a day of 11:00 UTC
    await dues(deps)
    await dues(deps)
    reminded = [m.mentions for m in gateway.sent if m.body.startswith("🗳")]
    assert sorted(reminded) == sorted([(UDO,), (COORD,)])  # not Ala, who voted; not Eve


async def test_at_the_deadline_the_polls_end_and_results_come_by_location(
        english: Deps, deps: Deps, driver: Driver, gateway: FakeGateway, clock: Clock) -> None:
    polls = await into_vote(deps, driver, gateway)
    await say(driver, "!strategy dates 1 vote 2026-12-10 12:00")
    deadline_ms = int(datetime(2026, 12, 10, 11, tzinfo=UTC).timestamp() * 1000)  # 12:00 CET
    sz, ro = polls[("culture", SZ)], polls[("culture", RO)]
    # what the rooms hold (the relations API): one vote in time, one after the deadline
    gateway.poll_answers[ro.event_id or ""] = [
        PollResponse("$a", RO, UDO, ro.event_id or "", ("2",), deadline_ms - 60_000)]
    gateway.poll_answers[sz.event_id or ""] = [
        PollResponse("$b", SZ, ALA, sz.event_id or "", ("1",), deadline_ms + 60_000)]
    clock.now = datetime(2026, 12, 10, 11, 1, tzinfo=UTC)
    await dues(deps)
    await dues(deps)
    results = [m for m in gateway.sent if m.body.startswith("📊")]
    assert sorted(m.room_id for m in results) == sorted([SZ, RO])
    assert "2 “A harbour festival every summer”: 1 vote (Szczecin (PL) 0, Rostock (DE) 1)" \
        in results[0].body
    assert "1 “A residency for artists of both cities”: 0 votes" in results[0].body
    ends = [e for e in gateway.events_sent if e[1] == "org.matrix.msc3381.poll.end"]
    assert len(ends) == 2
    assert all(e[2]["m.relates_to"]["rel_type"] == "m.reference" for e in ends)
    async with deps.db.session() as s:
        states = {(d.kind, d.state) for d in (await s.scalars(select(StrategyDue))).all()}
    assert ("end", "sent") in states


# -- what a hostile or unlucky day brings ----------------------------------------------------


async def test_odd_numbers_and_timestamps_are_answered_not_crashed_on(
        english: Deps, deps: Deps, driver: Driver, gateway: FakeGateway) -> None:
    polls = await into_vote(deps, driver, gateway)
    body = await say(driver, "!propose ² culture Something with a superscript two",
                     sender=ALA, room=SZ)
    assert body.startswith("⚠️") and "went wrong" not in body
    merge = await say(driver, "!strategy answer 1 1 merge ²")
    assert merge.startswith("⚠️") and "went wrong" not in merge
    sz = polls[("culture", SZ)]
    await vote(driver, sz, ALA, ("1",), "$huge", 2**53)  # no clock shows that moment
    await vote(driver, sz, ALA, ("1",), "$neg", -(2**53))
    assert await votes(deps) == []
    assert "Your vote for proposal 1" in await say(driver, "!vote 1 1", sender=ALA, room=SZ)


async def test_a_ballot_longer_than_a_poll_allows_is_refused_before_the_vote(
        english: Deps, deps: Deps, driver: Driver) -> None:
    await opened(deps, driver)
    for n in range(21):
        await propose(driver, ALA, SZ, f"!propose culture Proposal number {n} for culture")
    body = await say(driver, "!strategy phase 1 vote")
    assert "more than 20 proposals" in body
    async with deps.db.session() as s:
        assert (await s.scalars(select(StrategyPoll))).all() == []
    assert "is declined" in await say(driver, "!strategy answer 1 21 decline a duplicate")
    assert "vote phase now" in await say(driver, "!strategy phase 1 vote")


async def test_phase_dates_must_follow_each_other(english: Deps, deps: Deps,
                                                  driver: Driver) -> None:
    await opened(deps, driver)
    await say(driver, "!strategy dates 1 discussion 2027-02-01 12:00")
    body = await say(driver, "!strategy dates 1 vote 2027-01-15 12:00")
    assert "Phases end in their order" in body
    body = await say(driver, "!strategy dates 1 proposals 2027-03-01 12:00")
    assert "Phases end in their order" in body
    assert "ends" in await say(driver, "!strategy dates 1 vote 2027-03-01 12:00")


async def test_a_vote_after_the_deadline_is_refused_and_said_so(
        english: Deps, deps: Deps, driver: Driver, gateway: FakeGateway, clock: Clock) -> None:
    await into_vote(deps, driver, gateway)
    await say(driver, "!strategy dates 1 vote 2026-12-10 12:00")
    clock.now = datetime(2026, 12, 10, 11, 0, 30, tzinfo=UTC)  # before the job moved on
    body = await say(driver, "!vote 1 1", sender=ALA, room=SZ)
    assert body.startswith("⚠️") and "is over" in body
    assert await votes(deps) == []


async def test_a_withdrawal_in_one_room_after_a_vote_in_another_stands_at_the_recount(
        english: Deps, deps: Deps, driver: Driver, gateway: FakeGateway, clock: Clock) -> None:
    polls = await into_vote(deps, driver, gateway)
    await say(driver, "!strategy dates 1 vote 2026-12-10 12:00")
    sz, ro = polls[("culture", SZ)], polls[("culture", RO)]
    t0 = int(datetime(2026, 12, 1, tzinfo=UTC).timestamp() * 1000)
    # the coordinator is in both rooms: a vote in Szczecin, then a withdrawal in Rostock
    async with deps.db.session() as s:
        s.add(RoomMembership(room_id=RO, mxid=COORD, since=deps.clock(), imported=False))
    gateway.poll_answers[sz.event_id or ""] = [
        PollResponse("$c1", SZ, COORD, sz.event_id or "", ("1",), t0)]
    gateway.poll_answers[ro.event_id or ""] = [
        PollResponse("$c2", RO, COORD, ro.event_id or "", (), t0 + 1000)]
    clock.now = datetime(2026, 12, 10, 11, 1, tzinfo=UTC)
    await dues(deps)
    assert await votes(deps) == []


async def test_a_room_that_refuses_does_not_stop_a_proposal_elsewhere(
        english: Deps, deps: Deps, driver: Driver, gateway: FakeGateway) -> None:
    await opened(deps, driver)
    gateway.refuse.add(RO)
    body = await propose(driver, ALA, SZ, "!propose culture A residency for artists of both")
    assert "proposal 1 is posted" in body
    assert [m.room_id for m in gateway.sent if "💡" in m.body] == [SZ]


async def test_every_answer_edits_the_copies_even_back_and_forth(
        english: Deps, deps: Deps, driver: Driver, gateway: FakeGateway, clock: Clock) -> None:
    await opened(deps, driver)
    await propose(driver, ALA, SZ, "!propose culture A residency for artists of both cities")
    for verdict in ("accept", "decline out of scope", "accept"):
        clock.now += timedelta(seconds=1)
        await say(driver, f"!strategy answer 1 1 {verdict}")
    edits = [m for m in gateway.sent if m.replaces and m.room_id == RO]
    assert len(edits) == 3 and "accepted" in edits[-1].body


async def test_results_come_after_the_announcement_that_they_follow(
        english: Deps, deps: Deps, driver: Driver, gateway: FakeGateway) -> None:
    await into_vote(deps, driver, gateway)
    await say(driver, "!strategy phase 1 result")
    await dues(deps)
    bodies = [m.body for m in gateway.sent if m.room_id == SZ]
    announced = next(i for i, b in enumerate(bodies) if "the result phase begins" in b)
    results = next(i for i, b in enumerate(bodies) if b.startswith("📊"))
    assert announced < results
