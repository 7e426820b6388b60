"""Exactly once: kill -9 mid-burst, SIGTERM, and the homeserver going away."""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

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


def restart_postgresql(down_for: float) -> threading.Thread:
    """Stop the machine's PostgreSQL cluster (the one SBCC_TEST_POSTGRES_URL names), keep it
    down for a while, start it again — in the background, while commands keep coming."""
    [version] = os.listdir("/etc/postgresql")

    def cluster(action: str) -> None:
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main",
                        action], check=True, capture_output=True, timeout=120)

    def restart() -> None:
        cluster("stop")
        time.sleep(down_for)
        cluster("start")

    thread = threading.Thread(target=restart, daemon=True)
    thread.start()
    return thread


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
    """PostgreSQL restarted (or SQLite held locked by another writer) while commands arrive:
    every command is answered, once."""
    bot_account = await register("sbcc")
    bot = await bot_factory(bot_account)
    ala = await member_factory(await register("ala"))
    room = await ala.create_room(invite=[bot_account.user_id])
    await ala.wait_for(is_joined(bot_account.user_id))
    url, _schema = bot_db
    outages: list[threading.Thread] = []

    def outage() -> None:
        outages.append(restart_postgresql(down_for=4) if url.startswith("postgresql")
                       else hold_sqlite_lock(url.removeprefix("sqlite+aiosqlite:///"), 20))

    sent = await burst(ala, room, bot_account.user_id, outage)
    await asyncio.to_thread(outages[0].join)
    await answered_once(ala, room, bot_account.user_id, sent)
    assert bot.proc.returncode is None, "the bot survived the outage"
    assert "interrupted" in bot.new_log(), "the outage reached the bot (and it waited)"
