"""Hand-written fakes of our own gateway, and a driver that pushes messages through the real
dispatcher (maubot TestBot style)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from bot.dispatcher import Dispatcher
from bot.errors import GatewayError, HomeserverUnavailable
from bot.events import Message, Outgoing, PollResponse, RoomEvent, Undecryptable
from bot.protocols import Gateway


@dataclass
class FakeGateway:
    """Records what the bot sends and keeps rooms as a small homeserver would: their state
    events, members and aliases. Room facts the test does not set have plain defaults."""

    user_id: str = "@sbcc:test"
    server_name: str = "test"
    sent: list[Outgoing] = field(default_factory=list)
    joined: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    power: dict[tuple[str, str], float] = field(default_factory=dict)
    room_sizes: dict[str, int] = field(default_factory=dict)
    fail_sends: int = 0  # raise this many times before sending
    created: list[dict[str, Any]] = field(default_factory=list)
    uploads: list[tuple[str, bytes, str, str]] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)
    members: dict[str, dict[str, str | None]] = field(default_factory=dict)  # room → mxid → name
    invited: list[tuple[str, str]] = field(default_factory=list)
    state: dict[str, dict[tuple[str, str], dict[str, Any]]] = field(default_factory=dict)
    state_puts: list[tuple[str, str, str, dict[str, Any]]] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)  # rooms whose every request fails (4xx)
    redacted: list[tuple[str, str]] = field(default_factory=list)
    unavailable: int = 0  # answer this many sends "homeserver unavailable" (5xx) first
    encryption: bool = True
    encrypted_rooms: set[str] = field(default_factory=set)
    room_keys: dict[str, RoomEvent] = field(default_factory=dict)  # event id → plaintext
    key_requests: list[str] = field(default_factory=list)  # event ids asked about
    events_sent: list[tuple[str, str, dict[str, Any], str]] = field(
        default_factory=list)  # send_event: (room, type, content, txn id)
    poll_answers: dict[str, list[PollResponse]] = field(default_factory=dict)  # poll id → votes
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _by_txn: dict[str, str] = field(default_factory=dict)

    def _check(self, room_id: str) -> None:
        if room_id in self.refuse:
            raise GatewayError(f"{room_id}: M_FORBIDDEN (fake)", "M_FORBIDDEN", 403)

    def _sending(self, room_id: str) -> None:
        """The failures a test asked for, before anything is sent."""
        if self.fail_sends:
            self.fail_sends -= 1
            raise RuntimeError("send failed (fake)")
        if self.unavailable:
            self.unavailable -= 1
            raise HomeserverUnavailable("send: 502 (fake)", None, 502)
        self._check(room_id)

    async def send(self, message: Outgoing) -> str:
        self._sending(message.room_id)
        if message.txn_id and message.txn_id in self._by_txn:  # the homeserver's txn dedupe
            return self._by_txn[message.txn_id]
        event_id = f"$sent{next(self._ids)}"
        if message.txn_id:
            self._by_txn[message.txn_id] = event_id
        self.sent.append(message)
        return event_id

    async def send_event(self, room_id: str, event_type: str, content: dict[str, Any],
                         txn_id: str) -> str:
        self._sending(room_id)
        if txn_id in self._by_txn:
            return self._by_txn[txn_id]
        event_id = self._by_txn[txn_id] = f"$sent{next(self._ids)}"
        self.events_sent.append((room_id, event_type, content, txn_id))
        return event_id

    async def poll_responses(self, room_id: str, poll_event_id: str) -> list[PollResponse]:
        self._check(room_id)
        return list(self.poll_answers.get(poll_event_id, []))

    async def upload(self, room_id: str, data: bytes, content_type: str,
                     filename: str) -> dict[str, Any]:
        self.uploads.append((room_id, data, content_type, filename))
        url = f"mxc://test/{len(self.uploads)}"
        if room_id in self.encrypted_rooms:
            return {"file": {"url": url, "mimetype": content_type, "v": "v2"}}
        return {"url": url}

    def decrypt(self, event: Undecryptable) -> RoomEvent | None:
        return self.room_keys.get(event.event_id)

    async def request_keys(self, event: Undecryptable) -> bool:
        self._check(event.room_id)
        if event.event_id in self.key_requests:
            return False
        self.key_requests.append(event.event_id)
        return True

    async def react(self, room_id: str, event_id: str, key: str, txn_id: str) -> str:
        return await self.send(Outgoing(room_id, key, msgtype="m.reaction", txn_id=txn_id,
                                        reply_to=event_id))

    async def redact(self, room_id: str, event_id: str, reason: str, txn_id: str) -> None:
        self._check(room_id)
        if (room_id, event_id) not in self.redacted:
            self.redacted.append((room_id, event_id))

    async def create_room(self, *, name: str, topic: str = "", alias: str | None = None,
                          space: bool = False, initial_state: list[dict[str, Any]] | None = None,
                          power_levels: dict[str, Any] | None = None,
                          invite: tuple[str, ...] = (), is_direct: bool = False,
                          encrypted: bool = False) -> str:
        room_id = f"!created{len(self.created) + 1}"
        self.created.append({"room_id": room_id, "name": name, "alias": alias,
                             "invite": invite, "space": space, "is_direct": is_direct,
                             "initial_state": list(initial_state or ()),
                             "encrypted": encrypted})
        if encrypted:
            self.encrypted_rooms.add(room_id)
        room = self.state.setdefault(room_id, {})
        room[("m.room.create", "")] = {"type": "m.room.create", "state_key": "",
                                       "sender": self.user_id,
                                       "content": {"room_version": "12"}}
        room[("m.room.name", "")] = {"type": "m.room.name", "state_key": "",
                                     "content": {"name": name}}
        if topic:
            room[("m.room.topic", "")] = {"type": "m.room.topic", "state_key": "",
                                          "content": {"topic": topic}}
        if alias:
            full = f"#{alias}:{self.server_name}"
            self.aliases[full] = room_id
            room[("m.room.canonical_alias", "")] = {
                "type": "m.room.canonical_alias", "state_key": "", "content": {"alias": full}}
        for ev in initial_state or ():
            room[(ev["type"], ev.get("state_key", ""))] = dict(ev)
        self.members.setdefault(room_id, {})[self.user_id] = None
        for mxid in invite:
            self.invited.append((room_id, mxid))
        return room_id

    async def resolve_alias(self, alias: str) -> str | None:
        return self.aliases.get(alias)

    async def join(self, room_id: str) -> str:
        self._check(room_id)
        room_id = self.aliases.get(room_id, room_id)
        self.joined.append(room_id)
        self.members.setdefault(room_id, {})[self.user_id] = None
        return room_id

    async def leave(self, room_id: str) -> None:
        self.left.append(room_id)
        self.members.get(room_id, {}).pop(self.user_id, None)

    async def invite(self, room_id: str, user_id: str) -> None:
        self._check(room_id)
        self.invited.append((room_id, user_id))

    async def power_level(self, room_id: str, user_id: str) -> float:
        return self.power.get((room_id, user_id), 0)

    async def joined_count(self, room_id: str) -> int:
        return self.room_sizes.get(room_id, 5)  # a room, not a direct chat, unless set

    async def joined_members(self, room_id: str) -> dict[str, str | None]:
        self._check(room_id)
        return dict(self.members.get(room_id, {}))

    async def room_state(self, room_id: str) -> list[dict[str, Any]]:
        self._check(room_id)
        return [dict(ev) for ev in self.state.get(room_id, {}).values()]

    async def put_state(self, room_id: str, event_type: str, content: dict[str, Any],
                        state_key: str = "") -> str:
        self._check(room_id)
        self.state_puts.append((room_id, event_type, state_key, content))
        self.state.setdefault(room_id, {})[(event_type, state_key)] = {
            "type": event_type, "state_key": state_key, "sender": self.user_id,
            "content": dict(content)}
        return f"$state{next(self._ids)}"


def _implements_gateway(fake: FakeGateway) -> Gateway:
    return fake  # the type checker holds FakeGateway to the whole Gateway protocol


class Driver:
    """Sends text as a member through the real dispatcher and returns what the bot sent."""

    def __init__(self, dispatcher: Dispatcher, gateway: FakeGateway) -> None:
        self.dispatcher = dispatcher
        self.gateway = gateway
        self._n = itertools.count(1)

    def message(self, body: str, sender: str = "@ala:test", room_id: str = "!room:test",
                msgtype: str = "m.text", event_id: str | None = None,
                formatted_body: str | None = None) -> Message:
        return Message(event_id=event_id or f"$ev{next(self._n)}", room_id=room_id,
                       sender=sender, body=body, msgtype=msgtype,
                       formatted_body=formatted_body)

    async def deliver(self, message: Message, fresh: bool = False) -> list[Outgoing]:
        """`fresh`: as from a batch synced from the bot's own position (never delivered
        before, see `SyncBatch.fresh`)."""
        before = len(self.gateway.sent)
        await self.dispatcher.on_event(message, fresh)
        return self.gateway.sent[before:]

    async def send(self, body: str, **kwargs: str) -> list[Outgoing]:
        return await self.deliver(self.message(body, **kwargs))
