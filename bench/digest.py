"""Benchmark: composing the weekly digest over 100 000 members, 1 000 000 daily activity
rows and 10 000 collaborations, on SQLite and, when `SBCC_TEST_POSTGRES_URL` is set or
`--postgres URL` is given, on PostgreSQL too (its data kept between runs, see
`bench.engines`). Prints the figures for each engine; goal ≤ 1 s.

    .venv/bin/python bench/digest.py [--runs 5] [--engines sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import engines  # noqa: E402
from bench.example import example_config  # noqa: E402
from bot.db import Database  # noqa: E402
from bot.db.models import (  # noqa: E402
    Collaboration,
    CollaborationEvent,
    Connection,
    ForumEvent,
    Member,
    NetworkRoom,
    RoomActivity,
    RoomMembership,
)
from bot.features.digest.composer import DigestComposer  # noqa: E402
from bot.features.digest.config import DigestConfig  # noqa: E402
from bot.i18n import Translator  # noqa: E402
from rooms.network import room_key  # noqa: E402

NOW = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
SIGNATURE = "sbcc bench digest: 100000 members, 1000000 activity rows, seed 5, v1"


async def seed(db: Database, config, rng: random.Random) -> None:  # noqa: ANN001
    network = config.network
    specs = [network.space, *network.rooms]
    rooms = []
    async with db.session() as s:
        for i, spec in enumerate(specs):
            key = room_key(spec)
            room_id = f"!net{i}:bench"
            rooms.append((room_id, spec))
            s.add(NetworkRoom(key=key, kind=spec.kind, room_id=room_id, alias=None,
                              updated_at=NOW))
    locations = [r for r, spec in rooms if spec.kind == "location"]
    keys = list(network.location_by_key)
    members, memberships = [], []
    for i in range(100_000):
        seen = NOW - timedelta(days=rng.uniform(0, 700))
        loc = rng.randrange(len(keys))
        members.append({"mxid": f"@m{i}:bench", "display_name": f"Member {i}",
                        "first_seen": seen, "location": keys[loc], "connect_ok": True,
                        "rounds": False, "showcase": False,
                        "intro_at": seen if rng.random() < 0.5 else None})
        memberships.append({"room_id": locations[loc], "mxid": f"@m{i}:bench", "since": seen,
                            "imported": False})
    all_rooms = [r for r, _ in rooms] + [f"!other{i}:bench" for i in range(1000 - len(rooms))]
    activity = [{"room_id": room, "day": (NOW - timedelta(days=d)).date(),
                 "count": rng.randint(0, 50)} for room in all_rooms for d in range(1000)]
    collabs, events, connections = [], [], []
    for i in range(10_000):
        at = NOW - timedelta(days=rng.uniform(0, 700))
        collabs.append({"id": i + 1, "title": f"Project {i}", "status": "active",
                        "origin": "direct", "created_by": f"@m{i}:bench", "created_at": at,
                        "cross_border": rng.random() < 0.4})
        events.append({"collaboration_id": i + 1, "at": at + timedelta(days=3), "by": "@x:b",
                       "kind": "status", "status": "active"})
        connections.append({"a": f"@m{i}:bench", "b": f"@m{i + 1}:bench", "origin": "connect",
                            "cross_border": rng.random() < 0.5, "created_at": at})
    forums = [{"title": f"Event {i}", "location": keys[i % len(keys)], "timezone": "UTC",
               "starts_at": NOW + timedelta(days=i), "status": "scheduled",
               "created_by": "@c:b", "created_at": NOW, "trigger": f"$t{i}"}
              for i in range(60)]
    for table, rows in ((Member, members), (RoomMembership, memberships),
                        (RoomActivity, activity), (Collaboration, collabs),
                        (CollaborationEvent, events), (Connection, connections),
                        (ForumEvent, forums)):
        columns = list(rows[0])
        await engines.bulk_insert(db, table.__table__, columns,
                                  [tuple(row[c] for c in columns) for row in rows])
    await engines.analyze(db)


async def run(engine: engines.Engine, args: argparse.Namespace) -> None:
    config = example_config()

    async def seeded(db: Database) -> None:
        t0 = time.perf_counter()
        await seed(db, config, random.Random(5))
        print(f"  seeded 100000 members, 1000000 activity rows, 10000 collaborations in "
              f"{time.perf_counter() - t0:.0f} s")

    async with engines.database(engine, "bench_digest", SIGNATURE, args.fresh,
                                seeded) as (db, reused):
        if reused:
            print("  reusing the kept data")
        translator = Translator()
        composer = DigestComposer(config.network, config.section(DigestConfig))
        times, chart_times, size = [], [], 0
        png: bytes | None = None
        for run in range(args.runs):
            async with db.session() as s:
                t = time.perf_counter()
                tr = translator.bind(("en", "pl", "de", "lt", "sv")[run % 5])
                digest = await composer.compose(s, tr, NOW, chart=False)
                times.append(time.perf_counter() - t)
                t = time.perf_counter()
                png, _ = await composer.chart(s, translator.bind("en"), NOW)
                chart_times.append(time.perf_counter() - t)
            size = len(digest.text.encode()) + len(digest.html.encode())
        print(f"compose the digest ({engine.name}; text + HTML, all sections), {args.runs} "
              f"runs: median {statistics.median(times):.3f} s, min {min(times):.3f} s, "
              f"max {max(times):.3f} s (goal <= 1 s: "
              f"{'met' if max(times) <= 1 else 'NOT met'}); chart median "
              f"{statistics.median(chart_times):.2f} s, PNG {len(png or b'') // 1024} KiB; "
              f"message {size // 1024} KiB")


async def main(args: argparse.Namespace) -> None:
    for engine in engines.engines(args):
        print(f"{engine.name}:")
        await run(engine, args)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    engines.add_arguments(parser)
    asyncio.run(main(parser.parse_args()))
