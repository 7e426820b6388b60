"""The advice form for organisations outside the network: `GET /advice` (the form),
`POST /advice` (a form post or JSON) and `GET /advice/{ref}?t=<secret>` (the private status
page: the request's state, the conversation — the advisors' answers and the requester's
replies — and forms to reply, `POST /advice/{ref}/reply?t=<secret>`, and to rate the help,
`POST /advice/{ref}/rate?t=<secret>`). Small, accessible HTML that works without
JavaScript.

Abuse protection:
- Form posts need a CSRF token (double submit): a signed token (HMAC-SHA256 with the
  process secret over a random nonce and the issue time, valid two hours) both in a hidden
  field and in a SameSite=Strict, HttpOnly cookie; the two must match.
- JSON posts need no token: a browser cannot send `Content-Type: application/json` to
  another site without a CORS preflight, and we never answer one (no OPTIONS route, no
  Access-Control-Allow-* headers). That is why only exactly `application/json` counts as
  JSON; `text/plain` bodies (which a cross-site form can send) are refused.
- A honeypot field (`website`), hidden from people and screen readers: when filled, the
  answer looks like success but nothing is stored or posted.
- A sliding-window rate limit per client (`web.advice_rate`), in memory: an IPv4 address
  as it is, an IPv6 address by its /64 (a host usually holds a whole /64 and could rotate
  through it), an IPv4-mapped IPv6 address as the IPv4 address. Only accepted submissions
  (including honeypot ones) use up the allowance, so a person who corrects a mistake in
  the form is not locked out. Behind a reverse proxy every client shares the proxy's
  address: size the rate accordingly (forwarded headers are not trusted, anyone can send
  them).
- A global cap besides (`web.advice_rate_total`): accepted requests from everyone
  together, so that many addresses cannot flood the advisory room either. Honeypot
  submissions do not count here (they store and post nothing).
- The status link is built from `web.public_url` only, never from the request's `Host`
  header (which the client chooses); without a public_url it is relative
  (`/advice/<ref>?t=…`).
- JSON with a lone surrogate (an unpaired `\\ud800` escape), a form token or cookie that
  is not ASCII, a reference that cannot be one: refused like any other bad input, never
  passed on to the database.
- Bodies over `MAX_BODY` (16 KiB) get 413; a reply or rating may be `POST_BODY` (64 KiB),
  what 4000 characters of any script take when a browser URL-encodes them.

The status page's posts (a reply, a rating):
- Only with the status secret (the same 404 for an unknown reference and a wrong secret)
  and a CSRF token (double submit, as the form; the status page hands out the cookie).
- Rate limits, in memory, counting accepted posts only: `REF_RATE` per request (whoever
  holds its link) and `CLIENT_RATE` per client address (keyed like the form's).
- A refused post shows the status page again (400, 403, 413 or 429) with the message next
  to its field and what was typed kept; an accepted one redirects (303) to the status page.
- The secret travels in the URL only: every answer carries `PRIVATE_HEADERS`, and neither
  the secret nor what was written is logged.
- A reply is committed first, then handed to `AdviceSite.deliver` (the feature's
  delivery into the case room); when that fails now, a retry job delivers it later.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
import logging
import math
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode

from aiohttp import web
from babel.dates import format_skeleton
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.dates import date_locale
from bot.db.models import AdviceMessage, AdvisoryRequest, Member
from bot.errors import UserError
from bot.feature import RouteSetup
from bot.features.advice.config import AdviceConfig
from bot.features.advice.messages import REQUEST_STATES, SECTORS
from bot.features.advice.requester import (
    COMMENT_MAX,
    COMMENT_TOO_LONG,
    RATEABLE,
    REPLY_MAX,
    STARS,
    RequesterService,
)
from bot.features.advice.service import (
    QUESTION_MAX,
    QUESTION_MIN,
    SECRET_BYTES,
    AdviceService,
    InvalidRequest,
    new_ref,
)
from bot.i18n import N_, SUPPORTED_LANGUAGES, BoundTranslator
from bot.ratelimit import Rate, SlidingWindow
from bot.text import has_lone_surrogate
from bot.web.pages import DEPS, MAX_BODY, STATE, locale_of, read_body, render, translator_of

if TYPE_CHECKING:
    from bot.deps import Deps
    from rooms.topology import NetworkConfig

log = logging.getLogger(__name__)

CSRF_FIELD = "csrf"
CSRF_COOKIE = "sbcc_advice_csrf"
CSRF_TTL = 2 * 3600  # seconds a form stays valid
CSRF_REUSE = CSRF_TTL // 2  # a GET hands out the cookie's token again while it is this young
HONEYPOT = "website"
TEXT_FIELDS = ("organisation", "email", "sector", "location", "question")
YES = ("yes", "on", "true", "1")
# Pages that carry a form token or the status secret: never cached, never framed, and the
# secret never leaks to another site through the Referer header.
PRIVATE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
                   "X-Frame-Options": "DENY",
                   "Content-Security-Policy": "frame-ancestors 'none'"}

# The project's babel config extracts only .py files, so every msgid the advice templates
# use is listed here as well (same text, same placeholders) for `pybabel extract` to see;
# tests check that each `_('…')` in the templates appears in this tuple or in the core's
# (`bot.web.pages.TEMPLATE_STRINGS`, for base.html).
TEMPLATE_STRINGS = (
    N_("Ask the network for advice"),
    N_("Is your organisation outside %(network)s? Ask our network of creative clusters a "
       "question: a coordinator reads it and looks for someone who can help."),
    N_("Fields marked “required” must be filled in."),
    N_("(required)"),
    N_("Please correct the following:"),
    N_("Organisation"),
    N_("Contact e-mail"),
    N_("We use it only to answer your request."),
    N_("Sector"),
    N_("Choose a sector"),
    N_("Nearest location of the network"),
    N_("None of these, or not sure"),
    N_("Your question"),
    N_("Between %(min)d and %(max)d characters."),
    N_("I agree that %(network)s stores my request and passes it on to its coordinators, "
       "who may answer me by e-mail."),
    N_("Leave this field empty"),
    N_("Send request"),
    N_("Thank you, your request has arrived"),
    N_("Your reference:"),
    N_("Your private status link:"),
    N_("Keep this link to yourself and save it: anyone who has it can see the status of "
       "your request, and we cannot send it to you again."),
    N_("Ask another question"),
    N_("Your advisory request"),
    N_("Reference:"),
    N_("Organisation:"),
    N_("Location:"),
    N_("Status:"),
    N_("Sent on:"),
    N_("Your e-mail address has been erased: we keep it only for a while after a request is "
       "closed."),
    N_("An advisor of the network will answer you here and by e-mail."),
    N_("Conversation"),
    N_("Answer from %(name)s, %(place)s"),
    N_("Answer from %(name)s"),
    N_("Answer from an advisor of the network"),
    N_("Your reply"),
    N_("Reply"),
    N_("At most %(max)d characters. The advisors of the network read your reply here and "
       "answer you."),
    N_("Your request is closed: a reply opens it again."),
    N_("Send reply"),
    N_("Rate the help you received"),
    N_("Your rating:"),
    N_("You can change your rating: a new one replaces it."),
    N_("How helpful was the answer?"),
    N_("From 1 star (not helpful) to 5 stars (very helpful)."),
    N_("Comment (optional)"),
    N_("At most %(max)d characters."),
    N_("Send rating"),
)

FORBIDDEN_TITLE = N_("This form has expired")
FORBIDDEN_TEXT = N_("For your safety we only accept this form when it was opened on this site "
                    "within the last two hours. Nothing was sent. Please open the form again "
                    "and send your request once more.")
AGAIN = N_("Open the form again")
NOT_FOUND_TITLE = N_("Request not found")
NOT_FOUND_TEXT = N_("We found no request for this link. Please check that you copied the "
                    "whole link.")
TOO_MANY_TITLE = N_("Too many requests")
TOO_LARGE_TITLE = N_("Your request is too large")
TOO_LARGE_TEXT = N_("A request may have at most %(kib)d KiB. Please shorten your question.")
BAD_BODY = N_("The request could not be read: send a JSON object with the fields "
              "organisation, email, sector, location, question and consent.")
BAD_TYPE = N_("Send the request as a form (application/x-www-form-urlencoded) or as JSON "
              "(application/json).")
POST_TOO_LARGE = N_("This is too large to be sent here (at most %(kib)d KiB). Please "
                    "shorten it.")
POST_EXPIRED = N_("For your safety we only accept this when the page was opened on this site "
                  "within the last two hours. Nothing was sent. Please send it once more.")
# what became of a post, for what it uses up of the allowances: refused, a filled-in
# honeypot (looks accepted, stores nothing), stored
NOTHING, TRAPPED, STORED = "nothing", "trapped", "stored"
# the status page's posts: the form each belongs to, and its fields
REPLY, RATE = "reply", "rate"
REPLY_FIELD, RATING_FIELD, COMMENT_FIELD = "reply", "rating", "comment"
DONE = {REPLY: N_("Thank you: your reply has arrived and is passed on to the advisors."),
        RATE: N_("Thank you for your rating.")}
# accepted replies and ratings: per request (whoever holds its link), per client address
REF_RATE = Rate(10, 3600)
CLIENT_RATE = Rate(30, 3600)
# a reply of REPLY_MAX characters of any script, URL-encoded (up to 12 bytes a character)
POST_BODY = 4 * MAX_BODY
DELIVER_TIMEOUT = 15  # seconds the page waits for a reply to reach the case room


@dataclass(frozen=True)
class AdviceSite:
    """What the routes need, handed over by the feature's setup: the service for a session,
    the rate limit per client and the cap for everyone together (the form); the delivery of
    a requester's reply into the case room (`deliver(message_id)`, after the commit), and
    the status page's limits per request and per client."""

    service: Callable[[AsyncSession], AdviceService]
    limiter: SlidingWindow
    total: SlidingWindow
    deliver: Callable[[int], Awaitable[None]]
    per_request: SlidingWindow
    per_client: SlidingWindow


