"""How much sbcc-bot costs per command, measured against a bare matrix-nio echo bot.

Starts a throw-away Synapse, provisions the example network (config.example.yaml) for
sbcc-bot, fills its database with a few thousand members (profiles, tags, events,
collaborations, a week of handled events) and runs sbcc-bot (``python -m bot run``) next to
two floor bots, each its own process:

* the floor: the thinnest matrix-nio echo bot — ``client.sync()`` with no filter at all,
  answering ``!ping`` with a notice. The least a bot can cost on that homeserver.
* the filtered floor: the same bot syncing with sbcc-bot's own /sync filter
  (`bot.gateway.sync_filter`, uploaded once), so the homeserver does the same work for
  both and only the bots differ.

Then, in each state a new member meets the bot in — fresh; after ``!lang``; in a location
room (joined through the Space); in a direct chat (``is_direct``); and after a restart of
the bot, in each of those rooms — one member pings the three bots in turns (the order
rotated every round, so drift on the machine hits all alike): ``!ping N`` sent → the member
sees the reply. Goal: sbcc-bot's p50 <= 1.05 x the floor's p50 in every state. Each bot's
CPU time per ping is shown too: on a small shared machine it lengthens every round trip.
``--keep`` keeps the bots' logs (``states.tsv`` says which part of sbcc-bot's log is which
state); ``--profile`` runs sbcc-bot under cProfile (``sbcc/sbcc-N.prof``, one per run).

Also (skip with ``--states-only``):
* encrypted: one member whose client encrypts (matrix-nio with vodozemac, as Element
  does) pings sbcc-bot in an end-to-end encrypted room and in a plain one, in turns.
* burst: 5 members in 5 rooms send ``--burst`` ``!ping mI-N`` each, all at once; the time
  until every member has seen all its replies, and whether each was answered exactly once,
  against the filtered floor (the bare one sees only the last 10 events of a room per /sync).

Run from the project root: ``.venv/bin/python bench/latency.py [--pings 100] [--burst 100]``.
``bench/latency.py --echo-bot HOMESERVER USER_ID TOKEN DEVICE_ID [--filtered]`` runs a floor
bot alone.
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

GOAL = 1.05
WARMUP = 10
BURST_MEMBERS = 5
READY = "listening"
SCRIPT = Path(__file__).resolve()
BURST_TIMEOUT = 300.0
SAMPLE_MEMBERS = 3000
SBCC, FLOOR, FILTERED = "sbcc-bot", "floor", "floor (filtered)"


# -- the floor: a bare matrix-nio echo bot ------------------------------------------------

async def echo_bot(homeserver: str, user_id: str, token: str, device_id: str,
                   filtered: bool = False) -> None:
    """Join on invite; answer `!ping rest` with a notice `pong rest` replying to it.
    `filtered`: sync with sbcc-bot's /sync filter; else plain `client.sync()`."""
    from nio import (
        AsyncClient,
        AsyncClientConfig,
        InviteMemberEvent,
        MatrixRoom,
        RoomMessageText,
        SyncResponse,
    )

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

    try:
        filter_id: str | None = None
        if filtered:
            from bot.gateway import sync_filter  # the same /sync as sbcc-bot

            spec = sync_filter()
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
    """A floor bot as a child process, started and watched like sbcc-bot."""

    def __init__(self, workdir: Path, homeserver: str, account: RegisteredUser,
                 filtered: bool = False) -> None:
        super().__init__(workdir, {})
        self.argv = [homeserver, account.user_id, account.access_token, account.device_id,
                     *(["--filtered"] if filtered else [])]

    async def start(self, ready_timeout: float = 60.0) -> None:
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, str(SCRIPT), "--echo-bot", *self.argv,
                cwd=ROOT, stdout=log, stderr=asyncio.subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        await self.wait_log(READY, ready_timeout)


class ProfiledBotProcess(BotProcess):
    """sbcc-bot under cProfile: each run (a restart is a second one) writes
    `sbcc-N.prof` into its working directory when it stops."""

    runs = 0

    async def start(self, ready_timeout: float = 60.0) -> None:
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        self.runs += 1
        profile = self.workdir / f"sbcc-{self.runs}.prof"
        with self.log_path.open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "cProfile", "-o", str(profile), "-m", "bot", "run",
                "--config", str(self.config_path),
                cwd=ROOT, stdout=log, stderr=asyncio.subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        await self.wait_log(READY, ready_timeout)


