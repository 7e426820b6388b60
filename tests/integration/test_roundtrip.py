"""A member in an ordinary client talks to the bot on a real Synapse."""

from __future__ import annotations

import pytest

from tests.integration.harness import is_joined, reply_target


@pytest.mark.one_database
async def test_help_ping_lang_round_trips(register, member_factory, bot_factory) -> None:
    bot_account = await register("sbcc")
    await bot_factory(bot_account)
    ala = await member_factory(await register("ala"))
    room = await ala.create_room(invite=[bot_account.user_id])
    await ala.wait_for(is_joined(bot_account.user_id))

    pong = await ala.ask(room, "!ping <b>hello</b>")
    content = pong["content"]
    assert pong["sender"] == bot_account.user_id
    assert content["msgtype"] == "m.notice"
    assert content["body"] == "pong <b>hello</b>"
    assert content["formatted_body"] == "pong &lt;b&gt;hello&lt;/b&gt;"
    assert content["m.mentions"] == {"user_ids": [ala.user_id]}

    help_reply = await ala.ask(room, "!help")
    assert "!ping" in help_reply["content"]["body"]
    assert "!lang" in help_reply["content"]["body"]

    set_lang = await ala.ask(room, "!lang sv")
    assert "Svenska" in set_lang["content"]["body"]
    bad = await ala.ask(room, "!lang xx")
    assert "xx" in bad["content"]["body"] and "sv" in bad["content"]["body"]


@pytest.mark.one_database
async def test_direct_chat_without_prefix(register, member_factory, bot_factory) -> None:
    bot_account = await register("sbcc")
    await bot_factory(bot_account)
    ola = await member_factory(await register("ola"))
    dm = await ola.create_room(invite=[bot_account.user_id], is_direct=True)
    await ola.wait_for(is_joined(bot_account.user_id))
    reply = await ola.ask(dm, "ping dm")
    assert reply["content"]["body"] == "pong dm"


async def test_no_replay_of_history_on_first_start(register, member_factory, bot_factory,
                                                   synapse) -> None:
    bot_account = await register("sbcc")
    ala = await member_factory(await register("ala"))
    room = await ala.create_room(invite=[bot_account.user_id])
    # the bot account joins (from another client) long before the bot first runs
    bot_client = await member_factory(bot_account)
    await bot_client.join(room)
    old = [await ala.say(room, f"!ping old {i}") for i in range(3)]

    await bot_factory(bot_account)
    new = await ala.say(room, "!ping new")
    await ala.wait_for(lambda e: reply_target(e) == new)
    await ala.settle(room)  # a wrongly replayed answer would have arrived before this one
    assert all(ala.replies_to(event_id) == [] for event_id in old)
