"""Benchmark: `!match` over synthetic profiles (100 000 by default) on SQLite and, when
`SBCC_TEST_POSTGRES_URL` is set or `--postgres URL` is given, on PostgreSQL too; and a
matchmaking round for 10 000 opted-in members. Prints figures for each engine; goals: match
p50 ≤ 50 ms (on PostgreSQL also over 1 000 000 profiles), round ≤ 2 s. `!match` ranks from
the in-memory index as the bot does (its build time and the memory it took are printed
first); `--sql` measures the SQL ranking instead.

    .venv/bin/python bench/matching.py [--profiles 100000] [--queries 300] [--passes 3]
    .venv/bin/python bench/matching.py --profiles 1000000 --engines postgresql

The PostgreSQL data is kept between runs (see `bench.engines`): the second run over a
million profiles starts measuring at once.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import random
import statistics
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import engines  # noqa: E402
from bench.example import example_config  # noqa: E402
from bot.db import Database  # noqa: E402
from bot.db.models import Member, MemberTag  # noqa: E402
from bot.features.matchmaking.index import MatchIndex  # noqa: E402
from bot.features.matchmaking.matching import MatchingService  # noqa: E402
from bot.members import note_change  # noqa: E402

TAGS = 2000
LANGS = ["pl", "de", "lt", "sv", "en"]
SEED = 7
GENERATOR = 2  # bump when `synthetic` changes: kept PostgreSQL data is generated again
MEMBER_COLUMNS = ("mxid", "display_name", "first_seen", "location", "connect_ok", "rounds",
                  "languages", "showcase")
TAG_COLUMNS = ("mxid", "kind", "tag", "canonical", "location")


def zipf_weights(n: int, s: float = 1.0) -> list[float]:
    return [1 / (k ** s) for k in range(1, n + 1)]


def synthetic(profiles: int, locations: list[str], seed: int = SEED
              ) -> Iterator[tuple[tuple, list[tuple]]]:
    """Each member (a row in MEMBER_COLUMNS' order) with their tags (rows in TAG_COLUMNS'
    order): 1–5 offers and 1–4 needs from 2000 tags of Zipf-like popularity; a tag row
    carries its member's location, as the bot keeps it."""
    rng = random.Random(seed)
    tags = [f"tag{i}" for i in range(TAGS)]
    cumulative = list(itertools.accumulate(zipf_weights(TAGS)))
    now = datetime.now(UTC)
    for i in range(profiles):
        mxid = f"@m{i}:bench"
        loc_index = rng.randrange(len(locations))
        location = locations[loc_index]
        member = (mxid, f"Member {i}", now, location, True, rng.random() < 0.1,
                  ",".join(sorted({LANGS[loc_index % 5], "en"})), False)
        rows = []
        for kind, count in (("offer", rng.randint(1, 5)), ("need", rng.randint(1, 4))):
            for tag in set(rng.choices(tags, cum_weights=cumulative, k=count)):
                rows.append((mxid, kind, tag, tag, location))
        yield member, rows


async def seed(db: Database, profiles: int, locations: list[str]) -> None:
    t0 = time.perf_counter()
    members: list[tuple] = []
    tags: list[tuple] = []
    for member, rows in synthetic(profiles, locations):
        members.append(member)
        tags.extend(rows)
    t1 = time.perf_counter()
    await engines.bulk_insert(db, Member.__table__, MEMBER_COLUMNS, members)
    await engines.bulk_insert(db, MemberTag.__table__, TAG_COLUMNS, tags)
    async with db.session() as session:
        note_change(session, None)  # written in bulk: a running index builds again
    await engines.analyze(db)
    print(f"  seeded {len(members)} members, {len(tags)} tags in "
          f"{time.perf_counter() - t0:.1f} s (generating {t1 - t0:.1f} s)")


