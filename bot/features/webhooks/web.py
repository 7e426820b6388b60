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
   so a misbehaving sender cannot keep the bot busy — but for a retry answered from its
   idempotency key (200 or 409), which sends nothing. Unauthenticated requests do not count
   (they cannot use up a hook's budget);
5. the body is a JSON object with `text` (a non-empty string, at most 8000 characters) and
   optionally `title` (a string, at most 200), `html` (a string) and `link` (an http(s)
   URL with a well-formed host and port, without control or invisible characters); `null`
   counts as absent; no string anywhere in it holds a lone surrogate (an unpaired
   `\\ud800`–`\\udfff` escape, which no UTF-8 can carry). Otherwise **400** with
   `{"error": "<reason>"}` naming the field;
6. an `Idempotency-Key` header, if sent, is 1 to 128 printable ASCII characters (quotes
   around it are dropped), else **400**. With a key, a retried request posts once: see
   `bot.features.webhooks.deliveries` (a replay answers **200** with the first post's
   `posted` and the header `Idempotent-Replayed: true`; a post under way answers **409**).

Accepted, the notice goes to each of the hook's rooms that is provisioned (others are
skipped with a warning; none at all → **503**), as m.notice mentioning nobody:

- body: title (own line, if any), text, link (own line, if any);
- HTML: `<b>title</b><br>`, then the sanitised `html` (`bot.features.webhooks.sanitize`)
  or else the escaped text, then `<br><a href="link">link</a>`.

Each send has its own transaction id `sbcc.hook.<name>.<uuid4>` (a request has no id of
its own to derive one from). The answer is **202** `{"posted": [room ids]}`; a room whose
send failed is left out and logged (if every send failed: **502**, and the idempotency key,
if any, is released so that a retry posts). Every accepted post is logged with the hook's
name — never with the token or the key. "@room" in what a hook posts does not notify the
room (`bot.events.Outgoing` defuses it).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

import bot.features.webhooks.deliveries as deliveries
from bot.deps import Deps
from bot.events import Outgoing
from bot.feature import RouteSetup
from bot.features.webhooks.config import Hook, HooksConfig
from bot.features.webhooks.sanitize import sanitize_html
from bot.formatting import escape, text_to_html
from bot.ratelimit import SlidingWindow
from bot.text import clean_line, has_lone_surrogate
from bot.web.pages import DEPS, MAX_BODY, read_body
from rooms.network import NetworkRooms

log = logging.getLogger(__name__)
SEND_TIMEOUT = 15  # seconds: the homeserver retries itself; a web client will not wait longer
BUSY_RETRY = 5  # seconds a retry should wait while the same key's post is under way

MAX_TITLE = 200
MAX_TEXT = 8000
MAX_LINK = 2000
_BAD_URL_CHARS = re.compile(r"[\s\x00-\x1f\x7f<>\"]")
FIELDS = ("text", "title", "html", "link")
# an unfinished post older than this was abandoned (the process died): a retry takes its
# idempotency key over; per room a send may take SEND_TIMEOUT
IN_FLIGHT_MARGIN = 60


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

    def give_back(self, hook: Hook) -> None:
        """Undo the last `hit`: the request sent nothing after all (a retry)."""
        window = self.windows.get(hook.name)
        if window is not None:
            window.release(hook.name)


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


def _check_surrogates(obj: dict[str, Any]) -> None:
    for key, value in obj.items():
        if has_lone_surrogate(value) or has_lone_surrogate(key):
            where = key if key in FIELDS and not has_lone_surrogate(key) else "the body"
            raise BadPayload(f"{where} contains a lone surrogate (an unpaired \\ud800-\\udfff "
                             "escape)")


def _link(link: str) -> str:
    """A checked http(s) link, or `BadPayload` naming what is wrong with it."""
    link = link.strip()
    if not link.isprintable():
        raise BadPayload("link contains a control or invisible character")
    if _BAD_URL_CHARS.search(link):
        raise BadPayload("link must be an http:// or https:// URL")
    try:
        parts = urlsplit(link)
    except ValueError:  # an unclosed "[", a host invalid under NFKC normalisation, …
        raise BadPayload("link has a malformed host") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise BadPayload("link must be an http:// or https:// URL")
    if "[" in parts.netloc or "]" in parts.netloc:
        try:
            ipaddress.IPv6Address(parts.hostname)
        except ValueError:
            raise BadPayload("link has a malformed host") from None
    try:
        parts.port  # noqa: B018 - urlsplit checks the port only when it is read
    except ValueError:
        raise BadPayload("link has an invalid port (it must be a number from 0 to 65535)"
                         ) from None
    if len(link) > MAX_LINK:
        raise BadPayload(f"link is longer than {MAX_LINK} characters")
    return link


