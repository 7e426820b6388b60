"""An in-memory inverted index of `member_tags` for `!match`'s ranking, kept in the bot
process; the database stays the source of truth.

Members get positions in MXID order (code point order, as PostgreSQL's C collation and
SQLite sort): per (kind, canonical tag) a numpy array of the positions of the rows with it
(one entry per row, as the SQL counts rows), and per position the location code and whether
the MXID is a forgotten member's stand-in. MXIDs sit in one bytes buffer with offsets.

Freshness: before each query the index reads `member_changes` past the last id it applied
(one small indexed query) and re-reads the members named there; they form an overlay that
hides their positions in the base and is scored row by row in Python. A row without a
member, an overlay past `overlay_limit` members, or a feed that may have been pruned past
what the index saw, makes it build again (in the background when only the overlay is big).
Ids that are missing in the feed may belong to transactions still running: they are asked
for again until they appear or `GAP_WAIT` passes.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import time
from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.db.models import MemberChange, MemberTag
from bot.members import FORMER

log = logging.getLogger(__name__)

GAP_WAIT = 600.0  # seconds a missing change id is asked for again (a transaction running)
BUILD_LOOKBACK = 256  # change ids before the newest at a build checked for such gaps
STALE_AFTER = 6 * 3600.0  # seconds without reading the feed after which it may be pruned
READ_CHUNK = 500  # members re-read per statement


@dataclass(frozen=True)
class Query:
    """What `MatchingService.suggest` ranks by: the member, their distinct canonical needs
    and offers, the weights, and the location bonus of a candidate's location key."""

    mxid: str
    needs: Sequence[str]
    offers: Sequence[str]
    bonus: Callable[[str | None], int]
    mutual: int
    per_tag: int


@dataclass(frozen=True)
class Entry:
    """A changed member as re-read: their canonical offers and needs (one per row), and
    the location their rows carry (the greatest, as the SQL's max)."""

    offers: tuple[str, ...]
    needs: tuple[str, ...]
    location: str | None


class _Names(Sequence[bytes]):
    """The MXIDs of the base, UTF-8, by position: one buffer and its offsets."""

    def __init__(self, blob: bytes, offsets: np.ndarray) -> None:
        self.blob = blob
        self.offsets = offsets

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, pos: Any) -> Any:  # an int here: slices are not asked for
        return self.blob[int(self.offsets[pos]):int(self.offsets[pos + 1])]


@dataclass
class Base:
    """What one build read: immutable once made."""

    names: _Names
    location: np.ndarray  # int16 per position: 0 none, else index into `locations`
    locations: list[str | None]
    former: np.ndarray  # bool per position
    postings: dict[tuple[str, str], np.ndarray]  # (kind, canonical) → int32 positions

    @property
    def size(self) -> int:
        return len(self.names)

    @property
    def nbytes(self) -> int:
        """What the arrays and the names take (the postings are views of two arrays)."""
        bases = {id(p.base): p.base for p in self.postings.values() if p.base is not None}
        return (len(self.names.blob) + self.names.offsets.nbytes + self.location.nbytes
                + self.former.nbytes + sum(b.nbytes for b in bases.values()))

    def mxid(self, pos: int) -> str:
        return self.names[pos].decode()

    def position(self, mxid: str) -> int | None:
        key = mxid.encode()
        pos = bisect.bisect_left(self.names, key)
        return pos if pos < self.size and self.names[pos] == key else None


@dataclass
class State:
    base: Base
    last: int  # the highest change id applied
    gaps: dict[int, float] = field(default_factory=dict)  # missing id → when first missed
    overlay: dict[str, Entry | None] = field(default_factory=dict)  # None: no rows now
    masked: np.ndarray | None = None  # bool per position: in the overlay
    read_at: float = field(default_factory=time.monotonic)


