"""Bulk inserts: rows in chunks, counted by table, and the ids rows are numbered from."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

INSERT_ROWS = 20_000  # rows per insert statement


def chunks(rows: Sequence[dict[str, Any]], size: int = INSERT_ROWS
           ) -> Iterator[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


class Writer:
    """Bulk inserts within one session, counted by table."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.counts: dict[str, int] = {}

    async def add(self, model: Any, rows: Sequence[dict[str, Any]]) -> None:
        if rows:  # the table's core insert: executemany, without the ORM's bulk path
            conn = await self.session.connection()
            for part in chunks(rows):
                await conn.execute(model.__table__.insert(), list(part))
        name = model.__tablename__
        self.counts[name] = self.counts.get(name, 0) + len(rows)


async def next_id(session: AsyncSession, model: Any) -> int:
    return int(await session.scalar(select(func.coalesce(func.max(model.id), 0))) or 0) + 1
