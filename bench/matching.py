"""Benchmark: `!match` over 100 000 synthetic profiles on SQLite, and a matchmaking round
for 10 000 opted-in members. Prints figures; goals: match p50 ≤ 50 ms, round ≤ 2 s.

    .venv/bin/python bench/matching.py [--members 100000] [--queries 300]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from bench.example import example_config  # noqa: E402
from bot.db import Database  # noqa: E402
from bot.db.models import Member, MemberTag  # noqa: E402
from bot.features.matchmaking.matching import MatchingService  # noqa: E402

TAGS = 2000
LANGS = ["pl", "de", "lt", "sv", "en"]


def zipf_weights(n: int, s: float = 1.0) -> list[float]:
    return [1 / (k ** s) for k in range(1, n + 1)]


def synthetic(members: int, locations: list[str], seed: int = 7):  # noqa: ANN201
    rng = random.Random(seed)
    tags = [f"tag{i}" for i in range(TAGS)]
    weights = zipf_weights(TAGS)
    now = datetime.now(UTC)
    member_rows, tag_rows = [], []
    for i in range(members):
        mxid = f"@m{i}:bench"
        loc_index = rng.randrange(len(locations))
        member_rows.append({"mxid": mxid, "display_name": f"Member {i}", "first_seen": now,
                            "location": locations[loc_index], "connect_ok": True,
                            "rounds": rng.random() < 0.1,
                            "languages": ",".join(sorted({LANGS[loc_index % 5], "en"}))})
        for kind, count in (("offer", rng.randint(1, 5)), ("need", rng.randint(1, 4))):
            for tag in set(rng.choices(tags, weights, k=count)):
                tag_rows.append({"mxid": mxid, "kind": kind, "tag": tag, "canonical": tag})
    return member_rows, tag_rows


async def main(args: argparse.Namespace) -> None:
    config = example_config()
    locations = list(config.network.location_by_key)
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite+aiosqlite:///{tmp}/bench.db")
        await db.migrate()
        t0 = time.perf_counter()
        members, tags = synthetic(args.members, locations)
        async with db.session() as s:
            for start in range(0, len(members), 20_000):
                await s.execute(insert(Member), members[start:start + 20_000])
            for start in range(0, len(tags), 50_000):
                await s.execute(insert(MemberTag), tags[start:start + 50_000])
        async with db.engine.begin() as conn:
            await conn.exec_driver_sql("ANALYZE")
        print(f"seeded {len(members)} members, {len(tags)} tags in "
              f"{time.perf_counter() - t0:.1f} s")
        rng = random.Random(11)
        sample = rng.sample(members, args.queries)
        times, found = [], []
        for row in sample:
            async with db.session() as s:
                t = time.perf_counter()
                suggestions = await MatchingService(s, config.network, "!", str).suggest(
                    row["mxid"], 5)
                times.append((time.perf_counter() - t) * 1000)
                found.append(len(suggestions))
        times.sort()
        p50 = statistics.median(times)
        p90 = times[int(len(times) * 0.9)]
        print(f"!match over {len(members)} profiles (SQLite): p50 {p50:.1f} ms, "
              f"p90 {p90:.1f} ms, max {times[-1]:.1f} ms; "
              f"{statistics.mean(found):.1f} suggestions on average "
              f"(goal p50 <= 50 ms: {'met' if p50 <= 50 else 'NOT met'})")
        await round_benchmark(members)
        await db.close()


async def round_benchmark(members: list[dict]) -> None:
    try:
        from bot.features.matchmaking.pairing import Participant, make_groups, pairs_of
    except ImportError:
        print("round: pairing not available")
        return
    countries = {"szczecin": "PL", "elblag": "PL", "rostock": "DE", "rietavas": "LT",
                 "blekinge": "SE"}
    people = [Participant(m["mxid"], countries[m["location"]], m["location"])
              for m in members[:10_000]]
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
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    asyncio.run(main(parser.parse_args()))
