"""What handlers and services may reach, owned by the App and passed down (no globals)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from bot.events import Outgoing

if TYPE_CHECKING:
    from bot.config import Config
    from bot.db import Database
    from bot.i18n import Translator
    from commands.registry import Registry


class Gateway(Protocol):
    """What the bot needs from Matrix; `MatrixGateway` is the real one, tests have a fake."""

    user_id: str

    async def send(self, message: Outgoing) -> str: ...
    async def join(self, room_id: str) -> str: ...
    async def leave(self, room_id: str) -> None: ...
    async def power_level(self, room_id: str, user_id: str) -> float: ...
    async def joined_count(self, room_id: str) -> int: ...


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Deps:
    config: Config
    db: Database
    gateway: Gateway
    translator: Translator
    registry: Registry
    clock: Callable[[], datetime] = utcnow
    started_at: datetime = field(default_factory=utcnow)
