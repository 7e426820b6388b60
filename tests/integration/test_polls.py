"""Native polls (MSC3381) on a real Synapse, through the bot's own gateway: the bot starts a
poll, a member votes as Element does (unstable event type) and changes the vote with the
stable one, the bot reads every vote back through the relations API, and closes the poll —
in a plain room and in an encrypted one, where the votes arrive encrypted."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from nio import RoomSendResponse

from bot.events import PollResponse
from bot.gateway import MatrixGateway
from bot.homeserver import EmbeddedSynapse, RegisteredUser
from bot.polls import poll_end, poll_start
from tests.integration.harness import Member, is_joined

UNSTABLE, STABLE = "org.matrix.msc3381.poll.response", "m.poll.response"
Gateways = Callable[..., Awaitable[MatrixGateway]]


@pytest.fixture
async def gateways(synapse: EmbeddedSynapse, tmp_path: Path) -> AsyncIterator[Gateways]:
    """The bot's gateway for an account, as the App sets it up from an access token;
    `encrypting=True`: with its device's keys (in `tmp_path`) opened and published."""
    made: list[MatrixGateway] = []

    async def make(account: RegisteredUser, encrypting: bool = False) -> MatrixGateway:
        gateway = MatrixGateway(synapse.base_url, account.user_id, account.device_id,
                                store_path=tmp_path / "crypto" if encrypting else None)
        made.append(gateway)
        gateway.restore(account.device_id, account.access_token)
        await gateway.open_keys()
        return gateway

    yield make
    for gateway in made:
        await gateway.close()


def in_room(room: str, etype: str) -> Callable[[dict[str, Any]], bool]:
    return lambda e: e.get("room_id") == room and e.get("type") == etype


def vote(poll_id: str, answers: list[str], stable: bool = False) -> tuple[str, dict[str, Any]]:
    relation = {"m.relates_to": {"rel_type": "m.reference", "event_id": poll_id}}
    if stable:
        return STABLE, {**relation, "m.selections": answers}
    return UNSTABLE, {**relation, UNSTABLE: {"answers": answers}}


async def send(member: Member, room: str, etype: str, content: dict[str, Any]) -> str:
    """Send as the member's client does (nio: plain in a plain room)."""
    resp = await member.client.room_send(room, etype, content)
    assert isinstance(resp, RoomSendResponse), resp
    return resp.event_id


async def test_a_poll_is_started_voted_on_read_back_and_closed(
        register, member_factory, gateways) -> None:
    account = await register("sbcc")
    gateway = await gateways(account)
    ala = await member_factory(await register("ala"))
    room = await gateway.create_room(name="Polls", invite=(ala.user_id,))
    await ala.join(room)
    await ala.wait_for(lambda e: e.get("room_id") == room and is_joined(ala.user_id)(e))
    # where the bot's /sync stands before the poll (a first /sync carries no history)
    since = (await gateway.sync(None, timeout_ms=0)).next_batch

    etype, content = poll_start("Lunch?", [("pizza", "Pizza"), ("soup", "Soup")])
    poll_id = await gateway.send_event(room, etype, content, "poll-1")
    assert await gateway.send_event(room, etype, content, "poll-1") == poll_id  # one event
    [seen] = await ala.wait_for(in_room(room, etype))
    assert seen["event_id"] == poll_id and seen["sender"] == account.user_id
    assert seen["content"] == content

    first = await send(ala, room, *vote(poll_id, ["pizza"]))
    second = await send(ala, room, *vote(poll_id, ["soup"], stable=True))  # changed her mind
    # neither another event referring to the poll nor junk counts
    await send(ala, room, "m.room.message", {
        "msgtype": "m.text", "body": "see the poll",
        "m.relates_to": {"rel_type": "m.reference", "event_id": poll_id}})
    await send(ala, room, UNSTABLE, {"m.relates_to": {"rel_type": "m.reference",
                                                      "event_id": poll_id},
                                     UNSTABLE: {"answers": "pizza"}})

    responses = await gateway.poll_responses(room, poll_id)
    assert [(r.event_id, r.room_id, r.sender, r.poll_id, r.answers) for r in responses] == [
        (first, room, ala.user_id, poll_id, ("pizza",)),
        (second, room, ala.user_id, poll_id, ("soup",)),
    ]
    assert 0 < responses[0].timestamp_ms <= responses[1].timestamp_ms

    # the same votes come through /sync (its filter drops only the bot's own events)
    batch = await gateway.sync(since, timeout_ms=0)
    synced = [e for e in batch.events if isinstance(e, PollResponse) and e.poll_id == poll_id]
    assert synced == responses

    end_type, end_content = poll_end(poll_id, "The poll has closed. Top answer: Soup")
    end_id = await gateway.send_event(room, end_type, end_content, "poll-1-end")
    [end] = await ala.wait_for(in_room(room, end_type))
    assert end["event_id"] == end_id
    assert end["content"]["m.relates_to"] == {"rel_type": "m.reference", "event_id": poll_id}
    assert end["content"]["org.matrix.msc1767.text"] == "The poll has closed. Top answer: Soup"
    assert await gateway.poll_responses(room, poll_id) == responses  # the end is no vote


async def test_encrypted_votes_are_decrypted_when_read_back(
        register, member_factory, gateways) -> None:
    account = await register("sbcc")
    gateway = await gateways(account, encrypting=True)
    assert gateway.encryption
    ala = await member_factory(await register("ala"), encrypting=True)
    room = await gateway.create_room(name="Secret polls", invite=(ala.user_id,),
                                     encrypted=True)
    await ala.join(room)
    await ala.wait_for(lambda e: e.get("room_id") == room and is_joined(ala.user_id)(e))

    etype, content = poll_start("Venue?", [("a", "Harbour"), ("b", "Castle")], disclosed=False)
    poll_id = await gateway.send_event(room, etype, content, "secret-poll")
    [seen] = await ala.wait_for(in_room(room, etype))
    assert seen["_decrypted"] and seen["content"][etype] == content[etype]

    voted = await ala.send(room, *vote(poll_id, ["b"]))  # encrypted, relation in the clear
    [mine] = await ala.wait_for(lambda e: e.get("event_id") == voted)
    assert mine["_decrypted"]  # it went out as m.room.encrypted

    # the bot's device gets the room key with a /sync; the vote comes decrypted with it
    since: str | None = None
    synced: list[PollResponse] = []
    deadline = asyncio.get_running_loop().time() + 30
    while not synced:
        assert asyncio.get_running_loop().time() < deadline, "the vote never came"
        batch = await gateway.sync(since, timeout_ms=1000)
        since = batch.next_batch
        synced = [e for e in batch.events if isinstance(e, PollResponse)]
    expected = [PollResponse(voted, room, ala.user_id, poll_id, ("b",),
                             synced[0].timestamp_ms)]
    assert synced == expected
    assert await gateway.poll_responses(room, poll_id) == expected
