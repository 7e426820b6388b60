"""The network in Matrix on a real Synapse: provisioning, adoption, welcomes, membership."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest

from tests.integration.harness import ROOT, is_joined, reply_target


def network(prefix: str, **overrides: Any) -> dict[str, Any]:
    net = {
        "name": "Test Clusters",
        "space": {"alias": f"{prefix}", "topic": "test space"},
        "locations": [
            {"key": "szczecin", "name": "Szczecin", "country": "PL", "language": "pl",
             "timezone": "Europe/Warsaw", "alias": f"{prefix}-szczecin"},
            {"key": "rostock", "name": "Rostock", "country": "DE", "language": "de",
             "timezone": "Europe/Berlin", "alias": f"{prefix}-rostock"},
        ],
        "topics": [
            {"key": "design", "name": "Design & Media", "alias": f"{prefix}-design",
             "tags": ["design", "video"]},
            {"key": "games", "name": "Games", "alias": f"{prefix}-games", "tags": ["games"]},
        ],
        "partners_room": {"alias": f"{prefix}-partners", "name": "Partners", "language": "en"},
        "welcome_delay": 1,
    }
    net.update(overrides)
    return net


class Api:
    """Plain client-server API calls for checking what the homeserver holds."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base = base_url + "/_matrix/client/v3"
        self.headers = {"Authorization": f"Bearer {token}"}

    async def get(self, path: str) -> tuple[int, Any]:
        async with aiohttp.ClientSession(headers=self.headers) as http, http.get(
                self.base + path) as resp:
            return resp.status, await resp.json()

    async def state(self, room_id: str) -> list[dict[str, Any]]:
        status, body = await self.get(f"/rooms/{quote(room_id)}/state")
        assert status == 200, body
        return body

    async def resolve(self, alias: str) -> str | None:
        status, body = await self.get(f"/directory/room/{quote(alias)}")
        return body["room_id"] if status == 200 else None

    async def event_count(self, room_id: str) -> int:
        status, body = await self.get(f"/rooms/{quote(room_id)}/messages?dir=b&limit=1000")
        assert status == 200, body
        return len(body["chunk"])


