"""How long a unit of work (a command, a listener's handling of an event) waits for the
homeserver before it gives up and lets the dispatcher retry it whole.

Outside a unit (start-up, scheduled jobs) the gateway retries a transient failure until the
homeserver answers. Inside one a call gives up after `UNIT_PATIENCE` seconds of failing: the unit's
transaction is then rolled back — so no database lock is held while the homeserver is
away — and the dispatcher runs the unit again later. Replies carry transaction ids derived
from the event, so what was already sent is folded into the first by the homeserver.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

UNIT_PATIENCE = 8.0  # seconds of retrying a homeserver call within a unit of work

_patience: ContextVar[float | None] = ContextVar("sbcc_unit_patience", default=None)


@contextmanager
def within_unit(patience: float = UNIT_PATIENCE) -> Iterator[None]:
    """Homeserver calls made in this block (and tasks it starts) give up after `patience`
    seconds of transient failures instead of retrying forever."""
    token = _patience.set(patience)
    try:
        yield
    finally:
        _patience.reset(token)


def patience() -> float | None:
    """How long a failing homeserver call may keep retrying here; None: until it answers."""
    return _patience.get()
