"""The gateway: the only module that talks to matrix-nio.

It turns /sync answers into our own dataclasses (`bot.events`), sends messages with
deterministic transaction ids, turns error responses into exceptions and retries what is
worth retrying with capped, jittered backoff.
"""

from __future__ import annotations

import asyncio
import functools
import io
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiohttp
from nio import AsyncClient, AsyncClientConfig, ErrorResponse, LoginResponse, MessageDirection
from nio.responses import SyncResponse

from bot.backoff import Backoff
from bot.errors import GatewayError, HomeserverUnavailable
from bot.events import (
    Invite,
    MembershipChange,
    Message,
    Outgoing,
    Reaction,
    Redaction,
    RoomEvent,
    StateChange,
    SyncBatch,
)
from bot.retries import patience
from bot.text import without_surrogates

log = logging.getLogger(__name__)
T = TypeVar("T")

def sync_filter(user_id: str) -> dict[str, Any]:
    """What the bot syncs: room timelines and state, not its own events (it ignores them,
    and this way its own replies do not wake its long-poll), no presence or typing."""
    return {
        "presence": {"not_types": ["*"]},
        "account_data": {"not_types": ["*"]},
        "room": {
            "timeline": {"limit": 100, "not_senders": [user_id]},
            "state": {"lazy_load_members": True},
            "ephemeral": {"not_types": ["*"]},
            "account_data": {"not_types": ["*"]},
        },
    }
# Room versions in which the creators outrank everyone and are absent from power_levels.
CREATOR_POWER_VERSIONS = frozenset({"12", "org.matrix.hydra.11"})
GAP_FILL_LIMIT = 1000


def _status(resp: ErrorResponse) -> int | None:
    transport = getattr(resp, "transport_response", None)
    return getattr(transport, "status", None)


def _check(resp: T, what: str) -> T:
    """Raise for an error response: 5xx and unknown answers are transient, 4xx are final."""
    if isinstance(resp, ErrorResponse):
        status = _status(resp)
        message = f"{what}: {resp.status_code or ''} {resp.message}".strip()
        if status is None or status >= 500:
            raise HomeserverUnavailable(message, resp.status_code, status)
        raise GatewayError(message, resp.status_code, status)
    return resp


def _text(value: object) -> str | None:
    """A string from an event's JSON, or None. Lone surrogates (which JSON's \\ud800 escapes
    can produce, but no encoding can carry) become U+FFFD, so nothing later trips on them."""
    return without_surrogates(value) if isinstance(value, str) else None


def to_room_event(room_id: str, source: dict[str, Any]) -> RoomEvent | None:
    """Translate one raw timeline event; None for what the bot does not look at."""
    etype = source.get("type")
    content = source.get("content") or {}
    event_id = source.get("event_id", "")
    sender = source.get("sender", "")
    if not isinstance(content, dict):
        return None
    if etype == "m.room.message":
        relates = content.get("m.relates_to") or {}
        if not isinstance(relates, dict):
            relates = {}
        reply = relates.get("m.in_reply_to") or {}
        return Message(
            event_id=event_id,
            room_id=room_id,
            sender=sender,
            body=_text(content.get("body")) or "",
            msgtype=str(content.get("msgtype", "")),
            formatted_body=_text(content.get("formatted_body")),
            timestamp_ms=int(source.get("origin_server_ts") or 0),
            in_reply_to=reply.get("event_id") if isinstance(reply, dict) else None,
            is_edit=relates.get("rel_type") == "m.replace",
        )
    if etype == "m.reaction":
        relates = content.get("m.relates_to") or {}
        if not isinstance(relates, dict) or relates.get("rel_type") != "m.annotation":
            return None
        target, key = relates.get("event_id"), _text(relates.get("key"))
        if not isinstance(target, str) or key is None:
            return None
        return Reaction(event_id, room_id, sender, target, key)
    if etype == "m.room.redaction":
        redacts = source.get("redacts") or content.get("redacts")
        return Redaction(event_id, room_id, sender, redacts) if isinstance(redacts, str) else None
    if "state_key" not in source:
        return None
    state_key = source["state_key"]
    if etype == "m.room.member":
        prev = (source.get("unsigned") or {}).get("prev_content") or {}
        name = _text(content.get("displayname"))
        return MembershipChange(
            event_id=event_id,
            room_id=room_id,
            user_id=state_key,
            membership=str(content.get("membership", "")),
            prev_membership=prev.get("membership") if isinstance(prev, dict) else None,
            sender=sender,
            display_name=name,
            timestamp_ms=int(source.get("origin_server_ts") or 0),
        )
    return StateChange(event_id, room_id, str(etype), str(state_key), sender, content)


