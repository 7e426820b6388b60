"""Two `sbcc-bot run` processes on one PostgreSQL database and one account: one leads, the
other stands by and takes over when the leader is killed (kill -9) or cut off from the
database — every command answered once, a reminder due during the handover sent once."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest

from bot.homeserver import free_port
from tests.integration.harness import READY, BotProcess, is_joined
from tests.integration.test_exactly_once import BURST, CuttableProxy, answered_once, burst
from tests.integration.test_network import network, provision_cli, room_ids

pytestmark = pytest.mark.shared_database
TAKEOVER = 10.0  # seconds from the leader's end until the standby listens


async def health(port: int) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http, \
            http.get(f"http://127.0.0.1:{port}/healthz") as resp:
        return resp.status, await resp.json()


async def role_metric(port: int) -> str:
    async with aiohttp.ClientSession() as http, \
            http.get(f"http://127.0.0.1:{port}/metrics") as resp:
        lines = (await resp.text()).splitlines()
    [role] = [line.split('"')[1] for line in lines
              if line.startswith("sbcc_role{") and line.endswith(" 1.0")]
    return role


async def replicas(bot_factory, account, tmp_path: Path, **config: Any  # noqa: ANN001
                   ) -> tuple[BotProcess, BotProcess, list[int]]:
    """The same account, database and key store; each its own web port."""
    ports = [free_port(), free_port()]
    store = {"store_path": str(tmp_path / "shared-crypto")}
    made = []
    for port in ports:
        made.append(await bot_factory(account, start=False, encryption=store,
                                      web={"listen": f"127.0.0.1:{port}"}, **config))
    return made[0], made[1], ports


async def test_kill_9_of_the_leader_mid_burst(register, member_factory, bot_factory, bot_sql,
                                              tmp_path: Path) -> None:
    prefix = "h" + uuid.uuid4().hex[:8]
    account, coord_account = await register("sbcc"), await register("coord")
    first, second, ports = await replicas(
        bot_factory, account, tmp_path, network=network(prefix),
        coordinators=[coord_account.user_id], forums={"reminders": ["7d"], "grace": "6h"})
    code, out = provision_cli(first.config_path)
    assert code == 0, out
    ids = room_ids(out)
    await first.start()
    await second.start(ready="standby")
    assert (await health(ports[0]))[1]["status"] == "ok"
    assert await health(ports[1]) == (200, {"status": "standby", "database": "ok"})
    assert [await role_metric(p) for p in ports] == ["leader", "standby"]
    assert "sync" not in second.new_log().lower(), "a standby does not sync"

    # a forum with one member answering yes: its reminder is what falls due in the handover
    coord = await member_factory(coord_account)
    dm = await coord.create_room(invite=[account.user_id], is_direct=True)
    await coord.wait_for(is_joined(account.user_id))
    day = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    added = await coord.ask(dm, f"!forum add {day} 10:00 szczecin Annual Forum")
    assert "#1" in added["content"]["body"], added["content"]["body"]
    ala = await member_factory(await register("ala"))
    room = ids["location:szczecin"]
    await ala.join(ids["space:space"])
    await ala.join(room)
    [post] = await ala.wait_for(lambda e: e.get("room_id") == room
                                and "Annual Forum" in e.get("content", {}).get("body", ""))
    await ala.client.room_send(room, "m.reaction", {"m.relates_to": {
        "rel_type": "m.annotation", "event_id": post["event_id"], "key": "✅"}})
    await first.wait_log(f"{ala.user_id} answered yes to event 1")

    killed_at: list[float] = []

    def kill_leader() -> None:
        killed_at.append(time.monotonic())
        first.kill()

    await bot_sql("UPDATE reminders SET due_at = CURRENT_TIMESTAMP")  # due from now on
    sent = await burst(ala, room, account.user_id, kill_leader)
    await second.wait_log(READY, timeout=TAKEOVER + 20)
    took = time.monotonic() - killed_at[0]
    assert took <= TAKEOVER, f"the standby took {took:.1f} s to take over"
    assert "leading" in second.new_log()
    await answered_once(ala, room, account.user_id, sent)

    def is_reminder(e: dict[str, Any]) -> bool:
        return (e.get("room_id") == room and e.get("sender") == account.user_id
                and e.get("content", {}).get("body", "").startswith("⏰"))

    await ala.wait_for(is_reminder, count=2)
    await ala.settle(room)
    rows = await bot_sql("SELECT target, state FROM reminders")
    assert {state for _target, state in rows} == {"sent"}
    assert sorted(target for target, _state in rows) == sorted([room, ala.user_id])
    # one for the room, one mentioning the member who answered yes: each once
    mentioned = sorted(str(e["content"].get("m.mentions", {}).get("user_ids"))
                       for e in ala.events if is_reminder(e))
    assert mentioned == sorted(["None", str([ala.user_id])])
    assert (await health(ports[1]))[1]["status"] == "ok"
    assert await role_metric(ports[1]) == "leader"

    # the old leader, started again, stands by behind the new one
    await first.start(ready="standby")
    assert await role_metric(ports[0]) == "standby"
    assert BURST == len(sent)


async def test_a_leader_cut_off_from_the_database_stops_and_stands_by_again(
        register, member_factory, bot_factory, bot_db, tmp_path: Path) -> None:
    account = await register("sbcc")
    url, schema = bot_db
    where = urlsplit(url)
    proxy = CuttableProxy(where.hostname or "127.0.0.1", where.port or 5432)
    await proxy.start()
    proxied = url.replace(f"{where.hostname}:{where.port or 5432}", f"127.0.0.1:{proxy.port}", 1)
    first, second, ports = await replicas(bot_factory, account, tmp_path)
    # the first reaches the database only through the proxy the test cuts
    first.config_path.write_text(first.config_path.read_text().replace(url, proxied))
    try:
        await first.start()
        await second.start(ready="standby")
        ala = await member_factory(await register("ala"))
        room = await ala.create_room(invite=[account.user_id])
        await ala.wait_for(is_joined(account.user_id))
        cut: list[asyncio.Task[None]] = []

        def cut_off() -> None:
            cut.append(asyncio.get_running_loop().create_task(proxy.cut(down_for=15)))

        sent = await burst(ala, room, account.user_id, cut_off)
        await first.wait_log("lost the database lock", timeout=10)
        await second.wait_log(READY, timeout=TAKEOVER)
        await answered_once(ala, room, account.user_id, sent)
        await cut[0]
        await first.wait_log("standing by again", timeout=5)
        await first.wait_log("standby: another sbcc-bot leads", timeout=30)
        assert first.proc is not None and first.proc.returncode is None
        assert await role_metric(ports[0]) == "standby"
    finally:
        await proxy.close()
