"""The advisory workflow through the real dispatcher and services, with the recording fake
gateway and a controllable clock: advisors, suggestions, claiming (👀 and command), the
notice edited in place, case rooms, answers, closing and reopening, follow-ups sent once,
requesters' replies into the case room, and what hostile or mistaken input gets."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import wire
from bot.db.models import (
    AdviceDue,
    AdviceEntry,
    AdviceMessage,
    Advisor,
    AdvisoryRequest,
    RoomMembership,
)
from bot.deps import Deps
from bot.errors import UserError
from bot.events import Outgoing, Reaction
from bot.features.advice.requester import RequesterService
from bot.features.profiles.config import TagsConfig
from bot.features.profiles.service import ProfileService
from tests.conftest import Clock, network, room_id
from tests.fakes import Driver, FakeGateway

ADVISORY = room_id("advisory")
QUESTION = "We need help with video production and funding for our museum app."
ALA, BOB, CEZ, OUT = "@ala:test", "@bob:test", "@cez:test", "@out:test"
COORD = "@coord:test"


@pytest.fixture
async def deps(make_deps) -> Deps:  # noqa: ANN001
    return await make_deps(network=network("szczecin", "elblag", "rostock", advisory="en"),
                           coordinators=[COORD],
                           tags={"synonyms": {"video": ["wideo", "film"]}})


async def person(deps: Deps, mxid: str, location: str, offers: tuple[str, ...] = (),
                 languages: str = "en", language: str = "en") -> None:
    async with deps.db.session() as s:
        profiles = ProfileService(s, deps.clock, deps.config.section(TagsConfig).canonical)
        member = await profiles.members.get_or_create(mxid, mxid[1:4].title())
        member.languages = languages
        member.language = language  # the bot's language for them (else their room's)
        await profiles.set_location(mxid, deps.config.network.find_location(location))
        if offers:
            await profiles.add_tags(mxid, "offer", list(offers))
        s.add(RoomMembership(room_id=room_id(f"location:{location}"), mxid=mxid,
                             since=deps.clock(), imported=False))


def service(deps: Deps, name: str, session: Any) -> Any:
    return wire(deps).services[name](session)


async def new_request(deps: Deps, question: str = QUESTION, location: str = "szczecin",
                      language: str = "pl", sector: str = "heritage") -> str:
    async with deps.db.session() as s:
        advice = service(deps, "advice", s)
        request, _secret = await advice.create("Muzeum Morskie", "anna@example.org", sector,
                                               location, question, language, consent=True)
        ref = request.ref
    async with deps.db.session() as s:
        await service(deps, "advice", s).post(ref)
    return ref


async def row(deps: Deps, ref: str) -> AdvisoryRequest:
    async with deps.db.session() as s:
        found = await s.scalar(select(AdvisoryRequest).where(AdvisoryRequest.ref == ref))
        assert found is not None
        return found


async def entries(deps: Deps, ref: str) -> list[tuple[str, str, str | None]]:
    request = await row(deps, ref)
    async with deps.db.session() as s:
        return [(e.actor, e.action, e.detail) for e in (await s.scalars(
            select(AdviceEntry).where(AdviceEntry.request_id == request.id)
            .order_by(AdviceEntry.id))).all()]


async def say(driver: Driver, body: str, sender: str = ALA, room: str = ADVISORY) -> str:
    out = await driver.send(body, sender=sender, room_id=room)
    replies = [o for o in out if o.msgtype != "m.reaction" and not o.replaces
               and o.room_id == room]
    assert replies, f"no reply to {body!r}: {out}"
    return replies[-1].body


async def advisors(deps: Deps, driver: Driver) -> None:
    """Ala (Rostock, DE) advises on video; Bob (Elbląg, PL) offers video and speaks Polish;
    Cez (Rostock) offers nothing that fits."""
    await person(deps, ALA, "rostock", languages="de,pl,en")
    await person(deps, BOB, "elblag", offers=("video", "funding"), languages="pl,en")
    await person(deps, CEZ, "rostock", offers=("carpentry",), languages="de")
    for who, line in ((ALA, "!set advisor on wideo, grants"), (BOB, "!set advisor on"),
                      (CEZ, "!set advisor on")):
        await say(driver, line, sender=who, room=room_id("location:rostock"))


# -- advisors ---------------------------------------------------------------------------


async def test_opting_in_records_tags_after_synonyms_and_invites_to_the_advisory_room(
        deps: Deps, driver: Driver, gateway: FakeGateway) -> None:
    await person(deps, ALA, "rostock")
    body = await say(driver, "!set advisor on Wideo, Grants", room=room_id("location:rostock"))
    assert "video, grants" in body
    assert (ADVISORY, ALA) in gateway.invited
    async with deps.db.session() as s:
        assert (await s.get(Advisor, ALA)).tags == "video,grants"
    body = await say(driver, "!set advisor off", room=room_id("location:rostock"))
    assert "no longer an advisor" in body
    async with deps.db.session() as s:
        assert await s.get(Advisor, ALA) is None


async def test_only_network_members_become_advisors(deps: Deps, driver: Driver,
                                                    gateway: FakeGateway) -> None:
    body = await say(driver, "!set advisor on", sender=OUT, room="!elsewhere:test")
    assert body.startswith("⚠️ This is for members of the network")
    assert gateway.invited == []
    async with deps.db.session() as s:
        assert await s.get(Advisor, OUT) is None


async def test_the_pool_is_for_coordinators_and_filters_by_location_and_sector(
        deps: Deps, driver: Driver) -> None:
    await advisors(deps, driver)
    body = await say(driver, "!advisors rostock", sender=COORD, room=ADVISORY)
    assert "2 advisors" in body and "Ala" in body and "Cez" in body and "Bob" not in body
    body = await say(driver, "!advisors", sender=COORD, room=ADVISORY)
    assert "3 advisors" in body and "funding, video (their offers)" in body
    refused = await say(driver, "!advisors", sender=BOB, room=ADVISORY)
    assert refused.startswith("⚠️ Only coordinators")
    odd = await say(driver, "!advisors atlantis", sender=COORD, room=ADVISORY)
    assert "neither a location nor a sector" in odd


# -- a new request: suggestions and the notice ---------------------------------------------


async def test_a_request_suggests_advisors_whose_tags_the_question_names_other_country_first(
        deps: Deps, driver: Driver, gateway: FakeGateway) -> None:
    await advisors(deps, driver)
    ref = await new_request(deps)
    [notice] = [m for m in gateway.sent if m.room_id == ADVISORY and ref in m.body]
    # Ala: video (after synonyms) from another country; Bob: video and funding at home in PL
    lines = notice.body.splitlines()
    start = lines.index("Suggested advisors:")
    suggested = lines[start + 1:start + 3]
    assert suggested[0].startswith("• Bob — funding, video; reads Polish; Elbląg")
    assert suggested[1].startswith("• Ala — video; reads Polish; Rostock")
    assert "another country" in suggested[1]
    assert "Cez" not in notice.body  # carpentry says nothing about the question
    assert set(notice.mentions) == {ALA, BOB}
    assert "anna@example.org" not in notice.body  # the address stays with the bot
    reactions = [m for m in gateway.sent if m.msgtype == "m.reaction"]
    assert [(m.body, m.reply_to) for m in reactions] == [("👀", (await row(deps, ref)).event_id)]


async def test_an_advisor_who_does_not_read_the_requesters_language_comes_after(
        deps: Deps, driver: Driver, gateway: FakeGateway) -> None:
    await person(deps, ALA, "rostock", offers=("video", "funding", "apps"), languages="de")
    await person(deps, BOB, "elblag", offers=("video",), languages="pl")
    for who in (ALA, BOB):
        await say(driver, "!set advisor on", sender=who, room=room_id("location:rostock"))
    ref = await new_request(deps)
    [notice] = [m for m in gateway.sent if m.room_id == ADVISORY and ref in m.body]
    body = notice.body
    assert body.index("• Bob") < body.index("• Ala")
    assert "does not list Polish" in body


# -- claiming, the case room, the notice edited ----------------------------------------------


async def claim_by_reaction(deps: Deps, driver: Driver, ref: str, sender: str,
                            event_id: str = "$eyes1") -> None:
    request = await row(deps, ref)
    await driver.dispatcher.on_event(Reaction(event_id, ADVISORY, sender, request.event_id or "",
                                              "👀"))


async def test_eyes_on_the_notice_claim_it_open_an_encrypted_case_room_and_edit_the_notice(
        deps: Deps, driver: Driver, gateway: FakeGateway) -> None:
    await advisors(deps, driver)
    ref = await new_request(deps)
    await claim_by_reaction(deps, driver, ref, BOB)
    request = await row(deps, ref)
    assert (request.status, request.assignee) == ("claimed", BOB)
    [room] = [c for c in gateway.created if c["name"].startswith(ref)]
    assert room["encrypted"] and request.case_room_id == room["room_id"]
    assert (room["room_id"], BOB) in gateway.invited
    [edit] = [m for m in gateway.sent if m.replaces == request.event_id]
    assert "State: claimed" in edit.body and "Advisor: Bob" in edit.body
    assert f"https://matrix.to/#/{room['room_id']}" in edit.body
    assert (BOB, "claimed", None) in await entries(deps, ref)
    # the same reaction delivered again changes nothing
    before = len(gateway.sent)
    await claim_by_reaction(deps, driver, ref, BOB)
    assert len(gateway.sent) == before


async def test_eyes_from_someone_who_is_not_an_advisor_claim_nothing(
        deps: Deps, driver: Driver, gateway: FakeGateway) -> None:
    await advisors(deps, driver)
    ref = await new_request(deps)
    await claim_by_reaction(deps, driver, ref, OUT)
    assert (await row(deps, ref)).status == "new"
    told = gateway.sent[-1]
    assert told.mentions == (OUT,) and "Only advisors and coordinators" in told.body


async def test_a_claimed_request_cannot_be_claimed_again_but_can_be_handed_on(
        deps: Deps, driver: Driver, gateway: FakeGateway) -> None:
    await advisors(deps, driver)
    ref = await new_request(deps)
    assert ref in await say(driver, f"!advice claim {ref.lower()}", sender=BOB)
    taken = await say(driver, f"!advice claim {ref}", sender=ALA)
    assert "claimed by @bob:test already" in taken
    refused = await say(driver, f"!advice assign {ref} @ala:test", sender=CEZ)
    assert "Only @bob:test" in refused
    handed = await say(driver, f"!advice assign {ref} @ala:test", sender=BOB)
    assert "is with @ala:test now" in handed
    request = await row(deps, ref)
    assert request.assignee == ALA
    assert (request.case_room_id, ALA) in gateway.invited
    not_advisor = await say(driver, f"!advice assign {ref} @out:test", sender=COORD)
    assert "@out:test is not an advisor" in not_advisor


# -- answering, closing, reopening -------------------------------------------------------


async def test_reply_without_mail_shows_on_the_status_page_and_answers_the_request(
        deps: Deps, driver: Driver, gateway: FakeGateway) -> None:
    await advisors(deps, driver)
    ref = await new_request(deps)
    body = await say(driver, f"!advice reply {ref} Try the EU Creative Europe call.", sender=BOB)
    assert "not sent by e-mail" in body
    request = await row(deps, ref)
    assert (request.status, request.assignee) == ("answered", BOB)  # answering claims it
    async with deps.db.session() as s:
        [message] = (await s.scalars(select(AdviceMessage))).all()
    assert (message.direction, message.state, message.author) == ("out", "shown", BOB)
    assert message.text == "Try the EU Creative Europe call."


async def test_in_the_case_room_the_reference_can_be_left_out(
        deps: Deps, driver: Driver, gateway: FakeGateway) -> None:
    await advisors(deps, driver)
    ref = await new_request(deps)
    await say(driver, f"!advice claim {ref}", sender=BOB)
    case_room = (await row(deps, ref)).case_room_id
    assert case_room is not None
    assert "Noted" in await say(driver, "!advice note Called them.", sender=BOB, room=case_room)
    shown = await say(driver, "!advice show", sender=BOB, room=case_room)
    assert ref in shown and "note: Called them." in shown
    closed = await say(driver, "!advice close no reply", sender=BOB, room=case_room)
    assert f"{ref} is closed: no reply." == closed
    request = await row(deps, ref)
    assert (request.status, request.outcome) == ("closed", "no_reply")
    assert request.closed_at == deps.clock()
    again = await say(driver, "!advice reopen", sender=BOB, room=case_room)
    assert "open again: claimed" in again
    request = await row(deps, ref)
    assert (request.status, request.outcome, request.closed_at) == ("claimed", None, None)
    assert [a for _, a, _ in await entries(deps, ref)] == [
        "created", "posted", "claimed", "note", "closed", "reopened"]


async def test_the_notice_and_show_name_the_state_in_the_members_language(
        deps: Deps, driver: Driver) -> None:
    await advisors(deps, driver)
    ref = await new_request(deps)
    await say(driver, f"!advice claim {ref}", sender=BOB)
    await say(driver, "!lang pl", sender=BOB)
    shown = await say(driver, f"!advice show {ref}", sender=BOB)
    english = await say(driver, f"!advice show {ref}", sender=ALA)
    assert "State: claimed" in english
    assert "State: claimed" not in shown and ref in shown


@pytest.mark.parametrize(("line", "expected"), [
    ("!advice close {ref} maybe", "is not an outcome"),
    ("!advice close {ref}", "How did it end?"),
    ("!advice note {ref} " + "x" * 1200, "at most 1000 characters"),
    ("!advice reply {ref} " + "y" * 4050, "at most 4000 characters"),
    ("!advice reply {ref}", "What is your answer?"),
    ("!advice show ADV-ZZZZZZ", "There is no advisory request ADV-ZZZZZZ."),
    ("!advice show ADV-\u0000\u202e", "There is no advisory request"),
    ("!advice show", "Which request?"),
    ("!advice list nonsense", "List which requests?"),
    ("!advice stats 0", "from 1 to 3650"),
    ("!advice reopen {ref}", "is open already"),
])
async def test_mistakes_get_a_clear_answer_and_change_nothing(
        deps: Deps, driver: Driver, line: str, expected: str) -> None:
    await advisors(deps, driver)
    ref = await new_request(deps)
    before = await row(deps, ref)
    body = await say(driver, line.format(ref=ref), sender=BOB)
    assert body.startswith("⚠️") and expected in body
    after = await row(deps, ref)
    assert (after.status, after.assignee, after.notice_version) == (
        before.status, before.assignee, before.notice_version)


async def test_outsiders_and_other_rooms_are_refused(deps: Deps, driver: Driver) -> None:
    await advisors(deps, driver)
    ref = await new_request(deps)
    for sender, room in ((OUT, ADVISORY), (CEZ, room_id("location:rostock"))):
        body = await say(driver, f"!advice claim {ref}", sender=sender, room=room)
        assert body.startswith("⚠️")
    assert (await row(deps, ref)).status == "new"
    listing = await say(driver, "!advice list", sender=COORD)
    assert ref in listing and "Muzeum Morskie" in listing


async def test_list_filters_mine_and_by_state(deps: Deps, driver: Driver) -> None:
    await advisors(deps, driver)
    first = await new_request(deps)
    second = await new_request(deps, question="How do we plan a festival budget for games?")
    await say(driver, f"!advice claim {first}", sender=BOB)
    mine = await say(driver, "!advice list mine", sender=BOB)
    assert first in mine and second not in mine
    new = await say(driver, "!advice list new", sender=BOB)
    assert second in new and first not in new


# -- nothing falls through -----------------------------------------------------------------


async def run_follow_ups(deps: Deps) -> None:
    from bot.features.advice.config import WorkflowConfig  # noqa: PLC0415
    from bot.features.advice.followups import FollowUps  # noqa: PLC0415 - test helper
    wiring = wire(deps)
    notices = wiring.services["cases"](None).notices
    await FollowUps(deps, deps.config.section(WorkflowConfig), notices).run()


def nudges(gateway: FakeGateway, ref: str) -> list[Outgoing]:
    return [m for m in gateway.sent if m.body.startswith("⏳") and ref in m.body]


async def test_an_unclaimed_request_is_raised_again_once_per_period(
        deps: Deps, driver: Driver, gateway: FakeGateway, clock: Clock) -> None:
    await advisors(deps, driver)
    ref = await new_request(deps)
    clock.now += timedelta(days=2, hours=23)
    await run_follow_ups(deps)
    assert nudges(gateway, ref) == []
    clock.now += timedelta(hours=2)
    await run_follow_ups(deps)
    await run_follow_ups(deps)
    [nudge] = nudges(gateway, ref)
    assert nudge.reply_to == (await row(deps, ref)).event_id
    assert set(nudge.mentions) == {ALA, BOB}
    clock.now += timedelta(days=3)
    await run_follow_ups(deps)
    assert len(nudges(gateway, ref)) == 2
    await say(driver, f"!advice claim {ref}", sender=BOB)
    clock.now += timedelta(days=3)
    await run_follow_ups(deps)
    assert len(nudges(gateway, ref)) == 2  # claimed: no more nudges


async def test_a_nudge_recorded_but_not_known_as_sent_goes_out_once(
        deps: Deps, driver: Driver, gateway: FakeGateway, clock: Clock) -> None:
    await advisors(deps, driver)
    ref = await new_request(deps)
    clock.now += timedelta(days=3)
    await run_follow_ups(deps)
    async with deps.db.session() as s:  # as if the bot died between sending and recording
        [due] = (await s.scalars(select(AdviceDue))).all()
        due.state = "sending"
    await run_follow_ups(deps)
    assert len(nudges(gateway, ref)) == 1  # the resend carried the same transaction id
    async with deps.db.session() as s:
        assert [d.state for d in (await s.scalars(select(AdviceDue))).all()] == ["sent"]


async def test_a_quiet_assignee_is_reminded_once_in_a_direct_chat(
        deps: Deps, driver: Driver, gateway: FakeGateway, clock: Clock) -> None:
    await advisors(deps, driver)
    ref = await new_request(deps)
    await say(driver, f"!advice claim {ref}", sender=BOB)
    clock.now += timedelta(days=5, minutes=1)
    await run_follow_ups(deps)
    await run_follow_ups(deps)
    reminders = [m for m in gateway.sent if m.body.startswith("⏰") and ref in m.body]
    assert len(reminders) == 1 and reminders[0].mentions == (BOB,)
    dm = reminders[0].room_id
    assert any(c["is_direct"] and c["room_id"] == dm for c in gateway.created)
    # activity starts the count again: a note, then five quiet days, a second reminder
    clock.now += timedelta(days=1)
    await say(driver, f"!advice note {ref} Waiting for their budget.", sender=BOB)
    clock.now += timedelta(days=4)
    await run_follow_ups(deps)
    assert len([m for m in gateway.sent if m.body.startswith("⏰")]) == 1
    clock.now += timedelta(days=1, minutes=1)
    await run_follow_ups(deps)
    assert len([m for m in gateway.sent if m.body.startswith("⏰")]) == 2


async def test_an_answered_request_closes_by_itself_unless_reopened(
        deps: Deps, driver: Driver, gateway: FakeGateway, clock: Clock) -> None:
    await advisors(deps, driver)
    ref = await new_request(deps)
    await say(driver, f"!advice reply {ref} Here is what we suggest.", sender=BOB)
    clock.now += timedelta(days=13)
    await run_follow_ups(deps)
    assert (await row(deps, ref)).status == "answered"
    clock.now += timedelta(days=1, minutes=1)
    await run_follow_ups(deps)
    await run_follow_ups(deps)
    request = await row(deps, ref)
    assert (request.status, request.outcome) == ("closed", "helped")
    closing = [m for m in gateway.sent if m.body.startswith("✔") and ref in m.body]
    assert len(closing) == 1 and closing[0].room_id == request.case_room_id
    assert ("bot", "closed", "helped") in await entries(deps, ref)
    [last_edit] = [m for m in gateway.sent if m.replaces == request.event_id][-1:]
    assert "closed (helped)" in last_edit.body


async def test_a_request_whose_post_failed_is_posted_by_the_follow_ups(
        deps: Deps, driver: Driver, gateway: FakeGateway) -> None:
    gateway.refuse.add(ADVISORY)
    async with deps.db.session() as s:
        request, _ = await service(deps, "advice", s).create(
            "Studio", "a@example.org", "games", None, "How to find game testers?", "en",
            consent=True)
        ref = request.ref
    gateway.unavailable = 1
    await run_follow_ups(deps)  # the homeserver away: nothing lost, tried again
    assert (await row(deps, ref)).event_id is None
    gateway.refuse.clear()
    await run_follow_ups(deps)
    await run_follow_ups(deps)
    posted = [m for m in gateway.sent if m.room_id == ADVISORY and ref in m.body]
    assert len(posted) == 1
    assert (await row(deps, ref)).event_id is not None


async def test_an_edit_that_did_not_go_out_is_made_later(
        deps: Deps, driver: Driver, gateway: FakeGateway) -> None:
    await advisors(deps, driver)
    ref = await new_request(deps)
    async with deps.db.session() as s:
        request = await s.scalar(select(AdvisoryRequest).where(AdvisoryRequest.ref == ref))
        request.notice_version += 1  # a change whose edit was lost
    await run_follow_ups(deps)
    request = await row(deps, ref)
    assert request.notice_shown == request.notice_version
    assert [m.txn_id for m in gateway.sent if m.replaces == request.event_id] == [
        f"sbcc.advice.{ref}.v{request.notice_version}"]


# -- the requester's side -------------------------------------------------------------------


async def test_a_requesters_reply_reaches_the_case_room_once(
        deps: Deps, driver: Driver, gateway: FakeGateway) -> None:
    await advisors(deps, driver)
    ref = await new_request(deps)
    await say(driver, f"!advice reply {ref} Have you tried a crowdfunding?", sender=BOB)
    async with deps.db.session() as s:
        request = await s.scalar(select(AdvisoryRequest).where(AdvisoryRequest.ref == ref))
        message = await RequesterService(s, deps.clock).reply(request, "Not yet, how? <b>")
        message_id = message.id
    outbox = wire(deps).services["outbox"](None)
    await outbox.deliver(message_id)
    await outbox.deliver(message_id)
    await outbox.flush()
    case_room = (await row(deps, ref)).case_room_id
    posted = [m for m in gateway.sent if m.room_id == case_room and m.body.startswith("✉")]
    assert len(posted) == 1 and "Not yet, how? <b>" in posted[0].body
    assert "&lt;b&gt;" in (posted[0].html or "") and "<b>" not in (posted[0].html or "")
    assert posted[0].mentions == (BOB,)
    assert (await row(deps, ref)).status == "claimed"  # back from answered


async def test_forgetting_an_advisor_keeps_the_request_without_their_name(
        deps: Deps, driver: Driver) -> None:
    await advisors(deps, driver)
    ref = await new_request(deps)
    await say(driver, f"!advice reply {ref} Our answer.", sender=BOB)
    exported = await driver.send("!mydata", sender=BOB, room_id=room_id("location:rostock"))
    assert exported
    await say(driver, "!forget-me", sender=BOB, room=room_id("location:rostock"))
    await say(driver, "!forget-me confirm", sender=BOB, room=room_id("location:rostock"))
    request = await row(deps, ref)
    assert request.assignee is not None and request.assignee != BOB
    assert BOB not in {actor for actor, _, _ in await entries(deps, ref)}
    async with deps.db.session() as s:
        assert await s.get(Advisor, BOB) is None
        [message] = (await s.scalars(select(AdviceMessage))).all()
        assert message.author != BOB


# -- who may, and at the same moment ---------------------------------------------------------


async def test_only_its_advisor_or_a_coordinator_answers_closes_or_reopens_a_claimed_request(
        deps: Deps, driver: Driver) -> None:
    await advisors(deps, driver)
    ref = await new_request(deps)
    await say(driver, f"!advice claim {ref}", sender=BOB)
    for line in (f"!advice reply {ref} My own answer instead.", f"!advice close {ref} helped",
                 f"!advice assign {ref} @ala:test"):
        body = await say(driver, line, sender=ALA)
        assert body.startswith("⚠️") and "@bob:test" in body, (line, body)
    assert "Noted" in await say(driver, f"!advice note {ref} I know their museum.", sender=ALA)
    assert (await row(deps, ref)).status == "claimed"
    assert "is closed: declined" in await say(driver, f"!advice close {ref} declined",
                                              sender=COORD)
    refused = await say(driver, f"!advice reopen {ref}", sender=ALA)
    assert refused.startswith("⚠️")


async def test_a_case_room_holds_its_own_request_only(deps: Deps, driver: Driver) -> None:
    await advisors(deps, driver)
    first = await new_request(deps)
    second = await new_request(deps, question="How do we plan a festival budget for games?")
    await say(driver, f"!advice claim {first}", sender=BOB)
    case_room = (await row(deps, first)).case_room_id or ""
    body = await say(driver, f"!advice show {second}", sender=BOB, room=case_room)
    assert body.startswith("⚠️") and f"This room is for {first}" in body
    assert "festival budget" not in body


async def test_a_claim_lost_to_someone_else_a_moment_earlier_is_refused(
        deps: Deps, driver: Driver) -> None:
    await advisors(deps, driver)
    ref = await new_request(deps)
    async with deps.db.session() as mine:
        cases = service(deps, "cases", mine)
        request = await cases.get(ref)  # read while still unclaimed
        async with deps.db.session() as theirs:  # meanwhile, Ala's 👀 commits
            other = service(deps, "cases", theirs)
            await other.claim(await other.get(ref), ALA)
        with pytest.raises(UserError) as refused:
            await cases.claim(request, BOB)
        assert refused.value.params["who"] == ALA
    assert (await row(deps, ref)).assignee == ALA


async def test_a_delivery_under_way_is_not_taken_twice(
        deps: Deps, driver: Driver, gateway: FakeGateway, clock: Clock) -> None:
    await advisors(deps, driver)
    ref = await new_request(deps)
    await say(driver, f"!advice reply {ref} Have you tried a crowdfunding?", sender=BOB)
    async with deps.db.session() as s:
        request = await s.scalar(select(AdvisoryRequest).where(AdvisoryRequest.ref == ref))
        message_id = (await RequesterService(s, deps.clock).reply(request, "How?")).id
    outbox = wire(deps).services["outbox"](None)
    assert await outbox._take(message_id)  # one delivery has it …
    await outbox.flush()  # … so the job leaves it alone
    await outbox.deliver(message_id)
    assert [m for m in gateway.sent if m.body.startswith("✉")] == []
    clock.now += timedelta(minutes=6)  # that delivery died: its lease ran out
    await outbox.flush()
    await outbox.flush()
    assert len([m for m in gateway.sent if m.body.startswith("✉")]) == 1