TOTAL = "*"  # the global window's one key


def client_key(remote: str | None) -> str:
    """Whose allowance a request uses: an IPv4 address, the /64 of an IPv6 address (one
    host usually holds a whole /64), an IPv4-mapped IPv6 address as the IPv4 address."""
    text = remote or ""
    try:
        address = ipaddress.ip_address(text.partition("%")[0])  # without an IPv6 zone
    except ValueError:
        return text[:64] or "unknown"  # not an IP address (a unix socket): one client
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(address) >> 64 << 64, 64)))
    return str(address)


SITE = web.AppKey("advice", AdviceSite)


# -- CSRF ------------------------------------------------------------------------------


def _sign(secret: bytes, nonce: str, issued: int) -> str:
    return hmac.new(secret, f"sbcc.advice.csrf|{nonce}|{issued}".encode(),
                    hashlib.sha256).hexdigest()


def make_token(secret: bytes, now: float) -> str:
    nonce, issued = secrets.token_urlsafe(16), int(now)
    return f"{nonce}.{issued}.{_sign(secret, nonce, issued)}"


def token_age(secret: bytes, token: str, now: float) -> float | None:
    """The token's age in seconds if it is ours and still valid, else None."""
    if not token.isascii():
        return None
    nonce, _, rest = token.partition(".")
    issued_text, _, signature = rest.partition(".")
    if not nonce or not issued_text.isdigit() or len(issued_text) > 12:
        return None
    issued = int(issued_text)
    if not hmac.compare_digest(signature, _sign(secret, nonce, issued)):
        return None
    age = now - issued
    return age if -60 <= age <= CSRF_TTL else None


