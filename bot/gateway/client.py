"""The gateway: the only class that talks to matrix-nio.

It turns /sync answers into our own dataclasses (`bot.events`), sends messages with
deterministic transaction ids, turns error responses into exceptions and retries what is
worth retrying with capped, jittered backoff. Encryption's chores live in `bot.gateway.e2e`;
with it on, messages to encrypted rooms are encrypted and encrypted events decrypted here,
so nothing beyond the gateway needs to know.
"""

from __future__ import annotations

import asyncio
import functools
import io
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from nio import Api, AsyncClientConfig, ErrorResponse, LoginResponse, MessageDirection
from nio.api import RelationshipType
from nio.events import Event, MegolmEvent
from nio.exceptions import LocalProtocolError, OlmTrustError
from nio.responses import RoomEventRelationsResponse, SyncResponse

from bot.backoff import Backoff
from bot.errors import GatewayError, HomeserverUnavailable
from bot.events import (
    Invite,
    MembershipChange,
    Outgoing,
    PollResponse,
    RoomEvent,
    StateChange,
    SyncBatch,
    Undecryptable,
)
from bot.gateway.crypto import CryptoClient
from bot.gateway.e2e import E2E
from bot.gateway.translate import (
    TIMELINE_LIMIT,
    creator_power,
    is_encrypted_state,
    power_from_levels,
    sync_filter,
    to_room_event,
    undecryptable,
)
from bot.lru import Lru
from bot.retries import patience

log = logging.getLogger(__name__)
T = TypeVar("T")
GAP_FILL_LIMIT = 1000
RELATIONS_PAGE = 100  # events per /relations request
RELATIONS_LIMIT = 10_000  # events read back for one poll at most (the newest)
# Rooms whose power levels and member count are remembered (each a few hundred bytes; the
# bot is in a room per !connect pair, so the number of rooms grows without end)
ROOM_FACTS_KEPT = 1024
FIRST_SYNC_TIMELINE = 1  # events per room in the very first /sync (history, skipped)
ENCRYPTION = {"type": "m.room.encryption", "state_key": "",
              "content": {"algorithm": "m.megolm.v1.aes-sha2"}}


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


