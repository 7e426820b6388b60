"""What handlers and services may reach, owned by the App and passed down (no globals)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.metrics import Metrics
from bot.protocols import Gateway
from rooms.direct import DirectChats
from rooms.settings import Locales

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.config import Config
    from bot.db import Database
    from bot.i18n import Translator


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
    direct: DirectChats = field(init=False, repr=False)  # the bot's direct chats

    def __post_init__(self) -> None:
        self.direct = DirectChats(self.db,
                                  self.config.matrix.encryption.encrypt_private_rooms)

    def locales(self, session: AsyncSession) -> Locales:
        """Which language to write in (a room's, a member's, a reader's), with the
        configured default."""
        return Locales(session, self.config.default_language)
