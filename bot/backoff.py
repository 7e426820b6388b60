"""Capped exponential backoff with full jitter (never a tight retry loop)."""

from __future__ import annotations

import asyncio
import random


class Backoff:
    """One is made for every send and every saved position, and almost never waits: its
    random source is made on the first wait (seeding one from the OS each time cost some
    2 % of the bot's CPU under load)."""

    def __init__(self, base: float = 0.5, cap: float = 30.0, rng: random.Random | None = None):
        self.base = base
        self.cap = cap
        self.attempt = 0
        self._rng = rng

    def next_delay(self) -> float:
        """The next wait: uniform in [ceiling/2, ceiling], ceiling doubling up to `cap`."""
        ceiling = min(self.cap, self.base * (2**self.attempt))
        self.attempt += 1
        if self._rng is None:
            self._rng = random.Random()
        return self._rng.uniform(ceiling / 2, ceiling)

    async def wait(self) -> float:
        delay = self.next_delay()
        await asyncio.sleep(delay)
        return delay

    def reset(self) -> None:
        self.attempt = 0
