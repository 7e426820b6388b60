"""Idempotency keys of webhook posts: a retried `POST /hooks/{name}` with the same
`Idempotency-Key` header posts once (in the spirit of the IETF draft "The Idempotency-Key
HTTP Header Field" and Stripe's API).

A key is claimed *before* anything is posted, by inserting its row (`hook_deliveries`,
primary key hook + key) in a transaction of its own: of two concurrent requests with the
same key only one insert succeeds, so only one posts. The row's `posted` is empty while
the post is under way and then holds the room ids it reached. What a later request with
the same key gets:

- the post reached some rooms: **200** with the same `posted`, nothing is sent again (the
  rooms a partial post missed are not tried again: the key names one post);
- the post is still under way: **409** with `Retry-After`;
- nothing was posted because every send failed: the key was released, so the retry posts;
- the process died during the post (an empty `posted` older than the time a post can
  take): the retry takes the key over and posts;
- the key is older than `KEY_TTL` (a day): it has expired, the request is a new post.
  The hourly prune job deletes expired keys.

Taking a key over is one conditional UPDATE, so two retries cannot both win it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, or_, update
from sqlalchemy.exc import IntegrityError

from bot.db import Database
from bot.db.models import HookDelivery

KEY_HEADER = "Idempotency-Key"
KEY_MAX = 128  # the column's length
KEY_TTL = timedelta(days=1)
# visible ASCII, spaces only inside; the IETF draft sends the key as a quoted string
_KEY_RE = re.compile(r"^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$")
CLAIM_ATTEMPTS = 3


class BadKey(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_key(values: list[str]) -> str | None:
    """The request's idempotency key (None without the header), or `BadKey`."""
    if not values:
        return None
    if len(values) > 1:
        raise BadKey(f"send one {KEY_HEADER} header, not {len(values)}")
    key = values[0].strip()
    if len(key) >= 2 and key[0] == key[-1] == '"':
        key = key[1:-1]
    if not 1 <= len(key) <= KEY_MAX or not _KEY_RE.match(key):
        raise BadKey(f"{KEY_HEADER} must be 1 to {KEY_MAX} printable ASCII characters")
    return key


@dataclass(frozen=True)
class Claimed:
    """The key is ours: post, then `record` (or `release` when nothing was posted)."""


@dataclass(frozen=True)
class Replay:
    """The key's post happened: answer with the rooms it reached, send nothing."""

    posted: tuple[str, ...]


@dataclass(frozen=True)
class Busy:
    """Another request with the key is posting right now."""


Claim = Claimed | Replay | Busy


async def claim(db: Database, hook: str, key: str, now: datetime, in_flight: timedelta
                ) -> Claim:
    """Claim `key` of `hook` for a post starting `now`; an unfinished post older than
    `in_flight` counts as abandoned."""
    for _ in range(CLAIM_ATTEMPTS):
        try:
            async with db.session() as session:
                session.add(HookDelivery(hook=hook, key=key, at=now, posted=""))
            return Claimed()
        except IntegrityError:
            pass  # the key exists: expired, abandoned, under way or done
        async with db.session() as session:
            result = await session.execute(
                update(HookDelivery)
                .where(HookDelivery.hook == hook, HookDelivery.key == key,
                       or_(HookDelivery.at < now - KEY_TTL,
                           and_(HookDelivery.posted == "", HookDelivery.at < now - in_flight)))
                .values(at=now, posted=""))
            if getattr(result, "rowcount", 0) == 1:
                return Claimed()
            row = await session.get(HookDelivery, (hook, key))
            if row is not None:
                return Replay(tuple(row.posted.split())) if row.posted else Busy()
        # pruned between the insert and the read: claim it again
    return Busy()


async def record(db: Database, hook: str, key: str, posted: list[str]) -> None:
    """The claimed key's post reached `posted` (at least one room)."""
    async with db.session() as session:
        await session.execute(
            update(HookDelivery).where(HookDelivery.hook == hook, HookDelivery.key == key)
            .values(posted=" ".join(posted)))


async def release(db: Database, hook: str, key: str) -> None:
    """The claimed key's post reached no room: a retry may post."""
    async with db.session() as session:
        await session.execute(delete(HookDelivery).where(
            HookDelivery.hook == hook, HookDelivery.key == key, HookDelivery.posted == ""))


async def prune(db: Database, now: datetime) -> int:
    """Forget keys older than `KEY_TTL`; returns how many."""
    async with db.session() as session:
        result = await session.execute(
            delete(HookDelivery).where(HookDelivery.at < now - KEY_TTL))
    return getattr(result, "rowcount", 0) or 0
