"""Collaborations: members working on something together, where it came from (a
connection, a round, or direct), its status and its notes.

- `service.py`: `CollaborationService` (`ctx.services.collaborations`) decides and records;
- `messages.py`: how collaborations read (statuses, cards, lists, `!collab`'s answers);
- `commands/collab.py`: `!collab add|list|show|status|note`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.feature import Feature, Wiring
from bot.features.collaborations.service import CollaborationService

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession


def setup(wiring: Wiring) -> None:
    deps = wiring.deps
    network = deps.config.network

    def service(session: AsyncSession) -> CollaborationService:
        return CollaborationService(session, network, deps.clock)

    wiring.service("collaborations", service)

    async def status_gauges() -> None:
        async with deps.db.session() as session:
            by_status = await service(session).counts_by_status()
        for status, n in by_status.items():
            deps.metrics.collaborations.labels(status=status).set(n)

    wiring.on_scrape(status_gauges)


FEATURE = Feature("collaborations", setup)
