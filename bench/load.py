"""Sustained load: what rate of commands one bot process answers, against the floor.

Starts a throw-away Synapse, sbcc-bot (``python -m bot run``) and the floor (the bare
matrix-nio echo bot of ``bench/latency.py``, run through its ``--echo-bot`` command line),
each as its own process, each with its own rooms: ``--rooms`` rooms per bot, every one
holding the ``--members`` members and one reader account. Then, for each rate and for the
floor and sbcc-bot in turn (the order flips every repeat, so drift on the machine hits
both alike):

* open loop: command k is sent at ``t0 + k / rate`` whether or not anything was answered
  yet, spread over the members and rooms (room ``k % rooms``, member ``k // rooms %
  members``), as ``!ping L<run>-<k>`` — a unique id the reply repeats (``pong L<run>-<k>``);
* the reader, one account in every room, long-polls /sync with a filter that lets through
  only the bots' messages, and notes when it sees each reply: latency = reply seen − send
  started (the send's queueing and its HTTP round trip included);
* after the last send, ``--grace`` seconds for the stragglers; then unanswered = sent −
  answered, and twice = ids with more than one reply. Before and after each run, one
  sentinel ``!ping`` per room must be answered (the bot handles a room in order), so a
  backlog left by one run never loads the next.

The measuring side is one asyncio process with raw aiohttp (no nio parsing): its own CPU
share, the homeserver's, the running bot's and the whole machine's over the sending
window are printed with each run, and so is how late the sender started its sends
(``lag``) and how long the homeserver took to accept them (``put p99``): when ``lag``
stays near zero and ``bench%`` well under a core, the figures are the bots' and the
homeserver's, not the bench's.

``--pin`` gives the homeserver a core of its own (the first) and everything else the rest:
on a 2-core machine the scheduler otherwise runs the bot or the bench on the homeserver's
core now and then, and the homeserver, at the edge of one core, answers everyone later;
pinned, it spends less CPU per command too.

``--sweep`` raises the rate by ``--step`` until the floor no longer answers everything,
once, with p99 under ``--bound``; then runs both bots in turn at the highest rate that
passed and one step above. The goal (issue 15): at that rate sbcc-bot's p99 is within
1.5x the floor's, nothing unanswered, nothing twice; one step above, sbcc-bot degrades no
worse than the floor.

Run from the project root: ``.venv/bin/python bench/load.py --rates 10,20,30 --seconds 30``
or ``.venv/bin/python bench/load.py --sweep``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.homeserver import EmbeddedSynapse, RegisteredUser
from tests.integration.harness import ROOT, BotProcess

GOAL = 1.5  # sbcc-bot's p99 at most this times the floor's
LATENCY = ROOT / "bench" / "latency.py"
READY = "listening"  # what both bots log once they answer
SETTLE_TIMEOUT = 300.0
SENTINEL_WAIT = 60.0
REPLY = re.compile(r"pong (L\d+-\w+)")
CLK_TCK = os.sysconf("SC_CLK_TCK")
CORES = os.cpu_count() or 1
NOISY = 50.0  # % of a core other processes took: a failed sweep step is tried again
NOISY_TRIES = 3


class Floor(BotProcess):
    """The floor bot as a child process, started through `bench/latency.py --echo-bot`
    (that command line is its stable interface; the code behind it may change)."""

    def __init__(self, workdir: Path, homeserver: str, account: RegisteredUser) -> None:
        super().__init__(workdir, {})
        self.argv = [homeserver, account.user_id, account.access_token, account.device_id]

    async def start(self, ready_timeout: float = 60.0, ready: str = READY) -> None:
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, str(LATENCY), "--echo-bot", *self.argv,
                cwd=ROOT, stdout=log, stderr=asyncio.subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        await self.wait_log(ready, ready_timeout)


# -- CPU accounting -------------------------------------------------------------------------

def process_cpu(pid: int | None) -> float:
    """CPU seconds (user + system) a process has used so far; 0 when it is gone."""
    if pid is None:
        return 0.0
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, summed over its cores."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    total = sum(values[:8])  # guest time is already counted in user
    return (total - idle) / CLK_TCK, total / CLK_TCK


@dataclass
class CpuMeter:
    """CPU shares over a window, in % of one core (the machine: % of all its cores)."""

    pids: dict[str, int | None]
    wall: float = 0.0
    used: dict[str, float] = field(default_factory=dict)

    def start(self) -> None:
        self.wall = time.perf_counter()
        self.used = {name: process_cpu(pid) for name, pid in self.pids.items()}
        self.used["bench"] = time.process_time()
        self.used["machine"], self.used["total"] = machine_cpu()

    def stop(self) -> dict[str, float]:
        wall = time.perf_counter() - self.wall
        shares = {name: 100 * (process_cpu(pid) - self.used[name]) / wall
                  for name, pid in self.pids.items()}
        shares["bench"] = 100 * (time.process_time() - self.used["bench"]) / wall
        busy, total = machine_cpu()
        shares["machine"] = 100 * (busy - self.used["machine"]) / max(
            total - self.used["total"], 1e-9)
        # whatever else ran on the machine meanwhile, in % of one core
        shares["others"] = max(0.0, shares["machine"] * CORES - sum(
            share for name, share in shares.items() if name != "machine"))
        return shares


def pin(pid: int, cpus: set[int]) -> None:
    """Every thread of a process onto these CPUs (threads made later inherit it)."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(ProcessLookupError):
            os.sched_setaffinity(int(task.name), cpus)


