"""Advice for the "normal economy": organisations outside the network ask through a web
form; requests are stored and posted into the advisory room."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import SectionSpec
from bot.feature import Feature, Wiring
from bot.features.advice import web
from bot.features.advice.config import AdviceConfig, parse_advice
from bot.features.advice.service import AdviceService


def setup(wiring: Wiring) -> None:
    deps = wiring.deps

    def service(session: AsyncSession) -> AdviceService:
        return AdviceService(session, deps)

    wiring.service("advice", service)
    wiring.routes(web.routes(deps.config.section(AdviceConfig), service), templates=__name__)


FEATURE = Feature("advice", setup, config=(SectionSpec("web", parse_advice),))
