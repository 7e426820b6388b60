"""Profiles and introductions: what members say about themselves (organisation, location,
offers and needs as tags, languages, timezone, bio) and the cards that introduce them.

    config.py         the `tags:` section (synonyms across languages)
    service.py        ProfileService (`ctx.services.profiles`) and the pure parsers
    introductions.py  Introductions (`ctx.services.introductions`): `!intro` and its cards
    messages.py       the profile card
    personal_data.py  what `!mydata` exports and `!forget-me` erases: tags, intro cards

Who sees what: see `service` (name, organisation, location and offers may be public, with
consent, on the showcase; needs, bio, languages and timezone are for members only).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import SectionSpec
from bot.feature import Feature, Wiring
from bot.features.profiles import personal_data
from bot.features.profiles.config import TagsConfig, parse_synonyms
from bot.features.profiles.introductions import Introductions
from bot.features.profiles.service import ProfileService


def setup(wiring: Wiring) -> None:
    deps = wiring.deps
    canonical = deps.config.section(TagsConfig).canonical

    def profiles(session: AsyncSession) -> ProfileService:
        return ProfileService(session, deps.clock, canonical)

    wiring.service("profiles", profiles)
    wiring.service("introductions",
                   lambda session: Introductions(session, deps, profiles(session)))
    wiring.holds(personal_data.TAGS)
    wiring.holds(personal_data.introductions(deps))


FEATURE = Feature("profiles", setup, config=(SectionSpec("tags", parse_synonyms),))