# -- the homeserver side: raw client-server API calls ----------------------------------------

class Client:
    """One account's calls, on a shared aiohttp session."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str,
                 user: RegisteredUser) -> None:
        self.session = session
        self.base = f"{base_url}/_matrix/client/v3"
        self.user_id = user.user_id
        self.headers = {"Authorization": f"Bearer {user.access_token}"}

    async def call(self, method: str, path: str, body: Any = None,
                   params: dict[str, str] | None = None,
                   timeout: float = 60.0) -> dict[str, Any]:
        async with self.session.request(
                method, self.base + path, json=body, params=params, headers=self.headers,
                timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
            data = await resp.json()
            if resp.status != 200:
                raise RuntimeError(f"{method} {path}: {resp.status} {data}")
            return data

    async def say(self, room_id: str, text: str) -> None:
        await self.call("PUT", f"/rooms/{quote(room_id)}/send/m.room.message/"
                        f"{uuid.uuid4().hex}", {"msgtype": "m.text", "body": text})

    async def join(self, room_id: str) -> None:
        await self.call("POST", f"/join/{quote(room_id)}", {})


class Reader:
    """One account in every room: long-polls /sync for the bots' messages only, and notes
    when each `pong <id>` was first (and again) seen."""

    def __init__(self, client: Client, bot_ids: list[str]) -> None:
        self.client = client
        self.filter = json.dumps({
            "presence": {"not_types": ["*"]},
            "account_data": {"not_types": ["*"]},
            "room": {
                "timeline": {"limit": 1000, "types": ["m.room.message"],
                             "senders": bot_ids},
                "state": {"types": []},
                "ephemeral": {"not_types": ["*"]},
                "account_data": {"not_types": ["*"]},
            },
        })
        self.seen: dict[str, list[float]] = defaultdict(list)
        self.stamps: dict[str, tuple[float, float]] = {}  # id -> (reply's origin_server_ts,
        # wall clock when first seen), both in seconds since the epoch, this machine's clock
        self.gaps = 0  # limited timelines: replies may have been skipped
        self.changed = asyncio.Event()
        self._since: str | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        first = await self.client.call("GET", "/sync", params={
            "filter": self.filter, "timeout": "0"})
        self._since = first["next_batch"]
        self._task = asyncio.create_task(self._loop())

    async def _loop(self) -> None:
        while True:
            assert self._since is not None
            try:
                resp = await self.client.call("GET", "/sync", params={
                    "filter": self.filter, "since": self._since, "timeout": "30000"},
                    timeout=90)
            except (aiohttp.ClientError, RuntimeError, TimeoutError) as exc:
                print(f"  reader: sync failed ({exc}); again", flush=True)
                await asyncio.sleep(0.5)
                continue
            now, wall = time.perf_counter(), time.time()
            self._since = resp["next_batch"]
            for room in (resp.get("rooms") or {}).get("join", {}).values():
                timeline = room.get("timeline") or {}
                self.gaps += bool(timeline.get("limited"))
                for event in timeline.get("events", []):
                    body = (event.get("content") or {}).get("body")
                    match = REPLY.fullmatch(body) if isinstance(body, str) else None
                    if match:
                        self.seen[match.group(1)].append(now)
                        self.stamps.setdefault(match.group(1), (
                            float(event.get("origin_server_ts") or 0) / 1000, wall))
            self.changed.set()

    async def wait_all(self, ids: list[str], timeout: float) -> bool:
        """Until every id was seen at least once; False when the time ran out."""
        deadline = time.monotonic() + timeout
        while True:
            self.changed.clear()  # before looking, so a reply that comes meanwhile wakes us
            if all(i in self.seen for i in ids):
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), left)

    async def close(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


# -- one run --------------------------------------------------------------------------------

@dataclass
class Result:
    rate: float
    bot: str
    sent: int
    errors: int  # sends the homeserver did not accept
    answered: int
    twice: int
    latencies: list[float]  # seconds, answered commands only
    put_p99: float  # seconds the homeserver took to accept a send
    lag: float  # seconds the sender started its latest send after the planned time
    cpu: dict[str, float]
    gaps: int
    drained: bool  # the after-run sentinel was answered
    lost: int = 0  # still unanswered once the sentinel after them was answered
    # where each answered command's time went, seconds: the send (PUT), from the send
    # accepted to the reply's origin_server_ts (the bot: its /sync and its handling), and
    # from there to the reader seeing it (the reply's delivery)
    parts: dict[str, list[float]] = field(default_factory=dict)

    @property
    def unanswered(self) -> int:
        return self.sent - self.answered

    def p(self, q: int) -> float:
        return percentile(self.latencies, q)

    @property
    def clean(self) -> bool:
        return not (self.unanswered or self.twice or self.errors or self.gaps)


def p99_of_sent(r: Result) -> float:
    """The p99 over every command sent, an unanswered one counting as never answered
    (nearest rank; inf when more than 1 % went unanswered). Above its limit the floor
    skips commands it never fetches: its p99 over only what it answered flatters it."""
    times = sorted(r.latencies) + [math.inf] * r.unanswered
    if not times:
        return math.nan
    return times[max(0, math.ceil(0.99 * len(times)) - 1)]


def ms_or_never(seconds: float) -> str:
    return "never" if math.isinf(seconds) else f"{seconds * 1000:.0f} ms"


def percentile(values: list[float], q: int) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


@dataclass
class Bench:
    hs: EmbeddedSynapse
    reader: Reader
    members: list[Client]
    rooms: dict[str, list[str]]  # bot label -> its rooms
    bots: dict[str, BotProcess]
    grace: float
    runs: int = 0

    async def settle(self, label: str) -> bool:
        """One sentinel `!ping` per room of this bot, answered: what came before is done.
        A sentinel still unanswered after a while is sent again (in case it was lost
        rather than queued)."""
        deadline = time.monotonic() + SETTLE_TIMEOUT
        missing = list(self.rooms[label])
        while missing and time.monotonic() < deadline:
            self.runs += 1
            ids = {room: f"L{self.runs}-s{i}" for i, room in enumerate(missing)}
            await asyncio.gather(*(self.members[0].say(room, f"!ping {ping}")
                                   for room, ping in ids.items()))
            await self.reader.wait_all(list(ids.values()),
                                       min(SENTINEL_WAIT, deadline - time.monotonic()))
            missing = [room for room, ping in ids.items() if ping not in self.reader.seen]
        return not missing

    async def first_contact(self, label: str) -> tuple[int, int, int]:
        """Every member pings every room of this bot at once, before any run: members the
        bot has not met yet, in several rooms at the same moment. (answered, sent, twice)"""
        self.runs += 1
        pings = {f"L{self.runs}-m{m}r{r}": (member, room)
                 for m, member in enumerate(self.members)
                 for r, room in enumerate(self.rooms[label])}
        await asyncio.gather(*(member.say(room, f"!ping {ping}")
                               for ping, (member, room) in pings.items()))
        await self.reader.wait_all(list(pings), SENTINEL_WAIT)
        await asyncio.sleep(1.0)  # a second answer to anything would arrive now
        seen = self.reader.seen
        return (sum(ping in seen for ping in pings), len(pings),
                sum(len(seen.get(ping, [])) > 1 for ping in pings))

    def parts(self, answered: list[str], puts: dict[str, float],
              accepted: dict[str, float]) -> dict[str, list[float]]:
        stamps = self.reader.stamps
        return {"send": [puts[ping] for ping in answered],
                "bot": [stamps[ping][0] - accepted[ping] for ping in answered],
                "delivery": [stamps[ping][1] - stamps[ping][0] for ping in answered]}

    async def run(self, label: str, rate: float, seconds: float) -> Result:
        if not await self.settle(label):
            print(f"  {label}: a sentinel before the run went unanswered", flush=True)
        self.runs += 1
        tag = f"L{self.runs}"
        rooms, members = self.rooms[label], self.members
        total = max(1, round(rate * seconds))
        sent_at: dict[str, float] = {}
        accepted: dict[str, float] = {}  # wall clock when the homeserver accepted the send
        puts: dict[str, float] = {}  # seconds the homeserver took to accept each send
        errors = 0
        lag = 0.0
        gaps_before = self.reader.gaps

        async def send(k: int) -> None:
            nonlocal errors
            ping = f"{tag}-{k}"
            member = members[k // len(rooms) % len(members)]
            start = time.perf_counter()
            try:
                await member.say(rooms[k % len(rooms)], f"!ping {ping}")
            except (aiohttp.ClientError, RuntimeError, TimeoutError) as exc:
                errors += 1
                if errors <= 3:
                    print(f"  send failed: {exc}", flush=True)
                return
            puts[ping] = time.perf_counter() - start
            accepted[ping] = time.time()
            sent_at[ping] = start

        meter = CpuMeter({"hs": self.hs.pid, **{
            "bot" if name == label else f"idle {name}": bot.proc.pid if bot.proc else None
            for name, bot in self.bots.items()}})
        loop = asyncio.get_running_loop()
        sends: set[asyncio.Task[None]] = set()
        meter.start()
        t0 = loop.time() + 0.1
        for k in range(total):
            at = t0 + k / rate
            delay = at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            lag = max(lag, loop.time() - at)
            task = asyncio.create_task(send(k))
            sends.add(task)
            task.add_done_callback(sends.discard)
        cpu = meter.stop()
        if sends:
            await asyncio.wait(set(sends))
        await self.reader.wait_all(list(sent_at), self.grace)
        await asyncio.sleep(1.0)  # a second answer to anything would arrive now
        seen = self.reader.seen
        answered = [ping for ping in sent_at if ping in seen]
        result = Result(
            rate=rate, bot=label, sent=len(sent_at), errors=errors, answered=len(answered),
            twice=sum(len(seen[ping]) > 1 for ping in answered),
            latencies=[seen[ping][0] - sent_at[ping] for ping in answered],
            put_p99=percentile(list(puts.values()), 99), lag=lag, cpu=cpu,
            gaps=self.reader.gaps - gaps_before, drained=True,
            parts=self.parts(answered, puts, accepted),
        )
        result.drained = await self.settle(label)
        # the bot handles a room in order: what is unanswered after the sentinel never will be
        result.lost = sum(ping not in seen for ping in sent_at)
        return result


# -- output ---------------------------------------------------------------------------------

HEADER = (f"{'rate/s':>6} {'bot':<8} {'sent':>5} {'answered':>8} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'unanswered':>10} {'lost':>4} {'twice':>5} {'errors':>6} {'lag ms':>6} "
          f"{'put p99':>7}  "
          f"{'cpu %: hs':>9} {'bot':>4} {'bench':>5} {'others':>6} {'machine':>7}")


def row(r: Result) -> str:
    c = r.cpu
    notes = []
    if r.gaps:
        notes.append(f"{r.gaps} reader gaps")
    if not r.drained:
        notes.append(f"backlog not drained in {SETTLE_TIMEOUT:.0f} s")
    return (f"{r.rate:>6g} {r.bot:<8} {r.sent:>5} {r.answered:>8} {r.p(50) * 1000:>7.0f} "
            f"{r.p(99) * 1000:>7.0f} {r.unanswered:>10} {r.lost:>4} {r.twice:>5} {r.errors:>6} "
            f"{r.lag * 1000:>6.0f} {r.put_p99 * 1000:>7.0f}  {c['hs']:>9.0f} {c['bot']:>4.0f} "
            f"{c['bench']:>5.0f} {c['others']:>6.0f} {c['machine']:>7.0f}"
            + (f"  ({'; '.join(notes)})" if notes else ""))


def breakdown(r: Result) -> str:
    """p50/p99 of each part of a command's time (they do not add up: each has its own
    worst commands)."""
    return f"{'':>6} {r.bot:<8} " + ", ".join(
        f"{name} p50 {percentile(values, 50) * 1000:.0f} p99 "
        f"{percentile(values, 99) * 1000:.0f}" for name, values in r.parts.items()) + " ms"


def verdict(floor: Result, sbcc: Result, above: bool) -> str:
    ratio = sbcc.p(99) / floor.p(99)
    text = f"{sbcc.rate:>6g} p99 sbcc-bot/floor {ratio:.2f}"
    if not above:
        ok = ratio <= GOAL and sbcc.clean
        return text + f" (goal <= {GOAL}, nothing unanswered or twice: " \
                      f"{'met' if ok else 'NOT met'})"
    floor_all, sbcc_all = p99_of_sent(floor), p99_of_sent(sbcc)
    ok = (sbcc.answered / max(sbcc.sent, 1) >= floor.answered / max(floor.sent, 1)
          and sbcc.twice <= floor.twice
          and (math.isinf(floor_all) or sbcc_all <= GOAL * floor_all))
    return text + f"; over all sent (unanswered = never) floor {ms_or_never(floor_all)}, " \
                  f"sbcc-bot {ms_or_never(sbcc_all)} (above the floor's limit; answers as " \
                  f"much, p99 over all sent within {GOAL}x: {'yes' if ok else 'NO'})"


def cost(floor: Result, sbcc: Result) -> str:
    """CPU milliseconds per command: what bounds the rate when each has a core of its own."""
    def ms(r: Result, name: str) -> float:
        return 10 * r.cpu[name] / r.rate

    return (f"{'':>6} cpu ms per command: homeserver {ms(floor, 'hs'):.1f} (floor's run) / "
            f"{ms(sbcc, 'hs'):.1f} (sbcc-bot's), floor {ms(floor, 'bot'):.1f}, "
            f"sbcc-bot {ms(sbcc, 'bot'):.1f}")


def spread(results: list[Result]) -> None:
    """Per rate and bot over the repeats: p50 and p99 ranges, unanswered and twice totals."""
    groups: dict[tuple[float, str], list[Result]] = defaultdict(list)
    for r in results:
        groups[(r.rate, r.bot)].append(r)
    print(f"\nover {max(len(g) for g in groups.values())} repeat(s): "
          "rate, bot, p50 min-max, p99 min-max, unanswered, lost and twice (all repeats)")
    for (rate, bot), rs in sorted(groups.items()):
        p50 = [r.p(50) * 1000 for r in rs]
        p99 = [r.p(99) * 1000 for r in rs]
        print(f"{rate:>6g} {bot:<8} p50 {min(p50):.0f}-{max(p50):.0f} ms  "
              f"p99 {min(p99):.0f}-{max(p99):.0f} ms  unanswered "
              f"{sum(r.unanswered for r in rs)}/{sum(r.sent for r in rs)}  lost "
              f"{sum(r.lost for r in rs)}  twice "
              f"{sum(r.twice for r in rs)}", flush=True)
    for rate in sorted({rate for rate, _ in groups}):
        floor, sbcc = groups.get((rate, "floor"), []), groups.get((rate, "sbcc-bot"), [])
        if floor and sbcc:
            print(pooled(rate, floor, sbcc), flush=True)


def pooled(rate: float, floor: list[Result], sbcc: list[Result]) -> str:
    """One rate over all repeats: the p99 of every command each bot answered, and the ratio
    of each run's p99 to its partner's (median and range). A p99 of one 30 s run is its
    sixth-worst reply, at the homeserver's edge mostly the homeserver's queue; the pooled
    p99 over the interleaved repeats is the steadier figure."""
    def p99(rs: list[Result]) -> float:
        return percentile([t for r in rs for t in r.latencies], 99)

    def median_p99(rs: list[Result]) -> float:
        return statistics.median(r.p(99) for r in rs)

    ratios = sorted(s.p(99) / f.p(99) for f, s in zip(floor, sbcc, strict=False))
    ratio = p99(sbcc) / p99(floor)
    clean = all(r.clean for r in sbcc)
    return (f"{rate:>6g} pooled p99 floor {p99(floor) * 1000:.0f} ms, sbcc-bot "
            f"{p99(sbcc) * 1000:.0f} ms: ratio {ratio:.2f} (goal <= {GOAL}, nothing "
            f"unanswered or twice: {'met' if ratio <= GOAL and clean else 'NOT met'})\n"
            f"{'':>6} median of the runs' p99: floor {median_p99(floor) * 1000:.0f} ms, "
            f"sbcc-bot {median_p99(sbcc) * 1000:.0f} ms, ratio "
            f"{median_p99(sbcc) / median_p99(floor):.2f}; per-run ratios median "
            f"{statistics.median(ratios):.2f}, {ratios[0]:.2f}-{ratios[-1]:.2f}")


# -- the whole run --------------------------------------------------------------------------

async def compare(bench: Bench, rates: list[float], seconds: float, repeat: int,
                  above: float | None = None) -> list[Result]:
    """Both bots in turn at each rate, `repeat` times (the order flips every repeat)."""
    results: list[Result] = []
    print(HEADER, flush=True)
    for i in range(repeat):
        for rate in rates:
            order = ["floor", "sbcc-bot"] if i % 2 == 0 else ["sbcc-bot", "floor"]
            pair: dict[str, Result] = {}
            for label in order:
                pair[label] = await bench.run(label, rate, seconds)
                print(row(pair[label]), flush=True)
                print(breakdown(pair[label]), flush=True)
            results.extend(pair.values())
            print(verdict(pair["floor"], pair["sbcc-bot"], above is not None and
                          rate >= above), flush=True)
            print(cost(pair["floor"], pair["sbcc-bot"]), flush=True)
    return results


async def sweep(bench: Bench, start: float, step: float, top: float, bound: float,
                seconds: float, repeat: int) -> list[Result]:
    print(f"sweep: the floor alone, from {start:g}/s by {step:g}/s, until it misses "
          f"something or its p99 passes {bound * 1000:.0f} ms", flush=True)
    print(HEADER, flush=True)
    best: float | None = None
    rate = start
    while rate <= top:
        for _ in range(NOISY_TRIES):
            r = await bench.run("floor", rate, seconds)
            print(row(r), flush=True)
            passed = r.clean and r.p(99) <= bound
            if passed or r.cpu["others"] < NOISY:
                break
            print(f"  (the rest of the machine took {r.cpu['others']:.0f}% of a core: "
                  "once more)", flush=True)
        if not passed:
            break
        best = rate
        rate += step
    if best is None:
        print(f"the floor did not sustain even {start:g}/s", flush=True)
        return []
    print(f"\nthe floor sustains {best:g}/s; both bots at {best:g}/s and {best + step:g}/s",
          flush=True)
    return await compare(bench, [best, best + step], seconds, repeat, above=best + step)


async def main_async(args: argparse.Namespace) -> None:
    run_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="sbcc-load-", dir=args.workdir) as tmp:
        work = Path(tmp)
        hs = EmbeddedSynapse(work / "synapse")
        bots: dict[str, BotProcess] = {}
        reader: Reader | None = None
        try:
            await hs.start()
            accounts = {"sbcc-bot": await hs.register("sbcc", "pw-sbcc"),
                        "floor": await hs.register("floor", "pw-floor")}
            (work / "sbcc").mkdir()
            (work / "floor").mkdir()
            account = accounts["sbcc-bot"]
            bots["sbcc-bot"] = BotProcess(work / "sbcc", {
                "matrix": {"homeserver": hs.base_url, "user_id": account.user_id,
                           "access_token": account.access_token,
                           "device_id": account.device_id,
                           "encryption": {"enabled": args.encryption}},
                "database": {"url": args.database
                             or f"sqlite+aiosqlite:///{work / 'sbcc' / 'bot.db'}"},
                "log_level": "INFO",
            })
            bots["floor"] = Floor(work / "floor", hs.base_url, accounts["floor"])
            await asyncio.gather(*(bot.start() for bot in bots.values()))
            if args.pin:
                rest = set(range(1, CORES))
                assert hs.pid is not None
                pin(hs.pid, {0})
                for bot in bots.values():
                    assert bot.proc is not None
                    pin(bot.proc.pid, rest)
                pin(os.getpid(), rest)

            connector = aiohttp.TCPConnector(limit=0)  # sends queue at the homeserver only
            async with aiohttp.ClientSession(connector=connector) as session:
                users = [await hs.register(f"member{i}", "pw-member")
                         for i in range(args.members)]
                members = [Client(session, hs.base_url, u) for u in users]
                reader_client = Client(session, hs.base_url,
                                       await hs.register("reader", "pw-reader"))
                rooms: dict[str, list[str]] = {}
                for label, account in accounts.items():
                    rooms[label] = [await make_room(members, reader_client, account.user_id,
                                                    f"load {label} {i}")
                                    for i in range(args.rooms)]
                reader = Reader(reader_client, [a.user_id for a in accounts.values()])
                await reader.start()
                bench = Bench(hs, reader, members, rooms, bots, args.grace)
                for label in bots:
                    answered, sent, twice = await bench.first_contact(label)
                    print(f"first contact, every member in every room at once: {label} "
                          f"answered {answered}/{sent}, {twice} twice", flush=True)
                print(f"{args.members} members in {args.rooms} rooms per bot, "
                      f"{args.seconds:g} s per run, grace {args.grace:g} s; {CORES} cores; "
                      f"sbcc-bot on {args.database or 'SQLite'}; "
                      f"{'homeserver pinned to a core of its own; ' if args.pin else ''}"
                      f"cpu %: of one core, "
                      f"machine: of all {CORES}; others: "
                      f"the rest of the machine", flush=True)
                if args.sweep:
                    results = await sweep(bench, args.start, args.step, args.top, args.bound,
                                          args.seconds, args.repeat)
                else:
                    results = await compare(bench, args.rates, args.seconds, args.repeat)
                if args.repeat > 1 and results:
                    spread(results)
                await reader.close()
                reader = None
            for label, bot in bots.items():
                problems = [line for line in bot.new_log().splitlines()
                            if " ERROR " in line or "Traceback" in line or "limited" in line]
                if problems:
                    print(f"{label}'s log: {len(problems)} error line(s), the first: "
                          f"{problems[0][:200]}", flush=True)
        finally:
            if reader is not None:
                await reader.close()
            for bot in bots.values():
                if bot.proc is not None and bot.proc.returncode is None:
                    with contextlib.suppress(TimeoutError):
                        await bot.terminate(timeout=10)
                await bot.close()
            await hs.stop()
            if args.keep_logs:
                keep_logs(Path(args.keep_logs), work, bots)
    print(f"(whole run {time.perf_counter() - run_start:.0f} s)")


def keep_logs(keep: Path, work: Path, bots: dict[str, BotProcess]) -> None:
    keep.mkdir(parents=True, exist_ok=True)
    for label, bot in bots.items():
        if bot.log_path.exists():
            shutil.copy(bot.log_path, keep / f"{label}.log")
    with contextlib.suppress(OSError):
        shutil.copy(work / "synapse" / "homeserver.log", keep / "homeserver.log")
    print(f"logs kept in {keep}", flush=True)


async def make_room(members: list[Client], reader: Client, bot_id: str, name: str) -> str:
    """A room with every member and the reader in it, then the bot (so it sees no joins)."""
    owner = members[0]
    created = await owner.call("POST", "/createRoom", {
        "name": name, "preset": "private_chat",
        "invite": [m.user_id for m in members[1:]] + [reader.user_id]})
    room: str = created["room_id"]
    await asyncio.gather(*(m.join(room) for m in [*members[1:], reader]))
    await owner.call("POST", f"/rooms/{quote(room)}/invite", {"user_id": bot_id})
    deadline = time.monotonic() + 60
    while True:
        joined = await owner.call("GET", f"/rooms/{quote(room)}/joined_members")
        if bot_id in joined.get("joined", {}):
            return room
        if time.monotonic() > deadline:
            raise TimeoutError(f"{bot_id} never joined {room}")
        await asyncio.sleep(0.2)


def rate_list(text: str) -> list[float]:
    rates = [float(part) for part in text.split(",") if part.strip()]
    if not rates or any(r <= 0 for r in rates):
        raise argparse.ArgumentTypeError("rates are positive numbers, e.g. 10,20,30")
    return rates


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--rates", "--rate", type=rate_list, default=[10.0, 20.0],
                        help="commands per second, one or several (default 10,20)")
    parser.add_argument("--seconds", type=float, default=30.0,
                        help="how long each run sends (default 30)")
    parser.add_argument("--members", type=int, default=5, help="members (default 5)")
    parser.add_argument("--rooms", type=int, default=5, help="rooms per bot (default 5)")
    parser.add_argument("--grace", type=float, default=10.0,
                        help="seconds after the last send before the unanswered are counted "
                             "(default 10)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run everything this many times, the order of the bots flipped "
                             "each time (default 1)")
    parser.add_argument("--database", help="sbcc-bot's database URL (default: SQLite in a "
                                           "temporary directory)")
    parser.add_argument("--workdir", help="where the homeserver and the bots keep their data "
                                          "(default: the system's temporary directory; "
                                          "/dev/shm keeps the disk out of it)")
    parser.add_argument("--keep-logs", metavar="DIR",
                        help="copy the bots' and the homeserver's logs there at the end")
    parser.add_argument("--pin", action="store_true",
                        help="the homeserver on the first core, the bots and the bench on the "
                             "others (needs 2 cores or more)")
    parser.add_argument("--no-encryption", dest="encryption", action="store_false",
                        help="run sbcc-bot with end-to-end encryption off (the floor has none)")
    parser.add_argument("--sweep", action="store_true",
                        help="find the floor's highest clean rate, then compare both bots at "
                             "it and one step above")
    parser.add_argument("--start", type=float, default=10.0, help="sweep: first rate (10)")
    parser.add_argument("--step", type=float, default=10.0, help="sweep: step (10)")
    parser.add_argument("--top", type=float, default=300.0, help="sweep: highest rate (300)")
    parser.add_argument("--bound", type=float, default=1.0,
                        help="sweep: the floor's p99 must stay under this many seconds (1)")
    args = parser.parse_args()
    if args.members < 1 or args.rooms < 1 or args.seconds <= 0 or args.repeat < 1:
        parser.error("--members, --rooms and --repeat must be at least 1, --seconds positive")
    if args.pin and CORES < 2:
        parser.error("--pin needs at least 2 cores")
    asyncio.run(main_async(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
