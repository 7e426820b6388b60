"""The advisors' pool: members who offered to advise organisations outside the network,
and the few of them suggested for each request.

A request has no tags, so it is matched the way `!match` ranks members, on what it has:
an advisor's tags (their own advisory tags, else what they offer, both after synonyms)
that occur in the question or name its sector, the language the requester wrote in, and a
welcome for other locations — another country counts more than another place at home.
Advisors who do not read the requester's language come after those who do; nobody whose
tags say nothing about the request is suggested.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Advisor, AdvisoryRequest, Member, MemberTag
from bot.features.advice.messages import SECTOR_LABELS
from bot.features.matchmaking.matching import (
    OTHER_COUNTRY_BONUS,
    OTHER_LOCATION_BONUS,
    TAG_WEIGHT,
)
from bot.features.profiles.service import stored_languages
from bot.members import FORMER
from rooms.topology import NetworkConfig

SECTOR_WEIGHT = TAG_WEIGHT // 2  # the sector is broad: half a tag


@dataclass(frozen=True)
class AdvisorFit:
    mxid: str
    display_name: str | None
    tags: tuple[str, ...]  # the advisor's tags the question names
    sector: bool  # their tags name the request's sector
    speaks: bool  # they read the language the requester wrote in
    location: str | None
    cross_border: bool
    score: int


@dataclass(frozen=True)
class Person:
    """What the pool needs of an advisor's member record (read as columns: a pool of a
    thousand is read in a few milliseconds, not as a thousand ORM objects)."""

    mxid: str
    display_name: str | None
    location: str | None
    languages: str | None
    language: str | None


@dataclass(frozen=True)
class PoolEntry:
    member: Person
    tags: tuple[str, ...]  # advisory tags, or their offers when they gave none
    own_tags: bool  # the tags are their advisory ones (not their offers)
    since: datetime


def reads(person: Person) -> set[str]:
    """The languages an advisor reads, as `!match` counts them (`spoken`)."""
    listed = set(stored_languages(person.languages))
    return listed or ({person.language} if person.language else set())


@lru_cache(maxsize=4096)  # tags repeat across advisors and requests
def words_of(text: str) -> str:
    """The text as tags are compared: casefolded, NFC, runs of anything but letters and
    digits made single spaces, padded, so that " video " finds a whole tag."""
    folded = unicodedata.normalize("NFC", unicodedata.normalize("NFKC", text).casefold())
    return " " + " ".join(re.findall(r"[^\W_]+", folded)) + " "


def _named(tag: str, words: str, canonical: Callable[[str], str]) -> bool:
    for form in {tag, canonical(tag)}:
        wanted = words_of(form)
        if wanted.strip() and wanted in words:
            return True
    return False


class AdvisorPool:
    def __init__(self, session: AsyncSession, network: NetworkConfig,
                 canonical: Callable[[str], str]) -> None:
        self.session = session
        self.network = network
        self.canonical = canonical

    async def get(self, mxid: str) -> Advisor | None:
        return await self.session.get(Advisor, mxid)

    async def is_advisor(self, mxid: str) -> bool:
        return await self.get(mxid) is not None

    async def join(self, mxid: str, tags: list[str], now: datetime) -> Advisor:
        """Opt in (or change one's tags); `tags` already normalised, may be empty."""
        advisor = await self.get(mxid)
        stored = ",".join(self.canonical(t) for t in dict.fromkeys(tags))
        if advisor is None:
            advisor = Advisor(mxid=mxid, tags=stored, since=now)
            self.session.add(advisor)
        else:
            advisor.tags = stored
        await self.session.flush()
        return advisor

    async def leave(self, mxid: str) -> bool:
        advisor = await self.get(mxid)
        if advisor is None:
            return False
        await self.session.delete(advisor)
        await self.session.flush()
        return True

    async def pool(self) -> list[PoolEntry]:
        """Every advisor with the tags they advise on, by location then name."""
        rows = (await self.session.execute(
            select(Advisor.tags, Advisor.since, Member.mxid, Member.display_name,
                   Member.location, Member.languages, Member.language)
            .join(Member, Member.mxid == Advisor.mxid)
            .where(~Advisor.mxid.startswith(FORMER, autoescape=True))
            .order_by(Member.location, Member.display_name, Member.mxid))).all()
        offers: dict[str, list[str]] = {}
        plain = [row.mxid for row in rows if not row.tags]
        if plain:
            for who, tag in (await self.session.execute(
                    select(MemberTag.mxid, MemberTag.canonical).where(
                        MemberTag.mxid.in_(plain), MemberTag.kind == "offer")
                    .order_by(MemberTag.canonical))).all():
                offers.setdefault(who, []).append(tag)
        return [PoolEntry(Person(row.mxid, row.display_name, row.location, row.languages,
                                 row.language),
                          tuple(row.tags.split(",")) if row.tags
                          else tuple(dict.fromkeys(offers.get(row.mxid, []))),
                          bool(row.tags), row.since)
                for row in rows]

    async def filtered(self, what: str | None) -> list[PoolEntry]:
        """The pool, or those at a location (its key) or advising on a sector (its key)."""
        entries = await self.pool()
        if what is None:
            return entries
        if what in self.network.location_by_key:
            return [e for e in entries if e.member.location == what]
        return [e for e in entries if self._names_sector(e.tags, what)]

    def _names_sector(self, tags: tuple[str, ...], sector: str) -> bool:
        names = {sector, *words_of(SECTOR_LABELS.get(sector, sector)).split()}
        return any(self.canonical(t) in names or t in names for t in tags)

    async def suggest(self, request: AdvisoryRequest, limit: int,
                      exclude: tuple[str, ...] = ()) -> list[AdvisorFit]:
        """Up to `limit` advisors for `request`, best first, each with why."""
        if limit <= 0:
            return []
        words = words_of(request.question + " " + request.organisation)
        home_country = self.network.country(request.location)
        fits: list[AdvisorFit] = []
        for entry in await self.pool():
            member = entry.member
            if member.mxid in exclude:
                continue
            named = tuple(t for t in entry.tags if _named(t, words, self.canonical))
            sector = self._names_sector(entry.tags, request.sector)
            if not named and not sector:
                continue
            country = self.network.country(member.location)
            cross_border = bool(country and home_country and country != home_country)
            other_place = bool(member.location and request.location
                               and member.location != request.location)
            score = (len(named) * TAG_WEIGHT + (SECTOR_WEIGHT if sector else 0)
                     + (OTHER_COUNTRY_BONUS if cross_border else 0)
                     + (OTHER_LOCATION_BONUS if other_place else 0))
            fits.append(AdvisorFit(member.mxid, member.display_name, named, sector,
                                   request.language in reads(member), member.location,
                                   cross_border, score))
        fits.sort(key=lambda f: (not f.speaks, -f.score, f.mxid))
        return fits[:limit]
