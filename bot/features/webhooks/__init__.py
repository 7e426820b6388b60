"""Inbound webhooks: `POST /hooks/<name>` posts a notice into the network rooms the hook
is configured for (`web.hooks`); a retried post with the same `Idempotency-Key` posts once,
and the keys are forgotten after a day."""

from __future__ import annotations

from datetime import timedelta

from bot.config import SectionSpec
from bot.feature import Feature, Wiring
from bot.features.webhooks import deliveries, web
from bot.features.webhooks.config import HooksConfig, parse_hooks


def setup(wiring: Wiring) -> None:
    deps = wiring.deps
    wiring.routes(web.routes(deps.config.section(HooksConfig)))

    async def prune_keys() -> None:
        await deliveries.prune(deps.db, deps.clock())

    wiring.job(prune_keys, "interval", id="prune-hook-keys", hours=1,
               next_run_time=deps.clock() + timedelta(minutes=2), coalesce=True)


FEATURE = Feature("webhooks", setup, config=(SectionSpec("web", parse_hooks),))
