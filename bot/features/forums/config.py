"""The `forums:` config section: reminder offsets, grace, where announcements go."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.config_reader import ConfigSection, Duration, parse_duration
from rooms.topology import NetworkConfig

# A reminder's offset before an event: days are counted on the wall clock of the event's
# timezone (so daylight saving never shifts them), hours and minutes in absolute time.
Offset = Duration
parse_offset = parse_duration


@dataclass(frozen=True)
class ForumsConfig:
    reminders: tuple[Offset, ...] = (
        Offset("30d", 30, "d"), Offset("7d", 7, "d"), Offset("1d", 1, "d"), Offset("2h", 2, "h"))
    grace: timedelta = timedelta(hours=6)
    announce_topics: tuple[str, ...] = ()
    direct_reminders: bool = False


def parse_forums(sec: ConfigSection, network: NetworkConfig) -> ForumsConfig:
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
    grace = sec.duration("grace", Offset("6h", 6, "h")).delta
    topics = sec.strings("announce_topics")
    topic_keys = {t.key for t in network.topics}
    for key in topics:
        if key not in topic_keys:
            sec.fail("announce_topics", f"'{key}' is not a topic key of network.topics "
                                        f"({', '.join(sorted(topic_keys)) or 'none'})")
    direct = sec.boolean("direct_reminders", False)
    offsets.sort(key=lambda o: o.delta, reverse=True)
    return ForumsConfig(tuple(offsets), grace, topics, direct)
