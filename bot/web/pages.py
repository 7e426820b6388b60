"""What every page and route of the HTTP side shares: the typed app keys that carry the
bot's dependencies to handlers (never globals), the reader's language, rendering a page
with Jinja2 (autoescape on), and reading a bounded request body."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import jinja2
from aiohttp import web

from bot.deps import Deps
from bot.feature import Step
from bot.i18n import N_, SUPPORTED_LANGUAGES, BoundTranslator, language_name

MAX_BODY = 16 * 1024
# The project's babel config extracts only .py files: each msgid base.html translates is
# listed here as well; tests check that every `_('…')` of a template appears in such a list.
TEMPLATE_STRINGS = (N_("Languages"),)


@dataclass
class WebState:
    """What the web side knows of the running bot."""

    last_sync: Callable[[], datetime | None] = lambda: None
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))  # signs CSRF tokens
    scrape_steps: Sequence[Step] = ()  # refresh gauges before /metrics is read
    role: Callable[[], str] = lambda: "leader"  # or "standby" (see `bot.leader`)


DEPS = web.AppKey("deps", Deps)
STATE = web.AppKey("state", WebState)
TEMPLATES = web.AppKey("templates", jinja2.Environment)


def templates(packages: Sequence[str] = ()) -> jinja2.Environment:
    """The core's pages (base.html) and each feature's `templates/` folder."""
    loader = jinja2.ChoiceLoader([jinja2.PackageLoader("bot.web", "templates"),
                                  *(jinja2.PackageLoader(p, "templates") for p in packages)])
    env = jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined,
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


def translator_of(request: web.Request) -> BoundTranslator:
    """The translator for the page's reader."""
    return request.app[DEPS].translator.bind(locale_of(request))


def render(request: web.Request, template: str, status: int = 200, **context: object
           ) -> web.Response:
    """A page in the reader's language; `_` in templates translates."""
    deps = request.app[DEPS]
    tr = translator_of(request)
    # the language links keep the page's other query parameters (a status page's secret);
    # an error page echoes nothing of what was asked
    base = request.rel_url if status < 400 else request.rel_url.with_query(None)
    lang_links = {code: str(base.update_query(lang=code)) for code in SUPPORTED_LANGUAGES}
    html = request.app[TEMPLATES].get_template(template).render(
        _=tr, lang=tr.locale, network=deps.config.network.name, path=request.path,
        lang_links=lang_links, **context)
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")


async def read_body(request: web.Request, limit: int = MAX_BODY) -> bytes | None:
    """The body, or None when it is longer than `limit`: a larger Content-Length is refused
    at once, and never more than one byte past the limit is read, whatever the headers
    say (chunked, or a lying length)."""
    if request.content_length is not None and request.content_length > limit:
        return None
    data = bytearray()
    while len(data) <= limit:
        chunk = await request.content.read(limit + 1 - len(data))
        if not chunk:
            break
        data += chunk
    return None if len(data) > limit else bytes(data)