def csrf_ok(request: web.Request, field: str) -> bool:
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not field or not cookie or not field.isascii() or not cookie.isascii():
        return False  # our tokens are ASCII; a header's stray bytes arrive as surrogates
    if not hmac.compare_digest(field.encode(), cookie.encode()):
        return False
    return token_age(request.app[STATE].secret, field, _now(request)) is not None


def _now(request: web.Request) -> float:
    return request.app[DEPS].clock().timestamp()


def _secure(request: web.Request) -> bool:
    public_url = request.app[DEPS].config.web.public_url or ""
    return request.secure or public_url.startswith("https://")


# -- pages -----------------------------------------------------------------------------


def _csrf_token(request: web.Request) -> str:
    """The token a page's form carries: the cookie's while it is young, else a new one."""
    now = _now(request)
    token = request.cookies.get(CSRF_COOKIE, "")
    age = token_age(request.app[STATE].secret, token, now) if token else None
    if age is None or age > CSRF_REUSE:
        token = make_token(request.app[STATE].secret, now)
    return token


def _set_csrf_cookie(request: web.Request, response: web.Response, token: str) -> None:
    response.set_cookie(CSRF_COOKIE, token, max_age=CSRF_TTL, path="/advice", httponly=True,
                        samesite="Strict", secure=_secure(request))