def creator_power(state: list[dict[str, Any]], user_id: str) -> float | None:
    """`inf` when `user_id` is a creator of a room whose version privileges creators."""
    for ev in state:
        if ev.get("type") == "m.room.create" and ev.get("state_key") == "":
            content = ev.get("content") or {}
            if str(content.get("room_version", "1")) not in CREATOR_POWER_VERSIONS:
                return None
            creators = {ev.get("sender"), *(content.get("additional_creators") or [])}
            return math.inf if user_id in creators else None
    return None


def power_from_levels(content: dict[str, Any] | None, user_id: str) -> float:
    if content is None:  # no power_levels event: the spec's defaults
        return 0
    users = content.get("users") or {}
    if user_id in users:
        return float(users[user_id])
    return float(content.get("users_default", 0))


class MatrixGateway:
    """One logged-in Matrix account; everything the bot does on Matrix goes through here."""

    def __init__(self, homeserver: str, user_id: str, device_id: str | None = None) -> None:
        config = AsyncClientConfig(
            encryption_enabled=False,
            store_sync_tokens=False,
            max_timeouts=0,  # we retry ourselves, with jitter and our own limits
            request_timeout=30,
        )
        self.client = AsyncClient(homeserver, user_id, device_id=device_id, config=config)
        self.user_id = user_id
        self._state_cache: dict[str, list[dict[str, Any]]] = {}
        self._joined_cache: dict[str, int] = {}
        self._stopping = asyncio.Event()
        self._filter_id: str | None = None

    # -- session -------------------------------------------------------------------------

    @property
    def device_id(self) -> str | None:
        return self.client.device_id

    @property
    def access_token(self) -> str:
        return self.client.access_token

    async def login_password(self, password: str, device_name: str = "sbcc-bot") -> None:
        resp = await self._retry(lambda: self.client.login(password, device_name=device_name),
                                 "login")
        if not isinstance(resp, LoginResponse):
            raise GatewayError("login failed")

    def restore(self, device_id: str | None, access_token: str) -> None:
        self.client.user_id = self.user_id
        self.client.device_id = device_id
        self.client.access_token = access_token

    async def whoami(self) -> tuple[str, str | None]:
        resp = await self._retry(self.client.whoami, "whoami")
        return resp.user_id, getattr(resp, "device_id", None)

    def stop(self) -> None:
        """Make retry loops give up (used at shutdown)."""
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        """True once shutting down: only then do transient failures reach the callers."""
        return self._stopping.is_set()

    async def close(self) -> None:
        await self.client.close()

    # -- retrying ------------------------------------------------------------------------

    async def _call(self, op: Callable[[], Awaitable[T]], what: str) -> T:
        try:
            return _check(await op(), what)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise HomeserverUnavailable(f"{what}: {type(exc).__name__}") from exc

    async def _retry(self, op: Callable[[], Awaitable[T]], what: str,
                     attempts: int | None = None) -> T:
        """Call `op` until it succeeds or fails finally; transient failures are retried (within
        a unit of work only for `bot.retries.patience()` seconds)."""
        backoff = Backoff(base=0.5, cap=30.0)
        n = 0
        failing_since = 0.0
        while True:
            try:
                return await self._call(op, what)
            except HomeserverUnavailable as exc:
                n += 1
                if n == 1:
                    failing_since = time.monotonic()
                limit = patience()
                if (self._stopping.is_set() or (attempts is not None and n >= attempts)
                        or (limit is not None and time.monotonic() - failing_since >= limit)):
                    raise
                delay = backoff.next_delay()
                if limit is not None:
                    delay = min(delay, max(0.0, limit - (time.monotonic() - failing_since)))
                log.warning("%s failed (%s); retrying in %.1fs", what, exc, delay)
                await asyncio.sleep(delay)

    # -- sync ----------------------------------------------------------------------------

    async def _sync_filter(self) -> str | dict[str, Any]:
        """The filter uploaded once (the homeserver then need not parse it every time)."""
        if self._filter_id is None:
            spec = sync_filter(self.user_id)
            resp = await self._call(lambda: self.client.upload_filter(
                user_id=self.user_id, presence=spec["presence"],
                account_data=spec["account_data"], room=spec["room"]), "filter")
            self._filter_id = resp.filter_id
        return self._filter_id

    async def sync(self, since: str | None, timeout_ms: int = 30_000) -> SyncBatch:
        """One /sync; raises HomeserverUnavailable so the caller can back off."""
        sync_filter_id = await self._sync_filter()
        resp: SyncResponse = await self._call(
            lambda: self.client.sync(timeout=timeout_ms, sync_filter=sync_filter_id,
                                     since=since),
            "sync",
        )
        batch = SyncBatch(next_batch=resp.next_batch)
        for room_id, info in resp.rooms.invite.items():
            batch.invites.append(self._invite(room_id, info.invite_state))
        for room_id, room in resp.rooms.join.items():
            sources = [getattr(ev, "source", None) or {} for ev in room.timeline.events]
            if room.timeline.limited and since and room.timeline.prev_batch:
                sources = await self._fill_gap(room_id, room.timeline.prev_batch, since) + sources
            for source in sources:
                event = to_room_event(room_id, source)
                if event is not None:
                    self._observe(event)
                    batch.events.append(event)
            for ev in room.state:
                self._invalidate(room_id, getattr(ev, "source", {}).get("type"))
        batch.left_rooms.extend(resp.rooms.leave)
        for room_id in resp.rooms.leave:
            self._state_cache.pop(room_id, None)
            self._joined_cache.pop(room_id, None)
        return batch

    def _invite(self, room_id: str, invite_state: list[Any]) -> Invite:
        inviter, is_direct = None, False
        for ev in invite_state:
            source = getattr(ev, "source", {}) or {}
            if source.get("type") == "m.room.member" and source.get("state_key") == self.user_id:
                inviter = source.get("sender")
                # nio moves an invite member event's content out of its source
                content = getattr(ev, "content", None) or source.get("content") or {}
                is_direct = isinstance(content, dict) and content.get("is_direct") is True
        return Invite(room_id, inviter, is_direct)

    async def _fill_gap(self, room_id: str, prev_batch: str, since: str) -> list[dict[str, Any]]:
        """Fetch the events a limited timeline left out, oldest first (while we were away)."""
        missing: list[dict[str, Any]] = []
        token: str | None = prev_batch
        while token and len(missing) < GAP_FILL_LIMIT:
            resp = await self._retry(
                functools.partial(self.client.room_messages, room_id, start=token, end=since,
                                  direction=MessageDirection.back, limit=100),
                "messages",
            )
            if not resp.chunk:
                break
            missing.extend(getattr(ev, "source", {}) for ev in resp.chunk)
            token = resp.end if resp.end != token else None
        if len(missing) >= GAP_FILL_LIMIT:
            log.warning("gap in %s longer than %d events; older ones skipped", room_id,
                        GAP_FILL_LIMIT)
        missing.reverse()
        return missing

    def _observe(self, event: RoomEvent) -> None:
        if isinstance(event, MembershipChange):
            self._joined_cache.pop(event.room_id, None)
        elif isinstance(event, StateChange):
            self._invalidate(event.room_id, event.type)

    def _invalidate(self, room_id: str, etype: str | None) -> None:
        if etype in ("m.room.power_levels", "m.room.create"):
            self._state_cache.pop(room_id, None)
        elif etype == "m.room.member":
            self._joined_cache.pop(room_id, None)

    # -- sending -------------------------------------------------------------------------

    async def send(self, message: Outgoing) -> str:
        """Send a message; the same `txn_id` sent twice yields one event."""
        resp = await self._retry(
            lambda: self.client.room_send(
                message.room_id,
                "m.room.message",
                message.content(),
                tx_id=message.txn_id,
                ignore_unverified_devices=True,
            ),
            "send",
        )
        return resp.event_id

    async def upload(self, data: bytes, content_type: str, filename: str) -> str:
        """Upload a file to the homeserver's media repository; returns its mxc:// URI."""
        resp = await self._retry(
            lambda: self._upload(data, content_type, filename), "upload")
        return resp.content_uri

    async def _upload(self, data: bytes, content_type: str, filename: str):  # noqa: ANN202
        resp, _keys = await self.client.upload(io.BytesIO(data), content_type=content_type,
                                               filename=filename, filesize=len(data))
        return resp

    async def react(self, room_id: str, event_id: str, key: str, txn_id: str) -> str:
        """Annotate an event (the bot's own prompts offer ✅ / ❌ this way)."""
        content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id,
                                    "key": key}}
        resp = await self._retry(
            lambda: self.client.room_send(room_id, "m.reaction", content, tx_id=txn_id,
                                          ignore_unverified_devices=True),
            "react",
        )
        return resp.event_id

    async def redact(self, room_id: str, event_id: str, reason: str, txn_id: str) -> None:
        """Remove one of the bot's events (e.g. a card about a member who asked to be
        forgotten); the same `txn_id` twice redacts once."""
        await self._retry(lambda: self.client.room_redact(room_id, event_id, reason=reason,
                                                          tx_id=txn_id), "redact")

    async def join(self, room_id: str) -> str:
        resp = await self._retry(lambda: self.client.join(room_id), "join")
        return resp.room_id

    async def leave(self, room_id: str) -> None:
        await self._retry(lambda: self.client.room_leave(room_id), "leave")

    async def invite(self, room_id: str, user_id: str) -> None:
        await self._retry(lambda: self.client.room_invite(room_id, user_id), "invite")

    # -- rooms and state -----------------------------------------------------------------

    async def create_room(self, *, name: str, topic: str = "", alias: str | None = None,
                          space: bool = False, initial_state: list[dict[str, Any]] | None = None,
                          power_levels: dict[str, Any] | None = None,
                          invite: tuple[str, ...] = (), is_direct: bool = False) -> str:
        """Create a room (or a Space); `alias` is a localpart on our server."""
        resp = await self._retry(
            lambda: self.client.room_create(
                alias=alias, name=name, topic=topic or None, space=space,
                initial_state=initial_state or (), power_level_override=power_levels,
                invite=invite, is_direct=is_direct,
            ),
            "create room",
        )
        return resp.room_id

    async def resolve_alias(self, alias: str) -> str | None:
        """The room id behind `#alias:server`, or None when the alias is free."""
        try:
            resp = await self._retry(lambda: self.client.room_resolve_alias(alias), "alias",
                                     )
        except GatewayError as exc:
            if exc.errcode == "M_NOT_FOUND":
                return None
            raise
        return resp.room_id

    async def room_state(self, room_id: str) -> list[dict[str, Any]]:
        """Every current state event of the room (raw dicts)."""
        resp = await self._retry(lambda: self.client.room_get_state(room_id), "state")
        return list(resp.events)

    async def put_state(self, room_id: str, event_type: str, content: dict[str, Any],
                        state_key: str = "") -> str:
        resp = await self._retry(
            lambda: self.client.room_put_state(room_id, event_type, content, state_key),
            "put state",
        )
        self._invalidate(room_id, event_type)
        return resp.event_id

    async def joined_members(self, room_id: str) -> dict[str, str | None]:
        """Who is joined now: MXID → display name."""
        resp = await self._retry(lambda: self.client.joined_members(room_id), "members")
        self._joined_cache[room_id] = len(resp.members)
        return {m.user_id: m.display_name for m in resp.members}

    # -- room facts ----------------------------------------------------------------------

    async def _room_state(self, room_id: str) -> list[dict[str, Any]]:
        if room_id not in self._state_cache:
            resp = await self._retry(lambda: self.client.room_get_state(room_id), "state",
                                     )
            self._state_cache[room_id] = [
                ev for ev in resp.events
                if ev.get("type") in ("m.room.create", "m.room.power_levels")
            ]
        return self._state_cache[room_id]

    async def power_level(self, room_id: str, user_id: str) -> float:
        """The user's power in the room; `inf` for creators of rooms of version 12."""
        state = await self._room_state(room_id)
        creator = creator_power(state, user_id)
        if creator is not None:
            return creator
        levels = next((ev.get("content") for ev in state
                       if ev.get("type") == "m.room.power_levels"), None)
        return power_from_levels(levels, user_id)

    async def joined_count(self, room_id: str) -> int:
        if room_id not in self._joined_cache:
            resp = await self._retry(lambda: self.client.joined_members(room_id), "members",
                                     )
            self._joined_cache[room_id] = len(resp.members)
        return self._joined_cache[room_id]
