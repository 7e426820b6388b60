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
                 name: str | None = None, ts: int = 0) -> MembershipChange:
    return MembershipChange(f"$m{next(_n)}", room, user, membership, None, sender or user,
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
        deps: Deps, driver: Driver, gateway: FakeGateway, clock: Clock) -> None:
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


async def test_intro_without_rooms_keeps_the_bio(deps: Deps, driver: Driver) -> None:
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
    [bad] = await driver.send("!members paris", sender="@ala:x")
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
        [out] = await unprovisioned.send(command)
        assert out.body == ("⚠️ The network's rooms are not set up yet; a coordinator can run "
                            "!provision."), command
    none = driver_for(base_config())
    for command in ("!rooms", "!members"):
        [out] = await none.send(command, event_id=f"$none-{command}")  # a new driver's ids
        assert out.body.startswith("⚠️ No network is configured yet"), command
