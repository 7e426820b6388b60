"""Numbers members see and type back ("event #12", "collaboration #3").

A command answers before its transaction commits, with transaction ids derived from its
event, so that a command run again — after a crash, or after the homeserver went away in the
middle of it — is folded by the homeserver into what was already sent. That only holds if
the second run says the same thing: a database sequence moves on when a transaction rolls
back (PostgreSQL's do), and the second run would write "#13" where the message already sent
says "#12". So such numbers are the table's highest plus one, taken under a lock that the
rollback releases: a second run gets the same number.
"""

from __future__ import annotations

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase


async def next_number(session: AsyncSession, model: type[DeclarativeBase]) -> int:
    """The id the next `model` row gets; call it in the transaction that inserts the row."""
    table = model.__table__
    name = model.__tablename__
    postgresql = session.get_bind().dialect.name == "postgresql"
    if postgresql:  # (SQLite's write lock already serialises writers)
        await session.execute(text(f'LOCK TABLE "{name}" IN SHARE ROW EXCLUSIVE MODE'))
    number = int(await session.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0) + 1
    if postgresql:  # keep the table's own sequence ahead, for rows inserted without an id
        await session.execute(text("SELECT setval(pg_get_serial_sequence(:t, 'id'), :n)"),
                              {"t": name, "n": number})
    return number