class Ranking:
    """One query's scores over the base and the overlay; `top(n)` as the SQL's
    `ORDER BY score DESC, mxid LIMIT n`."""

    def __init__(self, state: State, query: Query) -> None:
        base = state.base
        n = base.size
        gives = _counts(base, "offer", query.needs, n)
        takes = _counts(base, "need", query.offers, n)
        total = gives + takes
        hit = (total > 0) & ~base.former
        if state.masked is not None:
            hit &= ~state.masked
        me = base.position(query.mxid)
        if me is not None:
            hit[me] = False
        bonus = np.array([query.bonus(key) for key in base.locations], dtype=np.int64)
        self.positions = np.flatnonzero(hit)
        g, t = gives[self.positions], takes[self.positions]
        scores = (np.where((g > 0) & (t > 0), query.mutual, 0) + (g + t) * query.per_tag
                  + bonus[base.location[self.positions]])
        self.scores = scores
        # one key per candidate: higher score first, then lower position (= MXID order)
        self.keys = scores * (n + 1) + (n - self.positions)
        self.base = base
        self.extra = sorted(_overlay_scores(state, query), key=lambda r: (-r[1], r[0]))

    def top(self, limit: int) -> list[tuple[str, int]]:
        keys = self.keys
        if len(keys) > limit:
            chosen = np.argpartition(-keys, limit - 1)[:limit] if limit > 0 else keys[:0]
        else:
            chosen = np.arange(len(keys))
        chosen = chosen[np.argsort(-keys[chosen])]
        rows = [(self.base.mxid(int(self.positions[i])), int(self.scores[i])) for i in chosen]
        if self.extra:
            rows = sorted(rows + self.extra[:limit], key=lambda r: (-r[1], r[0]))
        return rows[:limit]


def _counts(base: Base, kind: str, tags: Iterable[str], n: int) -> np.ndarray:
    lists = [p for p in (base.postings.get((kind, tag)) for tag in tags) if p is not None]
    if not lists:
        return np.zeros(n, dtype=np.int64)
    return np.bincount(np.concatenate(lists) if len(lists) > 1 else lists[0], minlength=n)


def _overlay_scores(state: State, query: Query) -> list[tuple[str, int]]:
    needs, offers = set(query.needs), set(query.offers)
    out = []
    for mxid, entry in state.overlay.items():
        if entry is None or mxid == query.mxid or mxid.startswith(FORMER):
            continue
        gives = sum(1 for tag in entry.offers if tag in needs)
        takes = sum(1 for tag in entry.needs if tag in offers)
        if gives + takes == 0:
            continue
        out.append((mxid, (query.mutual if gives and takes else 0)
                    + (gives + takes) * query.per_tag + query.bonus(entry.location)))
    return out


