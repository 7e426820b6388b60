"""A member's own data: everything each feature holds about them, exported (`!mydata`) or
erased (`!forget-me`). The features declare what they hold with `wiring.holds(...)`; the
core's member record is declared first and erased last."""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config_reader import Duration
from bot.feature import PersonalData
from bot.members import FORMER

log = logging.getLogger(__name__)


def former_member() -> str:
    """A fresh stand-in for a forgotten member's Matrix ID where a record must stay for the
    others (a collaboration keeps existing without their name). Random, so it cannot be
    traced back to them, and not a valid user on any server."""
    return f"{FORMER}{secrets.token_hex(6)}:invalid"


@dataclass(frozen=True)
class Export:
    data: dict[str, Any]
    counts: dict[str, int]  # per part, how many records

    def json(self) -> bytes:
        return json.dumps(self.data, ensure_ascii=False, indent=2, sort_keys=True,
                          default=_plain).encode()


def _plain(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _count(part: Any) -> int:
    if isinstance(part, list):
        return len(part)
    if isinstance(part, dict):
        return 1 if part else 0
    return 0 if part is None else 1


class PrivacyService:
    def __init__(self, session: AsyncSession, parts: Sequence[PersonalData], clock: Any,
                 retention: dict[str, Duration | None]) -> None:
        self.session = session
        self.parts = parts
        self.clock = clock
        self.retention = retention  # for !privacy: how long what is kept for a while is kept

    async def export(self, mxid: str) -> Export:
        data: dict[str, Any] = {"matrix_id": mxid, "exported_at": self.clock()}
        counts: dict[str, int] = {}
        for part in self.parts:
            found = await part.export(self.session, mxid)
            data[part.name] = found
            counts[part.name] = _count(found)
        return Export(data, counts)

    async def erase(self, mxid: str) -> int:
        """Erase or anonymise `mxid` everywhere; the core's record goes last. Returns how
        many records were touched."""
        alias = former_member()
        touched = 0
        for part in reversed(self.parts):
            touched += await part.erase(self.session, mxid, alias)
        log.info("a member asked to be forgotten: %d records erased or anonymised", touched)
        return touched
