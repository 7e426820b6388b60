"""The `forums:` config section: reminder offsets, grace, where announcements go."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from bot.config_reader import Section

OFFSET_RE = re.compile(r"^(\d{1,4})([dhm])$")
UNITS = {"d": "days", "h": "hours", "m": "minutes"}


@dataclass(frozen=True)
class Offset:
    """A reminder offset before an event: days are counted on the wall clock of the event's
    timezone (so daylight saving never shifts them), hours and minutes in absolute time."""

    text: str
    amount: int
    unit: str  # d | h | m

    @property
    def delta(self) -> timedelta:
        return timedelta(**{UNITS[self.unit]: self.amount})


def parse_offset(text: str) -> Offset | None:
    m = OFFSET_RE.match(text.strip().lower())
    if not m or int(m[1]) == 0:
        return None
    return Offset(f"{int(m[1])}{m[2]}", int(m[1]), m[2])


@dataclass(frozen=True)
class ForumsConfig:
    reminders: tuple[Offset, ...] = (
        Offset("30d", 30, "d"), Offset("7d", 7, "d"), Offset("1d", 1, "d"), Offset("2h", 2, "h"))
    grace: timedelta = timedelta(hours=6)
    announce_topics: tuple[str, ...] = ()
    direct_reminders: bool = False


def parse_forums(sec: Section) -> ForumsConfig:
    offsets: list[Offset] = []
    raw = sec.get("reminders")
    if raw is None:
        offsets = list(ForumsConfig.reminders)
    elif not isinstance(raw, list):
        sec.fail("reminders", "must be a list like [\"30d\", \"7d\", \"1d\", \"2h\"]")
    else:
        for item in raw:
            offset = parse_offset(str(item))
            if offset is None:
                sec.fail("reminders", f"'{item}' is not an offset like 30d, 7d, 2h or 45m")
            elif offset.text not in {o.text for o in offsets}:
                offsets.append(offset)
    grace = ForumsConfig.grace
    grace_text = sec.string("grace")
    if grace_text is not None:
        parsed = parse_offset(grace_text)
        if parsed is None:
            sec.fail("grace", f"'{grace_text}' is not a duration like 6h, 1d or 30m")
        else:
            grace = parsed.delta
    topics = sec.strings("announce_topics")
    direct = sec.get("direct_reminders", False)
    if not isinstance(direct, bool):
        sec.fail("direct_reminders", "must be true or false")
        direct = False
    sec.finish()
    offsets.sort(key=lambda o: o.delta, reverse=True)
    return ForumsConfig(tuple(offsets), grace, topics, direct)
