"""Profiles and introductions: what members say about themselves (organisation, location,
offers and needs as tags, languages, timezone, bio) and the cards that introduce them."""

from __future__ import annotations

from bot.config import SectionSpec
from bot.feature import Feature, Wiring
from bot.features.profiles.config import TagsConfig, parse_synonyms
from bot.features.profiles.introductions import Introductions
from bot.features.profiles.service import ProfileService


def setup(wiring: Wiring) -> None:
    deps = wiring.deps
    canonical = deps.config.section(TagsConfig).canonical
    wiring.service("profiles", lambda session: ProfileService(session, deps.clock, canonical))
    wiring.service("introductions", lambda session: Introductions(session, deps))


FEATURE = Feature("profiles", setup, config=(SectionSpec("tags", parse_synonyms),))
