"""The gateway in a big network: what it keeps in memory stays bounded (facts per room in
LRU caches, room members — nio's — only where encryption needs them), and the first /sync
does not fetch the history it skips."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from nio import AsyncClientConfig
from nio.responses import JoinedMembersResponse, SyncResponse

from bot.gateway import MatrixGateway
from bot.gateway.client import ROOM_FACTS_KEPT
from bot.gateway.crypto import CryptoClient
from bot.lru import Lru

ROOM = "!big:x"


def test_lru_drops_the_least_recently_used() -> None:
    cache: Lru[str, int] = Lru(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "a" is now the most recent: "b" goes first
    cache.put("c", 3)
    assert len(cache) == 2 and "b" not in cache
    assert cache.get("a") == 1 and cache.get("c") == 3
    cache.pop("a")
    cache.pop("missing")
    assert len(cache) == 1 and cache.get("a") is None


async def test_room_facts_are_kept_for_a_bounded_number_of_rooms() -> None:
    gateway = MatrixGateway("http://127.0.0.1:9", "@bot:x")
    asked: list[str] = []

    async def joined_members(room_id: str) -> Any:
        asked.append(room_id)
        return SimpleNamespace(members=[SimpleNamespace(user_id="@a:x", display_name=None)])

    async def room_get_state(room_id: str) -> Any:
        asked.append(room_id)
        return SimpleNamespace(events=[{"type": "m.room.power_levels", "state_key": "",
                                        "content": {"users": {"@bot:x": 100}}}])

    gateway.client.joined_members = joined_members  # type: ignore[method-assign]
    gateway.client.room_get_state = room_get_state  # type: ignore[method-assign]
    try:
        rooms = [f"!r{i}:x" for i in range(ROOM_FACTS_KEPT + 10)]
        for room_id in rooms:
            assert await gateway.joined_count(room_id) == 1
            assert await gateway.power_level(room_id, "@bot:x") == 100
        assert len(gateway._joined_cache) == ROOM_FACTS_KEPT
        assert len(gateway._state_cache) == ROOM_FACTS_KEPT
        asked.clear()
        await gateway.joined_count(rooms[-1])  # recent: remembered
        assert asked == []
        await gateway.joined_count(rooms[0])  # dropped long ago: asked again
        assert asked == [rooms[0]]
    finally:
        await gateway.close()


def member(user_id: str, membership: str = "join") -> dict[str, Any]:
    return {"type": "m.room.member", "state_key": user_id, "sender": user_id,
            "event_id": f"${user_id}", "origin_server_ts": 1,
            "content": {"membership": membership, "displayname": user_id[1:3]}}


def sync(state: list[dict[str, Any]], timeline: list[dict[str, Any]]) -> SyncResponse:
    resp = SyncResponse.from_dict({
        "next_batch": "s1",
        "rooms": {"join": {ROOM: {"state": {"events": state},
                                  "timeline": {"events": timeline, "limited": False},
                                  "ephemeral": {"events": []},
                                  "account_data": {"events": []}}},
                  "invite": {}, "leave": {}},
    })
    assert isinstance(resp, SyncResponse), resp
    return resp


def joined(*user_ids: str) -> JoinedMembersResponse:
    resp = JoinedMembersResponse.from_dict(
        {"joined": {u: {"display_name": u[1:3], "avatar_url": None} for u in user_ids}}, ROOM)
    assert isinstance(resp, JoinedMembersResponse), resp
    return resp


async def test_nio_keeps_no_members_of_unencrypted_rooms() -> None:
    client = CryptoClient("http://127.0.0.1:9", "@bot:x")
    try:
        await client._handle_joined_rooms(sync(
            [member(f"@m{i}:x") for i in range(50)], [member("@new:x")]))
        room = client.rooms[ROOM]
        assert not room.users and not room.names and not room.members_synced
        client._handle_joined_members(joined(*(f"@m{i}:x" for i in range(500))))
        assert not room.users and not room.members_synced
    finally:
        await client.close()


async def test_encrypted_rooms_keep_their_members_for_the_room_keys(tmp_path: Path) -> None:
    client = CryptoClient("http://127.0.0.1:9", "@bot:x", device_id="BOT",
                          store_path=str(tmp_path),
                          config=AsyncClientConfig(encryption_enabled=True))
    client.user_id = "@bot:x"  # as after a login
    client.load_store()  # the device's keys: nio shares room keys with room members
    assert client.olm is not None
    try:
        encryption = {"type": "m.room.encryption", "state_key": "", "sender": "@a:x",
                      "event_id": "$e", "origin_server_ts": 1,
                      "content": {"algorithm": "m.megolm.v1.aes-sha2"}}
        await client._handle_joined_rooms(sync([encryption, member("@a:x")],
                                               [member("@b:x")]))
        room = client.rooms[ROOM]
        assert room.encrypted and set(room.users) == {"@a:x", "@b:x"}
        client._handle_joined_members(joined("@a:x", "@b:x", "@c:x"))
        assert set(room.users) == {"@a:x", "@b:x", "@c:x"} and room.members_synced
    finally:
        await client.close()


async def test_the_first_sync_leaves_the_history_out() -> None:
    """Without a position the timelines are history the bot skips: one event per room is
    asked for, not a hundred (and the members who sent them); later syncs get the usual."""
    gateway = MatrixGateway("http://127.0.0.1:9", "@bot:x")
    uploaded: list[int] = []
    used: list[str] = []

    async def upload_filter(**spec: Any) -> Any:
        uploaded.append(spec["room"]["timeline"]["limit"])
        return SimpleNamespace(filter_id=f"f{len(uploaded)}")

    async def sync_once(timeout: int, sync_filter: str, since: str | None) -> SyncResponse:
        used.append(sync_filter)
        return sync([], [])

    gateway.client.upload_filter = upload_filter  # type: ignore[method-assign]
    gateway.client.sync = sync_once  # type: ignore[method-assign,assignment]
    try:
        await gateway.sync(None, 0)
        await gateway.sync("s1", 0)
        await gateway.sync("s2", 0)
        assert uploaded == [1, 100] and used == ["f1", "f2", "f2"]
    finally:
        await gateway.close()


async def test_the_bots_own_events_are_not_handed_on_but_still_seen() -> None:
    """The /sync filter lets the bot's own events through (cheaper for the homeserver);
    the gateway drops them from the batch, yet a power-level change the bot made itself
    still makes it read the room's power levels again."""
    gateway = MatrixGateway("http://127.0.0.1:9", "@bot:x")
    reads: list[str] = []

    async def upload_filter(**spec: Any) -> Any:
        return SimpleNamespace(filter_id="f")

    async def room_get_state(room_id: str) -> Any:
        reads.append(room_id)
        return SimpleNamespace(events=[{"type": "m.room.power_levels", "state_key": "",
                                        "content": {"users": {"@bot:x": 100}}}])

    def text(sender: str, n: int) -> dict[str, Any]:
        return {"type": "m.room.message", "sender": sender, "event_id": f"$m{n}",
                "origin_server_ts": 1, "content": {"msgtype": "m.text", "body": "!ping"}}

    levels = {"type": "m.room.power_levels", "state_key": "", "sender": "@bot:x",
              "event_id": "$pl", "origin_server_ts": 1, "content": {"users": {}}}
    timeline = [text("@ala:x", 1), text("@bot:x", 2), member("@bot:x"), levels,
                text("@ola:x", 3)]

    async def sync_once(timeout: int, sync_filter: str, since: str | None) -> SyncResponse:
        return sync([], timeline)

    gateway.client.upload_filter = upload_filter  # type: ignore[method-assign]
    gateway.client.sync = sync_once  # type: ignore[method-assign,assignment]
    gateway.client.room_get_state = room_get_state  # type: ignore[method-assign]
    try:
        await gateway.power_level(ROOM, "@bot:x")
        batch = await gateway.sync("s0", 0)
        assert [(e.event_id, e.sender) for e in batch.events] == [("$m1", "@ala:x"),
                                                                   ("$m3", "@ola:x")]
        await gateway.power_level(ROOM, "@bot:x")
        assert reads == [ROOM, ROOM]  # the bot's own change was seen: read again
    finally:
        await gateway.close()