class MatrixGateway:
    """One logged-in Matrix account; everything the bot does on Matrix goes through here."""

    def __init__(self, homeserver: str, user_id: str, device_id: str | None = None, *,
                 store_path: Path | None = None, passphrase: str = "") -> None:
        """`store_path`: where the device's encryption keys live; None: no encryption."""
        config = AsyncClientConfig(
            encryption_enabled=store_path is not None,
            store_sync_tokens=False,
            max_timeouts=0,  # we retry ourselves, with jitter and our own limits
            request_timeout=30,
            pickle_key=passphrase,
        )
        self.client = CryptoClient(homeserver, user_id, device_id=device_id, config=config,
                                   store_path=str(store_path) if store_path else "")
        self.e2e = E2E(self.client, self._retry)
        self.user_id = user_id
        self._state_cache: Lru[str, list[dict[str, Any]]] = Lru(ROOM_FACTS_KEPT)
        self._joined_cache: Lru[str, int] = Lru(ROOM_FACTS_KEPT)
        self._stopping = asyncio.Event()
        self._filter_ids: dict[int, str] = {}  # uploaded filters by their timeline limit

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

    def use_device(self, device_id: str | None) -> None:
        """The device to log in as (or that a bare access token turned out to be)."""
        self.client.device_id = device_id

    async def open_keys(self) -> None:
        """Once the device is known: open (or create) its encryption keys and publish
        them. A restart opens the same keys: the device stays the one members trust."""
        await self.e2e.open()

    @property
    def encryption(self) -> bool:
        """Whether the bot reads and writes encrypted rooms."""
        return self.e2e.enabled

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
        except (LocalProtocolError, OlmTrustError) as exc:  # nio refusing, not the server
            raise GatewayError(f"{what}: {exc}") from exc

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

    async def _sync_filter(self, first: bool = False) -> str:
        """The filter, uploaded once (the homeserver then need not parse it every time).
        `first`: for a /sync without a position, whose timelines are history the bot skips:
        only each room's newest event (in a network of thousands of members the homeserver
        otherwise sends a hundred per room, and the members who sent them)."""
        limit = FIRST_SYNC_TIMELINE if first else TIMELINE_LIMIT
        if limit not in self._filter_ids:
            spec = sync_filter(limit)
            resp = await self._call(lambda: self.client.upload_filter(
                user_id=self.user_id, presence=spec["presence"],
                account_data=spec["account_data"], room=spec["room"]), "filter")
            self._filter_ids[limit] = resp.filter_id
        return self._filter_ids[limit]

    async def sync(self, since: str | None, timeout_ms: int = 30_000) -> SyncBatch:
        """One /sync; raises HomeserverUnavailable so the caller can back off. Without a
        position (`since` None: the very first start) the rooms' history is left out."""
        sync_filter_id = await self._sync_filter(first=since is None)
        resp: SyncResponse = await self._call(
            lambda: self.client.sync(timeout=timeout_ms, sync_filter=sync_filter_id,
                                     since=since),
            "sync",
        )
        batch = SyncBatch(next_batch=resp.next_batch)
        try:
            batch.room_keys = await self.e2e.after_sync(resp)
        except GatewayError as exc:  # done again after the next /sync
            log.warning("encryption keys bookkeeping failed: %s", exc)
        for room_id, info in resp.rooms.invite.items():
            batch.invites.append(self._invite(room_id, info.invite_state))
        for room_id, room in resp.rooms.join.items():
            events: list[Any] = list(room.timeline.events)
            if room.timeline.limited and since and room.timeline.prev_batch:
                events = await self._fill_gap(room_id, room.timeline.prev_batch, since) + events
            for ev in events:
                event = self._translate(room_id, ev)
                if event is not None:
                    self._observe(event)
                    if event.sender != self.user_id:  # the bot's own: nothing to handle
                        batch.events.append(event)
            for ev in room.state:
                self._invalidate(room_id, getattr(ev, "source", {}).get("type"))
        batch.left_rooms.extend(resp.rooms.leave)
        for room_id in resp.rooms.leave:
            self._state_cache.pop(room_id)
            self._joined_cache.pop(room_id)
            self.e2e.forget_room(room_id)
        return batch

    @staticmethod
    def _translate(room_id: str, ev: Event | Any) -> RoomEvent | None:
        """Our event for nio's: decrypted ones as what they are, the rest kept as
        `Undecryptable` until their key comes."""
        source = getattr(ev, "source", None) or {}
        if isinstance(ev, MegolmEvent):
            return undecryptable(room_id, source)
        return to_room_event(room_id, source, decrypted=bool(getattr(ev, "decrypted", False)))

    def decrypt(self, event: Undecryptable) -> RoomEvent | None:
        """The kept event, decrypted, once its room key has arrived; None until then."""
        source = self.e2e.decrypt(event)
        if source is None:
            return None
        return to_room_event(event.room_id, source, decrypted=True)

    async def request_keys(self, event: Undecryptable) -> bool:
        """Ask the sender's device for the missing room key (once per session)."""
        return await self.e2e.request_keys(event)

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

    async def _fill_gap(self, room_id: str, prev_batch: str, since: str) -> list[Any]:
        """Fetch the events a limited timeline left out, oldest first (while we were away);
        nio has decrypted what it could."""
        missing: list[Any] = []
        token: str | None = prev_batch
        while token and len(missing) < GAP_FILL_LIMIT:
            resp = await self._retry(
                functools.partial(self.client.room_messages, room_id, start=token, end=since,
                                  direction=MessageDirection.back, limit=100),
                "messages",
            )
            if not resp.chunk:
                break
            missing.extend(resp.chunk)
            token = resp.end if resp.end != token else None
        if len(missing) >= GAP_FILL_LIMIT:
            log.warning("gap in %s longer than %d events; older ones skipped", room_id,
                        GAP_FILL_LIMIT)
        missing.reverse()
        return missing

    def _observe(self, event: RoomEvent) -> None:
        if isinstance(event, MembershipChange):
            self._joined_cache.pop(event.room_id)
        elif isinstance(event, StateChange):
            self._invalidate(event.room_id, event.type)

    def _invalidate(self, room_id: str, etype: str | None) -> None:
        if etype in ("m.room.power_levels", "m.room.create"):
            self._state_cache.pop(room_id)
        elif etype == "m.room.member":
            self._joined_cache.pop(room_id)

    # -- sending -------------------------------------------------------------------------

    async def _known(self, room_id: str) -> None:
        """With encryption on, nio sends only to rooms it knows (and encrypts for those
        it knows to be encrypted): a room quiet since the start is looked up once."""
        if self.e2e.knows(room_id):
            return
        state = await self._retry(lambda: self.client.room_get_state(room_id), "state")
        self.e2e.add_room(room_id, is_encrypted_state(list(state.events)))

    async def send(self, message: Outgoing) -> str:
        """Send a message (encrypted in an encrypted room); the same `txn_id` sent twice
        yields one event."""
        await self._known(message.room_id)
        resp = await self._retry(
            lambda: self.client.room_send(
                message.room_id,
                "m.room.message",
                message.content(),
                tx_id=message.txn_id,
                ignore_unverified_devices=True,  # the trust policy: see bot.gateway.e2e
            ),
            "send",
        )
        return resp.event_id

    async def send_event(self, room_id: str, event_type: str, content: dict[str, Any],
                         txn_id: str) -> str:
        """Send an event of any type (a poll, see `bot.polls`): encrypted in an encrypted
        room, retried like `send`; the same `txn_id` sent twice yields one event."""
        await self._known(room_id)
        resp = await self._retry(
            lambda: self.client.room_send(room_id, event_type, content, tx_id=txn_id,
                                          ignore_unverified_devices=True),
            "send",
        )
        return resp.event_id

    async def poll_responses(self, room_id: str, poll_event_id: str) -> list[PollResponse]:
        """Every response to the poll, read back from the homeserver (to count again after
        a restart or a gap in /sync), oldest first by `origin_server_ts` (MSC3381 counts a
        person's latest). In an encrypted room a response the bot has no key for is
        skipped. At most the newest `RELATIONS_LIMIT` related events are read."""
        responses: list[PollResponse] = []
        token: str | None = None
        read = 0
        while True:
            page = await self._retry(
                functools.partial(self._relations, room_id, poll_event_id, token), "relations")
            for ev in page.events:
                response = self._poll_response(room_id, poll_event_id,
                                               getattr(ev, "source", None) or {})
                if response is not None:
                    responses.append(response)
            read += len(page.events)
            if not page.next_batch or page.next_batch == token or not page.events:
                break
            if read >= RELATIONS_LIMIT:
                log.warning("poll %s in %s has more than %d related events; older ones "
                            "skipped", poll_event_id, room_id, RELATIONS_LIMIT)
                break
            token = page.next_batch
        responses.reverse()  # pages come newest first
        return sorted(responses, key=lambda r: r.timestamp_ms)

    async def _relations(self, room_id: str, event_id: str,
                         token: str | None) -> RoomEventRelationsResponse | ErrorResponse:
        """One page of the events referring to `event_id`, newest first (nio's own
        iterator neither retries a page nor survives an error answer)."""
        method, path = Api.room_get_event_relations(
            self.client.access_token, room_id, event_id, RelationshipType.reference,
            direction=MessageDirection.back, paginate_from=token, limit=RELATIONS_PAGE)
        return await self.client._send(RoomEventRelationsResponse, method, path,
                                       response_data=(room_id, event_id))

    def _poll_response(self, room_id: str, poll_event_id: str,
                       source: dict[str, Any]) -> PollResponse | None:
        """A related event as a response to this poll (decrypted when it is encrypted and
        its key is here), or None."""
        if source.get("type") == "m.room.encrypted":
            kept = undecryptable(room_id, source)
            event = self.decrypt(kept) if kept is not None else None
            if event is None:
                log.debug("event %s referring to poll %s in %s not decrypted; skipped",
                          source.get("event_id"), poll_event_id, room_id)
                return None
        else:
            event = to_room_event(room_id, source)
        if isinstance(event, PollResponse) and event.poll_id == poll_event_id:
            return event
        return None

    async def upload(self, room_id: str, data: bytes, content_type: str,
                     filename: str) -> dict[str, Any]:
        """Upload a file meant for `room_id`; returns the content fields that point at it:
        `url`, or in an encrypted room `file` (the upload is then encrypted)."""
        await self._known(room_id)
        if not self.e2e.is_encrypted(room_id):
            resp = await self._retry(
                lambda: self._upload(data, content_type, filename), "upload")
            return {"url": resp.content_uri}
        cipher, keys = await self.e2e.encrypt_file(data)
        resp = await self._retry(
            lambda: self._upload(cipher, "application/octet-stream", filename), "upload")
        return {"file": {"url": resp.content_uri, "mimetype": content_type, **keys}}

    async def _upload(self, data: bytes, content_type: str, filename: str):  # noqa: ANN202
        resp, _keys = await self.client.upload(io.BytesIO(data), content_type=content_type,
                                               filename=filename, filesize=len(data))
        return resp

    async def react(self, room_id: str, event_id: str, key: str, txn_id: str) -> str:
        """Annotate an event (the bot's own prompts offer ✅ / ❌ this way). Reactions are
        sent in the clear even in encrypted rooms (nio does not encrypt them; the
        homeserver must read what they annotate anyway): they carry only the emoji."""
        await self._known(room_id)
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
        """Invite `user_id`. In an encrypted room the invitee is also a recipient of what
        the bot sends next (as Element shares keys with invited members), without waiting
        for the invite to come back through sync: an introduction posted right after the
        invite is readable when they join."""
        await self._retry(lambda: self.client.room_invite(room_id, user_id), "invite")
        if self.e2e.is_encrypted(room_id) and self.e2e.invited(room_id, user_id):
            await self._retry(self.client.keys_query, "keys")

    # -- rooms and state -----------------------------------------------------------------

    async def create_room(self, *, name: str, topic: str = "", alias: str | None = None,
                          space: bool = False, initial_state: list[dict[str, Any]] | None = None,
                          power_levels: dict[str, Any] | None = None,
                          invite: tuple[str, ...] = (), is_direct: bool = False,
                          encrypted: bool = False) -> str:
        """Create a room (or a Space); `alias` is a localpart on our server. `encrypted`
        (when the bot has encryption on): end-to-end encrypted from the first event."""
        encrypted = encrypted and self.encryption
        state = [*(initial_state or ()), *([ENCRYPTION] if encrypted else [])]
        resp = await self._retry(
            lambda: self.client.room_create(
                alias=alias, name=name, topic=topic or None, space=space,
                initial_state=state, power_level_override=power_levels,
                invite=invite, is_direct=is_direct,
            ),
            "create room",
        )
        if self.encryption:
            self.e2e.add_room(resp.room_id, encrypted)
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
        self._joined_cache.put(room_id, len(resp.members))
        return {m.user_id: m.display_name for m in resp.members}

    # -- room facts ----------------------------------------------------------------------

    async def _room_state(self, room_id: str) -> list[dict[str, Any]]:
        state = self._state_cache.get(room_id)
        if state is None:
            resp = await self._retry(lambda: self.client.room_get_state(room_id), "state",
                                     )
            state = [ev for ev in resp.events
                     if ev.get("type") in ("m.room.create", "m.room.power_levels")]
            self._state_cache.put(room_id, state)
        return state

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
        count = self._joined_cache.get(room_id)
        if count is None:
            resp = await self._retry(lambda: self.client.joined_members(room_id), "members",
                                     )
            count = len(resp.members)
            self._joined_cache.put(room_id, count)
        return count
