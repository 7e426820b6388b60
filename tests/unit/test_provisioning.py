"""Provisioning against the fake homeserver and a real database: the Space and its rooms are
created (or adopted) with the state the configuration asks for, recorded, and a second run
changes nothing. What is asserted here is how provisioning behaves today."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import parse_config
from bot.db import Database
from bot.db.models import PendingWelcome, RoomMembership
from bot.deps import Deps
from bot.i18n import Translator
from rooms.network import KnownRoom, NetworkRooms
from rooms.provisioning import Outcome, Provisioner, merged_power_levels
from rooms.settings import RoomSettingsService
from tests.conftest import TOPICS, Clock, base_config, make_dispatcher, network
from tests.fakes import Driver, FakeGateway

BOT, COORD = "@sbcc:test", "@coord:test"
NAME = "Test Clusters"


def config(**network_overrides: Any) -> dict[str, Any]:
    section = network("szczecin", "rostock", topics=("design",), partners="en", advisory="",
                      name=NAME)
    section.update(network_overrides)
    return base_config(network=section)


@pytest.fixture
def make(db: Database, gateway: FakeGateway, translator: Translator, clock: Clock):  # noqa: ANN201
    def make(raw: dict[str, Any] | None = None) -> Deps:
        return Deps(config=parse_config(raw or config(), environ={}), db=db, gateway=gateway,
                    translator=translator, clock=clock, started_at=clock())

    return make


@pytest.fixture
def deps(make) -> Deps:  # noqa: ANN001
    return make()


def state(gateway: FakeGateway, room_id: str) -> dict[tuple[str, str], dict[str, Any]]:
    return {key: ev["content"] for key, ev in gateway.state.get(room_id, {}).items()}


def by_key(outcomes: list[Outcome]) -> dict[str, Outcome]:
    return {o.spec.key: o for o in outcomes}


async def recorded(deps: Deps) -> dict[str, KnownRoom]:
    async with deps.db.session() as session:
        known = await NetworkRooms(session, deps.config.network).known()
    return {r.spec.key: r for r in known}


def set_member(gateway: FakeGateway, room_id: str, mxid: str, membership: str) -> None:
    """What the homeserver shows once `mxid` has joined (or been invited to) the room."""
    gateway.state.setdefault(room_id, {})[("m.room.member", mxid)] = {
        "type": "m.room.member", "state_key": mxid, "content": {"membership": membership}}


async def test_a_first_run_creates_the_space_and_every_room(deps: Deps,
                                                             gateway: FakeGateway) -> None:
    outcomes = await Provisioner(deps).run()
    assert [(o.spec.kind, o.spec.key, o.action) for o in outcomes] == [
        ("space", "space", "created"), ("location", "szczecin", "created"),
        ("location", "rostock", "created"), ("topic", "design", "created"),
        ("partners", "partners", "created"), ("advisory", "advisory", "created")]
    assert not any(o.failed or o.error for o in outcomes)
    ids = {o.spec.key: o.room_id for o in outcomes}
    space_id = ids["space"]
    [space, *rooms] = gateway.created
    assert (space["room_id"], space["name"], space["alias"], space["space"]) == (
        space_id, NAME, "t", True)
    assert [(r["name"], r["alias"], r["space"]) for r in rooms] == [
        ("Szczecin", "t-szczecin", False), ("Rostock", "t-rostock", False),
        ("Design & Media", "t-design", False), ("Partners", "t-partners", False),
        ("Advisory", "t-advisory", False)]

    space_state = state(gateway, space_id)
    assert space_state[("m.room.join_rules", "")] == {"join_rule": "public"}
    assert space_state[("m.room.guest_access", "")] == {"guest_access": "forbidden"}
    assert space_state[("m.room.canonical_alias", "")] == {"alias": "#t:test"}
    assert space_state[("m.room.topic", "")] == {"topic": f"{NAME} · {NAME}"}
    children = {k: c for (t, k), c in space_state.items() if t == "m.space.child"}
    assert children == {ids[key]: {"via": ["test"], "order": f"{n:03d}"} for n, key in
                        enumerate(("szczecin", "rostock", "design", "partners", "advisory"), 1)}

    szczecin = state(gateway, ids["szczecin"])
    assert szczecin[("m.room.name", "")] == {"name": "Szczecin"}
    assert szczecin[("m.room.topic", "")] == {"topic": f"Szczecin (PL) · {NAME}"}
    assert szczecin[("m.room.canonical_alias", "")] == {"alias": "#t-szczecin:test"}
    assert gateway.aliases["#t-szczecin:test"] == ids["szczecin"]
    restricted = {"join_rule": "restricted",
                  "allow": [{"type": "m.room_membership", "room_id": space_id}]}
    for key in ("szczecin", "rostock", "design"):
        assert state(gateway, ids[key])[("m.room.join_rules", "")] == restricted
    for key in ("partners", "advisory"):
        assert state(gateway, ids[key])[("m.room.join_rules", "")] == {"join_rule": "invite"}
    assert state(gateway, ids["partners"])[("m.room.topic", "")] == {
        "topic": f"Partner organisations of {NAME}"}
    assert state(gateway, ids["advisory"])[("m.room.topic", "")] == {
        "topic": f"Advisory requests to {NAME}"}
    assert state(gateway, ids["design"])[("m.room.topic", "")] == {
        "topic": f"Design & Media · {NAME}"}
    for key in ("szczecin", "rostock", "design", "partners", "advisory"):
        room = state(gateway, ids[key])
        assert room[("m.room.guest_access", "")] == {"guest_access": "forbidden"}
        assert room[("m.space.parent", space_id)] == {"via": ["test"], "canonical": True}

    known = await recorded(deps)
    assert {key: r.room_id for key, r in known.items()} == ids
    assert known["szczecin"].alias == "#t-szczecin:test" and known["space"].alias == "#t:test"
    async with deps.db.session() as session:
        settings = RoomSettingsService(session)
        szn, ros = await settings.get(ids["szczecin"]), await settings.get(ids["rostock"])
        partners = await settings.get(ids["partners"])
        assert szn is not None and (szn.language, szn.timezone) == ("pl", "Europe/Warsaw")
        assert ros is not None and (ros.language, ros.timezone) == ("de", "Europe/Berlin")
        assert partners is not None and (partners.language, partners.timezone) == ("en", None)
        assert await settings.get(ids["design"]) is None
        assert await settings.get(ids["advisory"]) is None


async def test_power_levels_and_invites_on_a_first_run(deps: Deps,
                                                        gateway: FakeGateway) -> None:
    ids = {o.spec.key: o.room_id for o in await Provisioner(deps).run()}
    for room_id in ids.values():  # the bot created them: a room-version-12 creator
        assert state(gateway, room_id)[("m.room.power_levels", "")] == {"users": {COORD: 50}}
    assert sorted(gateway.invited) == sorted(
        (ids[key], COORD) for key in ("space", "partners", "advisory"))


async def test_a_second_run_changes_nothing(deps: Deps, gateway: FakeGateway) -> None:
    first = await Provisioner(deps).run()
    for room_id, mxid in gateway.invited:  # the coordinator joined the Space, not the rest
        set_member(gateway, room_id, mxid, "join" if room_id == first[0].room_id else "invite")
    puts, created, invited = len(gateway.state_puts), len(gateway.created), len(gateway.invited)

    second = await Provisioner(deps).run()
    assert [(o.room_id, o.action, o.changes) for o in second] == [
        (o.room_id, "unchanged", []) for o in first]
    assert len(gateway.state_puts) == puts, gateway.state_puts[puts:]
    assert (len(gateway.created), len(gateway.invited)) == (created, invited)
    assert {r.room_id for r in (await recorded(deps)).values()} == {o.room_id for o in first}


async def test_a_configured_room_is_adopted_and_keeps_its_name_and_topic(
        make, gateway: FakeGateway) -> None:  # noqa: ANN001
    foreign = "!theirs:elsewhere"
    gateway.aliases["#design:elsewhere"] = foreign
    gateway.state[foreign] = {
        ("m.room.create", ""): {"type": "m.room.create", "state_key": "",
                                "sender": "@owner:elsewhere", "content": {"room_version": "10"}},
        ("m.room.name", ""): {"type": "m.room.name", "state_key": "",
                              "content": {"name": "Their design room"}},
        ("m.room.topic", ""): {"type": "m.room.topic", "state_key": "",
                               "content": {"topic": "Theirs"}},
        ("m.room.power_levels", ""): {
            "type": "m.room.power_levels", "state_key": "",
            "content": {"users": {"@owner:elsewhere": 100, COORD: 100, "@mod:elsewhere": 75},
                        "ban": 50}},
    }
    design = {k: v for k, v in TOPICS["design"].items() if k != "alias"}
    deps = make(config(topics=[{**design, "room": "#design:elsewhere"}]))

    outcomes = by_key(await Provisioner(deps).run())
    assert (outcomes["design"].room_id, outcomes["design"].action) == (foreign, "adopted")
    assert foreign in gateway.joined
    puts = {(etype, key) for room, etype, key, _c in gateway.state_puts if room == foreign}
    assert ("m.room.name", "") not in puts and ("m.room.topic", "") not in puts
    theirs = state(gateway, foreign)
    assert theirs[("m.room.name", "")] == {"name": "Their design room"}
    assert theirs[("m.room.topic", "")] == {"topic": "Theirs"}
    assert ("m.room.canonical_alias", "") not in theirs
    assert theirs[("m.room.join_rules", "")]["join_rule"] == "restricted"
    assert theirs[("m.room.power_levels", "")] == {  # the bot raised, nobody lowered
        "users": {"@owner:elsewhere": 100, COORD: 100, "@mod:elsewhere": 75, BOT: 100},
        "ban": 50}
    space_id = outcomes["space"].room_id
    assert space_id is not None
    assert state(gateway, space_id)[("m.space.child", foreign)] == {
        "via": ["elsewhere", "test"], "order": "003"}
    assert (await recorded(deps))["design"].alias == "#design:elsewhere"

    again = by_key(await Provisioner(deps).run())
    assert (again["design"].room_id, again["design"].action) == (foreign, "unchanged")


def created_by(sender: str, version: str = "10") -> dict[tuple[str, str], dict[str, Any]]:
    """A room's `m.room.create`, sent by `sender`."""
    return {("m.room.create", ""): {"type": "m.room.create", "state_key": "", "sender": sender,
                                    "content": {"room_version": version}}}