def _form(request: web.Request, status: int = 200, values: Mapping[str, str] | None = None,
          errors: Mapping[str, str] | None = None) -> web.Response:
    network = request.app[DEPS].config.network
    token = _csrf_token(request)
    kept = {name: "" for name in TEXT_FIELDS} | {"consent": ""} | dict(values or {})
    response = render(
        request, "advice_form.html", status=status, values=kept, errors=dict(errors or {}),
        csrf=token, csrf_field=CSRF_FIELD, honeypot=HONEYPOT, sectors=SECTORS,
        locations=[(spec.key, network.place(spec.key)) for spec in network.locations],
        question_min=QUESTION_MIN, question_max=QUESTION_MAX)
    response.headers.update(PRIVATE_HEADERS)
    _set_csrf_cookie(request, response, token)
    return response


def _problem(request: web.Request, status: int, title: str, text: str,
             headers: Mapping[str, str] | None = None) -> web.Response:
    """A short page: what went wrong (already translated) and a link back to the form."""
    tr = translator_of(request)
    response = render(request, "advice_status.html", status=status, advisory=None,
                      problem={"title": title, "text": text, "link": tr(AGAIN)},
                      form_url=f"/advice?lang={tr.locale}")
    response.headers.update(PRIVATE_HEADERS)
    response.headers.update(headers or {})
    return response


def _status_url(request: web.Request, ref: str, secret: str) -> str:
    """The private status link: from `web.public_url` only — the `Host` header is the
    client's to choose, and a link built from it could send the secret elsewhere. Without
    a public_url the link is relative."""
    base = request.app[DEPS].config.web.public_url or ""
    return f"{base}/advice/{ref}?t={secret}"


def _done(request: web.Request, ref: str, secret: str) -> web.Response:
    response = render(request, "advice_done.html", ref=ref,
                      status_url=_status_url(request, ref, secret),
                      form_url=f"/advice?lang={locale_of(request)}")
    response.headers.update(PRIVATE_HEADERS)
    return response


# -- handlers --------------------------------------------------------------------------


async def advice_form(request: web.Request) -> web.Response:
    return _form(request)


def _form_fields(body: bytes) -> tuple[dict[str, str], bool, str, str]:
    """Text fields, consent, CSRF token and honeypot value of a urlencoded body."""
    parsed = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    first = {name: values[0] for name, values in parsed.items()}
    fields = {name: first.get(name, "") for name in TEXT_FIELDS}
    consent = first.get("consent", "").strip().lower() in YES
    return fields, consent, first.get(CSRF_FIELD, ""), first.get(HONEYPOT, "")


def _json_fields(data: dict[str, Any]) -> tuple[dict[str, str], bool, str]:
    fields = {name: data[name] if isinstance(data.get(name), str) else ""
              for name in TEXT_FIELDS}
    if data.get("location") is None:
        fields["location"] = ""
    raw_consent = data.get("consent")
    consent = raw_consent is True or (isinstance(raw_consent, str)
                                      and raw_consent.strip().lower() in YES)
    honeypot = data.get(HONEYPOT)
    return fields, consent, honeypot if isinstance(honeypot, str) else ""


async def advice_submit(request: web.Request) -> web.Response:
    tr = translator_of(request)
    is_json = request.content_type == "application/json"
    is_form = request.content_type == "application/x-www-form-urlencoded"
    if not (is_json or is_form):
        return web.json_response({"errors": {"request": tr(BAD_TYPE)}}, status=415)

    site = request.app[SITE]
    client = client_key(request.remote)
    wait, busy = site.limiter.acquire(client), 0
    if not wait:
        busy = site.total.acquire(TOTAL)
        if busy:
            site.limiter.release(client)
    if wait or busy:
        if wait:
            text = tr.ngettext("Please wait %(num)d minute before you send another request.",
                               "Please wait %(num)d minutes before you send another request.",
                               math.ceil(wait / 60))
        else:  # the cap for everyone: many addresses at once
            text = tr.ngettext(
                "Many requests are arriving right now. Please try again in %(num)d minute.",
                "Many requests are arriving right now. Please try again in %(num)d minutes.",
                math.ceil(busy / 60))
        headers = {"Retry-After": str(wait or busy)}
        if is_json:
            return web.json_response({"errors": {"request": text}}, status=429,
                                     headers=headers)
        return _problem(request, 429, tr(TOO_MANY_TITLE), text, headers)
    outcome = NOTHING
    try:
        response, outcome = await _submit(request, is_json, tr)
        return response
    finally:
        if outcome != STORED:  # a trap filled in stored nothing: not counted for everyone
            site.total.release(TOTAL)
        if outcome == NOTHING:  # refused: the sender may correct it and send it again
            site.limiter.release(client)


