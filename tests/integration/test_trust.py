"""Trust on a real Synapse, tried as a hostile user and as a careful member would: an
outsider learns nothing about members, a member named in a collaboration decides whether
it is public, a member erases what the network holds about them, and a squatted alias does
not make anyone a coordinator."""

from __future__ import annotations

import asyncio
import json
import uuid

import aiohttp
import pytest

from bot.homeserver import free_port
from tests.integration.harness import is_joined, reply_target
from tests.integration.test_network import network, provision_cli, room_ids


@pytest.fixture
async def net(register, member_factory, bot_factory):  # noqa: ANN001, ANN201
    """A provisioned network with its web side, a coordinator and two members (Ala in
    Szczecin, Bob in Rostock), each with a direct chat with the bot."""
    prefix = "t" + uuid.uuid4().hex[:8]
    account, coord_account = await register("sbcc"), await register("coord")
    port = free_port()
    bot = await bot_factory(
        account, start=False, network=network(prefix), coordinators=[coord_account.user_id],
        web={"listen": f"127.0.0.1:{port}", "public_url": f"http://127.0.0.1:{port}"})
    code, out = provision_cli(bot.config_path)
    assert code == 0, out
    ids = room_ids(out)
    await bot.start()
    people = {}
    for name, place in (("ala", "location:szczecin"), ("bob", "location:rostock")):
        member = await member_factory(await register(name))
        await member.join(ids["space:space"])
        await member.join(ids[place])
        dm = await member.create_room(invite=[account.user_id], is_direct=True)
        await member.wait_for(is_joined(account.user_id))
        member.dm = dm  # type: ignore[attr-defined]
        people[name] = member
    for member in people.values():
        await member.settle(member.dm)  # their joins are recorded by now
    return {"bot": bot, "ids": ids, "account": account, "base": f"http://127.0.0.1:{port}",
            "register": register, "member_factory": member_factory, **people}


async def showcase(net) -> dict:  # noqa: ANN001
    async with aiohttp.ClientSession() as http, http.get(
            f"{net['base']}/showcase.json") as resp:
        assert resp.status == 200
        return await resp.json()


async def showcase_once(net, shows: bool, text: str = "Studio Nord") -> None:  # noqa: ANN001
    """The showcase comes to show (or stop showing) `text`. A command's reply goes out
    before its transaction commits (its transaction id makes a resend after a crash fold
    into it), so a page read the moment the reply arrives may be a few milliseconds early."""
    for _ in range(50):
        if (text in json.dumps(await showcase(net))) == shows:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the showcase {'never' if shows else 'still'} shows {text!r}")


@pytest.mark.one_database
async def test_an_outsider_learns_nothing_about_members(net) -> None:  # noqa: ANN001
    ala = net["ala"]
    await ala.ask(ala.dm, "set org Studio Nord")
    await ala.ask(ala.dm, "offer video, 3d animation")
    await ala.ask(ala.dm, "need funding")
    await ala.ask(ala.dm, "set bio Secret plans for 2027")
    eve = await net["member_factory"](await net["register"]("eve"))  # in no network room
    dm = await eve.create_room(invite=[net["account"].user_id], is_direct=True)
    await eve.wait_for(is_joined(net["account"].user_id))
    for command in (f"profile {ala.user_id}", "find video", "match", "members",
                    f"connect {ala.user_id}"):
        body = (await eve.ask(dm, command))["content"]["body"]
        assert body.startswith("⚠️"), (command, body)
        for secret in ("Studio Nord", "funding", "Secret plans", "video", "3d animation"):
            assert secret not in body, (command, body)
    own = (await eve.ask(dm, "profile"))["content"]["body"]  # her own card is hers to see
    assert eve.user_id in own
    assert "#" in (await eve.ask(dm, "rooms"))["content"]["body"]  # how she finds the network