async def test_an_existing_alias_is_adopted_and_its_members_imported_without_welcomes(
        deps: Deps, gateway: FakeGateway) -> None:
    existing = "!old-rostock:test"  # the bot made it once (its record was lost since)
    gateway.aliases["#t-rostock:test"] = existing
    gateway.members[existing] = {"@ala:test": "Ala", "@bob:test": None}
    gateway.state[existing] = {**created_by(BOT), ("m.room.name", ""): {
        "type": "m.room.name", "state_key": "", "content": {"name": "Old name"}}}

    outcomes = by_key(await Provisioner(deps).run())
    assert (outcomes["rostock"].room_id, outcomes["rostock"].action) == (existing, "adopted")
    assert "name" in outcomes["rostock"].changes
    assert state(gateway, existing)[("m.room.name", "")] == {"name": "Rostock"}
    assert state(gateway, existing)[("m.room.canonical_alias", "")] == {
        "alias": "#t-rostock:test"}
    async with deps.db.session() as session:
        stays = (await session.scalars(select(RoomMembership).where(
            RoomMembership.room_id == existing))).all()
        assert sorted((s.mxid, s.imported, s.until) for s in stays) == [
            ("@ala:test", True, None), ("@bob:test", True, None)]  # the bot itself is not
        assert (await session.scalars(select(PendingWelcome))).all() == []
    assert gateway.sent == []