def rss_mib() -> float:
    """This process's resident memory now, in MiB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def build(db: Database) -> MatchIndex:
    gc.collect()
    before = rss_mib()
    index = MatchIndex(db)
    t = time.perf_counter()
    await index.refresh()
    took = time.perf_counter() - t
    gc.collect()
    assert index.state is not None
    base = index.state.base
    print(f"  index built in {took:.1f} s: {base.size} members, {len(base.postings)} tag "
          f"lists, {base.nbytes / 2**20:.0f} MiB of arrays; RSS +{rss_mib() - before:.0f} MiB")
    return index


async def measure(db: Database, config, sample: list[str],  # noqa: ANN001
                  index: MatchIndex | None) -> tuple[list[float], list[int]]:
    times, found = [], []
    for mxid in sample:
        async with db.session() as s:
            t = time.perf_counter()
            suggestions = await MatchingService(s, config.network, "!", str,
                                                index).suggest(mxid, 5)
            times.append((time.perf_counter() - t) * 1000)
            found.append(len(suggestions))
    return times, found


async def run(engine: engines.Engine, args: argparse.Namespace) -> None:
    config = example_config()
    locations = list(config.network.location_by_key)
    signature = f"sbcc bench matching: {args.profiles} profiles, seed {SEED}, v{GENERATOR}"

    async def seeded(db: Database) -> None:
        await seed(db, args.profiles, locations)

    async with engines.database(engine, f"bench_matching_{args.profiles}", signature,
                                args.fresh, seeded) as (db, reused):
        if reused:
            print(f"  reusing the kept {args.profiles} profiles")
        sample = [f"@m{i}:bench" for i in
                  random.Random(11).sample(range(args.profiles), args.queries)]
        index = None if args.sql else await build(db)
        await measure(db, config, sample[:20], index)  # warm the caches and the pool
        p50s, p90s, everything = [], [], []
        for n in range(args.passes):
            times, found = await measure(db, config, sample, index)
            times.sort()
            p50s.append(statistics.median(times))
            p90s.append(times[int(len(times) * 0.9)])
            everything.extend(times)
            print(f"  pass {n + 1}: p50 {p50s[-1]:.1f} ms, p90 {p90s[-1]:.1f} ms, "
                  f"max {times[-1]:.1f} ms; {statistics.mean(found):.1f} suggestions "
                  "on average")
        p50 = statistics.median(p50s)
        print(f"!match over {args.profiles} profiles ({engine.name}, "
              f"{'SQL' if args.sql else 'index'}), {args.queries} queries "
              f"x {args.passes}: p50 {p50:.1f} ms (passes {engines.spread(p50s)}), "
              f"p90 {statistics.median(p90s):.1f} ms (passes {engines.spread(p90s)}), "
              f"max {max(everything):.1f} ms "
              f"(goal p50 <= 50 ms: {'met' if p50 <= 50 else 'NOT met'})")


async def main(args: argparse.Namespace) -> None:
    for engine in engines.engines(args):
        print(f"{engine.name}:")
        await run(engine, args)
    if args.round:
        round_benchmark(args.profiles)


def round_benchmark(profiles: int) -> None:
    try:
        from bot.features.matchmaking.pairing import Participant, make_groups, pairs_of
    except ImportError:
        print("round: pairing not available")
        return
    countries = {"szczecin": "PL", "elblag": "PL", "rostock": "DE", "rietavas": "LT",
                 "blekinge": "SE"}
    locations = list(example_config().network.location_by_key)
    people = []
    for member, _tags in synthetic(min(profiles, 10_000), locations):
        people.append(Participant(member[0], countries[member[3]], member[3]))
    history: list[set[frozenset[str]]] = []
    durations = []
    for n in range(7):
        recent = set().union(*history[-6:]) if history else set()
        t = time.perf_counter()
        groups = make_groups(people, recent, seed=n)
        durations.append(time.perf_counter() - t)
        history.append({p for g in groups for p in pairs_of(g)})
    print(f"round for {len(people)} opted-in members: {durations[-1]:.2f} s with 6 rounds of "
          f"history (first round {durations[0]:.2f} s; goal <= 2 s: "
          f"{'met' if durations[-1] <= 2 else 'NOT met'})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profiles", "--members", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--passes", type=int, default=3,
                        help="measure the same queries this many times, for the spread")
    parser.add_argument("--sql", action="store_true",
                        help="rank with the SQL query instead of the in-memory index")
    parser.add_argument("--no-round", dest="round", action="store_false",
                        help="skip the matchmaking round")
    engines.add_arguments(parser)
    asyncio.run(main(parser.parse_args()))
