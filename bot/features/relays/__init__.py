"""Relays between the network's rooms: `!share` from a location room to the topic rooms it
concerns (or every location room), and multilingual `!announce` to all of them."""

from __future__ import annotations

from bot.feature import Feature, Wiring
from bot.features.profiles.config import TagsConfig
from bot.features.relays.service import Relays


def setup(wiring: Wiring) -> None:
    deps = wiring.deps
    tags = deps.config.section(TagsConfig)  # a share finds its topic rooms by tag
    wiring.service("relays", lambda session: Relays(session, deps, tags))


FEATURE = Feature("relays", setup)
