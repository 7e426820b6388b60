"""Rates ("30/min") and the sliding-window limiter the HTTP side uses for webhooks (per
hook) and the advice form (per client address)."""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

RATE_RE = re.compile(r"^(\d{1,6})\s*/\s*(s|sec|second|m|min|minute|h|hour)$")
PER = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600,
       "hour": 3600}


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int

    @property
    def text(self) -> str:
        return f"{self.count}/{self.seconds}s"


def parse_rate(text: str) -> Rate | None:
    """"30/min", "5/s", "100/hour"; None for anything else (or a zero count)."""
    m = RATE_RE.match(str(text).strip().lower())
    if not m or int(m[1]) == 0:
        return None
    return Rate(int(m[1]), PER[m[2]])


class SlidingWindow:
    """At most `rate.count` hits in any `rate.seconds` for each key.

    `acquire` counts a hit up front (so concurrent requests cannot all slip through) and
    `release` gives it back when what it was for turns out not to count. Memory is bounded:
    each key keeps at most `count` times, and at most `MAX_KEYS` keys are kept (the
    oldest-seen forgotten first)."""

    MAX_KEYS = 10_000

    def __init__(self, rate: Rate, clock: Callable[[], float]) -> None:
        self.rate = rate
        self.clock = clock
        self._hits: dict[str, deque[float]] = {}

    def _live(self, key: str, now: float) -> deque[float] | None:
        hits = self._hits.get(key)
        if hits is None:
            return None
        while hits and hits[0] <= now - self.rate.seconds:
            hits.popleft()
        if not hits:
            del self._hits[key]
            return None
        return hits

    def acquire(self, key: str = "") -> int:
        """0 if the hit is allowed (and counted), else the whole seconds (at least 1) until
        one would be."""
        now = self.clock()
        hits = self._live(key, now)
        if hits is not None and len(hits) >= self.rate.count:
            return max(1, math.ceil(hits[0] + self.rate.seconds - now))
        if hits is None:
            if len(self._hits) >= self.MAX_KEYS:
                for other in list(self._hits):
                    self._live(other, now)
                while len(self._hits) >= self.MAX_KEYS:
                    del self._hits[next(iter(self._hits))]
            hits = self._hits[key] = deque()
        hits.append(now)
        return 0

    def release(self, key: str = "") -> None:
        hits = self._hits.get(key)
        if hits:
            hits.pop()
            if not hits:
                del self._hits[key]
