"""Where the benchmarks run: SQLite in a temporary file always, and PostgreSQL when
`SBCC_TEST_POSTGRES_URL` is set or `--postgres URL` is given.

On PostgreSQL a benchmark's data lives in its own schema of the database `sbcc_bench` on the
same server (created when missing), never in the database the tests use. Generating a million
profiles takes a while, so a schema is kept between runs: its comment records what was
generated (the benchmark, its size and the generator's version), and a later run with the
same signature reuses it — only migrating it to the newest revision — instead of generating
again. `--fresh` drops it first; so does a changed signature.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, insert, text
from sqlalchemy.engine import make_url

from bot.db import Database

BENCH_DATABASE = "sbcc_bench"


@dataclass(frozen=True)
class Engine:
    name: str  # "SQLite" | "PostgreSQL"
    url: str | None  # the server's URL (PostgreSQL); None: a temporary SQLite file


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--postgres", metavar="URL",
                        default=os.environ.get("SBCC_TEST_POSTGRES_URL"),
                        help="also run on this PostgreSQL server (default: "
                             "$SBCC_TEST_POSTGRES_URL); the data goes to its database "
                             f"{BENCH_DATABASE}")
    parser.add_argument("--engines", default="sqlite,postgresql",
                        help="which of sqlite,postgresql to run (PostgreSQL needs a URL)")
    parser.add_argument("--fresh", action="store_true",
                        help="generate the PostgreSQL data again even if a kept copy fits")


def engines(args: argparse.Namespace) -> list[Engine]:
    wanted = {e.strip().lower() for e in args.engines.split(",")}
    out = []
    if "sqlite" in wanted:
        out.append(Engine("SQLite", None))
    if "postgresql" in wanted and args.postgres:
        out.append(Engine("PostgreSQL", args.postgres))
    return out


async def _ensure_bench_database(url: str) -> str:
    """The URL of the database `sbcc_bench` on `url`'s server, created when missing."""
    admin = Database(url)
    try:
        autocommit = admin.engine.execution_options(isolation_level="AUTOCOMMIT")
        async with autocommit.connect() as conn:
            exists = await conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                       {"n": BENCH_DATABASE})
            if not exists:
                await conn.execute(text(f'CREATE DATABASE "{BENCH_DATABASE}"'))
    finally:
        await admin.close()
    return make_url(url).set(database=BENCH_DATABASE).render_as_string(hide_password=False)


@asynccontextmanager
async def database(engine: Engine, schema: str, signature: str, fresh: bool,
                   seed: Callable[[Database], Awaitable[None]]
                   ) -> AsyncIterator[tuple[Database, bool]]:
    """A migrated database holding the benchmark's data, and whether it was reused (True) or
    seeded now by `seed`. SQLite: a temporary file, seeded every time."""
    if engine.url is None:
        with tempfile.TemporaryDirectory() as tmp:
            db = Database(f"sqlite+aiosqlite:///{tmp}/{schema}.db")
            try:
                await db.migrate()
                await seed(db)
                yield db, False
            finally:
                await db.close()
        return
    url = await _ensure_bench_database(engine.url)
    admin = Database(url)
    try:
        async with admin.engine.begin() as conn:
            kept = await conn.scalar(text(
                "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace "
                "WHERE nspname = :s"), {"s": schema})
            reuse = kept == signature and not fresh
            if not reuse:
                await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        await admin.close()
    db = Database(url, schema=schema)
    try:
        await db.migrate()
        if not reuse:
            await seed(db)
            async with db.engine.begin() as conn:
                await conn.execute(text(f"COMMENT ON SCHEMA \"{schema}\" IS '{signature}'"))
        yield db, reuse
    finally:
        await db.close()


async def bulk_insert(db: Database, table: Table, columns: Sequence[str],
                      rows: Iterable[Sequence[Any]], chunk: int = 50_000) -> None:
    """Rows (tuples in `columns`' order) into `table`, fast: PostgreSQL's COPY through
    asyncpg, SQLite's executemany in big transactions."""
    if db.dialect == "postgresql":
        async with db.engine.begin() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            assert raw is not None
            await raw.copy_records_to_table(table.name, records=rows, columns=list(columns),
                                            schema_name=db.schema)
        return
    batch: list[dict[str, Any]] = []
    async with db.engine.begin() as conn:
        for row in rows:
            batch.append(dict(zip(columns, row, strict=True)))
            if len(batch) >= chunk:
                await conn.execute(insert(table), batch)
                batch = []
        if batch:
            await conn.execute(insert(table), batch)


async def analyze(db: Database) -> None:
    """Statistics for the planner; on PostgreSQL also the visibility map, as autovacuum
    would keep it (without it an index-only scan visits the table after all)."""
    if db.dialect == "postgresql":
        autocommit = db.engine.execution_options(isolation_level="AUTOCOMMIT")
        async with autocommit.connect() as conn:
            await conn.exec_driver_sql("VACUUM ANALYZE")
        return
    async with db.engine.begin() as conn:
        await conn.exec_driver_sql("ANALYZE")


def spread(values: Sequence[float]) -> str:
    """min–max of repeated figures, for the report."""
    return f"{min(values):.1f}–{max(values):.1f}" if len(values) > 1 else f"{values[0]:.1f}"
