"""Faults lose nothing: a command interrupted by the homeserver or the database being away
rolls back (holding no lock while it waits) and runs again until it goes through, answered
once; at shutdown it is left for the next start."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

import bot.dispatcher as dispatcher_module
from bot.backoff import Backoff
from bot.db.database import is_unavailable
from bot.db.models import HandledEvent, Member
from bot.deps import Deps
from bot.dispatcher import Dispatcher, Stopping
from bot.errors import HomeserverUnavailable
from tests.fakes import Driver, FakeGateway


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dispatcher_module, "Backoff",
                        lambda base, cap: Backoff(base=0.01, cap=0.05))


def locked() -> OperationalError:
    return OperationalError("SELECT 1", {}, sqlite3.OperationalError("database is locked"))


async def organisation(deps: Deps, mxid: str = "@ala:test") -> str | None:
    async with deps.db.session() as s:
        member = await s.get(Member, mxid)
        return member.organisation if member else None


async def test_homeserver_away_then_back_answers_once(driver: Driver, deps: Deps,
                                                      gateway: FakeGateway) -> None:
    gateway.unavailable = 3
    out = await driver.send("!set org Studio Nord", event_id="$e1")
    assert [o.body for o in out] == ["Your organisation is now: Studio Nord"]
    assert await organisation(deps) == "Studio Nord"
    assert await driver.send("!set org Studio Nord", event_id="$e1") == []  # handled once


async def test_database_away_then_back_answers_once(driver: Driver, deps: Deps,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    real = dispatcher_module.is_handled
    failures = iter(range(3))

    async def flaky(session, event_id):  # noqa: ANN001, ANN202
        if next(failures, None) is not None:
            raise locked()
        return await real(session, event_id)

    monkeypatch.setattr(dispatcher_module, "is_handled", flaky)
    out = await driver.send("!ping still here")
    assert [o.body for o in out] == ["pong still here"]


async def test_no_lock_is_held_while_the_homeserver_is_away(driver: Driver, deps: Deps,
                                                            gateway: FakeGateway) -> None:
    """The command wrote (an organisation) and then could not answer: its transaction is
    rolled back while it waits, so another writer is not blocked."""
    gateway.unavailable = 10_000
    command = asyncio.create_task(driver.send("!set org Studio Nord"))
    await asyncio.sleep(0.2)
    async with asyncio.timeout(2):  # SQLite would wait up to 15 s for a held write lock
        async with deps.db.session() as s:
            await s.execute(text("UPDATE members SET timezone = 'Europe/Oslo'"))
            s.add(Member(mxid="@bob:test", first_seen=deps.clock()))
    assert await organisation(deps) is None  # not yet: rolled back while waiting
    gateway.unavailable = 0
    [answer] = await command
    assert "Studio Nord" in answer.body and await organisation(deps) == "Studio Nord"


async def test_shutdown_during_an_outage_leaves_the_event_for_next_time(
        dispatcher: Dispatcher, driver: Driver, deps: Deps, gateway: FakeGateway) -> None:
    gateway.unavailable = 10_000
    message = driver.message("!ping later", event_id="$later")
    task = asyncio.create_task(dispatcher.on_event(message))
    await asyncio.sleep(0.1)
    dispatcher.stop()
    with pytest.raises(Stopping):
        await task
    assert dispatcher.aborted
    async with deps.db.session() as s:
        assert (await s.scalars(select(HandledEvent.event_id))).all() == []


def test_what_counts_as_the_database_being_away() -> None:
    assert is_unavailable(locked())
    assert is_unavailable(ConnectionRefusedError(111, "refused"))
    wrong = OperationalError("SELECT x", {}, sqlite3.OperationalError("no such column: x"))
    assert not is_unavailable(wrong)  # a mistake, not an outage: never retried forever
    assert not is_unavailable(ValueError("bad"))


async def test_a_second_run_says_the_same_number(make_deps, gateway: FakeGateway,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The homeserver goes away after the command's first message went out: the command is
    rolled back and run again, and the homeserver folds the resent first message (same
    transaction id) into the one it has. So the second run must give the record the same
    number that message already shows (a PostgreSQL sequence would have moved on)."""
    from tests.conftest import make_dispatcher, network, room_id

    deps = await make_deps(network=network("szczecin"))
    driver = Driver(make_dispatcher(deps), gateway)
    coordinator = {"sender": "@coord:test", "room_id": room_id("location:szczecin")}
    await driver.send("!forum add 2027-05-14 10:00 szczecin First", **coordinator)
    real_send, sends = gateway.send, iter(range(10_000))

    async def flaky(message):  # noqa: ANN001, ANN202
        if next(sends) == 1:  # the announcement went out; its ✅ does not
            raise HomeserverUnavailable("send: 502 (fake)", None, 502)
        return await real_send(message)

    monkeypatch.setattr(gateway, "send", flaky)
    out = await driver.send("!forum add 2027-06-01 10:00 szczecin Second", **coordinator)
    [reply] = [o for o in out if o.msgtype == "m.notice" and o.reply_to is not None]
    announcements = [o for o in gateway.sent if "Second" in o.body and o.reply_to is None]
    assert "#2" in reply.body and all("!rsvp 2 " in a.body for a in announcements)
    async with deps.db.session() as s:
        titles = dict((await s.execute(text("SELECT id, title FROM forum_events"))).all())
    assert titles == {1: "First", 2: "Second"}
