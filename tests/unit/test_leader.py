"""Who leads: the PostgreSQL advisory lock on a connection of its own (`bot.leader`), and
what a standby's web side shows and refuses."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from bot.db import Database
from bot.leader import Leadership, Role, lock_key
from bot.web.pages import WebState
from bot.web.server import writes_on_leader
from tests.conftest import POSTGRES_URL, web_app

needs_postgres = pytest.mark.skipif(not POSTGRES_URL, reason="the lock is PostgreSQL's")


def fresh_user() -> str:
    return f"@sbcc{uuid.uuid4().hex[:8]}:test"


def quick(url: str, user_id: str) -> Leadership:
    return Leadership(url, user_id=user_id, schema="s", poll=0.1, heartbeat=0.1, timeout=1.0)


async def acquired_within(leadership: Leadership, seconds: float) -> bool:
    stopping = asyncio.Event()
    asyncio.get_running_loop().call_later(seconds, stopping.set)
    return await leadership.acquire(stopping)


def test_one_lock_per_account_and_schema() -> None:
    keys = {lock_key("@a:x", None), lock_key("@b:x", None), lock_key("@a:x", "s"),
            lock_key("@a:x", "t")}
    assert len(keys) == 4
    assert lock_key("@a:x", "s") == lock_key("@a:x", "s")
    assert all(-2**63 <= k < 2**63 for k in keys)


async def test_on_sqlite_a_process_leads_at_once(tmp_path) -> None:  # noqa: ANN001
    leadership = Leadership(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", user_id="@a:x")
    stopping = asyncio.Event()
    assert await leadership.acquire(stopping)
    assert leadership.role is Role.LEADER


@needs_postgres
async def test_the_second_process_stands_by_until_the_first_lets_go() -> None:
    assert POSTGRES_URL
    user = fresh_user()
    first, second = quick(POSTGRES_URL, user), quick(POSTGRES_URL, user)
    try:
        assert await acquired_within(first, 2.0)
        assert not await acquired_within(second, 0.5)
        assert second.role is Role.STANDBY
        await first.release()
        started = time.monotonic()
        assert await acquired_within(second, 3.0)
        assert time.monotonic() - started < 1.0
        assert second.leading
    finally:
        await first.release()
        await second.release()


@needs_postgres
async def test_other_accounts_do_not_wait_for_each_other() -> None:
    assert POSTGRES_URL
    one, other = quick(POSTGRES_URL, fresh_user()), quick(POSTGRES_URL, fresh_user())
    try:
        assert await acquired_within(one, 2.0)
        assert await acquired_within(other, 2.0)
    finally:
        await one.release()
        await other.release()


@needs_postgres
async def test_a_leader_cut_off_from_the_database_stops_and_the_standby_takes_over() -> None:
    assert POSTGRES_URL
    user = fresh_user()
    leader, standby = quick(POSTGRES_URL, user), quick(POSTGRES_URL, user)
    lost = asyncio.Event()
    admin = Database(POSTGRES_URL)
    try:
        assert await acquired_within(leader, 2.0)
        leader.watch(lost.set)
        await asyncio.sleep(0.3)
        assert not lost.is_set()  # a healthy connection is not mistaken for a lost one
        async with admin.engine.begin() as conn:  # the server ends the leader's session
            ended = await conn.scalar(text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE "
                "locktype = 'advisory' AND granted AND "
                "((classid::bigint << 32) | objid::bigint) = (:key & x'ffffffffffffffff'::bigint)"
            ), {"key": leader.key})
        assert ended == 1
        await asyncio.wait_for(lost.wait(), 3.0)
        assert leader.role is Role.STANDBY
        assert await acquired_within(standby, 3.0)
    finally:
        await leader.release()
        await standby.release()
        await admin.close()


@needs_postgres
async def test_a_standby_keeps_trying_while_the_database_is_away() -> None:
    """A refused connection is "not now": the standby waits and tries again."""
    leadership = Leadership("postgresql+asyncpg://postgres@127.0.0.1:1/test", user_id="@a:x",
                            poll=0.05, timeout=0.5)
    assert not await acquired_within(leadership, 0.5)
    assert leadership.role is Role.STANDBY
    await leadership.release()


# -- the web side of a standby ------------------------------------------------------------

class Roles:
    def __init__(self) -> None:
        self.value = "standby"

    def __call__(self) -> str:
        return self.value


@pytest.fixture
async def standby_client(make_deps):  # noqa: ANN001, ANN201
    deps = await make_deps(web={"public_url": "https://bot.example.org"})
    roles = Roles()
    app = web_app(deps, WebState(role=roles),
                  (writes_on_leader(lambda: roles.value == "leader"),))
    async with TestClient(TestServer(app)) as client:
        yield client, roles


async def test_a_standby_is_healthy_as_standby(standby_client) -> None:  # noqa: ANN001
    client, _roles = standby_client
    resp = await client.get("/healthz")
    assert resp.status == 200
    assert (await resp.json())["status"] == "standby"


async def test_a_standby_refuses_writes_and_serves_reads(standby_client) -> None:  # noqa: ANN001
    client, roles = standby_client
    resp = await client.post("/advice", data={"name": "Ala"})
    assert resp.status == 503
    assert resp.headers["Retry-After"] == "5"
    assert "standby" in (await resp.json())["error"]
    assert (await client.get("/advice")).status == 200
    roles.value = "leader"
    resp = await client.post("/advice", data={"name": "Ala"})
    assert resp.status != 503  # the form itself answers now (here: what is missing)


async def test_metrics_show_the_role(standby_client) -> None:  # noqa: ANN001
    client, roles = standby_client

    async def role_samples() -> dict[str, float]:
        body = await (await client.get("/metrics")).text()
        return {s.labels["role"]: s.value for family in text_string_to_metric_families(body)
                if family.name == "sbcc_role" for s in family.samples}

    assert await role_samples() == {"leader": 0.0, "standby": 1.0}
    roles.value = "leader"
    assert await role_samples() == {"leader": 1.0, "standby": 0.0}
