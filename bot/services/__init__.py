"""Services hold the logic and the database work; commands parse and reply.

A `Services` object is built per command (and per scheduled job) around that unit's
database session, so each runs in one transaction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.services.collaborations import CollaborationService
from bot.services.digest_delivery import DigestSubscriptions
from bot.services.members import MemberService
from bot.services.profiles import ProfileService
from rooms.settings import RoomSettingsService

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.deps import Deps


class Services:
    def __init__(self, session: AsyncSession, deps: Deps) -> None:
        self.session = session
        self.members = MemberService(session, deps.clock)
        self.rooms = RoomSettingsService(session)
        self.digests = DigestSubscriptions(session)
        self.profiles = ProfileService(session, deps.clock, deps.config.tags.canonical)
        self.collaborations = CollaborationService(session, deps)