class MatchIndex:
    """Owned by the matchmaking feature's setup, one per process; shared by the services
    of every command. `rank(query)` refreshes from the change feed first."""

    def __init__(self, db: Database, *, overlay_limit: int = 20_000, chunk: int = 20_000
                 ) -> None:
        self.db = db
        self.overlay_limit = overlay_limit
        self.chunk = chunk
        self.state: State | None = None
        self.builds = 0  # how many bases were built (for tests and the bench)
        self._lock = asyncio.Lock()
        self._rebuild: asyncio.Task[None] | None = None
        self._warming: asyncio.Task[None] | None = None

    async def warm(self) -> None:
        """Start building in the background (at start: the first `!match` then waits less,
        over a million members the build takes half a minute); returns at once."""
        if self.state is None and self._warming is None:
            self._warming = asyncio.get_running_loop().create_task(self._warm())

    async def _warm(self) -> None:
        try:
            await self.refresh()
        except Exception:  # the first query builds it again, and fails visibly if it must
            log.exception("building the matching index at start failed")

    async def rank(self, query: Query) -> Ranking:
        state = await self.refresh()
        return Ranking(state, query)

    async def refresh(self) -> State:
        """The state with every committed change applied (built first when needed)."""
        async with self._lock:
            state = self.state
            if state is None or time.monotonic() - state.read_at > STALE_AFTER:
                state = self.state = await self._build()
            while not await self._catch_up(state):
                state = self.state = await self._build()  # a rebuild was asked for
            if len(state.overlay) > self.overlay_limit and self._rebuild is None:
                self._rebuild = asyncio.get_running_loop().create_task(self._background())
            return state

    async def close(self) -> None:
        for task in (self._rebuild, self._warming):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    async def _background(self) -> None:
        try:
            fresh = await self._build()
            async with self._lock:
                if await self._catch_up(fresh):
                    self.state = fresh
        except Exception:
            log.exception("rebuilding the matching index failed; the overlay stays")
        finally:
            self._rebuild = None

    # -- the feed -----------------------------------------------------------------------

    async def _catch_up(self, state: State) -> bool:
        """Apply the changes past `state.last`; False when the index must be built again."""
        now = time.monotonic()
        for gap, since in list(state.gaps.items()):
            if now - since > GAP_WAIT:
                del state.gaps[gap]  # rolled back, or a sequence jump: never coming
        floor = min(state.gaps, default=state.last + 1) - 1
        floor = min(floor, state.last)
        c = MemberChange
        oldest = select(func.min(c.id)).scalar_subquery()
        async with self.db.session() as session:
            rows = (await session.execute(
                select(c.id, c.mxid).where(or_(c.id > floor, c.id == oldest))
                .order_by(c.id))).all()
            if rows and state.last > 0 and rows[0][0] > state.last:
                return False  # everything up to what we saw was pruned: maybe more
            changed: set[str] = set()
            seen: set[int] = set()
            for change_id, mxid in rows:
                if change_id <= floor or (change_id <= state.last
                                          and change_id not in state.gaps):
                    continue
                if mxid is None:
                    return False
                state.gaps.pop(change_id, None)
                seen.add(change_id)
                changed.add(mxid)
            newest = max(seen, default=state.last)
            if newest > state.last:
                missing = [i for i in range(state.last + 1, newest) if i not in seen]
                for i in missing[-1000:]:
                    state.gaps[i] = now
                state.last = newest
            if changed:
                await self._apply(session, state, changed)
        state.read_at = now
        return True

    async def _apply(self, session: AsyncSession, state: State, changed: set[str]) -> None:
        entries = await read_entries(session, changed)
        base = state.base
        for mxid in changed:
            state.overlay[mxid] = entries.get(mxid)
            pos = base.position(mxid)
            if pos is not None:
                if state.masked is None:
                    state.masked = np.zeros(base.size, dtype=bool)
                state.masked[pos] = True

    # -- building -----------------------------------------------------------------------

    async def _build(self) -> State:
        started = time.perf_counter()
        builder = _Builder()
        c, t = MemberChange, MemberTag
        async with self.db.engine.connect() as conn:
            last = await conn.scalar(select(func.max(c.id))) or 0
            recent = set(await conn.scalars(select(c.id).where(c.id > last - BUILD_LOOKBACK)))
            result = await conn.stream(
                select(t.mxid, t.kind, t.canonical, t.location).order_by(t.mxid)
                .execution_options(yield_per=self.chunk))
            async for part in result.partitions(self.chunk):
                builder.add(part)
                await asyncio.sleep(0)  # let commands run between chunks
        base = await asyncio.to_thread(builder.finish)
        now = time.monotonic()
        gaps = {i: now for i in range(max(1, last - BUILD_LOOKBACK + 1), last)
                if i not in recent}
        self.builds += 1
        log.info("matching index built: %d members, %d tags, in %.1f s", base.size,
                 len(base.postings), time.perf_counter() - started)
        return State(base, last, gaps)


