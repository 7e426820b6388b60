from __future__ import annotations

import random

from bot.backoff import Backoff


def test_backoff_grows_is_capped_and_jittered() -> None:
    backoff = Backoff(base=0.5, cap=30, rng=random.Random(1))
    delays = [backoff.next_delay() for _ in range(12)]
    assert 0.25 <= delays[0] <= 0.5
    assert 1.0 <= delays[2] <= 2.0
    assert all(15 <= d <= 30 for d in delays[7:])
    assert len({round(d, 6) for d in delays[7:]}) > 1, "jitter spreads the retries"
    backoff.reset()
    assert backoff.next_delay() <= 0.5
