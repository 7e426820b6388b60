"""Hand-written fakes of our own gateway, and a driver that pushes messages through the real
dispatcher (maubot TestBot style)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from bot.dispatcher import Dispatcher
from bot.events import Message, Outgoing


@dataclass
class FakeGateway:
    """Records what the bot sends; room facts are set by the test."""

    user_id: str = "@sbcc:test"
    sent: list[Outgoing] = field(default_factory=list)
    joined: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    power: dict[tuple[str, str], float] = field(default_factory=dict)
    room_sizes: dict[str, int] = field(default_factory=dict)
    fail_sends: int = 0  # raise this many times before sending
    created: list[dict] = field(default_factory=list)
    uploads: list[tuple[bytes, str, str]] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _by_txn: dict[str, str] = field(default_factory=dict)

    async def send(self, message: Outgoing) -> str:
        if self.fail_sends:
            self.fail_sends -= 1
            raise RuntimeError("send failed (fake)")
        if message.txn_id and message.txn_id in self._by_txn:  # the homeserver's txn dedupe
            return self._by_txn[message.txn_id]
        event_id = f"$sent{next(self._ids)}"
        if message.txn_id:
            self._by_txn[message.txn_id] = event_id
        self.sent.append(message)
        return event_id

    async def upload(self, data: bytes, content_type: str, filename: str) -> str:
        self.uploads.append((data, content_type, filename))
        return f"mxc://test/{len(self.uploads)}"

    async def react(self, room_id: str, event_id: str, key: str, txn_id: str) -> str:
        return await self.send(Outgoing(room_id, key, msgtype="m.reaction", txn_id=txn_id,
                                        reply_to=event_id))

    async def create_room(self, *, name: str, topic: str = "", alias: str | None = None,
                          space: bool = False, initial_state: list | None = None,
                          power_levels: dict | None = None, invite: tuple[str, ...] = (),
                          is_direct: bool = False) -> str:
        room_id = f"!created{len(self.created) + 1}"
        self.created.append({"room_id": room_id, "name": name, "alias": alias,
                             "invite": invite})
        if alias:
            self.aliases[f"#{alias}:test"] = room_id
        return room_id

    async def resolve_alias(self, alias: str) -> str | None:
        return self.aliases.get(alias)

    async def join(self, room_id: str) -> str:
        self.joined.append(room_id)
        return room_id

    async def leave(self, room_id: str) -> None:
        self.left.append(room_id)

    async def power_level(self, room_id: str, user_id: str) -> float:
        return self.power.get((room_id, user_id), 0)

    async def joined_count(self, room_id: str) -> int:
        return self.room_sizes.get(room_id, 5)


class Driver:
    """Sends text as a member through the real dispatcher and returns what the bot sent."""

    def __init__(self, dispatcher: Dispatcher, gateway: FakeGateway) -> None:
        self.dispatcher = dispatcher
        self.gateway = gateway
        self._n = itertools.count(1)

    def message(self, body: str, sender: str = "@ala:test", room_id: str = "!room:test",
                msgtype: str = "m.text", event_id: str | None = None) -> Message:
        return Message(event_id=event_id or f"$ev{next(self._n)}", room_id=room_id,
                       sender=sender, body=body, msgtype=msgtype)

    async def deliver(self, message: Message) -> list[Outgoing]:
        before = len(self.gateway.sent)
        await self.dispatcher.on_event(message)
        return self.gateway.sent[before:]

    async def send(self, body: str, **kwargs: str) -> list[Outgoing]:
        return await self.deliver(self.message(body, **kwargs))