def test_power_levels_raise_to_the_wanted_level_and_never_lower() -> None:
    current = {"users": {BOT: 50, COORD: 100, "@x:test": 75}, "events_default": 0}
    assert merged_power_levels(current, BOT, (COORD, "@new:test"), set()) == {
        "users": {BOT: 100, COORD: 100, "@x:test": 75, "@new:test": 50},
        "events_default": 0}
    assert merged_power_levels({}, BOT, (COORD, BOT), {BOT, COORD}) == {"users": {}}
    assert merged_power_levels({"users": {COORD: 20}}, BOT, (COORD,), {BOT}) == {
        "users": {COORD: 50}}


async def test_a_room_that_refuses_fails_and_the_others_still_provision(
        deps: Deps, gateway: FakeGateway) -> None:
    gateway.aliases["#t-rostock:test"] = "!banned:test"
    gateway.refuse.add("!banned:test")
    outcomes = by_key(await Provisioner(deps).run())
    assert outcomes["rostock"].failed and "M_FORBIDDEN" in (outcomes["rostock"].error or "")
    assert outcomes["rostock"].line().split()[:4] == ["location", "rostock", "-", "failed"]
    assert [o.action for key, o in outcomes.items() if key != "rostock"] == ["created"] * 5
    assert "rostock" not in await recorded(deps)
    space_id = outcomes["space"].room_id
    assert space_id is not None
    children = {k for t, k in state(gateway, space_id) if t == "m.space.child"}
    assert children == {o.room_id for key, o in outcomes.items()
                        if key not in ("space", "rostock")}


