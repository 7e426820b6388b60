"""The weekly digest for partner organisations: composed from every feature's records,
posted once per room per ISO week (a missed one at start), previewed on demand."""

from __future__ import annotations

from bot.config import SectionSpec
from bot.feature import Feature, Wiring
from bot.features.digest.activity import ActivityCounter
from bot.features.digest.composer import DigestComposer
from bot.features.digest.config import DigestConfig, parse_digest
from bot.features.digest.delivery import DigestSender, DigestSubscriptions


def setup(wiring: Wiring) -> None:
    deps = wiring.deps
    config = deps.config.section(DigestConfig)
    sender = DigestSender(deps, config, DigestComposer(deps.config.network, config))
    wiring.service("digest", lambda _session: sender)
    wiring.service("digest_subscriptions", DigestSubscriptions)
    wiring.listen(ActivityCounter(deps, config).on_event)
    wiring.job(sender.deliver, sender.trigger(), id="digest", coalesce=True,
               misfire_grace_time=3600)
    wiring.on_start(sender.catch_up)


FEATURE = Feature("digest", setup, config=(SectionSpec("digest", parse_digest),))