def parse_payload(raw: bytes) -> Payload:
    """The payload of a hook's body, or `BadPayload` naming the problem — never any other
    exception, whatever the bytes (see the property-based test)."""
    try:
        obj = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise BadPayload("the body is not JSON") from None
    if not isinstance(obj, dict):
        raise BadPayload("the body must be a JSON object")
    _check_surrogates(obj)
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
        title = clean_line(title) or None
        if title is not None and len(title) > MAX_TITLE:
            raise BadPayload(f"title is longer than {MAX_TITLE} characters")
    html = _optional_string(obj, "html")
    link = _optional_string(obj, "link")
    if link is not None:
        link = _link(link)
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
        key = deliveries.parse_key(request.headers.getall(deliveries.KEY_HEADER, []))
    except (BadPayload, deliveries.BadKey) as e:
        return _error(400, e.reason)
    if key is not None:
        in_flight = timedelta(seconds=SEND_TIMEOUT * len(hook.rooms) + IN_FLIGHT_MARGIN)
        claim = await deliveries.claim(deps.db, hook.name, key, deps.clock(), in_flight)
        if not isinstance(claim, deliveries.Claimed):
            webhooks.limits.give_back(hook)  # a retry answered from its key sends nothing
        if isinstance(claim, deliveries.Replay):
            log.info("hook %s: a retried post, posted before; nothing sent", hook.name)
            return web.json_response({"posted": list(claim.posted)}, status=200,
                                     headers={"Idempotent-Replayed": "true"})
        if isinstance(claim, deliveries.Busy):
            return _error(409, f"a post with this {deliveries.KEY_HEADER} is under way; "
                               "retry in a moment", {"Retry-After": str(BUSY_RETRY)})
    posted: list[str] = []
    try:
        room_ids = await _room_ids(deps, hook)
        if not room_ids:
            return _error(503, "no room to post in")
        await _post(deps, hook, payload, room_ids, posted)
        if not posted:
            return _error(502, "could not post into any room")
        return web.json_response({"posted": posted}, status=202)
    finally:  # also when cancelled: a claimed key must not stay claimed by nobody
        if key is not None:
            await _settle(deps, hook, key, posted)


async def _settle(deps: Deps, hook: Hook, key: str, posted: list[str]) -> None:
    """Record where the claimed key's post went, or release the key if it went nowhere."""
    try:
        if posted:
            await deliveries.record(deps.db, hook.name, key, posted)
        else:
            await deliveries.release(deps.db, hook.name, key)
    except Exception:  # noqa: BLE001 - logged; the key is taken over once it looks abandoned
        log.exception("hook %s: could not record the post of an idempotency key", hook.name)


async def _post(deps: Deps, hook: Hook, payload: Payload, room_ids: list[str],
                posted: list[str]) -> None:
    """Send the notice into each room, adding each room it reached to `posted` at once (so
    that what was sent is known even if the request is cancelled halfway)."""
    body, html = render(payload)
    for room_id in room_ids:
        txn = f"sbcc.hook.{hook.name}.{uuid.uuid4()}"
        try:
            async with asyncio.timeout(SEND_TIMEOUT):
                await deps.gateway.send(Outgoing(room_id, body, html, txn_id=txn))
        except Exception:
            log.exception("hook %s: could not post into %s", hook.name, room_id)
            continue
        posted.append(room_id)
    if posted:
        log.info("hook %s: posted %d characters into %s", hook.name, len(body),
                 ", ".join(posted))


def routes(config: HooksConfig) -> RouteSetup:
    """The route of the hooks in `config`, each with its own rate limit."""

    def setup(app: web.Application) -> None:
        deps = app[DEPS]
        app[WEBHOOKS] = Webhooks(config, HookLimits(lambda: deps.clock().timestamp()))
        app.router.add_post("/hooks/{name}", receive)

    return setup
