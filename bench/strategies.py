"""Benchmark: a joint strategy at the scale of the whole network, on SQLite — a process
over five locations with many proposals, endorsements and votes: the time to count the
vote (`tallies`), to build its document, and to write it as JSON, Markdown, CSV and
OpenDocument. Prints figures; goals: count ≤ 0.5 s and document ≤ 1 s for 10 000 votes.

    .venv/bin/python bench/strategies.py [--proposals 400] [--members 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
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
from bot.db.models import (  # noqa: E402
    Endorsement,
    Proposal,
    StrategyProcess,
    StrategyVote,
)
from bot.deps import Deps  # noqa: E402
from bot.features.strategies import export  # noqa: E402
from bot.features.strategies.config import StrategiesConfig  # noqa: E402
from bot.features.strategies.service import StrategyService  # noqa: E402
from bot.i18n import Translator  # noqa: E402
from tests.fakes import FakeGateway  # noqa: E402

SECTIONS = ["culture", "economy", "education", "tourism"]


async def main(args: argparse.Namespace) -> None:
    config = example_config()
    locations = list(config.network.location_by_key)
    rng = random.Random(3)
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite+aiosqlite:///{tmp}/bench.db")
        await db.migrate()
        proposals = [{"process_id": 1, "number": n + 1, "section": SECTIONS[n % 4],
                      "location": rng.choice(locations), "author": f"@m{n}:bench",
                      "text": f"Proposal {n} " + "words " * rng.randint(5, 60),
                      "created_at": now, "status": rng.choice(["open", "accepted"])}
                     for n in range(args.proposals)]
        async with db.session() as s:
            s.add(StrategyProcess(id=1, title="The South Baltic 2037", public=True,
                                  locations=",".join(locations), sections=",".join(SECTIONS),
                                  phase="result", key="k", created_by="@c:bench",
                                  created_at=now, phase_since=now))
            await s.flush()
            await s.execute(insert(Proposal), proposals)
            ids = list(range(1, args.proposals + 1))
            await s.execute(insert(Endorsement), [
                {"proposal_id": rng.choice(ids), "mxid": f"@m{m}:bench",
                 "event_id": f"$e{m}", "at": now} for m in range(args.members)])
            votes = []
            for m in range(args.members):
                for section in SECTIONS:
                    if rng.random() < 0.5:
                        number = rng.choice([p["number"] for p in proposals[:40]
                                             if p["section"] == section] or [1])
                        votes.append({"process_id": 1, "section": section,
                                      "mxid": f"@m{m}:bench", "proposal": number,
                                      "location": rng.choice(locations),
                                      "event_id": f"$v{m}{section}", "voted_at": now})
            await s.execute(insert(StrategyVote), votes)
        deps = Deps(config=config, db=db, gateway=FakeGateway(), translator=Translator())
        tr = deps.translator.bind("en")
        async with db.session() as s:
            service = StrategyService(s, deps, StrategiesConfig())
            process = await service.get(1)
            t = time.perf_counter()
            await service.tallies(process)
            count = time.perf_counter() - t
            t = time.perf_counter()
            doc = await service.document(1)
            build = time.perf_counter() - t
        assert doc is not None
        timings = {}
        for name, write in (("json", lambda: export.to_json(doc)),
                            ("markdown", lambda: export.to_markdown(doc, tr)),
                            ("csv", lambda: export.to_csv(doc)),
                            ("odt", lambda: export.to_odt(doc, tr))):
            t = time.perf_counter()
            write()
            timings[name] = time.perf_counter() - t
        print(f"strategy with {args.proposals} proposals, {args.members} endorsements and "
              f"{len(votes)} votes (SQLite): count {count:.3f} s, document {build:.3f} s "
              f"(goals <= 0.5 s and <= 1 s: "
              f"{'met' if count <= 0.5 and build <= 1 else 'NOT met'}); written as "
              + ", ".join(f"{k} {v:.2f} s" for k, v in timings.items())
              + " (the .odt off the event loop)")
        await db.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--proposals", type=int, default=400)
    parser.add_argument("--members", type=int, default=10_000)
    asyncio.run(main(parser.parse_args()))
