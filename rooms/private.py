"""Private rooms the bot opens for members (an introduction, a matchmaking group, a direct
chat for reminders): found again by a deterministic alias, so asking twice — a redelivered
command, a restart halfway — never makes a second room. They are end-to-end encrypted
unless `matrix.encryption.private_rooms` is off."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.protocols import Gateway


def room_alias_for(kind: str, key: str) -> str:
    """A deterministic alias localpart: creating the same room twice finds the first."""
    return f"sbcc-{kind}-" + hashlib.sha256(key.encode()).hexdigest()[:20]


async def private_room(gateway: Gateway, server_name: str, kind: str, key: str, *,
                       name: str, invite: Sequence[str], is_direct: bool = False,
                       encrypted: bool = True) -> str:
    """The room of `kind`/`key`: the existing one, else a new one inviting `invite`."""
    alias = room_alias_for(kind, key)
    existing = await gateway.resolve_alias(f"#{alias}:{server_name}")
    if existing is not None:
        return existing
    return await gateway.create_room(name=name, alias=alias, invite=tuple(invite),
                                     is_direct=is_direct, encrypted=encrypted)
