"""Benchmark: the advisory workflow's reads on SQLite — suggesting advisors for a request
out of a pool of advisors (each with tags or offers), and the figures of `!advice stats`
over many requests. Prints figures; goals: suggestions p50 ≤ 50 ms for 1 000 advisors,
stats ≤ 0.5 s over 20 000 requests.

    .venv/bin/python bench/advice.py [--advisors 1000] [--requests 20000] [--queries 200]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from bench.example import example_config  # noqa: E402
from bot.db import Database  # noqa: E402
from bot.db.models import Advisor, AdvisoryRequest, Member, MemberTag  # noqa: E402
from bot.features.advice.advisors import AdvisorPool  # noqa: E402
from bot.features.advice.messages import SECTORS  # noqa: E402
from bot.features.advice.stats import figures  # noqa: E402

WORDS = ["video", "funding", "branding", "web", "museum", "tourism", "festival", "games",
         "design", "crafts", "music", "export", "marketing", "education", "app", "print",
         "photography", "animation", "exhibition", "strategy", "budget", "grants"]
LANGS = ["pl", "de", "lt", "sv", "en"]


def people(n: int, locations: list[str], rng: random.Random) -> tuple[list, list, list]:
    now = datetime.now(UTC)
    members, tags, advisors = [], [], []
    for i in range(n):
        mxid = f"@a{i}:bench"
        loc = rng.randrange(len(locations))
        members.append({"mxid": mxid, "display_name": f"Advisor {i}", "first_seen": now,
                        "location": locations[loc], "connect_ok": True,
                        "languages": ",".join(sorted({LANGS[loc % 5], "en"}))})
        own = rng.random() < 0.5
        chosen = rng.sample(WORDS, rng.randint(1, 4))
        advisors.append({"mxid": mxid, "tags": ",".join(chosen) if own else "", "since": now})
        if not own:
            tags += [{"mxid": mxid, "kind": "offer", "tag": t, "canonical": t} for t in chosen]
    return members, tags, advisors


def requests(n: int, locations: list[str], rng: random.Random) -> list[dict]:
    start = datetime.now(UTC) - timedelta(days=365)
    rows = []
    for i in range(n):
        created = start + timedelta(minutes=rng.randrange(365 * 24 * 60))
        status = rng.choice(["new", "claimed", "answered", "closed", "closed"])
        claimed = created + timedelta(hours=rng.randint(1, 96)) if status != "new" else None
        answered = (claimed + timedelta(hours=rng.randint(1, 200))
                    if claimed and status in ("answered", "closed") else None)
        rows.append({
            "ref": f"ADV-{i:06d}", "secret_hash": "0" * 64, "organisation": f"Org {i}",
            "email": None, "sector": rng.choice(SECTORS)[0],
            "location": rng.choice([*locations, None]),
            "question": " ".join(rng.sample(WORDS, 6)), "language": rng.choice(LANGS),
            "status": status, "created_at": created, "claimed_at": claimed,
            "answered_at": answered, "activity_at": created,
            "closed_at": answered if status == "closed" else None,
            "outcome": rng.choice(["helped", "referred", "declined", "no_reply"])
            if status == "closed" else None,
            "rating": rng.randint(1, 5) if status == "closed" and rng.random() < 0.4 else None,
            "notice_version": 0, "notice_shown": 0})
    return rows


async def main(args: argparse.Namespace) -> None:
    config = example_config()
    locations = list(config.network.location_by_key)
    rng = random.Random(5)
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite+aiosqlite:///{tmp}/bench.db")
        await db.migrate()
        members, tags, advisors = people(args.advisors, locations, rng)
        rows = requests(args.requests, locations, rng)
        async with db.session() as s:
            await s.execute(insert(Member), members)
            if tags:
                await s.execute(insert(MemberTag), tags)
            await s.execute(insert(Advisor), advisors)
            for start in range(0, len(rows), 5000):
                await s.execute(insert(AdvisoryRequest), rows[start:start + 5000])
        async with db.engine.begin() as conn:
            await conn.exec_driver_sql("ANALYZE")
        canonical = str  # the synthetic tags are canonical already
        times, found = [], []
        async with db.session() as s:
            sample = [AdvisoryRequest(**row) for row in rng.sample(rows, args.queries)]
            for request in sample:
                t = time.perf_counter()
                fits = await AdvisorPool(s, config.network, canonical).suggest(request, 3)
                times.append((time.perf_counter() - t) * 1000)
                found.append(len(fits))
        times.sort()
        p50 = statistics.median(times)
        print(f"suggest 3 of {args.advisors} advisors (SQLite): p50 {p50:.1f} ms, "
              f"p90 {times[int(len(times) * 0.9)]:.1f} ms; {statistics.mean(found):.1f} "
              f"suggested on average (goal p50 <= 50 ms: {'met' if p50 <= 50 else 'NOT met'})")
        durations = []
        for _ in range(5):
            async with db.session() as s:
                t = time.perf_counter()
                result = await figures(s)
                durations.append(time.perf_counter() - t)
        best = min(durations)
        print(f"!advice stats over {result.total} requests (SQLite): {best:.3f} s "
              f"({len(result.by_location)} locations, {len(result.by_sector)} sectors; "
              f"goal <= 0.5 s: {'met' if best <= 0.5 else 'NOT met'})")
        await db.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--advisors", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=200)
    asyncio.run(main(parser.parse_args()))
