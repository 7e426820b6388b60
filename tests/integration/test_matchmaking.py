"""Matchmaking on a real Synapse: !connect opens a room for both; a ✅ answers "did you
meet?" and is recorded. Matchmaking is for members of the network: everyone here first
joins a location room."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.integration.harness import Member, is_joined
from tests.integration.test_network import network, provision_cli, room_ids


async def networked(bot_factory, account, **extra: Any) -> tuple[Any, dict[str, str]]:  # noqa: ANN001
    """The bot, started with a provisioned network; the rooms' ids by key."""
    bot = await bot_factory(account, start=False, network=network("m" + uuid.uuid4().hex[:8]),
                            **extra)
    code, out = provision_cli(bot.config_path)
    assert code == 0, out
    await bot.start()
    return bot, room_ids(out)


async def join_network(member: Member, ids: dict[str, str], bot_id: str) -> str:
    """The member joins the Space and the Szczecin room and opens a direct chat."""
    await member.join(ids["space:space"])
    await member.join(ids["location:szczecin"])
    dm = await member.create_room(invite=[bot_id], is_direct=True)
    await member.wait_for(is_joined(bot_id))
    await member.settle(ids["location:szczecin"])  # the join is recorded by now
    return dm


@pytest.mark.one_database
async def test_connect_room_with_introduction(register, member_factory, bot_factory) -> None:
    account = await register("sbcc")
    _bot, ids = await networked(bot_factory, account)
    # the !connect room is encrypted, as Element would make it: so are their clients
    ala = await member_factory(await register("ala"), encrypting=True)
    udo_account = await register("udo")
    udo = await member_factory(udo_account, encrypting=True)
    dm_ala = await join_network(ala, ids, account.user_id)
    dm_udo = await join_network(udo, ids, account.user_id)
    await ala.ask(dm_ala, "offer design")
    await ala.ask(dm_ala, "need video")
    await udo.ask(dm_udo, "offer video")
    reply = await ala.ask(dm_ala, f"connect {udo.user_id} Hello from Szczecin")
    assert "udo" in reply["content"]["body"], reply["content"]["body"]

    room = await ala.wait_invite()
    assert await udo.wait_invite() == room
    await ala.join(room)
    await udo.join(room)
    [intro] = await udo.wait_for(lambda e: e.get("room_id") == room
                                 and e.get("sender") == account.user_id
                                 and e.get("type") == "m.room.message")
    body = intro["content"]["body"]
    assert "video" in body and "Hello from Szczecin" in body
    assert set(intro["content"]["m.mentions"]["user_ids"]) == {ala.user_id, udo.user_id}


async def test_did_you_meet_answer_is_recorded(register, member_factory, bot_factory,
                                               bot_sql) -> None:
    account = await register("sbcc")
    coord_account = await register("coord")
    bot, ids = await networked(bot_factory, account, coordinators=[coord_account.user_id],
                               matchmaking={"followup_days": 1})
    people = [await member_factory(await register(n), encrypting=True)  # encrypted rooms
              for n in ("ala", "udo")]
    for p in people:
        dm = await join_network(p, ids, account.user_id)
        await p.ask(dm, "rounds on")
    coord = await member_factory(coord_account)
    dm = await coord.create_room(invite=[account.user_id], is_direct=True)
    await coord.wait_for(is_joined(account.user_id))
    reply = await coord.ask(dm, "matchround")
    assert "2" in reply["content"]["body"]

    ala = people[0]
    room = await ala.wait_invite()
    await ala.join(room)
    await ala.wait_for(lambda e: e.get("room_id") == room and e.get("type") == "m.room.message"
                       and e.get("sender") == account.user_id)
    # the follow-up is a scheduled job; a week is too long to wait, so the bot is restarted
    # with its clock past the follow-up (the job is rebuilt from the database at start)
    assert await bot.terminate() == 0
    await bot_sql("UPDATE match_rounds SET followup_at = started_at")
    await bot.start()
    [question] = await ala.wait_for(lambda e: e.get("room_id") == room
                                    and "✅" in e.get("content", {}).get("body", ""))
    await ala.client.room_send(room, "m.reaction", {"m.relates_to": {
        "rel_type": "m.annotation", "event_id": question["event_id"], "key": "✅"}},
        ignore_unverified_devices=True)
    await bot.wait_log(f"{ala.user_id} answered met")
    rows = await bot_sql("SELECT mxid, met FROM round_answers")
    assert rows == [(ala.user_id, True)]
