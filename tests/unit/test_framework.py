"""The command framework: subcommand groups, flags, converters and the built-in !help,
through the real dispatcher with commands declared here."""

from __future__ import annotations

from typing import Annotated

import pytest

from bot.deps import Deps
from bot.dispatcher import Dispatcher
from bot.errors import BadArgument
from bot.framework import (
    Flag,
    Location,
    Range,
    Ref,
    Registry,
    Rest,
    Switch,
    UserId,
    check,
    command,
    coordinator,
    group,
    subcommands,
)
from bot.i18n import N_
from rooms.topology import RoomSpec
from tests.conftest import network
from tests.fakes import Driver, FakeGateway

THING = N_("“%(value)s” is not an event number.")
calls: list[tuple] = []


@group("thing", help=N_("Upcoming events:"))
async def thing(ctx, number: Annotated[int, Ref(THING)]) -> None:  # noqa: ANN001
    calls.append(("show", number))
    await ctx.reply(f"show {number}")


@thing.command("add", help=N_("Yes"))
@check(coordinator)
async def thing_add(ctx, place: Location, title: Rest, *,  # noqa: ANN001
                    capacity: Annotated[int, Range(1, 50)] | None = None,
                    everywhere: Annotated[bool, Flag("all")] = False) -> None:
    calls.append(("add", place.key, title, capacity, everywhere))
    await ctx.reply(f"added {title}")


@thing.command("switch", help=N_("Maybe"), aliases=("sw",))
async def thing_switch(ctx, on: Switch, who: UserId | None = None) -> None:  # noqa: ANN001
    calls.append(("switch", on, who))
    await ctx.reply("switched")


@group("box", help=N_("No"))
async def box(ctx) -> None:  # noqa: ANN001
    await ctx.reply("the box")


@box.command("open", help=N_("Waiting list"))
async def box_open(ctx) -> None:  # noqa: ANN001
    await ctx.reply("opened")


@pytest.fixture
async def deps(make_deps) -> Deps:  # noqa: ANN001
    return await make_deps(network=network("szczecin", "rostock"))


@pytest.fixture
def driver(deps: Deps, gateway: FakeGateway) -> Driver:
    calls.clear()
    registry = Registry()
    registry.add(thing)
    registry.add(box)
    return Driver(Dispatcher(deps, registry), gateway)


async def test_a_group_runs_its_subcommands_and_its_own_handler(driver: Driver) -> None:
    [out] = await driver.send("!thing #12")
    assert out.body == "show 12"
    await driver.send("!thing sw on @bob:test")
    await driver.send("!thing SWITCH off")
    assert calls[1:] == [("switch", True, "@bob:test"), ("switch", False, None)]
    [out] = await driver.send("!box")
    assert out.body == "the box"
    [out] = await driver.send("!box open")
    assert out.body == "opened"


async def test_an_unknown_subcommand_lists_the_choices(driver: Driver) -> None:
    [out] = await driver.send("!box shut")
    assert "“shut”" in out.body and "open" in out.body
    assert "!box open" in out.body  # the usage lines of the group
    [out] = await driver.send("!thing frobnicate")
    assert "“frobnicate” is not an event number." in out.body
    assert "!thing add <location> <title…>" in out.body and "!thing switch" in out.body
    assert calls == []


async def test_flags_are_taken_anywhere_in_the_line(driver: Driver) -> None:
    await driver.send("!thing add rostock --capacity 30 Summer forum --all",
                      sender="@coord:test")
    await driver.send("!thing add Szczecin Winter", sender="@coord:test")
    assert calls == [("add", "rostock", "Summer forum", 30, True),
                     ("add", "szczecin", "Winter", None, False)]


async def test_flag_values_are_converted_and_bounded(driver: Driver) -> None:
    [out] = await driver.send("!thing add rostock Forum --capacity 99", sender="@coord:test")
    assert "Choose a number from 1 to 50." in out.body
    [out] = await driver.send("!thing add rostock Forum --capacity", sender="@coord:test")
    assert "--capacity needs a value." in out.body
    [out] = await driver.send("!thing add atlantis Forum", sender="@coord:test")
    assert "“atlantis” is not one of our locations" in out.body
    assert calls == []


async def test_a_subcommands_checks_are_declared_and_enforced(driver: Driver) -> None:
    [out] = await driver.send("!thing add rostock Forum", sender="@ala:test")
    assert out.body == "⚠️ Only coordinators may use this command."
    assert calls == []


async def test_help_lists_each_subcommand_the_sender_may_use(driver: Driver) -> None:
    [member] = await driver.send("!help", sender="@ala:test")
    assert "!thing <number>" in member.body and "!thing switch <on|off> [who]" in member.body
    assert "!thing add" not in member.body
    assert "!box open" in member.body
    [coord] = await driver.send("!help", sender="@coord:test")
    assert "!thing add <location> <title…> [--capacity <capacity>] [--all]" in coord.body
    [one] = await driver.send("!help thing switch")
    assert one.body.splitlines()[0] == "!thing switch <on|off> [who]"
    assert "!thing sw" in one.body
    [whole] = await driver.send("!help thing", sender="@coord:test")
    assert "!thing add" in whole.body and "!thing switch" in whole.body


async def test_refs_accept_a_hash_and_refuse_what_no_column_holds() -> None:
    ref = Ref(THING)
    assert await ref.convert(None, "#7") == 7  # type: ignore[arg-type]
    for bad in ("0", "x", "99999999999", "²", "-3"):
        with pytest.raises(BadArgument):
            await ref.convert(None, bad)  # type: ignore[arg-type]


def test_a_flag_needs_a_default() -> None:
    with pytest.raises(TypeError):
        @command("bad", help="bad")
        async def bad(ctx, *, size: int) -> None:  # noqa: ANN001
            pass


def test_a_location_is_its_spec(deps: Deps) -> None:
    spec = deps.config.network.find_location("ROSTOCK")
    assert isinstance(spec, RoomSpec) and spec.key == "rostock"


async def test_a_group_of_subcommands_only_says_what_is_missing(deps: Deps,
                                                                gateway: FakeGateway) -> None:
    tools = subcommands("tools", help=N_("No"), checks=(coordinator,))

    @tools.command("hammer", help=N_("Yes"))
    async def hammer(ctx) -> None:  # noqa: ANN001
        await ctx.reply("bang")

    registry = Registry()
    registry.add(tools)
    driver = Driver(Dispatcher(deps, registry), gateway)
    [out] = await driver.send("!tools", sender="@coord:test")
    assert "Something is missing: hammer." in out.body and "!tools hammer" in out.body
    [out] = await driver.send("!tools hammer", sender="@coord:test")
    assert out.body == "bang"
    [out] = await driver.send("!tools hammer", sender="@ala:test")  # the group's check
    assert out.body == "⚠️ Only coordinators may use this command."
