"""Advice for the "normal economy": organisations outside the network ask through a web
form; requests are stored and posted into the advisory room. A requester's e-mail address
is erased `privacy.advice_emails` after the request was closed."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import SectionSpec
from bot.feature import Feature, Wiring
from bot.features.advice import web
from bot.features.advice.config import AdviceConfig, parse_advice
from bot.features.advice.service import AdviceService, erase_emails
from bot.features.privacy.config import PrivacyConfig


def setup(wiring: Wiring) -> None:
    deps = wiring.deps
    keep = deps.config.section(PrivacyConfig).advice_emails.delta

    def service(session: AsyncSession) -> AdviceService:
        return AdviceService(session, deps)

    async def erase_closed_emails() -> None:
        async with deps.db.session() as session:
            await erase_emails(session, deps.clock(), keep)

    wiring.service("advice", service)
    wiring.routes(web.routes(deps.config.section(AdviceConfig), service), templates=__name__)
    wiring.job(erase_closed_emails, "interval", id="advice-erase-emails", hours=1,
               next_run_time=deps.clock() + timedelta(minutes=3), coalesce=True)


FEATURE = Feature("advice", setup, config=(SectionSpec("web", parse_advice),))