async def test_without_the_space_nothing_else_is_provisioned(deps: Deps,
                                                             gateway: FakeGateway) -> None:
    gateway.aliases["#t:test"] = "!space-gone:test"
    gateway.refuse.add("!space-gone:test")
    [space] = await Provisioner(deps).run()
    assert space.failed and space.spec.kind == "space"
    assert gateway.created == [] and await recorded(deps) == {}


async def test_a_recorded_room_that_is_gone_is_made_again(deps: Deps,
                                                          gateway: FakeGateway) -> None:
    first = by_key(await Provisioner(deps).run())
    old = first["szczecin"].room_id
    assert old is not None
    gateway.refuse.add(old)  # the bot was kicked, and the alias went with the room
    del gateway.aliases["#t-szczecin:test"]
    again = by_key(await Provisioner(deps).run())
    assert again["szczecin"].action == "created" and again["szczecin"].room_id != old
    assert (await recorded(deps))["szczecin"].room_id == again["szczecin"].room_id


def test_the_progress_line_names_kind_key_room_and_action() -> None:
    from rooms.topology import RoomSpec

    line = Outcome(RoomSpec("szczecin", "location", "Szczecin"), "!abc:test", "created",
                   ["power_levels", "space.child"]).line()
    found = re.match(r"^(\w+)\s+(\S+)\s+(!\S+)\s+(\w+)", line)  # as the CLI's readers parse it
    assert found is not None
    assert found.groups() == ("location", "szczecin", "!abc:test", "created")
    assert line.endswith("(power_levels, space.child)")


async def test_at_start_every_provisioned_room_has_its_members_imported(
        deps: Deps, gateway: FakeGateway) -> None:
    ids = {o.spec.key: o.room_id for o in await Provisioner(deps).run()}
    szczecin, rostock = ids["szczecin"], ids["rostock"]
    assert szczecin is not None and rostock is not None
    gateway.members[szczecin]["@ala:test"] = "Ala"
    gateway.members[rostock]["@bob:test"] = None
    gateway.refuse.add(rostock)  # a room that cannot be read does not stop the others
    await Provisioner(deps).import_all()
    async with deps.db.session() as session:
        open_stays = (await session.scalars(select(RoomMembership.mxid).where(
            RoomMembership.until.is_(None)))).all()
    assert open_stays == ["@ala:test"]


async def test_provision_command_reports_each_room(deps: Deps, gateway: FakeGateway) -> None:
    driver = Driver(make_dispatcher(deps), gateway)
    [denied] = await driver.send("!provision", sender="@ala:test")
    assert denied.body == "⚠️ Only coordinators may use this command."
    assert gateway.created == []
    [out] = await driver.send("!provision", sender=COORD)
    assert out.body.startswith("Provisioning finished: 6 created, 0 adopted, 0 updated, "
                               "0 unchanged, 0 failed.")
    assert "\nSzczecin: created (power_levels, space.child)" in out.body
    assert "<li>Design &amp; Media: <b>created</b>" in (out.html or "")
    [again] = await driver.send("!provision", sender=COORD)
    assert "0 created" in again.body


async def test_provision_without_a_network_says_so(make, gateway: FakeGateway) -> None:  # noqa: ANN001
    driver = Driver(make_dispatcher(make(base_config())), gateway)
    [out] = await driver.send("!provision", sender=COORD)
    assert "No network is configured yet" in out.body
    assert gateway.created == []


# -- alias squatting ---------------------------------------------------------------------------

SQUAT, MALLORY = "!squat:test", "@mallory:test"


