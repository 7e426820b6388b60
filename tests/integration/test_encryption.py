"""End-to-end encryption on a real Synapse, with members whose clients encrypt as Element's
do (matrix-nio with vodozemac): direct chats, restarts, kill -9, late keys, newcomers,
reactions."""

from __future__ import annotations

import asyncio
import stat
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from nio import RoomPreset

from tests.integration.harness import Member, is_joined, reply_target
from tests.integration.test_exactly_once import answered_once, burst, pong_numbers
from tests.integration.test_network import network, provision_cli, room_ids

ENCRYPTION = {"type": "m.room.encryption", "state_key": "",
              "content": {"algorithm": "m.megolm.v1.aes-sha2"}}


async def direct_chat(member: Member, bot_id: str) -> str:
    """A direct chat opened the way Element opens one: marked direct, encrypted from the
    first event, the bot invited."""
    room = await member.create_room(invite=[bot_id], is_direct=True,
                                    preset=RoomPreset.trusted_private_chat,
                                    initial_state=[ENCRYPTION], name="")
    await member.wait_for(joined_in(room, bot_id))
    return room


def joined_in(room: str, user_id: str) -> Callable[[dict[str, Any]], bool]:
    return lambda e: e.get("room_id") == room and is_joined(user_id)(e)


async def encrypted_room(member: Member, bot_id: str) -> str:
    """A private room encrypted from the start, the bot in it."""
    room = await member.create_room(invite=[bot_id], preset=RoomPreset.private_chat,
                                    initial_state=[ENCRYPTION])
    await member.wait_for(joined_in(room, bot_id))
    return room


def is_encrypted_reply(event: dict[str, Any], body: str) -> bool:
    """A reply the member's client had to decrypt (it came as m.room.encrypted)."""
    return event["_decrypted"] and event["content"].get("body") == body


@pytest.mark.one_database
async def test_a_direct_chat_from_an_encrypting_client_is_answered_encrypted(
        register, member_factory, bot_factory) -> None:
    account = await register("sbcc")
    bot = await bot_factory(account)
    ala = await member_factory(await register("ala"), encrypting=True)
    room = await direct_chat(ala, account.user_id)

    reply = await ala.ask(room, "ping")  # a direct chat needs no prefix
    assert is_encrypted_reply(reply, "pong"), reply
    helped = await ala.ask(room, "!help")
    assert helped["_decrypted"] and "!ping" in helped["content"]["body"]
    # what the homeserver holds is ciphertext only
    status, raw = await _get(ala, f"/rooms/{quote(room)}/event/{quote(reply['event_id'])}")
    assert status == 200 and raw["type"] == "m.room.encrypted", raw
    assert "pong" not in str(raw["content"])
    assert "encryption on: device" in bot.new_log()


@pytest.mark.one_database
async def test_interactive_verification_is_declined_not_left_waiting(
        register, member_factory, bot_factory) -> None:
    account = await register("sbcc")
    bot = await bot_factory(account)
    ala = await member_factory(await register("ala"), encrypting=True)
    room = await direct_chat(ala, account.user_id)
    assert is_encrypted_reply(await ala.ask(room, "ping"), "pong")
    device = ala.client.device_store[account.user_id][account.device_id]
    await ala.client.start_key_verification(device)
    [transaction] = list(ala.client.key_verifications)
    deadline = asyncio.get_running_loop().time() + 30
    while transaction in ala.client.key_verifications:  # nio drops it when cancelled
        assert asyncio.get_running_loop().time() < deadline, "never declined"
        await asyncio.sleep(0.1)
    await bot.wait_log("declining a verification request")


