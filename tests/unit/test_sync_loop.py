"""The sync loop with a scripted homeserver: first start, ordering of position saves,
errors and backoff, shutdown."""

from __future__ import annotations

import asyncio

from bot.backoff import Backoff
from bot.deps import Deps
from bot.dispatcher import Dispatcher
from bot.errors import HomeserverUnavailable
from bot.events import Invite, Message, RoomEvent, SyncBatch
from bot.sync_loop import SyncLoop
from bot.sync_store import load_position
from tests.conftest import make_dispatcher
from tests.fakes import FakeGateway


class ScriptedSync:
    """Answers /sync from a script of batches and errors, then waits forever."""

    def __init__(self, user_id: str, script: list[SyncBatch | Exception]) -> None:
        self.user_id = user_id
        self.script = list(script)
        self.calls: list[str | None] = []
        self.done = asyncio.Event()

    async def sync(self, since: str | None, timeout_ms: int) -> SyncBatch:
        self.calls.append(since)
        if not self.script:
            self.done.set()
            await asyncio.Event().wait()
        item = self.script.pop(0)
        if isinstance(item, Exception):
            raise item
        return item


def msg(event_id: str, body: str) -> Message:
    return Message(event_id, "!r:test", "@ala:test", body)


async def run_script(deps: Deps, gateway: FakeGateway, script: list, *,
                     dispatcher: Dispatcher | None = None) -> tuple[ScriptedSync, str | None]:
    source = ScriptedSync(gateway.user_id, script)
    dispatcher = dispatcher or make_dispatcher(deps)
    loop = SyncLoop(source, dispatcher, deps.db, deps.clock,
                    backoff=Backoff(base=0.001, cap=0.01))
    task = asyncio.create_task(loop.run())
    await asyncio.wait_for(source.done.wait(), 10)
    loop.stop()
    await asyncio.wait_for(task, 10)
    async with deps.db.session() as s:
        return source, await load_position(s, gateway.user_id)


async def test_first_start_skips_history_but_accepts_invites(deps, gateway) -> None:
    first = SyncBatch("t1", events=[msg("$old", "!ping old")],
                      invites=[Invite("!new:test", "@ala:test")])
    _, position = await run_script(deps, gateway, [first])
    assert gateway.sent == []
    assert gateway.joined == ["!new:test"]
    assert position == "t1"


async def test_position_moves_only_after_the_batch_is_handled(deps, gateway) -> None:
    dispatcher = make_dispatcher(deps)
    seen_positions: list[str | None] = []

    async def record(event: RoomEvent) -> None:
        async with deps.db.session() as s:
            seen_positions.append(await load_position(s, gateway.user_id))

    dispatcher.add_listener(record)
    script = [SyncBatch("t1"), SyncBatch("t2", events=[msg("$a", "!ping a")]),
              SyncBatch("t3", events=[msg("$b", "!ping b")])]
    source, position = await run_script(deps, gateway, script, dispatcher=dispatcher)
    # while an event is handled, the saved position never covers its own batch (t2 for $a,
    # t3 for $b); batches are pipelined, so $b may see t1 or t2
    assert seen_positions[0] == "t1"
    assert seen_positions[1] in ("t1", "t2")
    assert [o.body for o in gateway.sent] == ["pong a", "pong b"]
    assert position == "t3"
    assert source.calls[:3] == [None, "t1", "t2"]


async def test_outage_is_retried_with_backoff_then_caught_up(deps, gateway) -> None:
    script = [SyncBatch("t1"), HomeserverUnavailable("down"), HomeserverUnavailable("down"),
              SyncBatch("t2", events=[msg("$a", "!ping back")])]
    source, position = await run_script(deps, gateway, script)
    assert [o.body for o in gateway.sent] == ["pong back"]
    assert source.calls[:4] == [None, "t1", "t1", "t1"]
    assert position == "t2"


async def test_a_failing_handler_does_not_stop_the_loop(deps, gateway) -> None:
    dispatcher = make_dispatcher(deps)

    async def explode(event: RoomEvent) -> None:
        if event.event_id == "$bad":
            raise RuntimeError("boom")

    dispatcher.add_listener(explode)
    script = [SyncBatch("t1"), SyncBatch("t2", events=[msg("$bad", "!ping x")]),
              SyncBatch("t3", events=[msg("$good", "!ping y")])]
    _, position = await run_script(deps, gateway, script, dispatcher=dispatcher)
    # a broken feature hook neither stops the loop nor costs the command its answer
    assert [o.body for o in gateway.sent] == ["pong x", "pong y"]
    assert position == "t3"


async def test_resume_from_saved_position(deps, gateway) -> None:
    await run_script(deps, gateway, [SyncBatch("t1")])
    source, position = await run_script(
        deps, gateway, [SyncBatch("t2", events=[msg("$n", "!ping now")])])
    assert source.calls[0] == "t1"
    assert [o.body for o in gateway.sent] == ["pong now"]
    assert position == "t2"


async def test_only_batches_synced_from_the_loaded_position_may_be_redeliveries(
        deps, gateway) -> None:
    """The first batch after a (re)start comes from the saved position: a previous run may
    have handled it. What comes after, from positions this run was given, never was."""
    await run_script(deps, gateway, [SyncBatch("t1")])
    batches = [SyncBatch("t2", events=[msg("$a", "!ping a")]),
               SyncBatch("t3", events=[msg("$b", "!ping b")])]
    await run_script(deps, gateway, list(batches))
    assert [b.fresh for b in batches] == [False, True]
    assert [o.body for o in gateway.sent] == ["pong a", "pong b"]


async def test_the_next_sync_waits_for_the_first_answer(deps, gateway) -> None:
    """On a homeserver that serves one request at a time a /sync sent beside the reply
    delays the reply: the next one goes out once the batch is answered."""
    sending, release = asyncio.Event(), asyncio.Event()
    send = gateway.send

    async def slow_send(message):  # noqa: ANN001, ANN202
        sending.set()
        await release.wait()
        return await send(message)

    gateway.send = slow_send
    source = ScriptedSync(gateway.user_id, [SyncBatch("t1"),
                                            SyncBatch("t2", events=[msg("$w", "!ping w")])])
    loop = SyncLoop(source, make_dispatcher(deps), deps.db, deps.clock)
    task = asyncio.create_task(loop.run())
    await asyncio.wait_for(sending.wait(), 10)
    for _ in range(20):
        await asyncio.sleep(0)
    assert source.calls == [None, "t1"]  # the reply is on its way: no /sync beside it
    release.set()
    await asyncio.wait_for(source.done.wait(), 10)
    assert source.calls == [None, "t1", "t2"]
    loop.stop()
    await asyncio.wait_for(task, 10)
