"""Exactly once: kill -9 mid-burst, SIGTERM, and the homeserver going away."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from bot.homeserver import free_port
from tests.integration.harness import is_joined, reply_target

BURST = 40


def pong_numbers(member, bot_id: str) -> Counter[int]:
    counts: Counter[int] = Counter()
    for e in member.events:
        if e.get("sender") == bot_id and e.get("type") == "m.room.message":
            m = re.fullmatch(r"pong (\d+)", e["content"].get("body", ""))
            if m:
                counts[int(m.group(1))] += 1
    return counts


async def burst(member, room: str, bot_id: str, midway: Callable[[], Any]) -> list[str]:  # noqa: ANN001
    """`BURST` pings; once the bot has answered one, a third of the way in, `midway()`
    strikes while commands are in flight. Returns the pings' event ids."""
    sent = []
    for i in range(BURST):
        sent.append(await member.say(room, f"!ping {i}"))
        if i == BURST // 3:
            await member.wait_for(lambda e: e.get("sender") == bot_id
                                  and e["content"].get("body", "").startswith("pong"))
            midway()
    return sent


async def answered_once(member, room: str, bot_id: str, sent: list[str]) -> None:  # noqa: ANN001
    await member.wait_for(lambda e: reply_target(e) in sent, count=BURST, timeout=120)
    await member.settle(room, timeout=60)  # anything answered twice has arrived by now
    counts = pong_numbers(member, bot_id)
    assert sorted(counts) == list(range(BURST)), "every command answered"
    assert max(counts.values()) == 1, f"answered twice: {[n for n, c in counts.items() if c > 1]}"


async def test_kill_9_mid_burst_loses_nothing_and_answers_nothing_twice(
        register, member_factory, bot_factory) -> None:
    bot_account = await register("sbcc")
    bot = await bot_factory(bot_account)
    ala = await member_factory(await register("ala"))
    room = await ala.create_room(invite=[bot_account.user_id])
    await ala.wait_for(is_joined(bot_account.user_id))

    sent = await burst(ala, room, bot_account.user_id, bot.kill)
    await bot.proc.wait()
    answered_before = len(pong_numbers(ala, bot_account.user_id))
    assert answered_before < BURST  # the kill really happened mid-burst

    await bot.start()
    await answered_once(ala, room, bot_account.user_id, sent)


async def test_sigterm_finishes_and_exits_zero(register, member_factory, bot_factory) -> None:
    bot_account = await register("sbcc")
    bot = await bot_factory(bot_account)
    ala = await member_factory(await register("ala"))
    room = await ala.create_room(invite=[bot_account.user_id])
    await ala.wait_for(is_joined(bot_account.user_id))
    first = await ala.say(room, "!ping 1")
    await ala.wait_for(lambda e: reply_target(e) == first)

    assert await bot.terminate() == 0
    second = await ala.say(room, "!ping 2")  # sent while the bot is down
    await bot.start()
    await ala.wait_for(lambda e: reply_target(e) == second)
    await ala.settle(room)
    assert pong_numbers(ala, bot_account.user_id) == Counter({1: 1, 2: 1})


async def test_homeserver_down_and_back(register, member_factory, bot_factory,
                                        synapse) -> None:
    bot_account = await register("sbcc")
    bot = await bot_factory(bot_account)
    ala = await member_factory(await register("ala"))
    room = await ala.create_room(invite=[bot_account.user_id])
    await ala.wait_for(is_joined(bot_account.user_id))
    await ala.ask(room, "!ping before")

    await synapse.stop()
    try:
        await bot.wait_log("sync failed", timeout=40)
        await asyncio.sleep(3)
        attempts = bot.new_log().count("sync failed")
        assert attempts < 10, f"{attempts} retries in a few seconds: a tight loop"
    finally:
        await synapse.start()
    assert bot.proc.returncode is None, "the bot survived the outage"
    reply = await ala.ask(room, "!ping after", timeout=60)
    assert reply["content"]["body"] == "pong after"


class CuttableProxy:
    """A TCP proxy between the bot and PostgreSQL that the test can cut: every connection
    dropped mid-flight and new ones refused for a while, then accepted again — a database
    outage as the bot sees it, without stopping the server other tests (running in
    parallel) are using."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = free_port()
        self.server: asyncio.base_events.Server | None = None
        self.links: set[asyncio.StreamWriter] = set()
        self.drops = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._link, "127.0.0.1", self.port)

    async def _link(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self.links.update((writer, up_writer))

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                sink.close()
                self.links.discard(sink)

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def cut(self, down_for: float) -> None:
        """Refuse new connections and drop the live ones; accept again after `down_for`."""
        assert self.server is not None
        self.server.close()
        for link in list(self.links):
            link.transport.abort()
            self.drops += 1
        self.links.clear()
        await asyncio.sleep(down_for)
        await self.start()

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
        for link in list(self.links):
            link.transport.abort()


def hold_sqlite_lock(path: str, seconds: float) -> threading.Thread:
    """Another writer takes SQLite's write lock and keeps it for a while."""
    def hold() -> None:
        conn = sqlite3.connect(path, timeout=30)
        conn.execute("BEGIN IMMEDIATE")
        time.sleep(seconds)
        conn.rollback()
        conn.close()

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    return thread


async def test_database_outage_mid_burst_loses_nothing(register, member_factory, bot_factory,
                                                       bot_db) -> None:
    """PostgreSQL gone for a while — every connection dropped, new ones refused (a proxy
    the test cuts; the server itself keeps serving tests running in parallel) — or SQLite
    held locked by another writer, while commands arrive: every command is answered, once."""
    bot_account = await register("sbcc")
    url, schema = bot_db
    proxy: CuttableProxy | None = None
    database: dict[str, Any] = {}
    if url.startswith("postgresql"):  # the bot reaches PostgreSQL through a cuttable proxy
        where = urlsplit(url)
        proxy = CuttableProxy(where.hostname or "127.0.0.1", where.port or 5432)
        await proxy.start()
        database = {"database": {"url": url.replace(f"{where.hostname}:{where.port or 5432}",
                                                    f"127.0.0.1:{proxy.port}", 1),
                                 "schema": schema}}
    bot = await bot_factory(bot_account, **database)
    ala = await member_factory(await register("ala"))
    room = await ala.create_room(invite=[bot_account.user_id])
    await ala.wait_for(is_joined(bot_account.user_id))
    outages: list[Any] = []

    def outage() -> None:
        if proxy is not None:
            outages.append(asyncio.get_running_loop().create_task(proxy.cut(down_for=4)))
        else:
            outages.append(hold_sqlite_lock(url.removeprefix("sqlite+aiosqlite:///"), 20))

    try:
        sent = await burst(ala, room, bot_account.user_id, outage)
        if proxy is not None:
            await outages[0]
            assert proxy.drops > 0, "the outage cut the bot's connections"
        else:
            await asyncio.to_thread(outages[0].join)
        await answered_once(ala, room, bot_account.user_id, sent)
    finally:
        if proxy is not None:
            await proxy.close()
    assert bot.proc.returncode is None, "the bot survived the outage"
    assert "interrupted" in bot.new_log(), "the outage reached the bot (and it waited)"