@pytest.mark.one_database
async def test_a_restart_keeps_the_device_its_keys_and_older_sessions(
        register, member_factory, bot_factory) -> None:
    account = await register("sbcc")
    bot = await bot_factory(account)
    ala = await member_factory(await register("ala"), encrypting=True)
    room = await direct_chat(ala, account.user_id)
    assert is_encrypted_reply(await ala.ask(room, "ping one"), "pong one")
    store = Path(bot.workdir / "crypto")
    keys_before = await _device_keys(ala, account.user_id)
    modes = _modes(store)  # private from the first start, not only once reopened
    assert modes.pop(".") == 0o700
    assert modes and set(modes.values()) == {0o600}, modes

    assert await bot.terminate() == 0
    await bot.start()
    # ala's client goes on with the same room key it shared before the restart: only a
    # bot that kept its inbound sessions can read this
    assert is_encrypted_reply(await ala.ask(room, "ping two"), "pong two")
    bot.kill()
    await bot.proc.wait()
    await bot.start()
    assert is_encrypted_reply(await ala.ask(room, "ping three"), "pong three")

    assert await _device_keys(ala, account.user_id) == keys_before, "one device, same keys"
    modes = _modes(store)
    assert modes.pop(".") == 0o700
    assert modes and set(modes.values()) == {0o600}, modes


def _modes(directory: Path) -> dict[str, int]:
    """Permission bits of a directory (".") and the files in it."""
    found = {".": stat.S_IMODE(directory.stat().st_mode)}
    for path in directory.iterdir():
        found[path.name] = stat.S_IMODE(path.stat().st_mode)
    return found


async def test_kill_9_mid_burst_of_encrypted_commands(register, member_factory,
                                                      bot_factory) -> None:
    account = await register("sbcc")
    bot = await bot_factory(account)
    ala = await member_factory(await register("ala"), encrypting=True)
    room = await encrypted_room(ala, account.user_id)

    sent = await burst(ala, room, account.user_id, bot.kill)
    await bot.proc.wait()
    assert len(pong_numbers(ala, account.user_id)) < len(sent)  # killed mid-burst
    await bot.start()
    await answered_once(ala, room, account.user_id, sent)
    replies = [e for e in ala.events if reply_target(e) in sent]
    assert all(e["_decrypted"] for e in replies)


@pytest.mark.one_database
async def test_a_member_who_joins_later_reads_what_the_bot_says(
        register, member_factory, bot_factory) -> None:
    account = await register("sbcc")
    await bot_factory(account)
    ala = await member_factory(await register("ala"), encrypting=True)
    bob_account = await register("bob")
    room = await encrypted_room(ala, account.user_id)
    assert is_encrypted_reply(await ala.ask(room, "!ping before"), "pong before")

    await ala.client.room_invite(room, bob_account.user_id)
    bob = await member_factory(bob_account, encrypting=True)
    await bob.join(room)
    await ala.wait_for(joined_in(room, bob.user_id))
    # the bot's next message is encrypted for bob's device too: bob reads it, and so does
    # the answer to his own command
    first = await ala.say(room, "!ping after")
    [seen] = await bob.wait_for(lambda e: reply_target(e) == first)
    assert is_encrypted_reply(seen, "pong after"), seen
    assert is_encrypted_reply(await bob.ask(room, "!ping bob"), "pong bob")


async def test_a_message_whose_key_comes_late_is_answered_once(
        register, member_factory, bot_factory) -> None:
    account = await register("sbcc")
    bot = await bot_factory(account)
    ala = await member_factory(await register("ala"), encrypting=True)
    room = await direct_chat(ala, account.user_id)
    assert is_encrypted_reply(await ala.ask(room, "ping warm-up"), "pong warm-up")

    held, release = await ala.say_without_key(room, "!ping late")
    await bot.wait_log(f"could not decrypt {held}")
    # the bot asked ala's device for the key (nio does not answer other users' requests)
    assert "kept, asking for its key" in bot.new_log()
    bot.kill()  # and the bot dies while it waits: the kept event is in its database
    await bot.proc.wait()
    await bot.start()
    await release()
    [reply] = await ala.wait_for(lambda e: reply_target(e) == held, timeout=60)
    assert is_encrypted_reply(reply, "pong late")
    await ala.settle(room)
    assert len(ala.replies_to(held)) == 1


