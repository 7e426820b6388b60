"""A joint strategy on a real Synapse with members in Szczecin and Rostock: phases
announced once in both rooms, a proposal mirrored to the other location, 👍 endorses and
its redaction withdraws, polls appear as poll-start events, members vote with poll-response
events from their own clients (a changed vote replaces the first), a vote while the bot is
down is not lost, a vote after the deadline is ignored, the bot ends the polls when the
vote's time is up (the clock moved in the database) and the document lists the results by
location."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from bot.homeserver import free_port
from tests.integration.harness import Member, is_joined
from tests.integration.test_network import network, provision_cli, room_ids

POLL_START = "org.matrix.msc3381.poll.start"


@pytest.fixture
async def towns(register, member_factory, bot_factory, bot_db):  # noqa: ANN001, ANN201
    prefix = "s" + uuid.uuid4().hex[:8]
    account, coord_account = await register("sbcc"), await register("coord")
    port = free_port()
    bot = await bot_factory(account, start=False, network=network(prefix),
                            coordinators=[coord_account.user_id],
                            web={"listen": f"127.0.0.1:{port}",
                                 "public_url": f"http://127.0.0.1:{port}"})
    code, out = provision_cli(bot.config_path)
    assert code == 0, out
    ids = room_ids(out)
    await bot.start()
    coord = await member_factory(coord_account)
    ala = await member_factory(await register("ala"))
    udo = await member_factory(await register("udo"))
    for person, town in ((coord, "szczecin"), (ala, "szczecin"), (udo, "rostock")):
        await person.join(ids["space:space"])
        await person.join(ids[f"location:{town}"])
        await person.ask(ids[f"location:{town}"], "!lang en")
    await coord.join(ids["location:rostock"])
    dm = await coord.create_room(invite=[account.user_id], is_direct=True)
    await coord.wait_for(is_joined(account.user_id))
    return {"bot": bot, "ids": ids, "coord": coord, "ala": ala, "udo": udo, "dm": dm,
            "account": account, "base": f"http://127.0.0.1:{port}",
            "sqlite": bot_db[0].startswith("sqlite")}


def from_bot(t: dict[str, Any], room: str, needle: str):  # noqa: ANN201
    bot_id = t["account"].user_id
    return lambda e: (e.get("room_id") == room and e.get("sender") == bot_id
                      and needle in str(e.get("content", {}).get("body", "")))


def polls_in(member: Member, room: str) -> list[dict[str, Any]]:
    return [e for e in member.events if e.get("room_id") == room and e.get("type") == POLL_START]


async def respond(member: Member, room: str, poll_id: str, answer: str, *,
                  stable: bool = False) -> None:
    relates = {"rel_type": "m.reference", "event_id": poll_id}
    if stable:
        await member.send(room, "m.poll.response", {"m.relates_to": relates,
                                                    "m.selections": [answer]})
    else:
        await member.send(room, "org.matrix.msc3381.poll.response", {
            "m.relates_to": relates,
            "org.matrix.msc3381.poll.response": {"answers": [answer]}})


def stamp(when: datetime, sqlite: bool) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S.%f") + ("" if sqlite else "+00")


async def test_two_towns_propose_endorse_vote_and_get_a_document(towns, bot_sql) -> None:  # noqa: ANN001
    t = towns
    coord, ala, udo, ids = t["coord"], t["ala"], t["udo"], t["ids"]
    szczecin, rostock = ids["location:szczecin"], ids["location:rostock"]

    reply = await coord.ask(t["dm"], "!strategy new Szczecin–Rostock 2037 "
                                     "locations=szczecin,rostock sections=culture,tourism")
    assert "Strategy #1" in reply["content"]["body"], reply["content"]["body"]
    # the rooms speak Polish and German: announcements start with 🧭 and name the process
    for member, room in ((ala, szczecin), (udo, rostock)):
        await member.wait_for(from_bot(t, room, "🧭"))

    # a proposal from Szczecin reaches Rostock, marked with its origin
    await ala.ask(szczecin, "!propose culture A shared residency for artists of both cities")
    [mirror] = await udo.wait_for(from_bot(t, rostock, "A shared residency"))
    assert "Szczecin (PL)" in mirror["content"]["body"]  # marked with its origin
    await udo.ask(rostock, "!propose culture A festival of the Baltic harbours every summer")
    [home] = await ala.wait_for(from_bot(t, szczecin, "A festival of the Baltic"))
    assert "Rostock (DE)" in home["content"]["body"]

    # 👍 on the copy counts once; its redaction withdraws it
    thumbs = await udo.client.room_send(rostock, "m.reaction", {"m.relates_to": {
        "rel_type": "m.annotation", "event_id": mirror["event_id"], "key": "👍"}})
    await t["bot"].wait_log(f"{udo.user_id} endorsed proposal")
    assert await bot_sql("SELECT COUNT(*) FROM strategy_endorsements") == [(1,)]
    await udo.client.room_redact(rostock, thumbs.event_id)
    await t["bot"].wait_log(f"{udo.user_id} withdrew an endorsement")
    assert await bot_sql("SELECT COUNT(*) FROM strategy_endorsements") == [(0,)]
    await udo.client.room_send(rostock, "m.reaction", {"m.relates_to": {
        "rel_type": "m.annotation", "event_id": mirror["event_id"], "key": "👍"}})

    # the vote: polls in both rooms, as native poll-start events
    await coord.ask(t["dm"], "!strategy phase 1 vote")
    [ala_poll] = await ala.wait_for(lambda e: e.get("room_id") == szczecin
                                    and e.get("type") == POLL_START)
    [udo_poll] = await udo.wait_for(lambda e: e.get("room_id") == rostock
                                    and e.get("type") == POLL_START)
    start = udo_poll["content"][POLL_START]
    assert [a["id"] for a in start["answers"]] == ["1", "2"]
    await respond(ala, szczecin, ala_poll["event_id"], "1")
    await respond(udo, rostock, udo_poll["event_id"], "1")
    await t["bot"].wait_log(f"poll response from {udo.user_id} in strategy 1 counted")
    await respond(udo, rostock, udo_poll["event_id"], "2", stable=True)  # changes their mind
    await udo.settle(rostock)
    assert sorted(await bot_sql("SELECT mxid, proposal FROM strategy_votes")) == sorted(
        [(ala.user_id, 1), (udo.user_id, 2)])

    # the bot is down: a vote in time is not lost; then the deadline passes; a late vote
    bot = t["bot"]
    assert await bot.terminate() == 0
    await respond(coord, szczecin, ala_poll["event_id"], "2")  # in time, while it is down
    deadline = datetime.now(UTC)
    await bot_sql("INSERT INTO strategy_phase_ends (process_id, phase, ends_at) VALUES "
                  f"(1, 'vote', '{stamp(deadline, t['sqlite'])}')")
    await asyncio.sleep(1.5)  # so that the next response's origin_server_ts is after it
    await respond(ala, szczecin, ala_poll["event_id"], "2")  # late: ignored
    await bot.start()  # the vote's date has come: polls end, results are posted

    [results_sz] = await ala.wait_for(from_bot(t, szczecin, "📊"))
    await udo.wait_for(from_bot(t, rostock, "📊"))
    lines = results_sz["content"]["body"].splitlines()
    [first] = [line for line in lines if "A shared residency" in line]
    [second] = [line for line in lines if "A festival" in line]
    assert first.endswith("(Szczecin (PL) 1, Rostock (DE) 0)"), lines
    assert second.endswith("(Szczecin (PL) 1, Rostock (DE) 1)"), lines
    assert lines.index(second) < lines.index(first)  # most votes first
    ends = [e for e in ala.events if e.get("room_id") == szczecin
            and e.get("type") == "org.matrix.msc3381.poll.end"]
    assert len(ends) == 1  # culture's; tourism had no proposals, so no poll
    assert await bot_sql("SELECT phase FROM strategy_processes") == [("result",)]

    # each phase was announced once per room, through the restart
    await ala.settle(szczecin)
    announced = [e for e in ala.events if from_bot(t, szczecin, "🧭")(e)]
    assert len(announced) == 3  # proposals, vote, result: each once

    # the document: private, with the key; votes by location
    [(key,)] = await bot_sql("SELECT key FROM strategy_processes")
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{t['base']}/strategies/1.json") as resp:
            assert resp.status == 404
        async with http.get(f"{t['base']}/strategies/1.json?k={key}") as resp:
            assert resp.status == 200
            document = await resp.json()
        async with http.get(f"{t['base']}/strategies/1.odt?k={key}") as resp:
            assert resp.status == 200
            assert (await resp.read())[:2] == b"PK"
    by_number = {p["number"]: p for p in document["proposals"]}
    assert by_number[1]["votes"] == {"szczecin": 1} and by_number[1]["endorsements"] == 1
    assert by_number[2]["votes"] == {"szczecin": 1, "rostock": 1}
