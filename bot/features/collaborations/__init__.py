"""Collaborations: members working on something together, where it came from (a
connection, a round, or direct), its status and its notes."""

from __future__ import annotations

from bot.feature import Feature, Wiring
from bot.features.collaborations.service import CollaborationService


def setup(wiring: Wiring) -> None:
    deps = wiring.deps
    wiring.service("collaborations", lambda session: CollaborationService(session, deps))

    async def status_gauges() -> None:
        async with deps.db.session() as session:
            by_status = await CollaborationService(session, deps).counts_by_status()
        for status, n in by_status.items():
            deps.metrics.collaborations.labels(status=status).set(n)

    wiring.on_scrape(status_gauges)


FEATURE = Feature("collaborations", setup)
