"""What handlers and services may reach, owned by the App and passed down (no globals)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from bot.events import Outgoing
from bot.metrics import Metrics
from rooms.settings import Locales

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.config import Config
    from bot.db import Database
    from bot.i18n import Translator


class Gateway(Protocol):
    """What the bot needs from Matrix; `MatrixGateway` is the real one, tests have a fake."""

    user_id: str

    async def send(self, message: Outgoing) -> str: ...
    async def upload(self, data: bytes, content_type: str, filename: str) -> str: ...
    async def react(self, room_id: str, event_id: str, key: str, txn_id: str) -> str: ...
    async def join(self, room_id: str) -> str: ...
    async def leave(self, room_id: str) -> None: ...
    async def power_level(self, room_id: str, user_id: str) -> float: ...
    async def joined_count(self, room_id: str) -> int: ...
    async def joined_members(self, room_id: str) -> dict[str, str | None]: ...
    async def invite(self, room_id: str, user_id: str) -> None: ...
    async def create_room(self, *, name: str, topic: str = "", alias: str | None = None,
                          space: bool = False, initial_state: list[dict[str, Any]] | None = None,
                          power_levels: dict[str, Any] | None = None,
                          invite: tuple[str, ...] = (), is_direct: bool = False) -> str: ...
    async def resolve_alias(self, alias: str) -> str | None: ...
    async def room_state(self, room_id: str) -> list[dict[str, Any]]: ...
    async def put_state(self, room_id: str, event_type: str, content: dict[str, Any],
                        state_key: str = "") -> str: ...


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Deps:
    config: Config
    db: Database
    gateway: Gateway
    translator: Translator
    clock: Callable[[], datetime] = utcnow
    started_at: datetime = field(default_factory=utcnow)
    scheduler: AsyncIOScheduler | None = None  # None in unit tests: jobs are called directly
    metrics: Metrics = field(default_factory=Metrics)

    def locales(self, session: AsyncSession) -> Locales:
        """Which language to write in (a room's, a member's, a reader's), with the
        configured default."""
        return Locales(session, self.config.default_language)
