"""The `matchmaking:` config section: when rounds run, in which timezone, when the
follow-up asks, how long pairs do not repeat, and how many introductions one member may
open a day with `!connect`."""

from __future__ import annotations

from dataclasses import dataclass

from bot.config_reader import ConfigSection, WeeklyTime
from rooms.topology import NetworkConfig


@dataclass(frozen=True)
class MatchmakingConfig:
    rounds: WeeklyTime | None = None
    timezone: str = "Europe/Berlin"
    followup_days: int = 7
    history_rounds: int = 6  # pairs never repeat within this many rounds
    connects_per_day: int = 10  # new rooms one member may open with !connect in 24 hours


def parse_matchmaking(sec: ConfigSection, _network: NetworkConfig) -> MatchmakingConfig:
    schedule = sec.weekly("rounds", "'every 2 weeks mon 10:00' or 'every week fri 09:30'")
    tz = sec.timezone("timezone", MatchmakingConfig.timezone) or MatchmakingConfig.timezone
    followup = sec.integer("followup_days", MatchmakingConfig.followup_days, minimum=1,
                           maximum=60)
    history = sec.integer("history_rounds", MatchmakingConfig.history_rounds, minimum=0,
                          maximum=100)
    connects = sec.integer("connects_per_day", MatchmakingConfig.connects_per_day, minimum=1,
                           maximum=1000)
    return MatchmakingConfig(schedule, tz, followup, history, connects)
