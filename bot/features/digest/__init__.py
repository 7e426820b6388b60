"""The weekly digest for partner organisations: composed from every feature's records,
posted once per room per ISO week (a missed one at start), previewed on demand."""

from __future__ import annotations

from bot.config import SectionSpec
from bot.feature import Feature, Wiring
from bot.features.digest.activity import ActivityCounter
from bot.features.digest.composer import DigestComposer
from bot.features.digest.config import parse_digest
from bot.features.digest.delivery import DigestSender, DigestSubscriptions


def setup(wiring: Wiring) -> None:
    deps = wiring.deps
    sender = DigestSender(deps)
    composer = DigestComposer(deps.config, deps.translator)
    wiring.service("digests", DigestSubscriptions)
    wiring.service("digest", lambda _session: sender)
    wiring.service("digest_composer", lambda _session: composer)
    wiring.listen(ActivityCounter(deps).on_event)
    wiring.job(sender.deliver, sender.trigger(), id="digest", coalesce=True,
               misfire_grace_time=3600)
    wiring.on_start(sender.catch_up)


FEATURE = Feature("digest", setup, config=(SectionSpec("digest", parse_digest),))
