"""`GET /healthz`: whether the bot is alive enough to be left running.

Healthy means both: the last successful sync is at most `MAX_SYNC_AGE` seconds old, and
the database answers a `SELECT 1` within `PING_TIMEOUT` seconds. Otherwise the answer is
503 with the reasons, so a container orchestrator or a monitoring probe can restart or page.
A standby (`bot.leader`) does not sync: it is healthy as "standby" while the database —
where it waits for the lead — answers.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from bot.web.pages import DEPS, STATE

MAX_SYNC_AGE = 90  # seconds; a long-poll sync returns at least every 30 s
PING_TIMEOUT = 5.0
NO_STORE = {"Cache-Control": "no-store"}


async def _database_answers(request: web.Request) -> bool:
    try:
        async with asyncio.timeout(PING_TIMEOUT):
            return await request.app[DEPS].db.ping()
    except TimeoutError:
        return False


async def healthz(request: web.Request) -> web.Response:
    deps = request.app[DEPS]
    state = request.app[STATE]
    if state.role() == "standby":
        if await _database_answers(request):
            return web.json_response({"status": "standby", "database": "ok"},
                                     headers=NO_STORE)
        return web.json_response({"status": "unhealthy", "role": "standby",
                                  "reasons": ["database not answering"]}, status=503,
                                 headers=NO_STORE)
    last = state.last_sync()
    reasons: list[str] = []
    age: float | None = None
    if last is None:
        reasons.append("no sync yet")
    else:
        age = max(0.0, (deps.clock() - last).total_seconds())
        if age > MAX_SYNC_AGE:
            reasons.append(f"last sync {age:.0f} s ago (more than {MAX_SYNC_AGE} s)")
    database_ok = await _database_answers(request)
    if not database_ok:
        reasons.append("database not answering")
    if reasons:
        return web.json_response({"status": "unhealthy", "reasons": reasons}, status=503,
                                 headers=NO_STORE)
    assert age is not None
    return web.json_response({"status": "ok", "last_sync_seconds": round(age, 1),
                              "database": "ok"}, headers=NO_STORE)


def setup(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
