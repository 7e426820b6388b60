"""Reading a YAML mapping key by key, collecting every problem with its key path, and the
value shapes several config sections share: timezones, durations ("6h", "30d") and weekly
times ("mon 09:00", "every 2 weeks fri 09:30")."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKLY_RE = re.compile(
    r"^(?:every\s+(?:(?P<n>\d{1,2})\s+)?weeks?\s+)?(?P<day>mon|tue|wed|thu|fri|sat|sun)\s+"
    r"(?P<h>\d{1,2}):(?P<m>\d{2})$")
DURATION_RE = re.compile(r"^(\d{1,4})([smhd])$")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


@dataclass(frozen=True)
class Duration:
    """A span like "30d" or "2h". Days before an event are counted on its wall clock (see
    the forums' reminders), hours, minutes and seconds in absolute time."""

    text: str
    amount: int
    unit: str  # s | m | h | d

    @property
    def delta(self) -> timedelta:
        return timedelta(**{UNITS[self.unit]: self.amount})


def parse_duration(text: str) -> Duration | None:
    """"30d", "6h", "45m", "90s" (not zero); None for anything else."""
    m = DURATION_RE.match(str(text).strip().lower())
    if not m or int(m[1]) == 0:
        return None
    return Duration(f"{int(m[1])}{m[2]}", int(m[1]), m[2])


@dataclass(frozen=True)
class WeeklyTime:
    """A wall-clock time on one weekday, every `every_weeks` weeks."""

    every_weeks: int
    weekday: int  # 0 = Monday
    hour: int
    minute: int


def parse_weekly(text: str) -> WeeklyTime | None:
    """"mon 09:00", "every week fri 09:30", "every 2 weeks mon 10:00"; None otherwise."""
    m = WEEKLY_RE.match(" ".join(str(text).lower().split()))
    if not m:
        return None
    hour, minute, every = int(m["h"]), int(m["m"]), int(m["n"] or 1)
    if hour > 23 or minute > 59 or every < 1:
        return None
    return WeeklyTime(every, WEEKDAYS.index(m["day"]), hour, minute)


class ConfigSection:
    """Reads one mapping of the YAML, collecting problems instead of failing on the first."""

    def __init__(self, data: Any, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        self.seen: set[str] = set()
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            self.fail("", "must be a mapping of keys to values")
            data = {}
        self.data: Mapping[str, Any] = data

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def fail(self, name: str, message: str) -> None:
        where = self.key(name) if name else (self.path or "(top level)")
        self.problems.append(f"{where}: {message}")

    def get(self, name: str, default: Any = None) -> Any:
        self.seen.add(name)
        return self.data.get(name, default)

    def string(self, name: str, default: str | None = None, *, required: bool = False) -> Any:
        value = self.get(name)
        if value is None:
            if required:
                self.fail(name, "is required")
            return default
        if not isinstance(value, str) or not value.strip():
            self.fail(name, "must be a non-empty string")
            return default
        return value.strip()

    def strings(self, name: str) -> tuple[str, ...]:
        value = self.get(name, [])
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(name, "must be a list of strings")
            return ()
        return tuple(v.strip() for v in value)

    def section(self, name: str) -> ConfigSection:
        return ConfigSection(self.get(name), self.key(name), self.problems)

    def finish(self) -> None:
        for unknown in sorted(set(self.data) - self.seen, key=str):
            hint = difflib.get_close_matches(str(unknown), sorted(self.seen), n=1)
            suffix = f" (did you mean '{hint[0]}'?)" if hint else ""
            known = ", ".join(sorted(self.seen))
            self.fail(str(unknown), f"unknown key{suffix}; known keys here: {known}")

    def integer(self, name: str, default: int, *, minimum: int = 0,
                maximum: int | None = None) -> int:
        value = self.get(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum or (
                maximum is not None and value > maximum):
            upper = f" and at most {maximum}" if maximum is not None else ""
            self.fail(name, f"must be a whole number of at least {minimum}{upper}")
            return default
        return value

    def boolean(self, name: str, default: bool) -> bool:
        value = self.get(name, default)
        if not isinstance(value, bool):
            self.fail(name, "must be true or false")
            return default
        return value

    def items(self, name: str) -> list[ConfigSection]:
        """A list of mappings, each read as a section named `name[i]`."""
        value = self.get(name, [])
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(name, "must be a list")
            return []
        return [ConfigSection(v, f"{self.key(name)}[{i}]", self.problems)
                for i, v in enumerate(value)]

    def timezone(self, name: str, default: str | None = None) -> str | None:
        """An IANA timezone name (Europe/Warsaw); `default` when absent or wrong."""
        tz = self.string(name)
        if tz is None:
            return default
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            self.fail(name, f"'{tz}' is not a timezone like Europe/Warsaw")
            return default
        return str(tz)

    def duration(self, name: str, default: Duration) -> Duration:
        """A span like 6h, 1d, 30m or 90s."""
        text = self.string(name)
        if text is None:
            return default
        parsed = parse_duration(text)
        if parsed is None:
            self.fail(name, f"'{text}' is not a duration like 6h, 1d, 30m or 90s")
            return default
        return parsed

    def weekly(self, name: str, example: str, *, weekly_only: bool = False
               ) -> WeeklyTime | None:
        """A weekly wall-clock time ("mon 09:00", "every 2 weeks mon 10:00"); None when
        absent. `weekly_only` refuses "every N weeks" beyond one; `example` completes the
        error "must look like …"."""
        text = self.string(name)
        if text is None:
            return None
        parsed = parse_weekly(text)
        if parsed is None or (weekly_only and parsed.every_weeks != 1):
            self.fail(name, f"must look like {example}")
            return None
        return parsed
