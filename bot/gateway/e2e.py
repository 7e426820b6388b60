"""The gateway's encryption chores, kept apart from plain messaging: opening the device's
keys, the key bookkeeping after each /sync (upload, query, claim, to-device), knowing which
rooms are encrypted, decrypting kept events, asking senders for missing keys, encrypting
files, and politely declining interactive verification.

Trust policy (see README, "Encryption"): room keys are shared with every device of every
joined (and invited) member, verified or not — as a community bot must, since members do
not verify a bot; devices are never blacklisted. The bot does not do interactive (emoji)
verification: nio cannot cross-sign, and a bot has no one to compare emojis with. A
request is cancelled with a reason, so the member's client does not wait in vain.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from nio import AsyncClient, MatrixRoom
from nio.crypto import async_encrypt_attachment
from nio.event_builders import ToDeviceMessage
from nio.events import (
    KeyVerificationStart,
    MegolmEvent,
    RoomKeyEvent,
    UnknownToDeviceEvent,
)
from nio.exceptions import EncryptionError
from nio.responses import SyncResponse

from bot.events import Undecryptable
from bot.gateway.crypto import key_request

log = logging.getLogger(__name__)
T = TypeVar("T")
Call = Callable[[Callable[[], Awaitable[Any]], str], Awaitable[Any]]
NO_VERIFICATION = ("sbcc-bot does not do interactive verification; it shares keys with "
                   "every member's devices")


class E2E:
    def __init__(self, client: AsyncClient, call: Call) -> None:
        self.client = client
        self._call = call  # the gateway's retrying call: transient failures retried

    @property
    def enabled(self) -> bool:
        return self.client.olm is not None

    async def open(self) -> None:
        """Open the device's keys (created on first start) and publish what is missing."""
        self.client.load_store()
        if not self.enabled:
            return
        keys = self.client.olm.account.identity_keys
        log.info("encryption on: device %s, fingerprint %s", self.client.device_id,
                 " ".join(keys["ed25519"][i:i + 4] for i in range(0, len(keys["ed25519"]), 4)))
        await self.chores()

    async def chores(self) -> None:
        """Keys bookkeeping nio leaves to its user: after each /sync, before the batch's
        events are handled (so a reply to a newcomer's message is encrypted for them)."""
        client = self.client
        if not self.enabled:
            return
        if client.should_upload_keys:
            await self._call(client.keys_upload, "keys upload")
        if client.should_query_keys:
            await self._call(client.keys_query, "keys query")
        if client.should_claim_keys:
            users = client.get_users_for_key_claiming()
            await self._call(lambda: client.keys_claim(users), "keys claim")
        if client.outgoing_to_device_messages:
            for resp in await client.send_to_device_messages():
                if not hasattr(resp, "to_device_message"):
                    log.warning("a to-device message was not sent: %s", resp)

    async def after_sync(self, resp: SyncResponse) -> int:
        """Chores after a /sync; returns how many room keys arrived with it."""
        if not self.enabled:
            return 0
        keys = 0
        for event in resp.to_device_events:
            if isinstance(event, RoomKeyEvent):
                keys += 1
            elif isinstance(event, KeyVerificationStart):
                self.client.key_verifications.pop(event.transaction_id, None)
                self._decline(event.sender, event.from_device, event.transaction_id)
            elif (isinstance(event, UnknownToDeviceEvent)
                  and event.type == "m.key.verification.request"):
                content = event.source.get("content") or {}
                self._decline(event.sender, str(content.get("from_device", "*")),
                              str(content.get("transaction_id", "")))
        await self.chores()
        return keys

    def _decline(self, user_id: str, device_id: str, transaction_id: str) -> None:
        log.info("declining a verification request from %s", user_id)
        assert self.client.olm is not None
        self.client.olm.outgoing_to_device_messages.append(ToDeviceMessage(
            "m.key.verification.cancel", user_id, device_id,
            {"transaction_id": transaction_id, "code": "m.user", "reason": NO_VERIFICATION}))

    # -- rooms -----------------------------------------------------------------------

    def knows(self, room_id: str) -> bool:
        return not self.enabled or room_id in self.client.rooms

    def add_room(self, room_id: str, encrypted: bool) -> None:
        """Make a room known to nio (which must know a room to send to it when
        encryption is on): one the bot just created or joined, or one that had no activity
        since the start."""
        client = self.client
        if room_id not in client.rooms:
            client.rooms[room_id] = MatrixRoom(room_id, client.user_id, encrypted)
        if encrypted:
            client.rooms[room_id].encrypted = True
            if room_id not in client.encrypted_rooms:
                client.encrypted_rooms.add(room_id)
                if client.store:
                    client.store.save_encrypted_rooms([room_id])

    def invited(self, room_id: str, user_id: str) -> bool:
        """Count `user_id` among the room's members for key sharing (nio would learn of
        the invite only from a later sync) and start a new Megolm session for the next
        message; True when their devices must be looked up first."""
        room = self.client.rooms.get(room_id)
        if room is None or self.client.olm is None:
            return False
        if room.add_member(user_id, None, None, invited=True):
            self.client.invalidate_outbound_session(room_id)
        self.client.olm.users_for_key_query.add(user_id)
        return self.client.should_query_keys

    def is_encrypted(self, room_id: str) -> bool:
        room = self.client.rooms.get(room_id)
        return self.enabled and room is not None and room.encrypted

    def forget_room(self, room_id: str) -> None:
        self.client.rooms.pop(room_id, None)

    # -- kept events -------------------------------------------------------------------

    def decrypt(self, event: Undecryptable) -> dict[str, Any] | None:
        """The plaintext event of a kept encrypted event, once its key is here."""
        if not self.enabled:
            return None
        megolm = _megolm(event)
        if megolm is None:
            return None
        try:
            plain = self.client.decrypt_event(megolm)
        except EncryptionError:
            return None
        if isinstance(plain, MegolmEvent) or not getattr(plain, "decrypted", False):
            return None
        source = getattr(plain, "source", None)
        return source if isinstance(source, dict) else None

    async def request_keys(self, event: Undecryptable) -> bool:
        """Ask the sender's device for the event's room key (once per session); False
        when there was nothing to ask."""
        olm = self.client.olm
        megolm = _megolm(event)
        if olm is None or megolm is None or not megolm.session_id:
            return False
        if megolm.session_id in olm.outgoing_key_requests:
            return False
        assert self.client.device_id
        olm.outgoing_to_device_messages.append(key_request(megolm, self.client.device_id))
        await self.chores()
        return True

    # -- files -------------------------------------------------------------------------

    async def encrypt_file(self, data: bytes) -> tuple[bytes, dict[str, Any]]:
        """The ciphertext to upload, and the `file` object without its `url`."""
        chunks = []
        keys: dict[str, Any] = {}
        async for part in async_encrypt_attachment(io.BytesIO(data)):
            if isinstance(part, dict):
                keys = part
            else:
                chunks.append(part)
        return b"".join(chunks), keys


def _megolm(event: Undecryptable) -> MegolmEvent | None:
    parsed = MegolmEvent.from_dict(event.source)
    if not isinstance(parsed, MegolmEvent):
        return None
    parsed.room_id = event.room_id
    return parsed
