"""Matching offers with needs across borders; `!match` ranked in memory (`index`).

A candidate *gives* when they offer something the member needs, and *takes* when they need
something the member offers (tags compared after synonyms). Ranking, deterministic and
explained line by line: mutual fits first, then how many tags meet, then a bonus for
another country and another location; ties by MXID. A shared language is required to be
ranked among the fits; candidates without one come last, with a warning.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import CollaborationMember, Member, MemberTag
from bot.errors import UserError
from bot.features.matchmaking.index import MatchIndex, Query
from bot.features.profiles.service import normalise_tag, stored_languages
from bot.i18n import N_
from bot.members import FORMER
from rooms.topology import NetworkConfig

MUTUAL_WEIGHT = 1000
TAG_WEIGHT = 10
OTHER_COUNTRY_BONUS = 5
OTHER_LOCATION_BONUS = 2
OVERFETCH = 3  # candidates fetched per place, so a language re-rank has enough to choose from


def spoken(member: Member) -> set[str]:
    """The languages a member reads: those they listed, else their chosen UI language."""
    listed = set(stored_languages(member.languages))
    return listed or ({member.language} if member.language else set())


@dataclass(frozen=True)
class Suggestion:
    mxid: str
    display_name: str | None
    gives: tuple[str, ...]  # the member's needs this person offers
    takes: tuple[str, ...]  # this person's needs the member offers
    location: str | None
    cross_border: bool
    shared_languages: tuple[str, ...]
    score: int

    @property
    def mutual(self) -> bool:
        return bool(self.gives and self.takes)


@dataclass(frozen=True)
class Fit:
    """Why two members fit: what each offers that the other needs, and what they share."""

    a_gives: tuple[str, ...]  # a offers, b needs
    b_gives: tuple[str, ...]  # b offers, a needs
    shared_languages: tuple[str, ...]
    cross_border: bool


@dataclass(frozen=True)
class Offered:
    """Who offers a tag (as normalised), by location key (None: no location)."""

    tag: str
    by_location: dict[str | None, list[Member]]


async def canonical_tags(session: AsyncSession, mxid: str) -> dict[str, set[str]]:
    """A member's canonical tags by kind ("offer", "need"), in one statement by the member's
    key. (Asked by member and kind, SQLite without statistics walks the kind's whole
    covering index instead: 1.8 ms a kind over 45 000 tags, against 0.4 for both.)"""
    out: dict[str, set[str]] = {"offer": set(), "need": set()}
    rows = await session.execute(select(MemberTag.kind, MemberTag.canonical).where(
        MemberTag.mxid == mxid))
    for kind, tag in rows.all():
        out.setdefault(kind, set()).add(tag)
    return out


class MatchingService:
    def __init__(self, session: AsyncSession, network: NetworkConfig, prefix: str,
                 canonical: Callable[[str], str], index: MatchIndex | None = None) -> None:
        """`canonical` maps a tag to the one matching compares (tag synonyms); `prefix` is
        the command prefix, for the hint to fill in a profile first. `index` (the
        feature's, one per process) ranks in memory; without it the ranking is one SQL
        query, the same order (slow over many members: it groups every candidate row)."""
        self.session = session
        self.network = network
        self.prefix = prefix
        self.canonical = canonical
        self.index = index

    async def suggest(self, mxid: str, limit: int) -> list[Suggestion]:
        me = await self.session.get(Member, mxid)
        tags = await canonical_tags(self.session, mxid)
        needs, offers = sorted(tags["need"]), sorted(tags["offer"])
        if me is None or not (needs or offers):
            raise UserError(N_("Tell me first what you offer and what you need, with %(offer)s "
                               "and %(need)s."), offer=f"{self.prefix}offer",
                            need=f"{self.prefix}need")
        my_country = self.network.country(me.location)
        other_country = [k for k, s in self.network.location_by_key.items()
                         if my_country and s.country != my_country]
        t = MemberTag
        gives_when = and_(t.kind == "offer", t.canonical.in_(needs or [""]))
        takes_when = and_(t.kind == "need", t.canonical.in_(offers or [""]))
        gives = func.sum(case((gives_when, 1), else_=0))
        takes = func.sum(case((takes_when, 1), else_=0))
        location = func.max(t.location)
        bonus: ColumnElement[Any] = literal(0)
        if me.location:
            bonus = (case((location.in_(other_country or [""]), OTHER_COUNTRY_BONUS), else_=0)
                     + case((and_(location.is_not(None), location != me.location),
                             OTHER_LOCATION_BONUS), else_=0))
        score = (case((and_(gives > 0, takes > 0), MUTUAL_WEIGHT), else_=0)
                 + (gives + takes) * TAG_WEIGHT + bonus).label("score")
        # ranked from the tag index alone; who is excluded is checked on the few best
        ranked = (select(t.mxid, score).where(or_(gives_when, takes_when), t.mxid != mxid,
                                              ~t.mxid.startswith(FORMER, autoescape=True))
                  .group_by(t.mxid).order_by(score.desc(), t.mxid))
        excluded = set(await self.session.scalars(
            select(CollaborationMember.mxid).where(CollaborationMember.collaboration_id.in_(
                select(CollaborationMember.collaboration_id).where(
                    CollaborationMember.mxid == mxid)))))
        wanted = limit * OVERFETCH
        fetch = wanted + len(excluded)
        if self.index is not None:
            ranking = await self.index.rank(Query(
                mxid, needs, offers, self._bonus(me, other_country), MUTUAL_WEIGHT,
                TAG_WEIGHT))

            async def top_of(n: int) -> Sequence[tuple[str, int]]:
                return ranking.top(n)
        else:
            async def top_of(n: int) -> Sequence[tuple[str, int]]:
                return [(who, points) for who, points in
                        (await self.session.execute(ranked.limit(n))).all()]
        while True:
            top = await top_of(fetch)
            members = {m.mxid: m for m in (await self.session.scalars(
                select(Member).where(Member.mxid.in_([r[0] for r in top])))).all()}
            rows = [(members[who], points) for who, points in top
                    if who in members and who not in excluded and members[who].connect_ok]
            if len(rows) >= wanted or len(top) < fetch:
                break
            fetch *= 4  # many of the best opted out: look further down
        return await self._explain(me, rows[:wanted], needs, offers, limit)

    @staticmethod
    def _bonus(me: Member, other_country: list[str]) -> Callable[[str | None], int]:
        """A candidate's location bonus, as the SQL's `bonus` (for the index)."""
        away = set(other_country)

        def bonus(location: str | None) -> int:
            if not me.location or location is None:
                return 0
            return ((OTHER_COUNTRY_BONUS if location in away else 0)
                    + (OTHER_LOCATION_BONUS if location != me.location else 0))

        return bonus

    async def _explain(self, me: Member, rows: Sequence[tuple[Member, int]], needs: list[str],
                       offers: list[str], limit: int) -> list[Suggestion]:
        ids = [m.mxid for m, _ in rows]
        met: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        if ids:
            tag_rows = await self.session.execute(
                select(MemberTag.mxid, MemberTag.kind, MemberTag.canonical)
                .where(MemberTag.mxid.in_(ids)))
            for who, kind, tag in tag_rows.all():
                if (kind == "offer" and tag in needs) or (kind == "need" and tag in offers):
                    met[who][kind].add(tag)
        mine = spoken(me)
        my_country = self.network.country(me.location)
        out = []
        for member, points in rows:
            country = self.network.country(member.location)
            out.append(Suggestion(
                mxid=member.mxid, display_name=member.display_name,
                gives=tuple(sorted(met[member.mxid]["offer"])),
                takes=tuple(sorted(met[member.mxid]["need"])),
                location=member.location,
                cross_border=bool(country and my_country and country != my_country),
                shared_languages=tuple(sorted(mine & spoken(member))) if mine else (),
                score=int(points),
            ))
        # a shared language is required to rank among the fits; the rest come last, warned
        out.sort(key=lambda s: (not s.shared_languages and bool(mine), -s.score, s.mxid))
        return out[:limit]

    async def find(self, text: str) -> Offered:
        """Who offers the tag typed (after synonyms), grouped by location key; a
        `UserError` when nobody does."""
        tag = normalise_tag(text)
        members = (await self.session.scalars(
            select(Member).join(MemberTag, MemberTag.mxid == Member.mxid)
            .where(MemberTag.kind == "offer", MemberTag.canonical == self.canonical(tag),
                   ~Member.mxid.startswith(FORMER, autoescape=True))
            .order_by(Member.location, Member.display_name, Member.mxid))).all()
        if not members:
            raise UserError(N_("Nobody offers “%(tag)s” yet."), tag=tag)
        grouped: dict[str | None, list[Member]] = defaultdict(list)
        for member in dict.fromkeys(members):
            grouped[member.location].append(member)
        return Offered(tag, dict(grouped))