async def _submit(request: web.Request, is_json: bool, tr: BoundTranslator
                  ) -> tuple[web.Response, str]:
    """The answer to a post, and what became of it: NOTHING (refused), TRAPPED (the
    honeypot was filled: looks accepted) or STORED."""
    deps, service = request.app[DEPS], request.app[SITE].service
    body = await read_body(request)
    if body is None:
        text = tr(TOO_LARGE_TEXT, kib=MAX_BODY // 1024)
        if is_json:
            return web.json_response({"errors": {"request": text}}, status=413), NOTHING
        return _problem(request, 413, tr(TOO_LARGE_TITLE), text), NOTHING

    language = tr.locale
    if is_json:
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):  # not JSON, or nested beyond reason
            data = None
        if not isinstance(data, dict) or has_lone_surrogate(data):
            return (web.json_response({"errors": {"request": tr(BAD_BODY)}}, status=400),
                    NOTHING)
        fields, consent, honeypot = _json_fields(data)
        if data.get("language") in SUPPORTED_LANGUAGES:
            language = data["language"]
    else:
        fields, consent, token, honeypot = _form_fields(body)
        if not csrf_ok(request, token):
            return _problem(request, 403, tr(FORBIDDEN_TITLE), tr(FORBIDDEN_TEXT)), NOTHING

    if honeypot.strip():
        log.info("advice form: honeypot filled; nothing stored")  # no address: personal data
        ref, secret = new_ref(), secrets.token_urlsafe(SECRET_BYTES)
        return _created(request, is_json, ref, secret), TRAPPED

    try:
        async with deps.db.session() as session:
            advisory, secret = await service(session).create(
                fields["organisation"], fields["email"], fields["sector"],
                fields["location"] or None, fields["question"], language, consent=consent)
            ref = advisory.ref
    except InvalidRequest as invalid:
        errors = {name: tr(error.msgid, **error.params)
                  for name, error in invalid.errors.items()}
        if is_json:
            return web.json_response({"errors": errors}, status=400), NOTHING
        values = {**fields, "consent": "yes" if consent else ""}
        return _form(request, 400, values, errors), NOTHING

    try:  # stored and committed: a failure to post must not cost the sender their link
        async with asyncio.timeout(15), deps.db.session() as session:
            await service(session).post(ref)
    except Exception:  # noqa: BLE001 - logged; the request waits for the advisory workflow
        log.exception("advisory request %s stored but not posted to the advisory room", ref)
    return _created(request, is_json, ref, secret), STORED


def _created(request: web.Request, is_json: bool, ref: str, secret: str) -> web.Response:
    if is_json:
        return web.json_response({"ref": ref, "status_url": _status_url(request, ref, secret)},
                                 status=201, headers={"Cache-Control": "no-store"})
    return _done(request, ref, secret)


def _page_url(ref: str, secret: str, lang: str, done: str | None = None) -> str:
    """The status page (relative), in `lang`; `done` names what was just accepted."""
    query = {"t": secret, "lang": lang} | ({"done": done} if done else {})
    return f"/advice/{ref}?{urlencode(query)}"


def _post_url(ref: str, form: str, secret: str, lang: str) -> str:
    return f"/advice/{ref}/{form}?{urlencode({'t': secret, 'lang': lang})}"


def _date(when: datetime, tr: BoundTranslator) -> str:
    return format_skeleton("yMMMd", when, tzinfo=UTC, locale=date_locale(tr.locale))


def _stars(tr: BoundTranslator, stars: int) -> str:
    return tr.ngettext("%(num)d star", "%(num)d stars", stars)


