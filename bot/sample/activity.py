"""Room activity: messages per day in the location and topic rooms."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.dialects import postgresql, sqlite

from bot.config import Config
from bot.db.models import RoomActivity
from bot.features.digest.config import DigestConfig
from bot.sample.members import Index
from bot.sample.people import Generator
from bot.sample.writing import Writer, chunks
from rooms.network import room_key

ACTIVITY_DAYS = 56  # the digest's chart: eight weeks


async def write_activity(writer: Writer, gen: Generator, config: Config,
                         rooms: dict[str, str], index: Index) -> None:
    """Messages per day in the location and topic rooms, weekdays busier, growing a little
    towards today; added to what is counted already."""
    rng = gen.rng(6)
    tz = ZoneInfo(config.section(DigestConfig).timezone)
    today = gen.now.astimezone(tz).date()
    rows: list[dict[str, Any]] = []
    for spec in (*gen.network.locations, *gen.network.topics):
        room_id = rooms.get(room_key(spec))
        if room_id is None:
            continue
        people = index.room_members.get(room_id, 0)
        for back in range(ACTIVITY_DAYS):
            day: date = today - timedelta(days=back)
            weekday = 1.0 if day.weekday() < 5 else 0.35
            growth = 1.0 - back / (ACTIVITY_DAYS * 2)
            mean = max(0.5, people * 0.4) * weekday * growth
            count = int(rng.gauss(mean, mean / 3) + 0.5)
            if count > 0:
                rows.append({"room_id": room_id, "day": day, "count": count})
    dialect = postgresql if writer.session.get_bind().dialect.name == "postgresql" else sqlite
    for part in chunks(rows):
        stmt = dialect.insert(RoomActivity)
        stmt = stmt.on_conflict_do_update(index_elements=["room_id", "day"],
                                          set_={"count": RoomActivity.count
                                                + stmt.excluded.count})
        await writer.session.execute(stmt, list(part))
    writer.counts["room_activity"] = len(rows)
