"""The HTTP side's app factory and its server, started and stopped with the bot.

`create_app` adds the core's routes (health, metrics) and then each feature's, which the
features registered on the `Wiring` (see `bot.feature`)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from bot.deps import Deps
from bot.feature import RouteSetup
from bot.web import health, metrics
from bot.web.pages import DEPS, MAX_BODY, STATE, TEMPLATES, WebState, templates

log = logging.getLogger(__name__)


def create_app(deps: Deps, state: WebState | None = None, routes: Sequence[RouteSetup] = (),
               template_packages: Sequence[str] = (),
               middlewares: Sequence[Middleware] = ()) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY * 4, middlewares=middlewares)
    app[DEPS] = deps
    app[STATE] = state or WebState()
    app[TEMPLATES] = templates(template_packages)
    for setup in (health.setup, metrics.setup, *routes):
        setup(app)
    return app


READS = frozenset({"GET", "HEAD", "OPTIONS"})
RETRY_AFTER = "5"  # seconds: a standby takes over within that when the leader dies


def writes_on_leader(leading: Callable[[], bool]) -> Middleware:
    """On a standby (`bot.leader`), pages read as usual but nothing is written: a form or
    a webhook gets 503 with Retry-After, so a proxy or a sender tries the leader, or again
    once this process leads."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method in READS or leading():
            return await handler(request)
        return web.json_response(
            {"error": "standby: this sbcc-bot process does not take writes; try again"},
            status=503, headers={"Retry-After": RETRY_AFTER, "Cache-Control": "no-store"})

    return middleware


class WebServer:
    """Starts and stops the HTTP side with the bot."""

    def __init__(self, app: web.Application, host: str, port: int) -> None:
        self.app, self.host, self.port = app, host, port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        log.info("web side listening on http://%s:%d", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