def squat(gateway: FakeGateway, alias: str = "#t-design:test") -> None:
    """Someone created a room under one of the configured aliases before the bot did, and
    gave themselves and the bot power 100 there."""
    gateway.aliases[alias] = SQUAT
    gateway.members[SQUAT] = {MALLORY: "Mallory"}
    gateway.state[SQUAT] = {**created_by(MALLORY), ("m.room.power_levels", ""): {
        "type": "m.room.power_levels", "state_key": "",
        "content": {"users": {MALLORY: 100, BOT: 100}}}}
    gateway.power[(SQUAT, MALLORY)] = gateway.power[(SQUAT, BOT)] = 100


async def test_a_room_someone_else_made_under_our_alias_is_not_adopted(
        deps: Deps, gateway: FakeGateway) -> None:
    squat(gateway)
    outcomes = by_key(await Provisioner(deps).run())
    design = outcomes["design"]
    assert design.failed and design.room_id is None
    assert "#t-design:test" in (design.error or "") and "room:" in (design.error or "")
    assert [o.action for key, o in outcomes.items() if key != "design"] == ["created"] * 5
    assert "design" not in await recorded(deps)
    assert SQUAT not in gateway.joined  # its state was readable: no need to go in
    assert [put for put in gateway.state_puts if put[0] == SQUAT] == []
    assert [inv for inv in gateway.invited if inv[0] == SQUAT] == []
    space_id = outcomes["space"].room_id
    assert space_id is not None and ("m.space.child", SQUAT) not in state(gateway, space_id)
    async with deps.db.session() as session:
        assert (await session.scalars(select(RoomMembership).where(
            RoomMembership.room_id == SQUAT))).all() == []
    again = by_key(await Provisioner(deps).run())  # still refused, every time
    assert again["design"].failed and "design" not in await recorded(deps)


async def test_a_squatted_room_closed_to_outsiders_is_looked_into_and_left(
        deps: Deps, gateway: FakeGateway) -> None:
    from bot.errors import GatewayError

    squat(gateway, "#t-rostock:test")
    readable = gateway.room_state

    async def members_only(room_id: str) -> list[dict[str, Any]]:
        if room_id == SQUAT and BOT not in gateway.members.get(SQUAT, {}):
            raise GatewayError("room_state: M_FORBIDDEN", "M_FORBIDDEN", 403)
        return await readable(room_id)

    gateway.room_state = members_only  # type: ignore[method-assign]
    outcomes = by_key(await Provisioner(deps).run())
    assert outcomes["rostock"].failed and "#t-rostock:test" in (outcomes["rostock"].error or "")
    assert SQUAT in gateway.joined and SQUAT in gateway.left  # went in to look, and out again
    assert [put for put in gateway.state_puts if put[0] == SQUAT] == []
    assert "rostock" not in await recorded(deps)


async def test_a_squatted_space_stops_provisioning(deps: Deps, gateway: FakeGateway) -> None:
    squat(gateway, "#t:test")
    [space] = await Provisioner(deps).run()
    assert space.failed and "#t:test" in (space.error or "")
    assert gateway.created == [] and await recorded(deps) == {}


async def test_a_squatted_room_named_in_the_config_is_adopted(make, gateway: FakeGateway
                                                              ) -> None:  # noqa: ANN001
    squat(gateway, "#design:elsewhere")
    design = {k: v for k, v in TOPICS["design"].items() if k != "alias"}
    deps = make(config(topics=[{**design, "room": "#design:elsewhere"}]))
    outcomes = by_key(await Provisioner(deps).run())
    assert (outcomes["design"].action, outcomes["design"].room_id) == ("adopted", SQUAT)


async def test_provision_reports_the_squatted_alias_and_the_squatter_is_no_coordinator(
        deps: Deps, gateway: FakeGateway) -> None:
    squat(gateway)
    driver = Driver(make_dispatcher(deps), gateway)
    [out] = await driver.send("!provision", sender=COORD)
    assert "1 failed" in out.body
    line = next(line for line in out.body.splitlines() if line.startswith("Design & Media:"))
    assert "failed" in line and "#t-design:test" in line
    for command in ("!announce Hello everyone", "!forum add 2027-05-14 10:00 szczecin X",
                    "!provision"):
        [denied] = await driver.send(command, sender=MALLORY, room_id=SQUAT)
        assert denied.body == "⚠️ Only coordinators may use this command.", command
