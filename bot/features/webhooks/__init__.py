"""Inbound webhooks: `POST /hooks/<name>` posts a notice into the network rooms the hook
is configured for (`web.hooks`)."""

from __future__ import annotations

from bot.config import SectionSpec
from bot.feature import Feature, Wiring
from bot.features.webhooks import web
from bot.features.webhooks.config import HooksConfig, parse_hooks


def setup(wiring: Wiring) -> None:
    wiring.routes(web.routes(wiring.deps.config.section(HooksConfig)))


FEATURE = Feature("webhooks", setup, config=(SectionSpec("web", parse_hooks),))
