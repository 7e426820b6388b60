"""Membership record, welcomes, introductions and the network commands, through the real
dispatcher with the recording fake gateway (rooms already provisioned in the database)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.db.models import IntroCard, PendingWelcome
from bot.deps import Deps
from bot.events import MembershipChange
from bot.features.profiles.introductions import tags_meet
from bot.framework import member
from bot.i18n import Translator
from rooms.arrivals import Arrivals
from rooms.network import matrix_to
from rooms.welcome import NAMES_SHOWN, Welcomer
from tests.conftest import Clock, network, room_id
from tests.fakes import Driver, FakeGateway

SZN, ROS = room_id("location:szczecin"), room_id("location:rostock")
DES = room_id("topic:design")


@pytest.fixture
async def deps(make_deps) -> Deps:  # noqa: ANN001
    return await make_deps(network=network("szczecin", "rostock", topics=("design", "games"),
                                           name="Test Clusters"))


@pytest.fixture
def arrivals(deps: Deps) -> Arrivals:
    return Arrivals(deps, Welcomer(deps))


_n = iter(range(1, 10_000))


def member_event(room: str, user: str, membership: str, sender: str | None = None,
                 name: str | None = None, ts: int = 0, prev: str | None = None
                 ) -> MembershipChange:
    return MembershipChange(f"$m{next(_n)}", room, user, membership, prev, sender or user,
                            name, ts)


async def pending(deps: Deps) -> list[PendingWelcome]:
    async with deps.db.session() as s:
        return list((await s.scalars(select(PendingWelcome))).all())


async def test_first_join_to_a_location_is_welcomed_once_in_its_language(
        deps: Deps, arrivals: Arrivals, gateway: FakeGateway, translator: Translator) -> None:
    await arrivals.on_event(member_event(SZN, "@ala:x", "join", name="Ala"))
    assert len(await pending(deps)) == 1
    await arrivals.welcomer.flush(SZN)
    [welcome] = gateway.sent
    template = translator.ngettext_template(
        "Welcome to %(room)s, %(names)s! Tell the network who you are with %(intro)s, "
        "and what you offer and need with %(offer)s and %(need)s. %(help)s shows "
        "everything I can do.", "x", 1, "pl")
    assert welcome.body.startswith(template.split("%(")[0])
    assert "Szczecin" in welcome.body and "Ala" in welcome.body
    assert welcome.mentions == ("@ala:x",)
    assert 'href="https://matrix.to/#/@ala:x"' in (welcome.html or "")
    assert await pending(deps) == []

    await arrivals.on_event(member_event(SZN, "@ala:x", "leave"))
    await arrivals.on_event(member_event(SZN, "@ala:x", "join"))
    assert await pending(deps) == [], "re-joining is not a first time"


async def test_member_defaults_come_from_the_location_room(deps: Deps, arrivals) -> None:
    await arrivals.on_event(member_event(ROS, "@bob:x", "join"))
    async with deps.db.session() as s:
        from bot.members import MemberService
        bob = await MemberService(s, deps.clock).get("@bob:x")
    assert (bob.location, bob.language, bob.timezone) == ("rostock", "de", "Europe/Berlin")


async def test_topic_rooms_and_other_rooms_do_not_welcome(deps: Deps, arrivals) -> None:
    await arrivals.on_event(member_event(DES, "@ala:x", "join"))
    await arrivals.on_event(member_event("!elsewhere", "@ala:x", "join"))
    assert await pending(deps) == []


async def test_many_joins_get_one_combined_welcome(deps: Deps, arrivals,
                                                   gateway: FakeGateway) -> None:
    people = [f"@p{i}:x" for i in range(NAMES_SHOWN + 3)]
    for i, p in enumerate(people):  # joined one second apart, in this order
        await arrivals.on_event(member_event(ROS, p, "join", ts=1_800_000_000_000 + i * 1000))
    await arrivals.welcomer.flush(ROS)
    [welcome] = gateway.sent
    assert set(welcome.mentions) == set(people)
    assert "3" in welcome.body  # "… and 3 more" in German
    assert "@p11:x" in welcome.body and "@p12:x" not in welcome.body


async def test_a_crash_between_send_and_commit_greets_once(deps: Deps, arrivals,
                                                           gateway: FakeGateway) -> None:
    await arrivals.on_event(member_event(SZN, "@ala:x", "join"))
    gateway.fail_sends = 1  # the send "dies" after the batch was committed
    with pytest.raises(RuntimeError):
        await arrivals.welcomer.flush(SZN)
    [row] = await pending(deps)
    assert row.batch is not None
    await arrivals.welcomer.flush_all()  # what a restart does
    assert len(gateway.sent) == 1 and gateway.sent[0].txn_id == f"sbcc.welcome.{row.batch}"
    await arrivals.welcomer.flush_all()
    assert len(gateway.sent) == 1


async def test_redelivered_membership_event_is_ignored(deps: Deps, arrivals) -> None:
    event = member_event(SZN, "@ala:x", "join")
    await arrivals.on_event(event)
    await arrivals.on_event(event)
    assert len(await pending(deps)) == 1


async def test_members_counts_and_names_for_coordinators(deps: Deps, arrivals,
                                                         driver: Driver) -> None:
    await arrivals.on_event(member_event(SZN, "@ala:x", "join"))
    await arrivals.on_event(member_event(SZN, "@ola:x", "join"))
    await arrivals.on_event(member_event(ROS, "@bob:x", "join"))
    await arrivals.on_event(member_event(ROS, "@bob:x", "ban", sender="@mod:x"))
    [plain] = await driver.send("!members", sender="@ala:x")
    assert "Szczecin: 2" in plain.body and "Rostock: 0" in plain.body
    assert "@ola:x" not in plain.body
    [full] = await driver.send("!members szczecin", sender="@coord:test")
    assert "@ala:x" in full.body and "@ola:x" in full.body and "Rostock" not in full.body
    [bad] = await driver.send("!members paris", sender="@ala:x")
    assert "paris" in bad.body and "szczecin" in bad.body


async def test_rooms_lists_links_grouped(driver: Driver) -> None:
    [out] = await driver.send("!rooms")
    assert "https://matrix.to/#/%23t-szczecin:test" in out.body
    assert out.body.index("Szczecin") < out.body.index("Design & Media")
    assert '<a href="https://matrix.to/#/%23t-design:test">Design &amp; Media</a>' in out.html


async def test_intro_goes_to_location_and_matching_topics_then_edits(
        deps: Deps, arrivals: Arrivals, driver: Driver, gateway: FakeGateway,
        clock: Clock) -> None:
    await arrivals.on_event(member_event(DES, "@ala:x", "join"))  # !intro is for members
    await driver.send("!set location szczecin", sender="@ala:x")
    await driver.send("!offer Video editing, photo", sender="@ala:x")
    gateway.sent.clear()
    out = await driver.send("!intro I make <films> & music videos", sender="@ala:x")
    cards = {o.room_id: o for o in out if o.room_id != "!room:test"}
    assert set(cards) == {SZN, DES}
    assert "&lt;films&gt; &amp; music" in cards[DES].html
    assert cards[SZN].body != cards[DES].body  # Polish room, English topic room
    gateway.sent.clear()
    again = await driver.send("!intro Updated bio", sender="@ala:x")
    edits = [o for o in again if o.room_id in (SZN, DES)]
    assert len(edits) == 2 and all(o.replaces for o in edits)
    async with deps.db.session() as s:
        assert len((await s.scalars(select(IntroCard))).all()) == 2
    clock.now += timedelta(days=1, minutes=1)
    later = await driver.send("!intro A day later", sender="@ala:x")
    assert [o.replaces for o in later if o.room_id == SZN] == [None]


async def test_intro_without_rooms_keeps_the_bio(deps: Deps, arrivals: Arrivals,
                                                 driver: Driver) -> None:
    await arrivals.on_event(member_event(DES, "@new:x", "join"))  # a topic room: no location
    [out] = await driver.send("!intro Hello there", sender="@new:x")
    assert "!set location" in out.body
    async with deps.db.session() as s:
        from bot.members import MemberService
        assert (await MemberService(s, deps.clock).get("@new:x")).bio == "Hello there"


def test_tags_meet_by_tag_or_word() -> None:
    assert tags_meet(["video editing", "3d"], ["video", "design"]) == {"video"}
    assert tags_meet(["design"], ["design"]) == {"design"}
    assert tags_meet(["sound"], ["music"]) == set()


def test_matrix_to_links() -> None:
    assert matrix_to("!abc", "#sbcc-x:example.org") == "https://matrix.to/#/%23sbcc-x:example.org"
    assert matrix_to("!abc:x", None, "example.org") == "https://matrix.to/#/!abc:x?via=example.org"


async def test_provision_needs_a_coordinator(driver: Driver) -> None:
    [out] = await driver.send("!provision", sender="@ala:x")
    assert out.body.startswith("⚠️")


async def test_a_welcome_the_room_refuses_is_dropped_not_retried_forever(
        deps: Deps, arrivals: Arrivals, gateway: FakeGateway) -> None:
    from bot.errors import GatewayError

    await arrivals.on_event(member_event(SZN, "@ala:x", "join"))

    async def refuse(message):  # noqa: ANN001, ANN202
        raise GatewayError("send: M_FORBIDDEN", "M_FORBIDDEN", 403)

    gateway.send = refuse  # type: ignore[method-assign]
    await arrivals.welcomer.flush_all()  # no exception: the bot starts regardless
    assert await pending(deps) == []


async def test_members_takes_a_location_by_key_or_name(deps: Deps, arrivals: Arrivals,
                                                       driver: Driver) -> None:
    await arrivals.on_event(member_event(ROS, "@bob:x", "join"))
    [by_name] = await driver.send("!members ROSTOCK", sender="@coord:test")
    assert "Rostock: 1" in by_name.body and "@bob:x" in by_name.body
    assert "Szczecin" not in by_name.body
    [bad] = await driver.send("!members paris", sender="@bob:x")
    assert "!members [location]" in bad.body  # with the usage line


async def test_before_provisioning_the_commands_say_what_is_missing(
        db, gateway: FakeGateway, translator: Translator, clock: Clock) -> None:  # noqa: ANN001
    from bot.app import parse_config
    from tests.conftest import base_config, make_dispatcher

    def driver_for(raw: dict) -> Driver:
        deps = Deps(config=parse_config(raw, environ={}), db=db, gateway=gateway,
                    translator=translator, clock=clock)
        return Driver(make_dispatcher(deps), gateway)

    unprovisioned = driver_for(base_config(network=network("szczecin")))
    for command in ("!rooms", "!members", "!members szczecin"):
        [out] = await unprovisioned.send(command, sender="@coord:test")
        assert out.body == ("⚠️ The network's rooms are not set up yet; a coordinator can run "
                            "!provision."), command
    none = driver_for(base_config())
    for command in ("!rooms", "!members"):
        [out] = await none.send(command, sender="@coord:test",
                                event_id=f"$none-{command}")  # a new driver's ids
        assert out.body.startswith("⚠️ No network is configured yet"), command


# -- names follow renames --------------------------------------------------------------------


async def stored_name(deps: Deps, mxid: str) -> str | None:
    from bot.db.models import Member

    async with deps.db.session() as s:
        member = await s.get(Member, mxid)
        assert member is not None
        return member.display_name


async def test_a_rename_updates_the_stored_name_and_welcomes_nobody(
        deps: Deps, arrivals: Arrivals) -> None:
    await arrivals.on_event(member_event(SZN, "@ala:x", "join", name="Ala"))
    await arrivals.welcomer.flush(SZN)
    await arrivals.on_event(member_event(SZN, "@ala:x", "join", name="Ala Nowak", prev="join"))
    assert await stored_name(deps, "@ala:x") == "Ala Nowak"
    assert await pending(deps) == []
    await arrivals.on_event(member_event(SZN, "@ala:x", "join", prev="join"))  # name removed
    assert await stored_name(deps, "@ala:x") is None


async def test_names_are_cleaned_and_bounded(deps: Deps, arrivals: Arrivals) -> None:
    await arrivals.on_event(member_event(SZN, "@ala:x", "join", name="\u202eAla\u2066 Kowalska"))
    assert await stored_name(deps, "@ala:x") == "Ala Kowalska"  # no bidi controls
    long = "Ą" * 5000  # Matrix allows long names; the column holds 255 characters
    await arrivals.on_event(member_event(SZN, "@ala:x", "join", name=long, prev="join"))
    name = await stored_name(deps, "@ala:x")
    assert name is not None and len(name) <= 255 and name.startswith("ĄĄĄ")
    await arrivals.on_event(member_event(ROS, "@bob:x", "join", name="B" * 300))
    bob = await stored_name(deps, "@bob:x")
    assert bob is not None and len(bob) <= 255


async def test_a_rename_makes_nobody_a_member_and_never_welcomes(
        deps: Deps, arrivals: Arrivals) -> None:
    from bot.db.models import Member, RoomMembership

    # someone whose stay was not recorded (forgotten, or missed) changes their name
    await arrivals.on_event(member_event(SZN, "@eve:x", "join", name="Eve", prev="join"))
    assert await pending(deps) == []
    async with deps.db.session() as s:
        assert await s.get(Member, "@eve:x") is None
        [stay] = (await s.scalars(select(RoomMembership))).all()
        assert (stay.mxid, stay.until, stay.imported) == ("@eve:x", None, True)


# -- welcomes: within seconds, later joins added by an edit ------------------------------------


async def test_the_welcome_goes_out_within_seconds(deps: Deps, arrivals: Arrivals) -> None:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    deps.scheduler = AsyncIOScheduler(timezone="UTC")  # not started: its jobs stay pending
    await arrivals.on_event(member_event(SZN, "@ala:x", "join"))
    await arrivals.on_event(member_event(SZN, "@ola:x", "join"))
    [job] = deps.scheduler.get_jobs()
    assert job.id == f"welcome:{SZN}"
    assert job.trigger.run_date == deps.clock() + timedelta(seconds=3)


async def test_joins_within_the_window_are_added_to_the_welcome_by_an_edit(
        deps: Deps, arrivals: Arrivals, gateway: FakeGateway, clock: Clock) -> None:
    from bot.db.models import WelcomePost

    await arrivals.on_event(member_event(SZN, "@ala:x", "join", name="Ala"))
    await arrivals.welcomer.flush(SZN)
    [first] = gateway.sent
    assert first.replaces is None and first.mentions == ("@ala:x",)
    clock.now += timedelta(seconds=20)
    await arrivals.on_event(member_event(SZN, "@ola:x", "join", name="Ola"))
    await arrivals.on_event(member_event(SZN, "@ela:x", "join", name="Ela"))
    await arrivals.welcomer.flush(SZN)
    [edit] = gateway.sent[1:]
    assert edit.replaces == "$sent1" and edit.room_id == SZN
    assert set(edit.mentions) == {"@ola:x", "@ela:x"}  # only the newly added are notified
    for name in ("Ala", "Ola", "Ela"):
        assert name in edit.body
    content = edit.content()
    assert content["m.relates_to"] == {"rel_type": "m.replace", "event_id": "$sent1"}
    assert "Ola" in content["m.new_content"]["body"]
    clock.now += timedelta(seconds=30)  # 50 s after the welcome: still open
    await arrivals.on_event(member_event(SZN, "@ula:x", "join", name="Ula"))
    await arrivals.welcomer.flush(SZN)
    assert [o.replaces for o in gateway.sent] == [None, "$sent1", "$sent1"]
    assert gateway.sent[-1].mentions == ("@ula:x",)
    async with deps.db.session() as s:
        post = await s.get(WelcomePost, SZN)
        assert post is not None and post.event_id == "$sent1"
        assert post.mxids.split() == ["@ala:x", "@ela:x", "@ola:x", "@ula:x"]
    clock.now += timedelta(seconds=11)  # 61 s: the window has closed, a new welcome
    await arrivals.on_event(member_event(SZN, "@iza:x", "join", name="Iza"))
    await arrivals.welcomer.flush(SZN)
    last = gateway.sent[-1]
    assert last.replaces is None and last.mentions == ("@iza:x",)
    assert "Ala" not in last.body and "Iza" in last.body
    await arrivals.on_event(member_event(ROS, "@udo:x", "join", name="Udo"))
    await arrivals.welcomer.flush(ROS)  # another room has a welcome of its own
    assert gateway.sent[-1].replaces is None and gateway.sent[-1].room_id == ROS


async def test_an_edit_interrupted_before_its_commit_is_sent_once(
        deps: Deps, arrivals: Arrivals, gateway: FakeGateway, clock: Clock) -> None:
    await arrivals.on_event(member_event(SZN, "@ala:x", "join"))
    await arrivals.welcomer.flush(SZN)
    clock.now += timedelta(seconds=10)
    await arrivals.on_event(member_event(SZN, "@ola:x", "join"))
    real_send = gateway.send

    async def sent_then_died(message):  # noqa: ANN001, ANN202
        await real_send(message)
        gateway.send = real_send  # type: ignore[method-assign]
        raise RuntimeError("the bot died before its commit")

    gateway.send = sent_then_died  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        await arrivals.welcomer.flush(SZN)
    [row] = await pending(deps)
    assert row.batch is not None and row.batch.startswith("e.")
    clock.now += timedelta(minutes=5)  # the restart comes after the window: still an edit
    await Welcomer(deps).flush_all()
    await Welcomer(deps).flush_all()
    edits = [o for o in gateway.sent if o.replaces]
    assert len(edits) == 1 and edits[0].txn_id == f"sbcc.welcome.{row.batch}"
    assert len(gateway.sent) == 2 and await pending(deps) == []


async def test_a_welcome_with_zero_delay_greets_each_join_alone(
        make_deps, gateway: FakeGateway) -> None:  # noqa: ANN001
    section = network("szczecin")
    section["welcome_delay"] = 0
    deps = await make_deps(network=section)
    arrivals = Arrivals(deps, Welcomer(deps))
    await arrivals.on_event(member_event(SZN, "@ala:x", "join"))
    await arrivals.welcomer.flush(SZN)
    await arrivals.on_event(member_event(SZN, "@ola:x", "join"))
    await arrivals.welcomer.flush(SZN)
    assert [(o.replaces, o.mentions) for o in gateway.sent] == [(None, ("@ala:x",)),
                                                                 (None, ("@ola:x",))]


# -- what the network holds about a member, and for how long ----------------------------------


def part(deps: Deps, name: str):  # noqa: ANN201
    from bot.app import wire

    return next(p for p in wire(deps).personal_data if p.name == name)


def job(deps: Deps, job_id: str):  # noqa: ANN201
    from bot.app import wire

    return next(j for j in wire(deps).jobs if j.id == job_id)


async def test_a_members_stays_and_welcome_are_exported_and_erased(
        deps: Deps, arrivals: Arrivals, gateway: FakeGateway, clock: Clock) -> None:
    from bot.db.models import RoomMembership, WelcomePost

    await arrivals.on_event(member_event(SZN, "@ala:x", "join", name="Ala"))
    await arrivals.on_event(member_event(SZN, "@ola:x", "join", name="Ola"))
    await arrivals.welcomer.flush(SZN)
    await arrivals.on_event(member_event(DES, "@ala:x", "join"))
    await arrivals.on_event(member_event(DES, "@ala:x", "leave"))
    await arrivals.on_event(member_event(ROS, "@ala:x", "join"))  # not yet welcomed
    memberships = part(deps, "memberships")
    async with deps.db.session() as s:
        exported = await memberships.export(s, "@ala:x")
    stays = [(e["room"], e["until"] is None) for e in exported if "since" in e]
    assert stays == [("Szczecin", True), ("Design & Media", False), ("Rostock", True)]
    assert {(e["room"], e["welcome"]) for e in exported if "welcome" in e} == {
        ("Rostock", "pending"), ("Szczecin", "named in the welcome message")}
    async with deps.db.session() as s:
        assert await memberships.erase(s, "@ala:x", "@former-1:invalid") == 5
    async with deps.db.session() as s:
        assert await memberships.export(s, "@ala:x") == []
        left = (await s.scalars(select(RoomMembership.mxid))).all()
        post = await s.get(WelcomePost, SZN)
    assert left == ["@ola:x"] and post is not None and post.mxids == "@ola:x"
    assert [p.mxid for p in await pending(deps)] == []
    clock.now += timedelta(seconds=10)  # a later join edits the welcome: without her
    await arrivals.on_event(member_event(SZN, "@ela:x", "join", name="Ela"))
    await arrivals.welcomer.flush(SZN)
    edit = gateway.sent[-1]
    assert edit.replaces and "Ola" in edit.body and "Ala" not in edit.body


async def test_ended_stays_are_pruned_after_the_retention(deps: Deps, arrivals: Arrivals,
                                                          clock: Clock) -> None:
    from bot.db.models import RoomMembership, WelcomePost

    await arrivals.on_event(member_event(SZN, "@old:x", "join"))
    await arrivals.on_event(member_event(SZN, "@old:x", "leave"))
    await arrivals.on_event(member_event(SZN, "@stays:x", "join"))
    await arrivals.welcomer.flush(SZN)
    clock.now += timedelta(days=300)
    await arrivals.on_event(member_event(ROS, "@recent:x", "join"))
    await arrivals.on_event(member_event(ROS, "@recent:x", "leave"))
    clock.now += timedelta(days=66)  # the first stay ended 366 days ago
    await job(deps, "prune-memberships").func()
    async with deps.db.session() as s:
        rows = (await s.scalars(select(RoomMembership))).all()
        assert await s.get(WelcomePost, SZN) is None  # a year-old welcome is forgotten too
    assert sorted((r.mxid, r.until is None) for r in rows) == [("@recent:x", False),
                                                               ("@stays:x", True)]


async def test_a_shorter_retention_is_followed(make_deps, clock: Clock) -> None:  # noqa: ANN001
    from bot.db.models import RoomMembership

    deps = await make_deps(network=network("szczecin"), privacy={"memberships": "30d"})
    arrivals = Arrivals(deps, Welcomer(deps))
    await arrivals.on_event(member_event(SZN, "@old:x", "join"))
    await arrivals.on_event(member_event(SZN, "@old:x", "leave"))
    clock.now += timedelta(days=29)
    await job(deps, "prune-memberships").func()
    async with deps.db.session() as s:
        assert len((await s.scalars(select(RoomMembership))).all()) == 1
    clock.now += timedelta(days=2)
    await job(deps, "prune-memberships").func()
    async with deps.db.session() as s:
        assert (await s.scalars(select(RoomMembership))).all() == []


# -- who may ask what ----------------------------------------------------------------------------


async def test_members_is_for_members_and_rooms_for_anyone(deps: Deps, arrivals: Arrivals,
                                                           driver: Driver) -> None:
    await arrivals.on_event(member_event(SZN, "@ala:x", "join"))
    [refused] = await driver.send("!members", sender="@stranger:elsewhere")
    assert refused.body.startswith("⚠️ This is for members of the network")
    assert "Szczecin" not in refused.body and "1" not in refused.body
    [named] = await driver.send("!members szczecin", sender="@stranger:elsewhere")
    assert "@ala:x" not in named.body and named.body.startswith("⚠️")
    await arrivals.on_event(member_event(SZN, "@ala:x", "leave"))
    [gone] = await driver.send("!members", sender="@ala:x")  # left: no longer a member
    only_members = member.denied  # she reads Polish: Szczecin's language became hers
    assert gone.body == "⚠️ " + deps.translator.gettext(only_members, "pl", prefix="!")
    await arrivals.on_event(member_event(ROS, "@bob:x", "join"))
    [counted] = await driver.send("!members", sender="@bob:x")
    assert "Rostock: 1" in counted.body
    [listed] = await driver.send("!rooms", sender="@stranger:elsewhere")
    assert "https://matrix.to/#/%23t-szczecin:test" in listed.body


async def test_a_welcome_the_homeserver_could_not_take_is_tried_again(
        deps: Deps, arrivals: Arrivals, gateway: FakeGateway) -> None:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    deps.scheduler = AsyncIOScheduler(timezone="UTC")  # not started: its jobs stay pending
    await arrivals.on_event(member_event(SZN, "@ala:x", "join"))
    [job] = deps.scheduler.get_jobs()
    job.remove()  # what the scheduler does as it runs it
    gateway.unavailable = 1
    await job.func(*job.args)
    assert gateway.sent == [] and len(await pending(deps)) == 1  # kept, not dropped
    [again] = deps.scheduler.get_jobs()
    assert again.trigger.run_date == deps.clock() + timedelta(seconds=30)
    await again.func(*again.args)
    assert len(gateway.sent) == 1 and await pending(deps) == []
