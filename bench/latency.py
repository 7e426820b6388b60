"""How much sbcc-bot costs per command, measured against a bare matrix-nio echo bot.

Starts a throw-away Synapse, runs sbcc-bot (``python -m bot run``) and, in the same run, a
bare matrix-nio echo bot (the floor: the least any bot can cost on that homeserver), each as
its own process. The floor syncs with sbcc-bot's own /sync filter
(`bot.gateway.sync_filter`, uploaded once), so the homeserver does the same work for both
and only the bots differ. Then:

* ping round trip: one member, one room per bot; ``!ping N`` sent → the member sees the
  reply. The two bots are asked in turns, so drift on the machine hits both alike.
  Goal: sbcc-bot p50 <= 1.10 x the floor's p50.
* encrypted: one member whose client encrypts (matrix-nio with vodozemac, as Element
  does) pings sbcc-bot in an end-to-end encrypted room and in a plain one, in turns: the
  round trip's p50 in both (the member's own encrypting and decrypting included).
* burst: 5 members in 5 rooms send ``--burst`` ``!ping mI-N`` each, all at once; the time
  until every member has seen all its replies, and whether each was answered exactly once.

Run from the project root: ``.venv/bin/python bench/latency.py [--pings 200] [--burst 100]``.
``bench/latency.py --echo-bot HOMESERVER USER_ID TOKEN DEVICE_ID`` runs the floor bot alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.homeserver import EmbeddedSynapse, RegisteredUser
from tests.integration.harness import ROOT, BotProcess, Member, is_joined

GOAL = 1.10
WARMUP = 10
BURST_MEMBERS = 5
READY = "listening"
SCRIPT = Path(__file__).resolve()
BURST_TIMEOUT = 300.0


# -- the floor: a bare matrix-nio echo bot ------------------------------------------------

async def echo_bot(homeserver: str, user_id: str, token: str, device_id: str) -> None:
    """Join on invite; answer `!ping rest` with a notice `pong rest` replying to it."""
    from nio import (
        AsyncClient,
        AsyncClientConfig,
        InviteMemberEvent,
        MatrixRoom,
        RoomMessageText,
        SyncResponse,
    )

    from bot.gateway import sync_filter  # the same /sync as sbcc-bot: only the bot differs

    config = AsyncClientConfig(encryption_enabled=False, store_sync_tokens=False)
    client = AsyncClient(homeserver, user_id, device_id=device_id, config=config)
    client.access_token = token

    async def on_invite(room: MatrixRoom, event: InviteMemberEvent) -> None:
        if event.state_key == user_id and event.membership == "invite":
            await client.join(room.room_id)

    async def on_message(room: MatrixRoom, event: RoomMessageText) -> None:
        if event.sender == user_id or not event.body.startswith("!ping"):
            return
        rest = event.body[len("!ping"):].strip()
        await client.room_send(room.room_id, "m.room.message", {
            "msgtype": "m.notice",
            "body": f"pong {rest}" if rest else "pong",
            "m.relates_to": {"m.in_reply_to": {"event_id": event.event_id}},
            "m.mentions": {"user_ids": [event.sender]},
        })

    spec = sync_filter(user_id)
    try:
        uploaded = await client.upload_filter(user_id=user_id, presence=spec["presence"],
                                              account_data=spec["account_data"],
                                              room=spec["room"])
        filter_id = uploaded.filter_id
        while True:  # the first sync only skips the history
            if isinstance(await client.sync(timeout=0, sync_filter=filter_id), SyncResponse):
                break
            await asyncio.sleep(0.5)
        client.add_event_callback(on_invite, InviteMemberEvent)
        client.add_event_callback(on_message, RoomMessageText)
        print(READY, flush=True)
        seen: set[str] = set()
        while True:
            resp = await client.sync(timeout=30_000, sync_filter=filter_id)
            if not isinstance(resp, SyncResponse):
                await asyncio.sleep(0.5)
                continue
            if any(room.timeline.limited for room_id, room in resp.rooms.join.items()
                   if room_id in seen):
                print("limited timeline: some events were not seen", flush=True)
            seen.update(resp.rooms.join)
    finally:
        await client.close()


class EchoBotProcess(BotProcess):
    """The floor bot as a child process, started and watched like sbcc-bot."""

    def __init__(self, workdir: Path, homeserver: str, account: RegisteredUser) -> None:
        super().__init__(workdir, {})
        self.argv = [homeserver, account.user_id, account.access_token, account.device_id]

    async def start(self, ready_timeout: float = 60.0) -> None:
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, str(SCRIPT), "--echo-bot", *self.argv,
                cwd=ROOT, stdout=log, stderr=asyncio.subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        await self.wait_log(READY, ready_timeout)


# -- measuring ------------------------------------------------------------------------------

def summary(samples: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in samples]
    return {"p50": statistics.median(ms), "p90": statistics.quantiles(ms, n=10)[8],
            "mean": statistics.fmean(ms)}


async def start_member(hs: EmbeddedSynapse, user: RegisteredUser) -> Member:
    member = Member(hs.base_url, user.user_id, user.access_token, user.device_id)
    await member.start()
    return member


async def room_with(member: Member, bot_id: str, name: str, **options: Any) -> str:
    room = await member.create_room(invite=[bot_id], name=name, **options)
    await member.wait_for(lambda e: e.get("room_id") == room and is_joined(bot_id)(e),
                          timeout=60)
    return room


async def round_trips(member: Member, rooms: dict[str, str], pings: int
                      ) -> dict[str, list[float]]:
    """Ping each bot in turn (order flipped every round); seconds per round trip."""
    samples: dict[str, list[float]] = {label: [] for label in rooms}
    labels = list(rooms)
    for i in range(WARMUP + pings):
        for label in labels if i % 2 == 0 else labels[::-1]:
            start = time.perf_counter()
            reply = await member.ask(rooms[label], f"!ping {i}")
            elapsed = time.perf_counter() - start
            assert reply["content"].get("body") == f"pong {i}", reply
            if i >= WARMUP:
                samples[label].append(elapsed)
    return samples


def pong_counts(member: Member, bot_id: str, tag: str) -> Counter[str]:
    pattern = re.compile(rf"pong ({re.escape(tag)}-\d+)")
    counts: Counter[str] = Counter()
    for e in member.events:
        if e.get("sender") == bot_id and e.get("type") == "m.room.message":
            match = pattern.fullmatch((e.get("content") or {}).get("body", ""))
            if match:
                counts[match.group(1)] += 1
    return counts


class BurstResult(NamedTuple):
    seconds: float | None  # None: not everything was answered in time
    answered: int  # distinct pings answered
    duplicates: int  # replies beyond the first to the same ping
    gaps: int  # limited timelines on the members' side (events possibly unseen)

    def once(self, total: int) -> bool:
        return self.answered == total and self.duplicates == 0


async def burst(hs: EmbeddedSynapse, bot_id: str, users: list[RegisteredUser],
                per_member: int) -> BurstResult:
    """Every member fires `per_member` pings at once; seconds until all are answered."""
    members: list[Member] = []
    try:
        for user in users:
            members.append(await start_member(hs, user))
        rooms = await asyncio.gather(*(room_with(m, bot_id, f"burst {i}")
                                       for i, m in enumerate(members)))

        async def fire(i: int, member: Member, room: str) -> None:
            tag = f"m{i}"
            for n in range(per_member):
                await member.say(room, f"!ping {tag}-{n}")
            pattern = re.compile(rf"pong {tag}-\d+")

            def is_pong(e: dict[str, Any]) -> bool:
                return (e.get("sender") == bot_id
                        and bool(pattern.fullmatch((e.get("content") or {}).get("body", ""))))

            need = per_member
            while len(pong_counts(member, bot_id, tag)) < per_member:
                need = len(await member.wait_for(is_pong, count=need,
                                                  timeout=BURST_TIMEOUT)) + 1

        start = time.perf_counter()
        seconds: float | None = None
        try:
            await asyncio.wait_for(asyncio.gather(*(
                fire(i, m, r) for i, (m, r) in enumerate(zip(members, rooms, strict=True))
            )), BURST_TIMEOUT)
            seconds = time.perf_counter() - start
        except TimeoutError:
            pass
        await asyncio.sleep(2)  # a second answer to anything would arrive now
        counts = [pong_counts(m, bot_id, f"m{i}") for i, m in enumerate(members)]
        return BurstResult(
            seconds,
            answered=sum(len(c) for c in counts),
            duplicates=sum(n - 1 for c in counts for n in c.values()),
            gaps=sum(m.gaps for m in members),
        )
    finally:
        for member in members:
            await member.close()


def burst_figure(result: BurstResult, total: int) -> str:
    if result.seconds is None:
        return f"timed out after {BURST_TIMEOUT:.0f} s ({result.answered}/{total} answered)"
    return f"{result.seconds:.2f} s"


# -- the run -------------------------------------------------------------------------------

async def bench(pings: int, per_member: int) -> None:
    run_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="sbcc-bench-") as tmp:
        work = Path(tmp)
        hs = EmbeddedSynapse(work / "synapse")
        bots: list[BotProcess] = []
        member: Member | None = None
        try:
            await hs.start()
            sbcc_account = await hs.register("sbcc", "pw-sbcc")
            floor_account = await hs.register("floor", "pw-floor")
            (work / "sbcc").mkdir()
            (work / "floor").mkdir()
            sbcc = BotProcess(work / "sbcc", {
                "matrix": {"homeserver": hs.base_url, "user_id": sbcc_account.user_id,
                           "access_token": sbcc_account.access_token,
                           "device_id": sbcc_account.device_id},
                "database": {"url": f"sqlite+aiosqlite:///{work / 'sbcc' / 'bot.db'}"},
                "log_level": "INFO",
            })
            bots.append(sbcc)
            floor = EchoBotProcess(work / "floor", hs.base_url, floor_account)
            bots.append(floor)
            await asyncio.gather(sbcc.start(), floor.start())
            ids = {"sbcc-bot": sbcc_account.user_id, "floor": floor_account.user_id}

            member = await start_member(hs, await hs.register("member", "pw-member"))
            rooms = {label: await room_with(member, bot_id, f"latency {label}")
                     for label, bot_id in ids.items()}
            samples = await round_trips(member, rooms, pings)
            await member.close()
            member = None
            s, f = summary(samples["sbcc-bot"]), summary(samples["floor"])
            ratio = s["p50"] / f["p50"]
            verdict = "met" if ratio <= GOAL else "NOT met"
            print(f"ping round trip ({pings} each, {WARMUP} warm-up)  "
                  f"sbcc-bot p50 {s['p50']:.1f} ms p90 {s['p90']:.1f} ms mean {s['mean']:.1f} ms"
                  f" | floor p50 {f['p50']:.1f} ms p90 {f['p90']:.1f} ms mean {f['mean']:.1f} ms"
                  f" | p50 ratio {ratio:.2f} (goal <= {GOAL:.2f}: {verdict})", flush=True)

            keys = work / "member-keys"
            user = await hs.register("encrypting", "pw-encrypting")
            member = Member(hs.base_url, user.user_id, user.access_token, user.device_id,
                            keys)
            await member.start()
            encryption = {"type": "m.room.encryption", "state_key": "",
                          "content": {"algorithm": "m.megolm.v1.aes-sha2"}}
            rooms = {"encrypted": await room_with(member, ids["sbcc-bot"], "encrypted",
                                                  initial_state=[encryption]),
                     "plain": await room_with(member, ids["sbcc-bot"], "plain")}
            samples = await round_trips(member, rooms, pings)
            await member.close()
            member = None
            e, p = summary(samples["encrypted"]), summary(samples["plain"])
            print(f"sbcc-bot ping round trip, encrypting member ({pings} each)  "
                  f"encrypted room p50 {e['p50']:.1f} ms p90 {e['p90']:.1f} ms | "
                  f"unencrypted room p50 {p['p50']:.1f} ms p90 {p['p90']:.1f} ms | "
                  f"p50 ratio {e['p50'] / p['p50']:.2f}", flush=True)

            total = BURST_MEMBERS * per_member
            results: dict[str, BurstResult] = {}
            for label, bot_id in ids.items():
                users = [await hs.register(f"burst_{label.replace('-', '_')}_{i}", "pw-burst")
                         for i in range(BURST_MEMBERS)]
                results[label] = await burst(hs, bot_id, users, per_member)
            sb, fl = results["sbcc-bot"], results["floor"]
            ratio_text = (f"{sb.seconds / fl.seconds:.2f}" if sb.seconds and fl.seconds
                          else "n/a")
            yes = {True: "yes", False: "no"}
            print(f"burst {total} pings/{BURST_MEMBERS} rooms  "
                  f"sbcc-bot {burst_figure(sb, total)} | floor {burst_figure(fl, total)} | "
                  f"ratio {ratio_text} | all answered once: "
                  f"{yes[sb.once(total)]}/{yes[fl.once(total)]}", flush=True)
            for label, result in results.items():
                if result.duplicates or result.gaps or not result.once(total):
                    print(f"  {label}: {result.answered}/{total} answered, "
                          f"{result.duplicates} answered twice or more, "
                          f"{result.gaps} gaps in the members' timelines", flush=True)
            if "limited timeline" in floor.new_log():
                print("  floor: its /sync left events out (limited timeline); it does not "
                      "fetch them", flush=True)
        finally:
            if member is not None:
                await member.close()
            for bot in bots:
                if bot.proc is not None and bot.proc.returncode is None:
                    with contextlib.suppress(TimeoutError):
                        await bot.terminate(timeout=10)
                await bot.close()
            await hs.stop()
    print(f"(whole run {time.perf_counter() - run_start:.0f} s)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--pings", type=int, default=200,
                        help="measured !ping round trips per bot (default 200)")
    parser.add_argument("--burst", type=int, default=100,
                        help=f"pings per member in the burst, {BURST_MEMBERS} members "
                             "(default 100)")
    parser.add_argument("--echo-bot", nargs=4, metavar=("HOMESERVER", "USER_ID", "TOKEN",
                                                        "DEVICE_ID"),
                        help="run only the bare matrix-nio echo bot (used by the benchmark)")
    args = parser.parse_args()
    if args.echo_bot:
        asyncio.run(echo_bot(*args.echo_bot))
        return 0
    if args.pings < 2 or args.burst < 1:
        parser.error("--pings must be at least 2 and --burst at least 1")
    asyncio.run(bench(args.pings, args.burst))
    return 0


if __name__ == "__main__":
    sys.exit(main())
