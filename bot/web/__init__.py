"""The HTTP side of the bot (aiohttp): health, metrics, calendars, the public showcase,
inbound webhooks and the advice form for organisations outside the network.

`create_app(deps, state)` is the app factory; every route module has a `setup(app)` that
adds its routes. What handlers need reaches them through typed `web.AppKey`s, never
globals. Pages are rendered with Jinja2 (autoescape on) in the reader's language.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import jinja2
from aiohttp import web

from bot.deps import Deps
from bot.i18n import SUPPORTED_LANGUAGES, language_name

log = logging.getLogger(__name__)
MAX_BODY = 16 * 1024


@dataclass
class WebState:
    """What the web side knows of the running bot."""

    last_sync: Callable[[], datetime | None] = lambda: None
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))  # signs CSRF tokens


DEPS = web.AppKey("deps", Deps)
STATE = web.AppKey("state", WebState)
TEMPLATES = web.AppKey("templates", jinja2.Environment)


def templates() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("bot.web", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.globals["languages"] = [(code, language_name(code)) for code in SUPPORTED_LANGUAGES]
    return env


def locale_of(request: web.Request) -> str:
    """The page's language: ?lang=, else the best of Accept-Language, else the default."""
    deps = request.app[DEPS]
    wanted = request.query.get("lang", "")[:2].lower()
    if wanted in SUPPORTED_LANGUAGES:
        return wanted
    choices = []
    for part in request.headers.get("Accept-Language", "").split(","):
        code, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            weight = 0.0
        choices.append((weight, code[:2].lower()))
    for _, code in sorted(choices, key=lambda c: -c[0]):
        if code in SUPPORTED_LANGUAGES:
            return code
    return deps.config.default_language


def render(request: web.Request, template: str, status: int = 200, **context: object
           ) -> web.Response:
    """A page in the reader's language; `_` in templates translates."""
    deps = request.app[DEPS]
    locale = locale_of(request)

    def translate(msgid: str, **params: object) -> str:
        return deps.translator.gettext(msgid, locale, **params)

    # the language links keep the page's other query parameters (a status page's secret);
    # an error page echoes nothing of what was asked
    base = request.rel_url if status < 400 else request.rel_url.with_query(None)
    lang_links = {code: str(base.update_query(lang=code)) for code in SUPPORTED_LANGUAGES}
    html = request.app[TEMPLATES].get_template(template).render(
        _=translate, lang=locale, network=deps.config.network.name, path=request.path,
        lang_links=lang_links, **context)
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")


def create_app(deps: Deps, state: WebState | None = None) -> web.Application:
    from bot.web import advice, calendar_routes, health, hooks, metrics_route, showcase

    app = web.Application(client_max_size=MAX_BODY * 4)
    app[DEPS] = deps
    app[STATE] = state or WebState()
    app[TEMPLATES] = templates()
    for module in (health, metrics_route, calendar_routes, showcase, hooks, advice):
        module.setup(app)
    return app


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
