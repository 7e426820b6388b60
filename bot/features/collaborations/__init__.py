"""Collaborations: members working on something together, where it came from (a
connection, a round, or direct), its status and its notes — public only once everyone
named in it has confirmed.

- `service.py`: `CollaborationService` (`ctx.services.collaborations`) decides and records;
- `requests.py`: the notice asking the named members to confirm (✅ offered on it);
- `listeners.py`: ✅ on that notice confirms;
- `messages.py`: how collaborations read (statuses, cards, lists, `!collab`'s answers);
- `commands/collab.py`: `!collab add|list|show|status|note|confirm|leave`.

A member's collaborations are personal data (`!mydata`, `!forget-me`): exported with their
role, confirmation and history entries; erased by putting a "former member" in place of
their Matrix ID, so the collaboration keeps existing for the others without their name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.feature import Feature, PersonalData, Wiring
from bot.features.collaborations.listeners import ConfirmationReactions
from bot.features.collaborations.requests import ConfirmationRequests
from bot.features.collaborations.service import CollaborationService
from bot.i18n import N_

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession


def setup(wiring: Wiring) -> None:
    deps = wiring.deps
    network = deps.config.network
    requests = ConfirmationRequests(deps)

    def service(session: AsyncSession) -> CollaborationService:
        return CollaborationService(session, network, deps.clock, requests)

    wiring.service("collaborations", service)
    wiring.listen(ConfirmationReactions(deps, service).on_event)

    async def export(session: AsyncSession, mxid: str) -> list[dict[str, object]]:
        return await service(session).export(mxid)

    async def erase(session: AsyncSession, mxid: str, alias: str) -> int:
        erased = await service(session).erase(mxid, alias)
        await requests.withdraw(erased.notices, "a member named here asked to be forgotten")
        return erased.touched

    wiring.holds(PersonalData(
        "collaborations", N_("your collaborations: their titles and status, your part in "
                             "them, whether you confirmed, and your entries in their "
                             "history"), export, erase))

    async def status_gauges() -> None:
        async with deps.db.session() as session:
            by_status = await service(session).counts_by_status()
        for status, n in by_status.items():
            deps.metrics.collaborations.labels(status=status).set(n)

    wiring.on_scrape(status_gauges)


FEATURE = Feature("collaborations", setup)