async def _conversation(session: AsyncSession, advisory: AdvisoryRequest, deps: Deps,
                        tr: BoundTranslator) -> list[dict[str, Any]]:
    """The answers and replies as the requester sees them: an answer names its advisor by
    display name and place, never by Matrix ID."""
    messages = await RequesterService(session, deps.clock).conversation(advisory)
    authors = {m.author for m in messages if m.direction != "in" and m.author}
    members: dict[str, Member] = {}
    if authors:
        members = {member.mxid: member for member in (await session.scalars(
            select(Member).where(Member.mxid.in_(authors)))).all()}
    return [_message(message, members.get(message.author or ""), deps.config.network, tr)
            for message in messages]


def _message(message: AdviceMessage, member: Member | None, network: NetworkConfig,
             tr: BoundTranslator) -> dict[str, Any]:
    name = place = ""
    if member is not None:
        name = member.display_name or ""
        if name == member.mxid:  # a name taken over from the Matrix ID: shown as none
            name = ""
        place = network.place(member.location) if member.location else ""
    return {"mine": message.direction == "in", "text": message.text, "name": name,
            "place": place, "date": _date(message.created_at, tr),
            "iso": message.created_at.astimezone(UTC).date().isoformat()}


async def _status_page(request: web.Request, status: int = 200,
                       errors: Mapping[str, str] | None = None,
                       values: Mapping[str, str] | None = None,
                       headers: Mapping[str, str] | None = None) -> web.Response:
    """The status page (or the same 404 for an unknown reference and a wrong secret); after
    a refused post, with `errors` next to their fields and the posted `values` kept."""
    deps, site = request.app[DEPS], request.app[SITE]
    tr = translator_of(request)
    secret = request.query.get("t", "")
    async with deps.db.session() as session:
        found = await site.service(session).find(request.match_info["ref"], secret)
        if found is None:
            return _problem(request, 404, tr(NOT_FOUND_TITLE), tr(NOT_FOUND_TEXT))
        conversation = await _conversation(session, found, deps, tr)
    erased = found.email is None
    advisory = {
        "ref": found.ref, "organisation": found.organisation,
        "location": deps.config.network.place(found.location),
        "status": REQUEST_STATES.get(found.status, REQUEST_STATES["new"]),
        "closed": found.status == "closed",
        "waiting": found.status not in RATEABLE,  # no answer yet
        "email_erased": erased,
        "created": _date(found.created_at, tr),
        "conversation": conversation,
        "can_reply": not erased,
        "can_rate": not erased and found.status in RATEABLE,
        "rating": _stars(tr, found.rating) if found.rating else None,
        "rating_comment": found.rating_comment or "",
        "reply_url": _post_url(found.ref, REPLY, secret, tr.locale),
        "rate_url": _post_url(found.ref, RATE, secret, tr.locale)}
    kept = {REPLY_FIELD: "", RATING_FIELD: str(found.rating or ""),
            COMMENT_FIELD: found.rating_comment or ""} | dict(values or {})
    done = DONE.get(request.query.get("done", "")) if request.method == "GET" else None
    # After a post the page is the status page's: its language links lead there (with the
    # secret, as the page's forms do), not to the post's address.
    shown = request if request.method == "GET" else request.clone(
        method="GET", rel_url=_page_url(found.ref, secret, tr.locale))
    token = _csrf_token(request)
    response = render(  # rendered as 200 so that the language links keep the secret
        shown, "advice_status.html", problem=None, advisory=advisory,
        errors=dict(errors or {}), values=kept, done=tr(done) if done else None,
        csrf=token, csrf_field=CSRF_FIELD, stars=[(n, _stars(tr, n)) for n in STARS],
        reply_max=REPLY_MAX, comment_max=COMMENT_MAX, form_url=f"/advice?lang={tr.locale}")
    response.set_status(status)
    response.headers.update(PRIVATE_HEADERS)
    response.headers.update(headers or {})
    _set_csrf_cookie(request, response, token)
    return response


async def advice_status(request: web.Request) -> web.Response:
    return await _status_page(request)


async def advice_reply(request: web.Request) -> web.Response:
    return await _post(request, REPLY)


async def advice_rate(request: web.Request) -> web.Response:
    return await _post(request, RATE)


def _post_values(body: bytes, form: str) -> tuple[dict[str, str], str]:
    """The fields a status page's form sent, and its CSRF token."""
    parsed = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    first = {name: values[0] for name, values in parsed.items()}
    names = (REPLY_FIELD,) if form == REPLY else (RATING_FIELD, COMMENT_FIELD)
    return {name: first.get(name, "") for name in names}, first.get(CSRF_FIELD, "")


