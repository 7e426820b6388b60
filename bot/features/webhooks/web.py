"""Inbound webhooks: `POST /hooks/{name}` posts a notice into the network rooms the hook is
configured for (in the spirit of matrix-hookshot's generic webhooks).

The request, in the order it is checked:

1. the hook exists (`web.hooks.<name>` in the config), else **404**;
2. `Authorization: Bearer <token>` matches the hook's token, else **401** with
   `WWW-Authenticate: Bearer`. Both sides are hashed (SHA-256) and compared with
   `hmac.compare_digest`, so neither the token's value nor its length leaks through timing,
   also when the header is missing or malformed. Nothing of the body is read before this;
3. the body is at most `MAX_BODY` (16 KiB), else **413**: a larger `Content-Length` is
   refused at once, and the body is read only up to `MAX_BODY + 1` bytes whatever the
   headers say (chunked, or a lying length);
4. the hook's rate (`rate: 30/min`) is not exceeded, else **429** with `Retry-After`.
   The limit is a sliding window per hook, in memory, owned by the app (`HookLimits`); every
   authenticated request of a proper size counts, also one whose payload is then refused,
   so a misbehaving sender cannot keep the bot busy. Unauthenticated requests do not count
   (they cannot use up a hook's budget);
5. the body is a JSON object with `text` (a non-empty string, at most 8000 characters) and
   optionally `title` (a string, at most 200), `html` (a string) and `link` (an http(s)
   URL); `null` counts as absent. Otherwise **400** with `{"error": "<reason>"}` naming
   the field.

Accepted, the notice goes to each of the hook's rooms that is provisioned (others are
skipped with a warning; none at all → **503**), as m.notice mentioning nobody:

- body: title (own line, if any), text, link (own line, if any);
- HTML: `<b>title</b><br>`, then the sanitised `html` (`bot.features.webhooks.sanitize`)
  or else the escaped text, then `<br><a href="link">link</a>`.

Each send has its own transaction id `sbcc.hook.<name>.<uuid4>` (a request has no id of
its own to derive one from). The answer is **202** `{"posted": [room ids]}`; a room whose
send failed is left out and logged (if every send failed: **502**). Every accepted post is
logged with the hook's name — never with the token.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from bot.deps import Deps
from bot.events import Outgoing
from bot.feature import RouteSetup
from bot.features.webhooks.config import Hook, HooksConfig
from bot.features.webhooks.sanitize import sanitize_html
from bot.formatting import escape, text_to_html
from bot.ratelimit import SlidingWindow
from bot.web.pages import DEPS, MAX_BODY, read_body
from rooms.network import NetworkRooms

log = logging.getLogger(__name__)
SEND_TIMEOUT = 15  # seconds: the homeserver retries itself; a web client will not wait longer

MAX_TITLE = 200
MAX_TEXT = 8000
MAX_LINK = 2000
_BAD_URL_CHARS = re.compile(r"[\s\x00-\x1f\x7f<>\"]")


@dataclass
class HookLimits:
    """One sliding window per hook, created on first use."""

    clock: Callable[[], float]
    windows: dict[str, SlidingWindow] = field(default_factory=dict)

    def hit(self, hook: Hook) -> int:
        """0 if the hook may post now, else the seconds until it may."""
        window = self.windows.get(hook.name)
        if window is None or window.rate != hook.rate:
            window = self.windows[hook.name] = SlidingWindow(hook.rate, self.clock)
        return window.acquire(hook.name)


@dataclass(frozen=True)
class Webhooks:
    """What the route needs, handed over by the feature's setup: the configured hooks and
    their rate limits."""

    config: HooksConfig
    limits: HookLimits


WEBHOOKS = web.AppKey("webhooks", Webhooks)


class BadPayload(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Payload:
    text: str
    title: str | None = None
    html: str | None = None
    link: str | None = None


def _error(status: int, reason: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": reason}, status=status, headers=headers)


def _authorized(request: web.Request, hook: Hook) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        given = ""
    given_digest = hashlib.sha256(given.strip().encode("utf-8", "surrogatepass")).digest()
    wanted_digest = hashlib.sha256(hook.token.encode("utf-8")).digest()
    return hmac.compare_digest(given_digest, wanted_digest) and bool(given.strip())


def _optional_string(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadPayload(f"{key} must be a string")
    return value


def parse_payload(raw: bytes) -> Payload:
    try:
        obj = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise BadPayload("the body is not JSON") from None
    if not isinstance(obj, dict):
        raise BadPayload("the body must be a JSON object")
    text = obj.get("text")
    if text is None:
        raise BadPayload("text is missing")
    if not isinstance(text, str):
        raise BadPayload("text must be a string")
    if not text.strip():
        raise BadPayload("text is empty")
    if len(text) > MAX_TEXT:
        raise BadPayload(f"text is longer than {MAX_TEXT} characters")
    title = _optional_string(obj, "title")
    if title is not None:
        title = " ".join(title.split()) or None
        if title is not None and len(title) > MAX_TITLE:
            raise BadPayload(f"title is longer than {MAX_TITLE} characters")
    html = _optional_string(obj, "html")
    link = _optional_string(obj, "link")
    if link is not None:
        link = link.strip()
        parts = urlsplit(link) if not _BAD_URL_CHARS.search(link) else None
        if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.netloc:
            raise BadPayload("link must be an http:// or https:// URL")
        if len(link) > MAX_LINK:
            raise BadPayload(f"link is longer than {MAX_LINK} characters")
    return Payload(text=text, title=title, html=html, link=link)


def render(payload: Payload) -> tuple[str, str]:
    """The notice's plain body and HTML."""
    body = payload.text
    if payload.title:
        body = f"{payload.title}\n{body}"
    if payload.link:
        body = f"{body}\n{payload.link}"
    main = sanitize_html(payload.html).strip() if payload.html else ""
    html = main or text_to_html(payload.text)
    if payload.title:
        html = f"<b>{escape(payload.title)}</b><br>{html}"
    if payload.link:
        html = f'{html}<br><a href="{escape(payload.link)}">{escape(payload.link)}</a>'
    return body, html


