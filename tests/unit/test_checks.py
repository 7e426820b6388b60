"""The coordinator check, with room power levels from the fake gateway."""

from __future__ import annotations

import math

import pytest

from bot.app import wire
from bot.db import Database
from bot.deps import Deps
from bot.dispatcher import Dispatcher
from bot.framework import Registry, check, command, coordinator
from bot.i18n import N_, Translator
from tests.conftest import LOCATIONS, Clock, base_config, network_deps
from tests.fakes import Driver, FakeGateway

ROOM = "!net:test"  # the network's Szczecin room
OTHER = "!someones:test"  # a room someone created and invited the bot to


@pytest.fixture
async def deps(db: Database, gateway: FakeGateway, translator: Translator,
               clock: Clock) -> Deps:
    network = {"space": {"alias": "t"}, "locations": [LOCATIONS["szczecin"]]}
    return await network_deps(db, gateway, translator, clock, base_config(network=network),
                              {"space": "!space:test", "location:szczecin": ROOM})


@pytest.fixture
def coord_driver(deps: Deps, gateway: FakeGateway) -> Driver:
    registry = Registry()  # with the built-in !help

    @command("secret", help=N_("List the commands you may use, or explain one."))
    @check(coordinator)
    async def secret(ctx) -> None:  # noqa: ANN001
        await ctx.reply("granted")

    registry.add(secret)
    return Driver(Dispatcher(deps, registry, wire(deps).services), gateway)


async def test_listed_coordinator_is_allowed_anywhere(coord_driver: Driver) -> None:
    [out] = await coord_driver.send("!secret", sender="@coord:test", room_id=ROOM)
    assert out.body == "granted"


async def test_power_50_counts_where_the_bot_administers(coord_driver: Driver,
                                                         gateway: FakeGateway) -> None:
    gateway.power[(ROOM, gateway.user_id)] = math.inf  # the bot created the room (v12)
    gateway.power[(ROOM, "@mod:test")] = 50
    [out] = await coord_driver.send("!secret", sender="@mod:test", room_id=ROOM)
    assert out.body == "granted"
    [denied] = await coord_driver.send("!secret", sender="@ala:test", room_id=ROOM)
    # the room speaks Polish
    assert denied.body == "⚠️ " + Translator().gettext("Only coordinators may use this command.",
                                                       "pl")


async def test_power_in_a_room_outside_the_network_does_not_count(
        coord_driver: Driver, gateway: FakeGateway) -> None:
    gateway.power[(OTHER, gateway.user_id)] = 100  # Eve gave the bot power 100 …
    gateway.power[(OTHER, "@eve:test")] = 100  # … and herself
    [out] = await coord_driver.send("!secret", sender="@eve:test", room_id=OTHER)
    assert out.body != "granted" and out.body.startswith("⚠️")


async def test_own_room_creator_is_not_a_coordinator(coord_driver: Driver,
                                                     gateway: FakeGateway) -> None:
    gateway.power[(ROOM, "@ala:test")] = math.inf  # ala created the room …
    gateway.power[(ROOM, gateway.user_id)] = 0     # … and the bot has no power there
    [out] = await coord_driver.send("!secret", sender="@ala:test", room_id=ROOM)
    assert out.body != "granted"


async def test_help_hides_what_the_sender_may_not_use(coord_driver: Driver) -> None:
    [member_help] = await coord_driver.send("!help", sender="@ala:test")
    assert "!secret" not in member_help.body
    [coord_help] = await coord_driver.send("!help", sender="@coord:test")
    assert "!secret" in coord_help.body
