"""Advice for the "normal economy": organisations outside the network ask through a web
form; requests are stored and posted into the advisory room."""

from __future__ import annotations

from bot.config import SectionSpec
from bot.feature import Feature, Wiring
from bot.features.advice import web
from bot.features.advice.config import parse_advice
from bot.features.advice.service import AdviceService


def setup(wiring: Wiring) -> None:
    deps = wiring.deps
    wiring.service("advice", lambda session: AdviceService(session, deps))
    wiring.routes(web.setup, templates=__name__)


FEATURE = Feature("advice", setup, config=(SectionSpec("web", parse_advice),))
