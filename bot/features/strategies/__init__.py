"""Joint 10-year strategies, written together by the creative actors of several locations
(the network's second cooperation concept), as Decidim and Loomio run such processes:
phases with dates (proposals → discussion → vote → result) announced once in every covered
location room; proposals posted in their location room and mirrored to the others;
endorsements by 👍; coordinators' answers; native Matrix polls per section with reminders
to those who have not voted; results by section and location; and a document at the end.

- `service.py`: decides and records; `dues.py`: what a process sends, once;
- `listeners.py`: 👍, their redactions, poll responses; `messages.py`: how it reads;
- `document.py`, `export.py`, `web.py`: `/strategies/<id>` as HTML, Markdown, JSON, CSV and
  OpenDocument (public, or with the process's key);
- `commands/strategy.py`: `!strategy …`, `!propose`, `!amend`, `!vote`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import SectionSpec
from bot.db.models import Endorsement, Proposal, StrategyVote
from bot.feature import Feature, PersonalData, Wiring
from bot.features.strategies import web
from bot.features.strategies.config import StrategiesConfig, parse_strategies
from bot.features.strategies.dues import StrategyDues
from bot.features.strategies.listeners import StrategyListeners
from bot.features.strategies.service import StrategyService
from bot.i18n import N_


def setup(wiring: Wiring) -> None:
    deps = wiring.deps
    config = deps.config.section(StrategiesConfig)

    def service(session: AsyncSession) -> StrategyService:
        return StrategyService(session, deps, config)

    dues = StrategyDues(deps, config, service)
    wiring.service("strategies", service)
    wiring.service("strategy_dues", lambda _session: dues)
    wiring.listen(StrategyListeners(deps, service).on_event)
    wiring.on_start(dues.run)
    wiring.job(dues.run, "interval", id="strategy-dues", minutes=1, coalesce=True,
               max_instances=1)

    async def load(process_id: int) -> Any:
        async with deps.db.session() as session:
            return await service(session).document(process_id)

    async def key_of(process_id: int) -> str | None:
        async with deps.db.session() as session:
            return await service(session).key_of(process_id)

    wiring.routes(web.routes(load, key_of), templates=__name__)

    async def export(session: AsyncSession, mxid: str) -> dict[str, Any]:
        proposals = (await session.scalars(select(Proposal).where(
            Proposal.author == mxid).order_by(Proposal.id))).all()
        endorsed = (await session.scalars(select(Endorsement.proposal_id).where(
            Endorsement.mxid == mxid))).all()
        votes = (await session.scalars(select(StrategyVote).where(
            StrategyVote.mxid == mxid))).all()
        return {
            "proposals": [{"strategy": p.process_id, "number": p.number,
                           "section": p.section, "text": p.text, "status": p.status,
                           "at": p.created_at.isoformat()} for p in proposals],
            "endorsed_proposals": list(endorsed),
            "votes": [{"strategy": v.process_id, "section": v.section,
                       "proposal": v.proposal, "at": v.voted_at.isoformat()}
                      for v in votes],
        }

    async def erase(session: AsyncSession, mxid: str, alias: str) -> int:
        """Proposals stay (they are the strategy's) under a former member's name; an
        endorsement or a vote becomes anonymous."""
        touched = 0
        for statement in (
                update(Proposal).where(Proposal.author == mxid).values(author=alias),
                update(Endorsement).where(Endorsement.mxid == mxid).values(mxid=alias),
                update(StrategyVote).where(StrategyVote.mxid == mxid).values(mxid=alias)):
            result = await session.execute(statement)
            touched += getattr(result, "rowcount", 0) or 0
        return touched

    wiring.holds(PersonalData(
        "strategies", N_("your proposals to joint strategies, the proposals you endorsed and "
                         "your votes"), export, erase))


FEATURE = Feature("strategies", setup,
                  config=(SectionSpec("strategies", parse_strategies),))
