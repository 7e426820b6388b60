"""What `fill` did: the `Sample`, and how it is summed up from the generator and index."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from bot.sample.members import Index
from bot.sample.people import Generator


@dataclass(frozen=True)
class Sample:
    """What `fill` did. `filled` False: the database already held these members and nothing
    was written (the other fields then describe the sample as it would have been)."""

    filled: bool
    members: int
    counts: dict[str, int]  # rows written, by table
    rooms: dict[str, str]  # network room key ("location:szczecin") → room id used
    matchable: tuple[str, ...]  # members whose needs someone in another country offers
    newcomers: tuple[str, ...]  # members who arrived within the last week
    collaborations: tuple[int, ...]  # numbers of the collaborations written
    forums: tuple[int, ...]  # numbers of the events written, the annual forum first
    popular_offers: tuple[str, ...]  # the most offered canonical tags, most first
    popular_needs: tuple[str, ...]  # the most needed canonical tags, most first
    seconds: float = 0.0
    mxids: Sequence[str] = field(default=(), repr=False)  # every member, by index


async def summarise(session: AsyncSession, gen: Generator, mxids: list[str],
                    rooms: dict[str, str], counts: dict[str, int], collabs: tuple[int, ...],
                    forums: tuple[int, ...], *, filled: bool, started: float,
                    index: Index | None = None) -> Sample:
    offers: dict[str, int] = {}
    needs: dict[str, int] = {}
    matchable: list[str] = []
    if index is not None:
        offers = {t: len(v) for t, v in index.offerers.items()}
        needs = {t: len(v) for t, v in index.needers.items()}
        for i in range(min(gen.count, 2_000)):
            p = gen.person(i)
            home = gen.country(p.location)
            if any(gen.country(index.locations[o]) != home
                   for t in p.canonical_needs for o in index.offerers.get(t, ())[:50]):
                matchable.append(mxids[i])
            if len(matchable) == 5:
                break
    return Sample(
        filled=filled, members=gen.count, counts=counts, rooms=rooms,
        matchable=tuple(matchable), newcomers=tuple(index.newcomers if index else ()),
        collaborations=collabs, forums=forums,
        popular_offers=tuple(sorted(offers, key=lambda t: (-offers[t], t))[:5]),
        popular_needs=tuple(sorted(needs, key=lambda t: (-needs[t], t))[:5]),
        seconds=time.perf_counter() - started, mxids=mxids)