async def read_entries(session: AsyncSession, mxids: Iterable[str]) -> dict[str, Entry]:
    """The tag rows of these members as the index keeps them; a member without rows is
    left out."""
    wanted = sorted(mxids)
    rows: dict[str, tuple[list[str], list[str], list[str]]] = {}
    t = MemberTag
    for start in range(0, len(wanted), READ_CHUNK):
        for mxid, kind, canonical, location in (await session.execute(
                select(t.mxid, t.kind, t.canonical, t.location)
                .where(t.mxid.in_(wanted[start:start + READ_CHUNK])))).all():
            offers, needs, locations = rows.setdefault(mxid, ([], [], []))
            (offers if kind == "offer" else needs).append(canonical)
            if location is not None:
                locations.append(location)
    return {mxid: Entry(tuple(o), tuple(n), max(loc, default=None))
            for mxid, (o, n, loc) in rows.items()}


class _Builder:
    """Tag rows in MXID order, chunk by chunk, into the arrays of a `Base`."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.location_of: list[str | None] = []
        self.tag_ids: dict[str, int] = {}
        self.tags: dict[str, array] = {"offer": array("i"), "need": array("i")}
        self.positions: dict[str, array] = {"offer": array("i"), "need": array("i")}
        self.current: str | None = None
        self.where: str | None = None

    def add(self, rows: Iterable[Any]) -> None:
        names, location_of, tag_ids = self.names, self.location_of, self.tag_ids
        current, where, pos = self.current, self.where, len(names) - 1
        for mxid, kind, canonical, location in rows:
            if mxid != current:
                if current is not None:
                    location_of.append(where)
                current, where = mxid, None
                names.append(mxid)
                pos += 1
            if location is not None and (where is None or location > where):
                where = location
            tag = tag_ids.get(canonical)
            if tag is None:
                tag = tag_ids[canonical] = len(tag_ids)
            self.tags[kind].append(tag)
            self.positions[kind].append(pos)
        self.current, self.where = current, where

    def finish(self) -> Base:
        if self.current is not None:
            self.location_of.append(self.where)
        names = self.names
        n = len(names)
        remap: np.ndarray | None = None
        if any(a >= b for a, b in zip(names, names[1:], strict=False)):  # sorted otherwise
            order = sorted(range(n), key=names.__getitem__)
            remap = np.empty(n, dtype=np.int32)
            remap[np.asarray(order, dtype=np.int64)] = np.arange(n, dtype=np.int32)
            names = [names[i] for i in order]
            self.location_of = [self.location_of[i] for i in order]
        encoded = [name.encode() for name in names]
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum([len(b) for b in encoded], out=offsets[1:])
        locations: list[str | None] = [None, *sorted({k for k in self.location_of if k})]
        code = {key: i for i, key in enumerate(locations)}
        base = Base(
            names=_Names(b"".join(encoded), offsets),
            location=np.array([code[k] for k in self.location_of], dtype=np.int16),
            locations=locations,
            former=np.array([name.startswith(FORMER) for name in names], dtype=bool),
            postings={})
        by_id = sorted(self.tag_ids, key=self.tag_ids.__getitem__)
        for kind in ("offer", "need"):
            tags = np.frombuffer(self.tags[kind], dtype=np.int32)
            positions = np.frombuffer(self.positions[kind], dtype=np.int32)
            if not len(tags):
                continue
            if remap is not None:
                positions = remap[positions]
            order_ = np.argsort(tags, kind="stable")
            tags, positions = tags[order_], positions[order_]
            starts = np.flatnonzero(np.diff(tags, prepend=-1))
            ends = np.append(starts[1:], len(tags))
            for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
                base.postings[(kind, by_id[int(tags[s])])] = positions[s:e]
        return base


async def prune_changes(session: AsyncSession, before: datetime) -> int:
    """Delete the change rows older than `before`, keeping the newest row always: an
    index that finds the oldest kept row past the last it applied knows it missed some."""
    c = MemberChange
    newest = select(func.max(c.id)).scalar_subquery()
    result = await session.execute(delete(c).where(c.at < before, c.id < newest))
    return int(getattr(result, "rowcount", 0) or 0)