# -- a realistic database --------------------------------------------------------------------

async def fill_database(config_path: Path, members: int, seed: int = 7) -> str:
    """A few thousand members with profiles and tags, events with answers, collaborations
    and activity (`bot.sample.fill`, the demo's generator), and a week of handled events,
    in sbcc-bot's (migrated) database."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import insert

    from bot.app import load_config
    from bot.db import Database
    from bot.db.models import HandledEvent
    from bot.sample import fill

    config = load_config(config_path)
    db = Database(config.database.url)
    try:
        sample = await fill(db, config, members=members, seed=seed)
        now = datetime.now(UTC)
        server = config.matrix.user_id.split(":", 1)[1]
        handled = [{"event_id": f"$sample-handled-{n}", "room_id": "!sample:" + server,
                    "handled_at": now - timedelta(seconds=n * 30)} for n in range(20_000)]
        async with db.session() as session:
            for start in range(0, len(handled), 5000):
                await session.execute(insert(HandledEvent), handled[start:start + 5000])
        return f"bot.sample.fill: {sample.members} members, {sample.counts}"
    finally:
        await db.close()


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
    """Ping each bot in turn (the order rotated every round); seconds per round trip."""
    samples: dict[str, list[float]] = {label: [] for label in rooms}
    labels = list(rooms)
    for i in range(WARMUP + pings):
        shift = i % len(labels)
        order = labels[shift:] + labels[:shift]
        for label in order if i % 2 == 0 else order[::-1]:
            start = time.perf_counter()
            reply = await member.ask(rooms[label], f"!ping {i}")
            elapsed = time.perf_counter() - start
            body = reply["content"].get("body", "")
            assert body.endswith(f" {i}"), reply  # "pong 7", or its translation
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

class StateResult(NamedTuple):
    state: str
    sbcc: dict[str, float]
    floor: dict[str, float]
    filtered: dict[str, float]
    cpu: dict[str, float]  # each bot process's CPU time per ping, ms


def cpu_seconds(bot: BotProcess) -> float:
    """User + system CPU time of the bot's process so far (Linux; 0 elsewhere)."""
    try:
        assert bot.proc is not None
        fields = Path(f"/proc/{bot.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (AssertionError, OSError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def state_line(r: StateResult) -> str:
    s, f, g = r.sbcc, r.floor, r.filtered
    ratio, ratio_f = s["p50"] / f["p50"], s["p50"] / g["p50"]
    verdict = "met" if ratio <= GOAL else "NOT met"
    return (f"{r.state:<26} sbcc-bot p50 {s['p50']:5.1f} p90 {s['p90']:5.1f} | "
            f"floor p50 {f['p50']:5.1f} p90 {f['p90']:5.1f} | "
            f"filtered floor p50 {g['p50']:5.1f} p90 {g['p90']:5.1f} | "
            f"ratio {ratio:.3f} ({verdict}), vs filtered {ratio_f:.3f} | CPU per ping "
            f"{r.cpu[SBCC]:.1f}/{r.cpu[FLOOR]:.1f}/{r.cpu[FILTERED]:.1f} ms")


def provision(config_path: Path) -> dict[str, str]:
    """`sbcc-bot provision`: the Space and every room; "kind:key" → room id."""
    import subprocess

    result = subprocess.run(
        [sys.executable, "-m", "bot", "provision", "--config", str(config_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"provisioning failed:\n{result.stdout}{result.stderr}")
    found = {}
    for line in result.stdout.splitlines():
        m = re.match(r"^(\w+)\s+(\S+)\s+(!\S+)\s+(\w+)", line)
        if m:
            found[f"{m.group(1)}:{m.group(2)}"] = m.group(3)
    return found


async def states(hs: EmbeddedSynapse, work: Path, pings: int, members: int,
                 bots: list[BotProcess], profile: bool = False
                 ) -> tuple[list[StateResult], dict[str, str], BotProcess]:
    """sbcc-bot in each state a new member meets it in, interleaved with both floors."""
    from bot.demo import example_sections

    sbcc_account = await hs.register("sbcc", "pw-sbcc")
    floor_account = await hs.register("floor", "pw-floor")
    filtered_account = await hs.register("floorf", "pw-floorf")
    for name in ("sbcc", "floor", "filtered"):
        (work / name).mkdir()
    sbcc = (ProfiledBotProcess if profile else BotProcess)(work / "sbcc", {
        "matrix": {"homeserver": hs.base_url, "user_id": sbcc_account.user_id,
                   "access_token": sbcc_account.access_token,
                   "device_id": sbcc_account.device_id},
        "database": {"url": f"sqlite+aiosqlite:///{work / 'sbcc' / 'bot.db'}"},
        "log_level": "INFO",
        **example_sections(),
    })
    bots.append(sbcc)
    started = time.perf_counter()
    network = provision(sbcc.config_path)
    how = await fill_database(sbcc.config_path, members)
    print(f"provisioned {len(network)} rooms, {members} members filled in by {how} "
          f"({time.perf_counter() - started:.0f} s)", flush=True)
    floor = EchoBotProcess(work / "floor", hs.base_url, floor_account)
    filtered = EchoBotProcess(work / "filtered", hs.base_url, filtered_account, filtered=True)
    bots += [floor, filtered]
    await asyncio.gather(sbcc.start(), floor.start(), filtered.start())

    member = await start_member(hs, await hs.register("member", "pw-member"))
    results: list[StateResult] = []
    try:
        floors = {FLOOR: await room_with(member, floor_account.user_id, "latency floor"),
                  FILTERED: await room_with(member, filtered_account.user_id,
                                            "latency filtered floor")}

        procs = {SBCC: sbcc, FLOOR: floor, FILTERED: filtered}

        async def measure(state: str, room: str) -> None:
            before = sbcc.log_path.stat().st_size
            cpu = {label: cpu_seconds(bot) for label, bot in procs.items()}
            samples = await round_trips(member, {SBCC: room, **floors}, pings)
            cpu = {label: (cpu_seconds(bot) - cpu[label]) * 1000 / (pings + WARMUP)
                   for label, bot in procs.items()}
            with (work / "states.tsv").open("a") as marks:  # which part of bot.log is which
                print(state, before, sbcc.log_path.stat().st_size, sep="\t", file=marks)
            result = StateResult(state, summary(samples[SBCC]), summary(samples[FLOOR]),
                                 summary(samples[FILTERED]), cpu)
            results.append(result)
            print(state_line(result), flush=True)

        plain = await room_with(member, sbcc_account.user_id, "latency sbcc-bot")
        await measure("fresh", plain)
        await member.ask(plain, "!lang de")
        await measure("after !lang de", plain)
        await member.join(network["space:space"])
        location = network["location:szczecin"]
        await member.join(location)
        await member.settle(location)
        await measure("location room", location)
        direct = await room_with(member, sbcc_account.user_id, "", is_direct=True)
        await measure("direct chat", direct)
        await sbcc.terminate()
        await sbcc.start()
        await measure("after restart", plain)
        await measure("after restart, location", location)
        await measure("after restart, direct", direct)
    finally:
        await member.close()
    # the burst's floor syncs with sbcc-bot's filter: without one, a /sync carries the
    # last 10 events of a room and the bare bot never sees the rest of a burst
    ids = {SBCC: sbcc_account.user_id, FILTERED: filtered_account.user_id}
    return results, ids, filtered


async def bench(pings: int, per_member: int, members: int, states_only: bool,
                keep: bool, profile: bool) -> None:
    run_start = time.perf_counter()
    with contextlib.ExitStack() as stack:
        if keep:
            work = Path(tempfile.mkdtemp(prefix="sbcc-bench-"))
            print(f"working in {work} (kept: bot logs, states.tsv)", flush=True)
        else:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sbcc-bench-")))
        hs = EmbeddedSynapse(work / "synapse")
        bots: list[BotProcess] = []
        member: Member | None = None
        try:
            await hs.start()
            results, ids, floor = await states(hs, work, pings, members, bots, profile)
            print(f"\n!ping round trip p50 in ms ({pings} each, {WARMUP} warm-up, interleaved;"
                  f" goal sbcc-bot <= {GOAL:.2f} x floor)")
            print(f"{'state':<26} {'floor':>6} {'filt.':>6} {'sbcc':>6} {'ratio':>6} "
                  f"{'vs filt.':>8}   CPU ms/ping sbcc floor")
            for r in results:
                print(f"{r.state:<26} {r.floor['p50']:6.1f} {r.filtered['p50']:6.1f} "
                      f"{r.sbcc['p50']:6.1f} {r.sbcc['p50'] / r.floor['p50']:6.3f} "
                      f"{r.sbcc['p50'] / r.filtered['p50']:8.3f}   "
                      f"{r.cpu[SBCC]:11.1f} {r.cpu[FLOOR]:5.1f}", flush=True)
            if states_only:
                return

            keys = work / "member-keys"
            user = await hs.register("encrypting", "pw-encrypting")
            member = Member(hs.base_url, user.user_id, user.access_token, user.device_id,
                            keys)
            await member.start()
            encryption = {"type": "m.room.encryption", "state_key": "",
                          "content": {"algorithm": "m.megolm.v1.aes-sha2"}}
            rooms = {"encrypted": await room_with(member, ids[SBCC], "encrypted",
                                                  initial_state=[encryption]),
                     "plain": await room_with(member, ids[SBCC], "plain")}
            samples = await round_trips(member, rooms, pings)
            await member.close()
            member = None
            e, p = summary(samples["encrypted"]), summary(samples["plain"])
            print(f"sbcc-bot ping round trip, encrypting member ({pings} each)  "
                  f"encrypted room p50 {e['p50']:.1f} ms p90 {e['p90']:.1f} ms | "
                  f"unencrypted room p50 {p['p50']:.1f} ms p90 {p['p90']:.1f} ms | "
                  f"p50 ratio {e['p50'] / p['p50']:.2f}", flush=True)

            total = BURST_MEMBERS * per_member
            burst_results: dict[str, BurstResult] = {}
            for label, bot_id in ids.items():
                users = [await hs.register(f"burst_{re.sub('[^a-z]+', '_', label)}_{i}", "pw-burst")
                         for i in range(BURST_MEMBERS)]
                burst_results[label] = await burst(hs, bot_id, users, per_member)
            sb, fl = burst_results[SBCC], burst_results[FILTERED]
            ratio_text = (f"{sb.seconds / fl.seconds:.2f}" if sb.seconds and fl.seconds
                          else "n/a")
            yes = {True: "yes", False: "no"}
            print(f"burst {total} pings/{BURST_MEMBERS} rooms  "
                  f"sbcc-bot {burst_figure(sb, total)} | filtered floor "
                  f"{burst_figure(fl, total)} | "
                  f"ratio {ratio_text} | all answered once: "
                  f"{yes[sb.once(total)]}/{yes[fl.once(total)]}", flush=True)
            for label, result in burst_results.items():
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
    parser.add_argument("--pings", type=int, default=100,
                        help="measured !ping round trips per bot and state (default 100)")
    parser.add_argument("--burst", type=int, default=100,
                        help=f"pings per member in the burst, {BURST_MEMBERS} members "
                             "(default 100)")
    parser.add_argument("--members", type=int, default=SAMPLE_MEMBERS,
                        help=f"members in sbcc-bot's database (default {SAMPLE_MEMBERS})")
    parser.add_argument("--states-only", action="store_true",
                        help="only the ping round trips in each state (no encrypted "
                             "room, no burst)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the working directory (the bots' logs)")
    parser.add_argument("--profile", action="store_true",
                        help="run sbcc-bot under cProfile (sbcc/sbcc-N.prof; implies --keep)")
    parser.add_argument("--echo-bot", nargs=4, metavar=("HOMESERVER", "USER_ID", "TOKEN",
                                                        "DEVICE_ID"),
                        help="run only a floor bot, a bare matrix-nio echo bot (used by the "
                             "benchmark)")
    parser.add_argument("--filtered", action="store_true",
                        help="with --echo-bot: sync with sbcc-bot's /sync filter")
    args = parser.parse_args()
    if args.echo_bot:
        asyncio.run(echo_bot(*args.echo_bot, filtered=args.filtered))
        return 0
    if args.pings < 2 or args.burst < 1:
        parser.error("--pings must be at least 2 and --burst at least 1")
    asyncio.run(bench(args.pings, args.burst, args.members, args.states_only,
                      args.keep or args.profile, args.profile))
    return 0


if __name__ == "__main__":
    sys.exit(main())
