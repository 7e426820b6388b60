"""The HTTP side's plain routes through aiohttp's test client: /healthz, /metrics, the
calendar feeds; the network and the web section here serve the webhooks' tests too. On
SQLite and PostgreSQL (the `db` fixture)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from icalendar import Calendar
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import delete

from bot.db import Database
from bot.db.models import Collaboration, Connection, ForumEvent, NetworkRoom, RoomMembership
from bot.deps import Deps
from bot.web.pages import WebState
from tests.conftest import Clock, network, room_id, web_app

TOKEN = "t" * 32
NETWORK = network("szczecin", "rostock", partners="", name="Test Clusters")
WEB = {"public_url": "https://bot.example.org",
       "hooks": {"city": {"token": TOKEN, "rooms": ["rostock", "partners"], "rate": "2/min"}}}
SZN, ROS = room_id("location:szczecin"), room_id("location:rostock")


def make_app(deps: Deps, state: WebState, middlewares: tuple = ()) -> web.Application:
    """The HTTP side as the App builds it."""
    return web_app(deps, state, middlewares)


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(app)) as client:
        yield client


class LastSync:
    """What the sync loop would report: settable by the test."""

    def __init__(self) -> None:
        self.at: datetime | None = None

    def __call__(self) -> datetime | None:
        return self.at


@pytest.fixture
async def deps(make_deps) -> Deps:  # noqa: ANN001
    return await make_deps(network=NETWORK, web=WEB)


@pytest.fixture
def last_sync() -> LastSync:
    return LastSync()


@pytest.fixture
async def client(deps: Deps, last_sync: LastSync) -> AsyncIterator[TestClient]:
    async with serve(make_app(deps, WebState(last_sync=last_sync))) as client:
        yield client


@pytest.fixture
async def broken_deps(deps: Deps, tmp_path: Path) -> AsyncIterator[Deps]:
    """The same deps with a database that cannot be opened."""
    broken = Database(f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'dir' / 'x.db'}")
    try:
        yield dataclasses.replace(deps, db=broken)
    finally:
        await broken.close()


# -- /healthz ---------------------------------------------------------------------------------


async def test_healthz_ok_after_a_recent_sync(client: TestClient, last_sync: LastSync,
                                              clock: Clock) -> None:
    last_sync.at = clock() - timedelta(seconds=12)
    resp = await client.get("/healthz")
    assert resp.status == 200
    assert await resp.json() == {"status": "ok", "last_sync_seconds": 12.0, "database": "ok"}
    assert resp.headers["Cache-Control"] == "no-store"


async def test_healthz_ok_at_exactly_ninety_seconds(client: TestClient, last_sync: LastSync,
                                                    clock: Clock) -> None:
    last_sync.at = clock() - timedelta(seconds=90)
    assert (await client.get("/healthz")).status == 200


async def test_healthz_unhealthy_before_the_first_sync(client: TestClient) -> None:
    resp = await client.get("/healthz")
    assert resp.status == 503
    assert await resp.json() == {"status": "unhealthy", "reasons": ["no sync yet"]}


async def test_healthz_unhealthy_when_the_sync_is_stale(client: TestClient, last_sync: LastSync,
                                                        clock: Clock) -> None:
    last_sync.at = clock() - timedelta(seconds=91)
    resp = await client.get("/healthz")
    assert resp.status == 503
    data = await resp.json()
    assert data["status"] == "unhealthy"
    [reason] = data["reasons"]
    assert reason.startswith("last sync 91 s ago")


async def test_healthz_unhealthy_when_the_database_does_not_answer(
        broken_deps: Deps, last_sync: LastSync, clock: Clock) -> None:
    last_sync.at = clock() - timedelta(seconds=5)
    async with serve(make_app(broken_deps, WebState(last_sync=last_sync))) as client:
        resp = await client.get("/healthz")
        assert resp.status == 503
        assert await resp.json() == {"status": "unhealthy",
                                     "reasons": ["database not answering"]}


async def test_healthz_names_every_problem(broken_deps: Deps) -> None:
    async with serve(make_app(broken_deps, WebState())) as client:
        resp = await client.get("/healthz")
        assert resp.status == 503
        assert (await resp.json())["reasons"] == ["no sync yet", "database not answering"]


# -- /metrics ---------------------------------------------------------------------------------


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


async def fill_network(deps: Deps, clock: Clock) -> None:
    now = clock()
    async with deps.db.session() as s:
        for i in range(3):
            s.add(RoomMembership(room_id=SZN, mxid=f"@s{i}:x", since=now))
        s.add(RoomMembership(room_id=SZN, mxid="@gone:x", since=now, until=now,
                             ended="leave"))
        s.add(RoomMembership(room_id=ROS, mxid="@r:x", since=now))
        s.add(RoomMembership(room_id="!elsewhere:test", mxid="@e:x", since=now))
        for status in ("active", "active", "done"):
            s.add(Collaboration(title="c", status=status, origin="direct", created_by="@a:x",
                                created_at=now))
        for crossing in (True, False, False, False):
            s.add(Connection(a="@a:x", b="@b:x", origin="connect", cross_border=crossing,
                             created_at=now))


async def test_metrics_exposes_counters_and_network_gauges(
        client: TestClient, deps: Deps, clock: Clock, last_sync: LastSync) -> None:
    await fill_network(deps, clock)
    deps.metrics.commands.labels(command="help", outcome="ok").inc()
    last_sync.at = clock() - timedelta(seconds=7)
    resp = await client.get("/metrics")
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/plain; version=")
    text = await resp.text()
    assert "sbcc_commands" in text
    assert 'sbcc_members{location="szczecin"} 3.0' in text
    got = samples(text)
    assert got[("sbcc_commands_total", (("command", "help"), ("outcome", "ok")))] == 1
    assert got[("sbcc_members", (("location", "szczecin"),))] == 3
    assert got[("sbcc_members", (("location", "rostock"),))] == 1
    assert {status: got[("sbcc_collaborations", (("status", status),))]
            for status in ("planned", "active", "done", "dropped")} == {
        "planned": 0, "active": 2, "done": 1, "dropped": 0}
    assert got[("sbcc_connections_cross_border_ratio", ())] == 0.25
    assert got[("sbcc_sync_lag_seconds", ())] == 7
    assert got[("sbcc_scheduled_jobs", ())] == 0


async def test_metrics_on_an_empty_network(client: TestClient, deps: Deps) -> None:
    async with deps.db.session() as s:  # rostock's room was never provisioned
        await s.execute(delete(NetworkRoom).where(NetworkRoom.key == "location:rostock"))
    got = samples(await (await client.get("/metrics")).text())
    assert got[("sbcc_members", (("location", "szczecin"),))] == 0
    assert got[("sbcc_members", (("location", "rostock"),))] == 0
    assert got[("sbcc_collaborations", (("status", "planned"),))] == 0
    assert got[("sbcc_connections_cross_border_ratio", ())] == 0
    assert math.isnan(got[("sbcc_sync_lag_seconds", ())])  # no sync yet


async def test_metrics_counts_the_schedulers_jobs(deps: Deps) -> None:
    class Scheduler:
        def get_jobs(self) -> list[object]:
            return [object(), object(), object()]

    with_jobs = dataclasses.replace(deps, scheduler=Scheduler())  # type: ignore[arg-type]
    async with serve(make_app(with_jobs, WebState())) as client:
        got = samples(await (await client.get("/metrics")).text())
    assert got[("sbcc_scheduled_jobs", ())] == 3


async def test_metrics_still_answers_when_the_database_is_down(broken_deps: Deps) -> None:
    broken_deps.metrics.events.inc()
    async with serve(make_app(broken_deps, WebState())) as client:
        resp = await client.get("/metrics")
        assert resp.status == 200
        assert "sbcc_events_handled_total 1.0" in await resp.text()


# -- calendars --------------------------------------------------------------------------------


async def add_event(deps: Deps, title: str, starts_at: datetime,
                    status: str = "scheduled") -> int:
    async with deps.db.session() as s:
        event = ForumEvent(title=title, location="szczecin", timezone="Europe/Warsaw",
                           starts_at=starts_at, capacity=None, status=status,
                           created_by="@coord:test", created_at=starts_at - timedelta(days=30),
                           trigger=f"$t-{title}")
        s.add(event)
        await s.flush()
        return event.id


def vevents(data: bytes) -> dict[str, Calendar]:
    return {str(v["SUMMARY"]): v for v in Calendar.from_ical(data).walk("VEVENT")}


async def test_calendar_feed_lists_upcoming_scheduled_events_only(
        client: TestClient, deps: Deps, clock: Clock) -> None:
    now = clock()
    await add_event(deps, "Past forum", now - timedelta(days=1))
    soon = await add_event(deps, "Soon", now + timedelta(days=2))
    await add_event(deps, "Later", now + timedelta(days=40))
    await add_event(deps, "Cancelled", now + timedelta(days=5), status="cancelled")
    resp = await client.get("/calendar.ics")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert "Content-Disposition" not in resp.headers
    events = vevents(await resp.read())
    assert sorted(events) == ["Later", "Soon"]
    assert str(events["Soon"]["UID"]) == f"forum-{soon}@test"
    assert str(events["Soon"]["URL"]) == f"https://bot.example.org/forums/{soon}.ics"


async def test_calendar_feed_without_events_is_an_empty_calendar(client: TestClient) -> None:
    resp = await client.get("/calendar.ics")
    assert resp.status == 200
    cal = Calendar.from_ical(await resp.read())
    assert cal.walk("VEVENT") == []
    assert str(cal["X-WR-CALNAME"]) == "Test Clusters"


async def test_one_event_as_ics(client: TestClient, deps: Deps, clock: Clock) -> None:
    forum_id = await add_event(deps, "Annual Forum 2027", clock() + timedelta(days=3))
    resp = await client.get(f"/forums/{forum_id}.ics")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert resp.headers["Content-Disposition"] == (
        f'attachment; filename="forum-{forum_id}-annual-forum-2027.ics"')
    [event] = vevents(await resp.read()).values()
    assert str(event["STATUS"]) == "CONFIRMED"


async def test_a_cancelled_or_past_event_is_still_served(client: TestClient, deps: Deps,
                                                         clock: Clock) -> None:
    cancelled = await add_event(deps, "Off", clock() + timedelta(days=3), status="cancelled")
    past = await add_event(deps, "Done", clock() - timedelta(days=3))
    resp = await client.get(f"/forums/{cancelled}.ics")
    assert resp.status == 200
    [event] = vevents(await resp.read()).values()
    assert str(event["STATUS"]) == "CANCELLED"
    assert (await client.get(f"/forums/{past}.ics")).status == 200


@pytest.mark.parametrize("path", ["/forums/999.ics", "/forums/99999999999.ics",
                                  "/forums/abc.ics", "/forums/1.ical"])
async def test_unknown_event_is_404(client: TestClient, path: str) -> None:
    assert (await client.get(path)).status == 404


async def test_head_requests_work(client: TestClient, deps: Deps, clock: Clock) -> None:
    forum_id = await add_event(deps, "Head", clock() + timedelta(days=3))
    for path in ("/calendar.ics", f"/forums/{forum_id}.ics"):
        assert (await client.head(path)).status == 200