def provision_cli(config_path) -> tuple[int, str]:  # noqa: ANN001
    result = subprocess.run(
        [sys.executable, "-m", "bot", "provision", "--config", str(config_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=180)
    return result.returncode, result.stdout + result.stderr


def room_ids(output: str) -> dict[str, str]:
    found = {}
    for line in output.splitlines():
        m = re.match(r"^(\w+)\s+(\S+)\s+(!\S+)\s+(\w+)", line)
        if m:
            found[f"{m.group(1)}:{m.group(2)}"] = m.group(3)
    return found


@pytest.fixture
def prefix() -> str:
    return "n" + uuid.uuid4().hex[:8]


@pytest.mark.one_database
async def test_provisioning_is_idempotent(register, bot_factory, synapse, prefix) -> None:
    account = await register("sbcc")
    coord = await register("coord")
    bot = await bot_factory(account, start=False, network=network(prefix),
                            coordinators=[coord.user_id])
    code, first = provision_cli(bot.config_path)
    assert code == 0, first
    ids = room_ids(first)
    assert len(ids) == 6, first  # space, 2 locations, 2 topics, partners
    assert first.count(" created") == 6

    api = Api(synapse.base_url, account.access_token)
    space_id = ids["space:space"]
    counts_before = {rid: await api.event_count(rid) for rid in ids.values()}

    code, second = provision_cli(bot.config_path)
    assert code == 0, second
    assert room_ids(second) == ids
    assert second.count(" unchanged") == 6, second
    assert {rid: await api.event_count(rid) for rid in ids.values()} == counts_before

    space_state = await api.state(space_id)
    children = [e["state_key"] for e in space_state if e["type"] == "m.space.child"]
    assert sorted(children) == sorted(rid for key, rid in ids.items() if key != "space:space")
    create = next(e for e in space_state if e["type"] == "m.room.create")
    assert create["content"].get("type") == "m.space"

    szczecin = ids["location:szczecin"]
    assert await api.resolve(f"#{prefix}-szczecin:{synapse.server_name}") == szczecin
    room_state = {(e["type"], e["state_key"]): e["content"] for e in await api.state(szczecin)}
    assert room_state[("m.room.join_rules", "")] == {
        "join_rule": "restricted", "allow": [{"type": "m.room_membership", "room_id": space_id}]}
    assert room_state[("m.room.guest_access", "")] == {"guest_access": "forbidden"}
    assert room_state[("m.space.parent", space_id)]["canonical"] is True
    assert room_state[("m.room.power_levels", "")]["users"].get(coord.user_id) == 50
    partners = {(e["type"], e["state_key"]): e["content"]
                for e in await api.state(ids["partners:partners"])}
    assert partners[("m.room.join_rules", "")] == {"join_rule": "invite"}
    assert partners[("m.room.member", coord.user_id)]["membership"] == "invite"


@pytest.mark.one_database
async def test_a_room_named_in_the_config_is_adopted(register, member_factory, bot_factory,
                                                   synapse, prefix) -> None:
    """Someone else's room is adopted only when the config names it (`room:`); under a
    configured alias alone it would be refused (see test_trust)."""
    account = await register("sbcc")
    owner = await member_factory(await register("owner"))
    existing = await owner.create_room(invite=[], name="Rostock already",
                                       alias=f"{prefix}-rostock-own")
    await owner.client.room_put_state(existing, "m.room.join_rules", {"join_rule": "public"})
    net = network(prefix)
    net["locations"][1] = {**net["locations"][1], "alias": None,
                           "room": f"#{prefix}-rostock-own:{synapse.server_name}"}
    del net["locations"][1]["alias"]
    bot = await bot_factory(account, start=False, network=net)
    code, out = provision_cli(bot.config_path)
    assert code == 0, out
    ids = room_ids(out)
    assert ids["location:rostock"] == existing, out
    assert "adopted" in next(line for line in out.splitlines() if existing in line)
    assert out.count(" created") == 5
    code, again = provision_cli(bot.config_path)
    assert room_ids(again)["location:rostock"] == existing


async def test_join_welcome_and_members(register, member_factory, bot_factory, synapse,
                                        prefix, translator, bot_sql) -> None:
    account = await register("sbcc")
    coord_account = await register("coord")
    bot = await bot_factory(account, start=False, network=network(prefix),
                            coordinators=[coord_account.user_id])
    code, out = provision_cli(bot.config_path)
    assert code == 0, out
    ids = room_ids(out)
    await bot.start()

    ala = await member_factory(await register("ala"))
    await ala.join(ids["space:space"])
    await ala.join(ids["location:szczecin"])
    welcome = (await ala.wait_for(
        lambda e: e.get("room_id") == ids["location:szczecin"]
        and e.get("sender") == account.user_id and e.get("type") == "m.room.message"))[0]
    body = welcome["content"]["body"]
    assert welcome["content"]["m.mentions"] == {"user_ids": [ala.user_id]}
    polish = translator.ngettext_template(
        "Welcome to %(room)s, %(names)s! Tell the network who you are with %(intro)s, "
        "and what you offer and need with %(offer)s and %(need)s. %(help)s shows "
        "everything I can do.", "", 1, "pl")
    assert body.startswith(polish.split("%(room)s")[0]) and "Szczecin" in body
    await bot.wait_log(f"welcomed 1 member(s) in {ids['location:szczecin']}")  # committed
    await ala.settle(ids["location:szczecin"])  # the join and all before it are handled …
    assert await bot_sql("SELECT count(*) FROM pending_welcomes") == [(0,)]  # … nothing due
    welcomes = [e for e in ala.events if e.get("room_id") == ids["location:szczecin"]
                and e.get("sender") == account.user_id and e["type"] == "m.room.message"
                and reply_target(e) is None]  # not the answers to the sentinels
    assert len(welcomes) == 1

    coord = await member_factory(coord_account)
    dm = await coord.create_room(invite=[account.user_id])
    await coord.wait_for(is_joined(account.user_id))
    listing = await coord.ask(dm, "!members szczecin")
    assert ala.user_id in listing["content"]["body"]
    assert "1" in listing["content"]["body"]

    await ala.client.room_leave(ids["location:szczecin"])
    await bot.wait_log(f"{ala.user_id} left")
    listing = await coord.ask(dm, "!members szczecin")
    assert ala.user_id not in listing["content"]["body"]
    await ala.join(ids["location:szczecin"])
    await bot.wait_log(f"{ala.user_id} joined {ids['location:szczecin']}")
    await ala.settle(ids["location:szczecin"])
    assert await bot_sql("SELECT count(*) FROM pending_welcomes") == [(0,)]
    welcomes = [e for e in ala.events if e.get("room_id") == ids["location:szczecin"]
                and e.get("sender") == account.user_id and e["type"] == "m.room.message"
                and reply_target(e) is None]  # not the answers to the sentinels
    assert len(welcomes) == 1, "no second welcome on re-joining"
    listing = await coord.ask(dm, "!members szczecin")
    assert ala.user_id in listing["content"]["body"]


@pytest.mark.one_database
async def test_intro_reaches_location_and_matching_topic_room(
        register, member_factory, bot_factory, synapse, prefix) -> None:
    account = await register("sbcc")
    bot = await bot_factory(account, start=False, network=network(prefix))
    code, out = provision_cli(bot.config_path)
    assert code == 0, out
    ids = room_ids(out)
    await bot.start()
    ala = await member_factory(await register("ala"))
    for key in ("space:space", "location:rostock", "topic:design", "topic:games"):
        await ala.join(ids[key])
    dm = await ala.create_room(invite=[account.user_id], is_direct=True)
    await ala.wait_for(is_joined(account.user_id))
    await ala.settle(ids["location:rostock"])  # her joins are recorded: she is a member
    await ala.ask(dm, "set location rostock")
    await ala.ask(dm, "offer 3D, Video editing")
    reply = await ala.ask(dm, "intro Animation studio from <Rostock>")
    assert "Rostock" in reply["content"]["body"]

    def card_in(room_id: str):  # noqa: ANN202
        return lambda e: (e.get("room_id") == room_id and e.get("sender") == account.user_id
                          and "Animation studio" in e.get("content", {}).get("body", ""))

    [card] = await ala.wait_for(card_in(ids["topic:design"]))
    await ala.wait_for(card_in(ids["location:rostock"]))
    assert "&lt;Rostock&gt;" in card["content"]["formatted_body"]
    await ala.settle(dm)  # every card was sent before the answer to !intro
    assert not any(card_in(ids["topic:games"])(e) for e in ala.events)


@pytest.mark.one_database
async def test_provision_command_and_rooms(register, member_factory, bot_factory, synapse,
                                           prefix) -> None:
    account = await register("sbcc")
    coord_account = await register("coord")
    await bot_factory(account, network=network(prefix), coordinators=[coord_account.user_id])
    coord = await member_factory(coord_account)
    dm = await coord.create_room(invite=[account.user_id])
    await coord.wait_for(is_joined(account.user_id))
    reply = await coord.ask(dm, "!provision", timeout=90)
    body = reply["content"]["body"]
    assert body.count("Szczecin") == 1 and "Design & Media" in body
    api = Api(synapse.base_url, account.access_token)
    space = await api.resolve(f"#{prefix}:{synapse.server_name}")
    assert space is not None
    listing = (await coord.ask(dm, "!rooms"))["content"]
    assert f"https://matrix.to/#/%23{prefix}-szczecin:{synapse.server_name}" in listing["body"]
    again = (await coord.ask(dm, "!provision", timeout=90))["content"]["body"]
    assert await api.resolve(f"#{prefix}:{synapse.server_name}") == space
    assert again != body  # the second run reports nothing created