async def _room_ids(deps: Deps, hook: Hook) -> list[str]:
    network = deps.config.network
    found: list[str] = []
    async with deps.db.session() as session:
        rooms = NetworkRooms(session, network)
        for key in hook.rooms:
            spec = network.room_by_key(key)
            room_id = await rooms.room_id(spec) if spec is not None else None
            if room_id is None:
                log.warning("hook %s: room %r is not provisioned; skipped", hook.name, key)
            elif room_id not in found:
                found.append(room_id)
    return found


async def receive(request: web.Request) -> web.Response:
    deps, webhooks = request.app[DEPS], request.app[WEBHOOKS]
    hook = webhooks.config.hooks.get(request.match_info["name"])
    if hook is None:
        return _error(404, "no such hook")
    if not _authorized(request, hook):
        return _error(401, "missing or wrong bearer token", {"WWW-Authenticate": "Bearer"})
    if request.content_length is not None and request.content_length > MAX_BODY:
        return _error(413, f"the body is larger than {MAX_BODY} bytes")
    wait = webhooks.limits.hit(hook)
    if wait:
        return _error(429, f"more than {hook.rate.count} posts in {hook.rate.seconds} s",
                      {"Retry-After": str(wait)})
    raw = await read_body(request)
    if raw is None:
        return _error(413, f"the body is larger than {MAX_BODY} bytes")
    try:
        payload = parse_payload(raw)
    except BadPayload as e:
        return _error(400, e.reason)
    room_ids = await _room_ids(deps, hook)
    if not room_ids:
        return _error(503, "no room to post in")
    body, html = render(payload)
    posted: list[str] = []
    for room_id in room_ids:
        txn = f"sbcc.hook.{hook.name}.{uuid.uuid4()}"
        try:
            async with asyncio.timeout(SEND_TIMEOUT):
                await deps.gateway.send(Outgoing(room_id, body, html, txn_id=txn))
        except Exception:
            log.exception("hook %s: could not post into %s", hook.name, room_id)
            continue
        posted.append(room_id)
    if not posted:
        return _error(502, "could not post into any room")
    log.info("hook %s: posted %d characters into %s", hook.name, len(body), ", ".join(posted))
    return web.json_response({"posted": posted}, status=202)


def routes(config: HooksConfig) -> RouteSetup:
    """The route of the hooks in `config`, each with its own rate limit."""

    def setup(app: web.Application) -> None:
        deps = app[DEPS]
        app[WEBHOOKS] = Webhooks(config, HookLimits(lambda: deps.clock().timestamp()))
        app.router.add_post("/hooks/{name}", receive)

    return setup
