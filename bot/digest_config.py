"""The `digest:` config section: when the weekly digest goes out, and where."""

from __future__ import annotations

import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.config_reader import Section
from bot.matching_config import WEEKDAYS

SCHEDULE_RE = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun)\s+(\d{1,2}):(\d{2})$")


@dataclass(frozen=True)
class DigestConfig:
    weekday: int = 0
    hour: int = 9
    minute: int = 0
    timezone: str = "Europe/Berlin"
    rooms: tuple[str, ...] = ("partners",)  # network room keys: partners, a location or topic


def parse_digest(sec: Section) -> DigestConfig:
    weekday, hour, minute = DigestConfig.weekday, DigestConfig.hour, DigestConfig.minute
    text = sec.string("schedule")
    if text is not None:
        m = SCHEDULE_RE.match(text.strip().lower())
        if not m or int(m[2]) > 23 or int(m[3]) > 59:
            sec.fail("schedule", "must look like 'mon 09:00'")
        else:
            weekday, hour, minute = WEEKDAYS.index(m[1]), int(m[2]), int(m[3])
    tz = sec.string("timezone", DigestConfig.timezone)
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        sec.fail("timezone", f"'{tz}' is not a timezone like Europe/Berlin")
    rooms = sec.strings("rooms") if "rooms" in sec.data else DigestConfig.rooms
    sec.finish()
    return DigestConfig(weekday, hour, minute, tz, rooms)