@pytest.mark.one_database
async def test_a_message_whose_key_never_comes_is_owned_up_to_once(
        register, member_factory, bot_factory) -> None:
    account = await register("sbcc")
    bot = await bot_factory(account, encryption={"undecryptable_wait": "2s"})
    ala = await member_factory(await register("ala"), encrypting=True)
    room = await direct_chat(ala, account.user_id)
    assert is_encrypted_reply(await ala.ask(room, "ping warm-up"), "pong warm-up")

    held, release = await ala.say_without_key(room, "ping never")
    [told] = await ala.wait_for(lambda e: reply_target(e) == held, timeout=60)
    assert "could not read your message" in told["content"]["body"], told
    assert told["_decrypted"]
    await release()  # the key arrives after the bot gave up: it must not answer now
    await ala.settle(room)
    assert [e["content"]["body"] for e in ala.replies_to(held)] == [told["content"]["body"]]
    assert "gave up on" in bot.new_log()


async def test_an_rsvp_by_encrypted_reaction_in_an_encrypted_network_room(
        register, member_factory, bot_factory, bot_sql) -> None:
    prefix = "e" + uuid.uuid4().hex[:8]
    account, coord_account = await register("sbcc"), await register("coord")
    bot = await bot_factory(account, start=False, network=network(prefix),
                            coordinators=[coord_account.user_id])
    code, out = provision_cli(bot.config_path)
    assert code == 0, out
    ids = room_ids(out)
    room = ids["location:szczecin"]
    await bot.start()
    coord = await member_factory(coord_account, encrypting=True)
    ala = await member_factory(await register("ala"), encrypting=True)
    for m in (coord, ala):
        await m.join(ids["space:space"])
        await m.join(room)
    # the coordinator turns encryption on (given the power to by the bot's account)
    await _raise_power(account.access_token, coord.client.homeserver, room, coord.user_id)
    await coord.send_state(room, ENCRYPTION)
    dm = await direct_chat(coord, account.user_id)

    from datetime import UTC, datetime, timedelta
    day = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    added = await coord.ask(dm, f"!forum add {day} 10:00 szczecin Encrypted Forum")
    assert "#1" in added["content"]["body"], added["content"]["body"]
    [post] = await ala.wait_for(lambda e: e.get("room_id") == room and "Encrypted Forum"
                                in e.get("content", {}).get("body", ""))
    assert post["_decrypted"], "the announcement in the encrypted room is encrypted"

    await ala.react_encrypted(room, post["event_id"], "✅")
    await bot.wait_log(f"{ala.user_id} answered yes to event 1")
    assert await bot_sql("SELECT mxid, waitlisted FROM rsvps") == [(ala.user_id, False)]


async def _get(member: Member, path: str) -> tuple[int, Any]:
    url = member.client.homeserver + "/_matrix/client/v3" + path
    headers = {"Authorization": f"Bearer {member.client.access_token}"}
    async with aiohttp.ClientSession(headers=headers) as http, http.get(url) as resp:
        return resp.status, await resp.json()


async def _device_keys(member: Member, user_id: str) -> dict[str, Any]:
    url = member.client.homeserver + "/_matrix/client/v3/keys/query"
    headers = {"Authorization": f"Bearer {member.client.access_token}"}
    async with aiohttp.ClientSession(headers=headers) as http, http.post(
            url, json={"device_keys": {user_id: []}}) as resp:
        body = await resp.json()
    return {device: keys["keys"] for device, keys in body["device_keys"][user_id].items()}


async def _raise_power(token: str, base_url: str, room: str, user_id: str) -> None:
    url = f"{base_url}/_matrix/client/v3/rooms/{quote(room)}/state/m.room.power_levels/"
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.get(url) as resp:
            levels = await resp.json()
        levels.setdefault("users", {})[user_id] = 100
        async with http.put(url, json=levels) as resp:
            assert resp.status == 200, await resp.text()
