"""Config sections for matchmaking: tag synonyms across languages and the rounds schedule."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.config_reader import Section

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SCHEDULE_RE = re.compile(
    r"^every\s+(?:(?P<n>\d+)\s+)?weeks?\s+(?P<day>mon|tue|wed|thu|fri|sat|sun)\s+"
    r"(?P<h>\d{1,2}):(?P<m>\d{2})$")


def _norm(tag: str) -> str:
    return " ".join(tag.casefold().lstrip("#").split())


@dataclass(frozen=True)
class TagsConfig:
    synonyms: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _canonical: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def canonical(self, tag: str) -> str:
        """The tag matching compares: a synonym's head word, else the tag itself."""
        return self._canonical.get(tag, tag)


@dataclass(frozen=True)
class RoundSchedule:
    every_weeks: int
    weekday: int  # 0 = Monday
    hour: int
    minute: int


@dataclass(frozen=True)
class MatchmakingConfig:
    rounds: RoundSchedule | None = None
    timezone: str = "Europe/Berlin"
    followup_days: int = 7
    history_rounds: int = 6  # pairs never repeat within this many rounds


def parse_tags(sec: Section) -> TagsConfig:
    raw = sec.get("synonyms", {}) or {}
    synonyms: dict[str, tuple[str, ...]] = {}
    canonical: dict[str, str] = {}
    if not isinstance(raw, dict):
        sec.fail("synonyms", "must map a tag to a list of its synonyms")
        raw = {}
    for head, words in raw.items():
        if not isinstance(head, str) or not isinstance(words, list) or not all(
                isinstance(w, str) for w in words):
            sec.fail(f"synonyms.{head}", "must be a list of words")
            continue
        key = _norm(head)
        synonyms[key] = tuple(_norm(w) for w in words)
        for word in (key, *synonyms[key]):
            if word in canonical and canonical[word] != key:
                sec.fail(f"synonyms.{head}", f"'{word}' is already a synonym of "
                                             f"'{canonical[word]}'")
            canonical.setdefault(word, key)
    sec.finish()
    return TagsConfig(synonyms, canonical)


def parse_schedule(text: str) -> RoundSchedule | None:
    m = SCHEDULE_RE.match(text.strip().lower())
    if not m:
        return None
    hour, minute = int(m["h"]), int(m["m"])
    if hour > 23 or minute > 59:
        return None
    return RoundSchedule(int(m["n"] or 1), WEEKDAYS.index(m["day"]), hour, minute)


def parse_matchmaking(sec: Section) -> MatchmakingConfig:
    schedule = None
    text = sec.string("rounds")
    if text:
        schedule = parse_schedule(text)
        if schedule is None or schedule.every_weeks < 1:
            sec.fail("rounds", "must look like 'every 2 weeks mon 10:00' or 'every week fri "
                               "09:30'")
    tz = sec.string("timezone", MatchmakingConfig.timezone)
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        sec.fail("timezone", f"'{tz}' is not a timezone like Europe/Warsaw")
    followup = sec.integer("followup_days", MatchmakingConfig.followup_days, minimum=1,
                           maximum=60)
    history = sec.integer("history_rounds", MatchmakingConfig.history_rounds, minimum=0,
                          maximum=100)
    sec.finish()
    return MatchmakingConfig(schedule, tz, followup, history)