def _star_count(raw: str) -> int:
    """The stars chosen, 0 for anything that is not a small number (refused as such)."""
    raw = raw.strip()
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 2 else 0


async def _post(request: web.Request, form: str) -> web.Response:
    """A reply or a rating from the status page: 303 back to it when accepted, else the
    page again with the message next to the field."""
    deps, site = request.app[DEPS], request.app[SITE]
    tr = translator_of(request)
    secret = request.query.get("t", "")
    field = REPLY_FIELD if form == REPLY else RATING_FIELD
    async with deps.db.session() as session:
        found = await site.service(session).find(request.match_info["ref"], secret)
        ref = found.ref if found is not None else ""
    if not ref:  # the same answer for an unknown reference and a wrong secret
        return _problem(request, 404, tr(NOT_FOUND_TITLE), tr(NOT_FOUND_TEXT))

    body = await read_body(request, POST_BODY)
    if body is None:
        return await _status_page(request, 413, {field: tr(POST_TOO_LARGE,
                                                           kib=POST_BODY // 1024)})
    values, token = _post_values(body, form)
    if not csrf_ok(request, token):
        return await _status_page(request, 403, {field: tr(POST_EXPIRED)}, values)

    client = client_key(request.remote)
    wait = site.per_client.acquire(client)
    if not wait:
        wait = site.per_request.acquire(ref)
        if wait:
            site.per_client.release(client)
    if wait:
        text = tr.ngettext("Please wait %(num)d minute before you send something here again.",
                           "Please wait %(num)d minutes before you send something here again.",
                           math.ceil(wait / 60))
        return await _status_page(request, 429, {field: text}, values,
                                  {"Retry-After": str(wait)})

    accepted, message_id = False, None
    try:
        async with deps.db.session() as session:
            found = await site.service(session).find(ref, secret)
            if found is not None:
                requester = RequesterService(session, deps.clock)
                if form == REPLY:
                    message_id = (await requester.reply(found, values[REPLY_FIELD])).id
                else:
                    await requester.rate(found, _star_count(values[RATING_FIELD]),
                                         values[COMMENT_FIELD])
                accepted = True
    except UserError as error:
        wrong = COMMENT_FIELD if error.msgid == COMMENT_TOO_LONG else field
        return await _status_page(request, 400, {wrong: tr(error.msgid, **error.params)},
                                  values)
    finally:
        if not accepted:  # refused: it may be corrected and sent again
            site.per_request.release(ref)
            site.per_client.release(client)
    if not accepted:  # gone in between
        return _problem(request, 404, tr(NOT_FOUND_TITLE), tr(NOT_FOUND_TEXT))

    if message_id is not None:
        try:  # committed: a failure to deliver now must not fail the page
            async with asyncio.timeout(DELIVER_TIMEOUT):
                await site.deliver(message_id)
        except Exception:  # noqa: BLE001 - logged; the retry job delivers it later
            log.exception("advisory request %s: reply %d stored but not delivered yet",
                          ref, message_id)
    location = _page_url(ref, secret, tr.locale, form)
    return web.Response(status=303, headers={"Location": location, **PRIVATE_HEADERS})


def routes(config: AdviceConfig, service: Callable[[AsyncSession], AdviceService],
           deliver: Callable[[int], Awaitable[None]]) -> RouteSetup:
    """The form's and the status page's routes; `service(session)` is the feature's
    AdviceService, and the form allows `config.rate` accepted requests per client and
    `config.rate_total` from everyone together. `deliver(message_id)` hands a requester's
    reply (committed) to the case room."""

    def setup(app: web.Application) -> None:
        deps = app[DEPS]
        clock = lambda: deps.clock().timestamp()  # noqa: E731
        app[SITE] = AdviceSite(service, SlidingWindow(config.rate, clock),
                               SlidingWindow(config.rate_total, clock), deliver,
                               SlidingWindow(REF_RATE, clock), SlidingWindow(CLIENT_RATE, clock))
        app.router.add_get("/advice", advice_form)
        app.router.add_post("/advice", advice_submit)
        app.router.add_get("/advice/{ref}", advice_status)
        app.router.add_post("/advice/{ref}/reply", advice_reply)
        app.router.add_post("/advice/{ref}/rate", advice_rate)

    return setup