async def test_a_named_member_decides_whether_a_collaboration_is_public(net) -> None:  # noqa: ANN001
    ala, bob, ids = net["ala"], net["bob"], net["ids"]
    for member in (ala, bob):
        await member.ask(member.dm, "consent showcase on")
        await member.join(ids["location:szczecin"]) if member is bob else None
    await bob.settle(ids["location:szczecin"])
    reply = await ala.ask(ids["location:szczecin"], f"!collab add Baltic Expo with {bob.user_id}")
    number = reply["content"]["body"].split("#", 1)[1].split()[0]
    [request] = await bob.wait_for(
        lambda e: e.get("room_id") == ids["location:szczecin"]
        and e.get("sender") == net["account"].user_id
        and bob.user_id in (e.get("content", {}).get("m.mentions", {}).get("user_ids") or [])
        and "!collab confirm" in e.get("content", {}).get("body", ""))
    assert "Baltic Expo" not in json.dumps(await showcase(net))  # not before Bob confirmed
    hidden = (await bob.ask(bob.dm, f"collab show {number}"))["content"]["body"]
    assert "Baltic Expo" in hidden  # he is named in it: he sees it
    resp = await bob.client.room_send(ids["location:szczecin"], "m.reaction", {
        "m.relates_to": {"rel_type": "m.annotation", "event_id": request["event_id"],
                         "key": "✅"}})
    assert hasattr(resp, "event_id"), resp
    await bob.settle(ids["location:szczecin"])
    assert "Baltic Expo" in json.dumps(await showcase(net))  # everyone confirmed and opted in
    left = (await bob.ask(bob.dm, f"collab leave {number}"))["content"]["body"]
    assert "Baltic Expo" in left
    card = (await ala.ask(ala.dm, f"collab show {number}"))["content"]["body"]
    assert bob.user_id not in card


async def test_forget_me_erases_the_profile_and_the_showcase_entry(net) -> None:  # noqa: ANN001
    ala, bob = net["ala"], net["bob"]
    await ala.ask(ala.dm, "set org Studio Nord")
    await ala.ask(ala.dm, "offer video")
    await ala.ask(ala.dm, "consent showcase on")
    await showcase_once(net, shows=True)
    sent = await ala.say(ala.dm, "mydata")
    [summary] = await ala.wait_for(lambda e: e.get("room_id") == ala.dm
                                   and e.get("content", {}).get("msgtype") == "m.file")
    assert summary["content"]["body"].endswith(".json")
    assert reply_target(summary) is None and sent  # the file itself, in the direct chat
    plan = (await ala.ask(ala.dm, "forget-me"))["content"]["body"]
    assert "!forget-me confirm" in plan
    assert "Studio Nord" in json.dumps(await showcase(net))  # nothing gone before confirming
    await ala.ask(ala.dm, "forget-me confirm")
    await showcase_once(net, shows=False)
    card = (await bob.ask(bob.dm, f"profile {ala.user_id}"))["content"]["body"]
    assert "Studio Nord" not in card and "video" not in card


@pytest.mark.one_database
async def test_a_squatted_alias_makes_nobody_a_coordinator(register, member_factory,
                                                           bot_factory, synapse) -> None:
    """Mallory creates the room a configured alias names before the bot does, and gives
    the bot power 100 there: provisioning refuses the room, names the alias, provisions
    the others, and Mallory's power in her room makes her no coordinator."""
    prefix = "s" + uuid.uuid4().hex[:8]
    account = await register("sbcc")
    mallory = await member_factory(await register("mallory"))
    squat = await mallory.create_room(invite=[account.user_id], name="Design",
                                      alias=f"{prefix}-design",
                                      # she created it (v12: above every level)
                                      power_level_override={"users": {account.user_id: 100}})
    bot = await bot_factory(account, start=False, network=network(prefix))
    code, out = provision_cli(bot.config_path)
    assert code == 1, out
    line = next(line for line in out.splitlines() if line.startswith("topic") and "design" in
                line)
    assert "failed" in line and f"#{prefix}-design" in line, line
    actions = [line.split()[3] for line in out.splitlines()
               if line.split()[:1] in (["space"], ["location"], ["topic"], ["partners"])]
    assert actions.count("created") == 5 and actions.count("failed") == 1, out
    joins = len([e for e in mallory.events if is_joined(account.user_id)(e)])
    await bot.start()  # it looked into her room while provisioning, and left it again
    await mallory.client.room_invite(squat, account.user_id)  # she invites it once more
    await mallory.wait_for(is_joined(account.user_id), count=joins + 1)
    answer = (await mallory.ask(squat, "!announce Mallory rules the network"))["content"]
    assert answer["body"].startswith("⚠️")
    assert "Mallory rules" not in answer["body"]
