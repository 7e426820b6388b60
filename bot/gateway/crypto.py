"""The bot's end-to-end encryption state, as matrix-nio keeps it, with our policies.

- The store is nio's SQLite store (one small local file per device, in `store_path`),
  opened in WAL mode so a write is one short append; the directory is private (0700) and
  the files 0600. An optional passphrase encrypts the keys inside it.
- nio keeps the members of a room only where it needs them: to share room keys with them,
  in encrypted rooms. In the others (the network's rooms, with thousands of members) it
  would otherwise keep everyone it ever saw join or speak, and everyone a member list
  (`joined_members`) named — for nothing: the bot asks the homeserver or its own records.
- Room keys forwarded to us (answers to our key requests) are accepted from the device
  that created the session itself — exactly as trustworthy as the `m.room_key` that device
  should have sent — besides nio's own rule (our own verified devices).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from nio import AsyncClient, MatrixRoom
from nio.crypto import Olm
from nio.events import ForwardedRoomKeyEvent, MegolmEvent
from nio.responses import JoinedMembersResponse, SyncResponse
from nio.store import SqliteStore
from peewee import SqliteDatabase

log = logging.getLogger(__name__)
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def prepare_store_dir(path: Path) -> None:
    """Create the store's directory, private to the bot's user, and tighten what is in
    it (a copy restored from a backup may come with looser modes)."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, PRIVATE_DIR)
    for child in path.iterdir():
        if child.is_file():
            os.chmod(child, PRIVATE_FILE)


class CryptoStore(SqliteStore):
    """nio's SQLite store, in WAL mode and with private file modes."""

    def __post_init__(self) -> None:
        directory = Path(self.store_path)
        prepare_store_dir(directory)
        # created 0600 before SQLite opens it; SQLite gives its WAL and shared-memory files
        # the database file's mode
        name = self.database_name or f"{self.user_id}_{self.device_id}.db"
        os.close(os.open(directory / name, os.O_CREAT | os.O_WRONLY, PRIVATE_FILE))
        super().__post_init__()

    def save_encrypted_rooms(self, rooms: Any) -> None:
        """nio calls this after every /sync with the rooms that became encrypted in it —
        nearly always none, and then it still binds every model, reads the account and
        commits an empty transaction, in the event loop, before the batch is handled
        (1-2 ms a /sync). Nothing to save: nothing done."""
        if rooms:
            super().save_encrypted_rooms(rooms)

    def _create_database(self) -> SqliteDatabase:
        return SqliteDatabase(self.database_path, pragmas={
            "foreign_keys": 1,
            "secure_delete": 1,
            "journal_mode": "wal",
            "synchronous": "normal",  # WAL: durable across a crash of the process
        })


def forwarded_by_origin(content: dict[str, Any], olm_sender_key: str) -> bool:
    """Whether a forwarded room key comes straight from the device that created the
    session: it forwards its own key (nothing in the forwarding chain)."""
    return (content.get("sender_key") == olm_sender_key
            and not content.get("forwarding_curve25519_key_chain"))


class BotOlm(Olm):
    """nio's Olm machine, also accepting the answers to the key requests we send to a
    message's sender (see module docstring)."""

    def _should_accept_forward(self, sender: str, sender_key: str,
                               event: ForwardedRoomKeyEvent) -> bool:
        request = self.outgoing_key_requests.get(event.session_id)
        if request is None or request.room_id != event.room_id:
            return False
        content = event.source.get("content") or {}
        device = self.device_store.device_from_sender_key(sender, sender_key)
        if (device is not None and forwarded_by_origin(content, sender_key)
                and content.get("sender_claimed_ed25519_key") == device.ed25519):
            return True
        return bool(super()._should_accept_forward(sender, sender_key, event))


def forget_members(room: MatrixRoom) -> None:
    """Drop what nio keeps about a room's members (and say they are not loaded, so nio
    loads them again should the room turn encrypted)."""
    room.users.clear()
    room.invited_users.clear()
    room.names.clear()
    room.members_synced = False


class CryptoClient(AsyncClient):
    """An AsyncClient that opens our store and Olm machine, and keeps members only of the
    rooms it encrypts for (see the module's docstring)."""

    def keeps_members(self, room: MatrixRoom) -> bool:
        return self.olm is not None and room.encrypted

    async def _handle_joined_rooms(self, response: SyncResponse) -> None:
        await super()._handle_joined_rooms(response)
        for room_id in response.rooms.join:
            room = self.rooms.get(room_id)
            if room is not None and not self.keeps_members(room) and (
                    room.users or room.invited_users):
                forget_members(room)

    def _handle_joined_members(self, response: JoinedMembersResponse) -> None:
        room = self.rooms.get(response.room_id)
        if room is not None and self.keeps_members(room):
            super()._handle_joined_members(response)

    def load_store(self) -> None:
        opened = getattr(self, "olm", None) is not None
        if opened or not self.config.encryption_enabled or not self.store_path:
            return
        if not self.user_id or not self.device_id:
            raise ValueError("the device must be known before its keys are opened")
        self.store = CryptoStore(self.user_id, self.device_id, self.store_path,
                                 self.config.pickle_key)
        self.olm = BotOlm(self.user_id, self.device_id, self.store)
        self.encrypted_rooms = self.store.load_encrypted_rooms()


def key_request(event: MegolmEvent, device_id: str) -> Any:
    """A room key request sent to the devices of the message's sender (nio's own requests
    go to our other devices, which a bot does not have)."""
    return event.as_key_request(event.sender, device_id, event.session_id, event.device_id)
