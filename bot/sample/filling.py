"""`fill`: the sample written in one transaction, in order."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, text

from bot.config import Config
from bot.db import Database
from bot.db.models import Collaboration, Connection, ForumEvent, Member
from bot.deps import utcnow
from bot.members import note_change
from bot.sample.activity import write_activity
from bot.sample.events import write_forums
from bot.sample.links import consent_collaborators, write_collaborations, write_connections
from bot.sample.members import write_members
from bot.sample.people import Generator
from bot.sample.rooms import sample_rooms
from bot.sample.summary import Sample, summarise
from bot.sample.writing import Writer

DEFAULT_SERVER = "sample.sbcc.example"


async def fill(db: Database, config: Config, *, members: int = 40, seed: int = 7,
               now: datetime | None = None, user_ids: Sequence[str] | None = None,
               server: str = DEFAULT_SERVER) -> Sample:
    """Fill the database with a living network (see the package's docstring); returns what
    was written. Deterministic for a seed, `now` and the configuration."""
    started = time.perf_counter()
    now = now or utcnow()
    gen = Generator(config, members, seed, now, user_ids, server)
    mxids = gen.ids
    async with db.session() as session:
        existing = await session.scalar(
            select(func.count()).select_from(Member).where(Member.mxid.in_(mxids[:1000])))
        rooms = await sample_rooms(session, config.network, now, server)
        if existing:
            return await summarise(session, gen, mxids, rooms, {}, (), (), filled=False,
                                   started=started)
        writer = Writer(session)
        index = await write_members(writer, gen, rooms)
        note_change(session, None)  # tags written in bulk: matching's index is rebuilt
        connections = await write_connections(writer, gen, index)
        collabs, collaborators = await write_collaborations(writer, gen, connections)
        await consent_collaborators(session, gen, index, collaborators)
        forums = await write_forums(writer, gen, config, rooms)
        await write_activity(writer, gen, config, rooms, index)
        if db.dialect == "postgresql":  # rows numbered here: keep the sequences ahead
            for model in (Connection, Collaboration, ForumEvent):
                name = model.__tablename__
                await session.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                    f"(SELECT coalesce(max(id), 1) FROM \"{name}\"))"))
        return await summarise(session, gen, mxids, rooms, writer.counts, collabs, forums,
                               filled=True, started=started, index=index)
