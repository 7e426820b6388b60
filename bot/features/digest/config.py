"""The `digest:` config section: when the weekly digest goes out, and where."""

from __future__ import annotations

from dataclasses import dataclass

from bot.config_reader import ConfigSection
from rooms.topology import NetworkConfig


@dataclass(frozen=True)
class DigestConfig:
    weekday: int = 0
    hour: int = 9
    minute: int = 0
    timezone: str = "Europe/Berlin"
    rooms: tuple[str, ...] = ("partners",)  # network room keys: partners, a location or topic


def parse_digest(sec: ConfigSection, network: NetworkConfig) -> DigestConfig:
    when = sec.weekly("schedule", "'mon 09:00'", weekly_only=True)
    weekday, hour, minute = ((when.weekday, when.hour, when.minute) if when else
                             (DigestConfig.weekday, DigestConfig.hour, DigestConfig.minute))
    tz = sec.timezone("timezone", DigestConfig.timezone) or DigestConfig.timezone
    rooms = sec.strings("rooms") if "rooms" in sec.data else DigestConfig.rooms
    room_keys = {"partners", *network.location_by_key, *(t.key for t in network.topics)}
    for key in rooms:
        if network.configured and key not in room_keys:
            sec.fail("rooms", f"'{key}' is not a network room (partners, a location key or a "
                              "topic key)")
    return DigestConfig(weekday, hour, minute, tz, rooms)
