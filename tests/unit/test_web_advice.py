"""The advice form: CSRF, honeypot, validation per field, JSON, rate limit, body size, the
private status page, languages; the request stored (secret only hashed) and posted into the
advisory room with the question escaped. Runs on SQLite and PostgreSQL (the `db` fixture)."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import html
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.app import parse_config, wire
from bot.db import Database
from bot.db.models import AdvisoryRequest
from bot.deps import Deps
from bot.errors import ConfigError
from bot.features.advice import service as advice_service
from bot.features.advice import web as advice
from bot.features.advice.config import AdviceConfig
from bot.features.advice.messages import REQUEST_STATES
from bot.features.advice.service import AdviceService
from bot.i18n import Translator
from bot.ratelimit import Rate
from bot.web import pages
from bot.web.pages import DEPS, MAX_BODY
from rooms.provisioning import Provisioner
from rooms.settings import RoomSettingsService
from tests.conftest import Clock, base_config, network, room_id, web_app
from tests.fakes import FakeGateway

NETWORK = network("szczecin", "rostock", advisory="en", name="Test Clusters")
ADVISORY = room_id("advisory")
REF_RE = re.compile(r"ADV-[23456789ABCDEFGHJKLMNPQRSTUVWXYZ]{6}")
LINK_RE = re.compile(r'href="((?:https://bot\.example\.org)?/advice/(ADV-[A-Z0-9]{6})\?t=([A-Za-z0-9_-]+))"')
TOKEN_RE = re.compile(r'name="csrf" value="([^"]+)"')
ROOM_PING = re.compile(r"@room\b", re.IGNORECASE)  # what the legacy push rule matches
VALID = {"organisation": "Studio Nord", "email": "anna@example.org", "sector": "games",
         "location": "rostock", "question": "How do we find a partner for a game jam?",
         "consent": "yes"}
TEMPLATES_DIR = Path(advice.__file__).parent / "templates"


def make_app(deps: Deps, deliver: Callable[[int], Awaitable[None]] | None = None
             ) -> web.Application:
    """The HTTP side as the App builds it; the middleware lets a test pick the client
    address, and `deliver` (a recording function, say) takes the place of the feature's
    delivery of a requester's reply."""

    @web.middleware
    async def remote_from_header(request: web.Request,
                                 handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                                 ) -> web.StreamResponse:
        remote = request.headers.get("X-Test-Remote")
        return await handler(request.clone(remote=remote) if remote else request)

    app = web_app(deps, middlewares=(remote_from_header,))
    if deliver is not None:
        app[advice.SITE] = dataclasses.replace(app[advice.SITE], deliver=deliver)
    return app


@pytest.fixture
async def deps(make_deps) -> Deps:  # noqa: ANN001
    return await make_deps(network=NETWORK, web={"advice_rate": "3/hour"})


@pytest.fixture
async def client(deps: Deps) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(make_app(deps))) as test_client:
        yield test_client


async def form_token(client: TestClient, path: str = "/advice") -> str:
    response = await client.get(path)
    assert response.status == 200
    found = TOKEN_RE.search(await response.text())
    assert found
    return found[1]


async def post_form(client: TestClient, fields: dict[str, str] | None = None,
                    token: str | None = None, **kwargs: object):  # noqa: ANN201
    data = dict(VALID if fields is None else fields)
    data["csrf"] = token if token is not None else await form_token(client)
    return await client.post("/advice", data=data, **kwargs)


async def stored(db: Database) -> list[AdvisoryRequest]:
    async with db.session() as session:
        return list((await session.scalars(
            select(AdvisoryRequest).order_by(AdvisoryRequest.id))).all())


def english(translator: Translator, msgid: str, **params: object) -> str:
    return html.escape(translator.gettext(msgid, "en", **params))


async def test_the_app_factory_serves_the_advice_routes(deps: Deps) -> None:
    async with TestClient(TestServer(web_app(deps))) as client:
        assert (await post_form(client)).status == 200


# -- the form --------------------------------------------------------------------------


async def test_form_has_csrf_field_and_cookie_honeypot_and_labels(client: TestClient) -> None:
    response = await client.get("/advice")
    assert response.status == 200
    page = await response.text()
    assert '<html lang="en">' in page
    token = TOKEN_RE.search(page)
    assert token
    cookie = response.cookies["sbcc_advice_csrf"]
    assert cookie.value == token[1]
    assert cookie["httponly"] and cookie["samesite"] == "Strict"
    assert cookie["path"] == "/advice"
    assert response.headers["Cache-Control"] == "no-store"
    assert re.search(r'<div class="hp" aria-hidden="true">\s*<label for="website">', page)
    assert re.search(r'<input id="website" name="website" type="text" tabindex="-1" '
                     r'autocomplete="off" value="">', page)
    for name in ("organisation", "email", "sector", "location", "question", "consent"):
        assert f'<label for="{name}"' in page
        assert f'id="{name}" name="{name}"' in page
    assert 'autocomplete="organization"' in page and 'autocomplete="email"' in page
    assert page.count("(required)") == 5  # organisation, e-mail, sector, question, consent
    assert '<option value="rostock">Rostock (DE)</option>' in page
    assert '<option value="heritage">Museums and heritage</option>' in page
    assert 'action="/advice?lang=en"' in page and "novalidate" in page


async def test_form_reuses_a_young_token_so_two_tabs_both_work(client: TestClient,
                                                               clock: Clock) -> None:
    first = await form_token(client)
    assert await form_token(client) == first
    clock.now += timedelta(hours=1, seconds=1)
    assert await form_token(client) != first


# -- posting the form ------------------------------------------------------------------


async def test_valid_form_is_stored_posted_and_answered_with_reference_and_link(
        client: TestClient, db: Database, gateway: FakeGateway) -> None:
    question = "Can we <script>alert(1)</script> & test?\nSecond line."
    response = await post_form(client, {**VALID, "question": question})
    assert response.status == 200
    page = await response.text()
    link = LINK_RE.search(page)
    assert link, page
    url, ref, secret = link.groups()
    assert REF_RE.fullmatch(ref) and f"<strong>{ref}</strong>" in page
    assert url == f"/advice/{ref}?t={secret}"  # no public_url: relative, never from Host
    assert "anyone who has it can see the status" in page
    assert response.headers["Referrer-Policy"] == "no-referrer"

    [row] = await stored(db)
    assert row.ref == ref and row.status == "new"
    assert row.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert all(secret not in str(getattr(row, column.key))
               for column in AdvisoryRequest.__table__.columns)
    assert (row.organisation, row.email, row.sector, row.location, row.language) == (
        "Studio Nord", "anna@example.org", "games", "rostock", "en")
    assert row.question == question
    assert (row.room_id, row.event_id) == (ADVISORY, "$sent1")

    notice, eyes = gateway.sent  # the notice, and 👀 offered on it to claim it
    assert (eyes.msgtype, eyes.body, eyes.reply_to) == ("m.reaction", "👀", "$sent1")
    assert notice.room_id == ADVISORY and notice.msgtype == "m.notice"
    assert notice.txn_id == f"sbcc.advice.{ref}"
    assert "<script>" not in (notice.html or "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; test?<br>Second line." in notice.html
    assert question in notice.body
    for text in (ref, "Studio Nord", "Games", "Rostock (DE)", "State: new"):
        assert text in notice.body and text in notice.html
    assert "anna@example.org" not in notice.body + (notice.html or "")  # kept by the bot


async def test_status_link_uses_public_url_and_cookie_is_secure_there(make_deps) -> None:  # noqa: ANN001
    deps = await make_deps(network=NETWORK, web={"public_url": "https://sbcc.example.org/"})
    async with TestClient(TestServer(make_app(deps))) as client:
        form = await client.get("/advice")
        assert form.cookies["sbcc_advice_csrf"]["secure"]  # the public side is https
        answer = await (await client.post("/advice", json={**VALID, "consent": True})).json()
    assert re.fullmatch(r"https://sbcc\.example\.org/advice/ADV-\w{6}\?t=[\w-]+",
                        answer["status_url"])


async def test_notice_speaks_the_advisory_rooms_language(client: TestClient, db: Database,
                                                         gateway: FakeGateway) -> None:
    async with db.session() as session:
        await RoomSettingsService(session).set(ADVISORY, language="de")
    assert (await post_form(client)).status == 200
    assert "Standort: Rostock (DE)" in gateway.sent[0].body


async def test_notice_speaks_the_language_the_advisory_room_is_configured_with(
        db: Database, gateway: FakeGateway, translator: Translator, clock: Clock) -> None:
    raw = base_config(network=network("szczecin", "rostock", advisory="de"))
    deps = Deps(config=parse_config(raw, environ={}), db=db, gateway=gateway,
                translator=translator, clock=clock)
    await Provisioner(deps).run()  # records the configured language as the room's
    async with TestClient(TestServer(make_app(deps))) as client:
        assert (await post_form(client)).status == 200
    [notice] = [m for m in gateway.sent if "ADV-" in m.body]
    assert "Standort: Rostock (DE)" in notice.body


async def test_a_room_without_a_language_gets_the_notice_in_the_default(
        make_deps, gateway: FakeGateway) -> None:  # noqa: ANN001
    deps = await make_deps(network=network("szczecin", "rostock", advisory=""),
                           default_language="pl")
    async with TestClient(TestServer(make_app(deps))) as client:
        assert (await post_form(client)).status == 200
    assert "Lokalizacja: Rostock (DE)" in gateway.sent[0].body


@pytest.mark.parametrize("case", ["no field", "no cookie", "different", "forged", "expired"])
async def test_form_without_a_valid_csrf_token_is_refused(
        case: str, client: TestClient, db: Database, gateway: FakeGateway, clock: Clock) -> None:
    token = await form_token(client)
    if case == "no field":
        token = ""
    elif case == "no cookie":
        client.session.cookie_jar.clear()
    elif case == "different":
        other = TestClient(TestServer(make_app(client.app[DEPS])))
        async with other:
            token = await form_token(other)  # a valid token of another process
    elif case == "forged":
        nonce, issued, signature = token.split(".")
        token = f"{nonce}.{issued}.{'0' * len(signature)}"
        client.session.cookie_jar.update_cookies({"sbcc_advice_csrf": token})
    elif case == "expired":
        clock.now += timedelta(hours=2, seconds=1)
    response = await post_form(client, token=token)
    assert response.status == 403
    page = await response.text()
    assert "This form has expired" in page and "Nothing was sent" in page
    assert 'href="/advice?lang=en"' in page
    assert await stored(db) == [] and gateway.sent == []


INVALID = [
    ("organisation", "", "Please give the name of your organisation.", {}),
    ("organisation", "A", "The name of your organisation needs between %(min)d and %(max)d "
     "characters.", {"min": 2, "max": 200}),
    ("organisation", "x" * 201, "The name of your organisation needs between %(min)d and "
     "%(max)d characters.", {"min": 2, "max": 200}),
    ("email", "", "Please give an e-mail address where we can answer you.", {}),
    ("email", "anna at example.org", "This does not look like an e-mail address, for example "
     "name@example.org.", {}),
    ("email", "a" * 250 + "@x.org", "An e-mail address has at most %(max)d characters.",
     {"max": 254}),
    ("sector", "astrology", "Please choose the sector that fits your organisation best (or "
     "“Other”).", {}),
    ("location", "atlantis", "Please choose one of the listed locations, or none.", {}),
    ("question", "  ", "Please write your question.", {}),
    ("question", "Help?", "Your question has %(length)d characters; please write between "
     "%(min)d and %(max)d.", {"length": 5, "min": 10, "max": 4000}),
    ("consent", "", "Please agree that we store your request and pass it on to our "
     "coordinators.", {}),
]


@pytest.mark.parametrize(("field", "value", "msgid", "params"), INVALID,
                         ids=[f"{case[0]}-{i}" for i, case in enumerate(INVALID)])
async def test_invalid_field_is_shown_next_to_it_and_other_values_are_kept(
        field: str, value: str, msgid: str, params: dict, client: TestClient, db: Database,
        gateway: FakeGateway, translator: Translator) -> None:
    fields = {**VALID, "organisation": 'Studio <b>"Nord"</b> & Co',
              "question": "Where is <i>the</i> partner & how\ndo we meet?", field: value}
    if field == "consent":
        del fields["consent"]
    response = await post_form(client, fields)
    assert response.status == 400
    page = await response.text()
    message = english(translator, msgid, **params)
    assert f'<p id="{field}-error" class="error">{message}</p>' in page
    assert f'<li><a href="#{field}">{message}</a></li>' in page
    assert 'role="alert"' in page and page.count('class="error">') == 1
    assert re.search(rf'id="{field}" name="{field}"[^>]*aria-describedby="[^"]*{field}-error"'
                     r'[^>]*aria-invalid="true"', page)
    if field != "organisation":
        assert 'value="Studio &lt;b&gt;&#34;Nord&#34;&lt;/b&gt; &amp; Co"' in page
        assert "<b>" not in page
    if field != "question":
        assert ">Where is &lt;i&gt;the&lt;/i&gt; partner &amp; how\ndo we meet?</textarea>" in page
    if field != "sector":
        assert '<option value="games" selected>' in page
    if field != "location":
        assert '<option value="rostock" selected>' in page
    if field != "consent":
        assert re.search(r'id="consent" name="consent" type="checkbox" value="yes" required '
                         r'checked', page)
    assert TOKEN_RE.search(page)  # the corrected form can be sent again
    assert await stored(db) == [] and gateway.sent == []


async def test_corrected_form_goes_through(client: TestClient, db: Database) -> None:
    first = await post_form(client, {**VALID, "question": "Help?"})
    assert first.status == 400
    token = TOKEN_RE.search(await first.text())
    assert token
    assert (await post_form(client, token=token[1])).status == 200
    assert len(await stored(db)) == 1


async def test_filled_honeypot_looks_successful_but_stores_and_posts_nothing(
        client: TestClient, db: Database, gateway: FakeGateway) -> None:
    response = await post_form(client, {**VALID, "website": "https://spam.example"})
    assert response.status == 200
    page = await response.text()
    link = LINK_RE.search(page)
    assert link and "Thank you, your request has arrived" in page
    assert await stored(db) == [] and gateway.sent == []
    assert (await client.get(urlsplit(link[1]).path + "?" + urlsplit(link[1]).query)
            ).status == 404


# -- JSON ------------------------------------------------------------------------------


async def test_json_request_needs_no_csrf_and_answers_201(client: TestClient, db: Database,
                                                         gateway: FakeGateway) -> None:
    body = {**VALID, "consent": True, "location": None, "language": "de"}
    response = await client.post("/advice", json=body)
    assert response.status == 201
    answer = await response.json()
    assert REF_RE.fullmatch(answer["ref"])
    url = urlsplit(answer["status_url"])
    assert url.path == f"/advice/{answer['ref']}"
    [row] = await stored(db)
    assert (row.ref, row.location, row.language) == (answer["ref"], None, "de")
    assert [m.msgtype for m in gateway.sent] == ["m.notice", "m.reaction"]  # and 👀 on it
    assert (await client.get(f"{url.path}?{url.query}")).status == 200


async def test_json_errors_are_400_with_a_message_per_field(
        client: TestClient, db: Database, translator: Translator) -> None:
    response = await client.post("/advice", json={"organisation": "Studio Nord",
                                                  "email": "nope", "sector": "games",
                                                  "question": 42})
    assert response.status == 400
    errors = (await response.json())["errors"]
    assert set(errors) == {"email", "question", "consent"}
    assert errors["question"] == translator.gettext("Please write your question.", "en")
    for body in ("[1, 2]", "{not json"):
        bad = await client.post("/advice", data=body,
                                headers={"Content-Type": "application/json"})
        assert bad.status == 400 and set((await bad.json())["errors"]) == {"request"}
    plain = await client.post("/advice", data='{"organisation": "x"}',
                              headers={"Content-Type": "text/plain"})
    assert plain.status == 415
    assert await stored(db) == []


# -- limits ----------------------------------------------------------------------------


async def test_rate_limit_per_client_address(client: TestClient, db: Database,
                                             clock: Clock) -> None:
    ana = {"X-Test-Remote": "203.0.113.7"}
    assert (await post_form(client, {**VALID, "question": "Help?"}, headers=ana)).status == 400
    for _ in range(3):  # web.advice_rate 3/hour; the invalid one above did not count
        assert (await post_form(client, headers=ana)).status == 200
    refused = await post_form(client, headers=ana)
    assert refused.status == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    assert "Please wait 60 minutes" in await refused.text()
    as_json = await client.post("/advice", json={**VALID, "consent": True}, headers=ana)
    assert as_json.status == 429 and "request" in (await as_json.json())["errors"]
    assert as_json.headers["Retry-After"]
    other = await post_form(client, headers={"X-Test-Remote": "198.51.100.2"})
    assert other.status == 200
    assert len(await stored(db)) == 4
    clock.now += timedelta(hours=1, seconds=1)
    assert (await post_form(client, headers=ana)).status == 200


async def test_body_over_16_kib_is_413(client: TestClient, db: Database) -> None:
    big = {**VALID, "question": "x" * (MAX_BODY + 1)}
    assert (await post_form(client, big)).status == 413
    as_json = await client.post("/advice", json={**big, "consent": True})
    assert as_json.status == 413 and "request" in (await as_json.json())["errors"]
    assert await stored(db) == []


# -- the status page -------------------------------------------------------------------


async def test_status_page_with_the_right_secret_only(client: TestClient) -> None:
    link = LINK_RE.search(await (await post_form(client)).text())
    assert link
    url, ref, secret = link.groups()
    ok = await client.get(f"/advice/{ref}?t={secret}")
    assert ok.status == 200
    page = await ok.text()
    for text in (ref, "Studio Nord", "Rostock (DE)", "Received — waiting for an advisor",
                 "27 Nov 2026"):
        assert text in page
    assert ok.headers["Referrer-Policy"] == "no-referrer"
    wrong_secret = await client.get(f"/advice/{ref}?t={secret[:-2]}xx")
    wrong_ref = await client.get(f"/advice/ADV-ZZZZZZ?t={secret}")
    no_secret = await client.get(f"/advice/{ref}")
    assert wrong_secret.status == wrong_ref.status == no_secret.status == 404
    # the same page (but for the path in the language links): nothing tells which was wrong
    assert (await wrong_secret.text()).replace(ref, "ADV-ZZZZZZ") == await wrong_ref.text()
    assert "Request not found" in await wrong_ref.text()


@pytest.mark.parametrize(("state", "shown"), [*REQUEST_STATES.items(),
                                              ("unknown", REQUEST_STATES["new"])])
async def test_status_page_names_the_requests_state(client: TestClient, db: Database,
                                                    state: str, shown: str) -> None:
    link = LINK_RE.search(await (await post_form(client)).text())
    assert link
    _url, ref, secret = link.groups()
    async with db.session() as session:
        [row] = (await session.scalars(select(AdvisoryRequest))).all()
        row.status = state
    page = await (await client.get(f"/advice/{ref}?t={secret}")).text()
    assert f"<dd>{html.escape(shown)}</dd>" in page


async def test_status_page_in_the_readers_language(client: TestClient) -> None:
    link = LINK_RE.search(await (await post_form(client)).text())
    assert link
    _url, ref, secret = link.groups()
    page = await (await client.get(f"/advice/{ref}?t={secret}&lang=de")).text()
    assert '<html lang="de">' in page
    assert "Standort:" in page and "27. Nov. 2026" in page


async def test_page_language_from_query_and_accept_language(client: TestClient) -> None:
    page = await (await client.get("/advice?lang=de")).text()
    assert '<html lang="de">' in page and 'action="/advice?lang=de"' in page
    page = await (await client.get(
        "/advice", headers={"Accept-Language": "fr-FR, de-DE;q=0.8, en;q=0.5"})).text()
    assert '<html lang="de">' in page
    page = await (await client.get(
        "/advice", headers={"Accept-Language": "pl;q=0.9, lt"})).text()
    assert '<html lang="lt">' in page


# -- without an advisory room, and when posting fails ----------------------------------


async def test_without_advisory_room_the_request_is_stored_and_a_warning_logged(
        make_deps, db: Database, gateway: FakeGateway,  # noqa: ANN001
        caplog: pytest.LogCaptureFixture) -> None:
    deps = await make_deps(network=network("szczecin", "rostock", name="Test Clusters"))
    with caplog.at_level(logging.WARNING, logger="bot.features.advice.service"):
        async with TestClient(TestServer(make_app(deps))) as client:
            page = await (await post_form(client)).text()
            link = LINK_RE.search(page)
            assert link
            assert (await client.get(f"/advice/{link[2]}?t={link[3]}")).status == 200
    [row] = await stored(db)
    assert row.event_id is None and gateway.sent == []
    assert "there is no advisory room (configure network.advisory_room" in caplog.text


async def test_when_posting_fails_the_sender_still_gets_the_link(
        client: TestClient, db: Database, gateway: FakeGateway) -> None:
    gateway.fail_sends = 1
    response = await post_form(client)
    assert response.status == 200 and LINK_RE.search(await response.text())
    [row] = await stored(db)
    assert row.event_id is None


# -- hostile clients: limits, links, odd input --------------------------------------------


def remote(address: str) -> dict[str, str]:
    return {"X-Test-Remote": address}


@pytest.mark.parametrize(("address", "key"), [
    ("203.0.113.7", "203.0.113.7"),
    ("::ffff:203.0.113.7", "203.0.113.7"),  # IPv4-mapped: the same client
    ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
    ("2001:db8:1:2:ffff:ffff:ffff:fffe", "2001:db8:1:2::/64"),
    ("2001:DB8:1:2:0:0:0:9", "2001:db8:1:2::/64"),
    ("fe80::1%eth0", "fe80::/64"),
    ("::1", "::/64"),
    (None, "unknown"),
    ("", "unknown"),
    ("not-an-address", "not-an-address"),
])
def test_clients_are_keyed_by_address_and_ipv6_by_its_64(address: str | None, key: str) -> None:
    assert advice.client_key(address) == key


async def test_one_host_cannot_rotate_through_its_ipv6_64(client: TestClient,
                                                          db: Database) -> None:
    for address in ("2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff:ffff:ffff:fffe"):
        assert (await post_form(client, headers=remote(address))).status == 200
    assert (await post_form(client, headers=remote("2001:db8:1:2:abcd::1"))).status == 429
    assert (await post_form(client, headers=remote("2001:db8:1:3::1"))).status == 200
    for address in ("203.0.113.7", "203.0.113.7", "::ffff:203.0.113.7"):
        assert (await post_form(client, headers=remote(address))).status == 200
    assert (await post_form(client, headers=remote("203.0.113.7"))).status == 429
    assert len(await stored(db)) == 7


async def test_a_global_cap_besides_the_per_client_one(make_deps, db: Database,  # noqa: ANN001
                                                       clock: Clock) -> None:
    deps = await make_deps(network=NETWORK, web={"advice_rate": "2/hour",
                                                 "advice_rate_total": "3/hour"})
    async with TestClient(TestServer(make_app(deps))) as client:
        ana, bo, cy, dan = (remote(f"198.51.100.{i}") for i in (1, 2, 3, 4))
        assert (await post_form(client, {**VALID, "question": "?"}, headers=ana)).status == 400
        assert (await post_form(client, headers=ana)).status == 200
        assert (await post_form(client, headers=ana)).status == 200
        assert "Please wait" in await (await post_form(client, headers=ana)).text()
        trap = await post_form(client, {**VALID, "website": "x"}, headers=dan)
        assert trap.status == 200  # a filled honeypot stores nothing: not counted for all
        assert (await post_form(client, headers=bo)).status == 200  # the third for everyone
        for _ in range(2):
            refused = await post_form(client, headers=cy)
            assert refused.status == 429
            assert 0 < int(refused.headers["Retry-After"]) <= 3600
            page = await refused.text()
            assert "Many requests are arriving right now. Please try again in 60 minutes." in page
        as_json = await client.post("/advice", json={**VALID, "consent": True}, headers=cy)
        assert as_json.status == 429
        assert "Many requests" in (await as_json.json())["errors"]["request"]
        assert len(await stored(db)) == 3
        clock.now += timedelta(hours=1, seconds=1)
        for _ in range(2):  # what the cap refused did not use up cy's own allowance
            assert (await post_form(client, headers=cy)).status == 200
        assert (await post_form(client, headers=cy)).status == 429
    assert len(await stored(db)) == 5


@pytest.mark.parametrize(("value", "problem"), [
    ("lots", "web.advice_rate_total: must look like 60/hour"),
    ("0/hour", "web.advice_rate_total: must look like 60/hour"),
    (60, "web.advice_rate_total: must be a non-empty string"),
])
def test_the_global_cap_is_checked_in_the_config(value: object, problem: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(base_config(web={"advice_rate_total": value}), environ={})
    assert problem in str(raised.value)


def test_the_caps_defaults_and_a_configured_one() -> None:
    assert parse_config(base_config(), environ={}).section(AdviceConfig) == AdviceConfig(
        Rate(5, 3600), Rate(60, 3600))
    config = parse_config(base_config(web={"advice_rate_total": "10/min"}), environ={})
    assert config.section(AdviceConfig).rate_total == Rate(10, 60)


@pytest.mark.parametrize("forwarded", [{}, {"X-Forwarded-Host": "evil.example",
                                            "Forwarded": "host=evil.example;proto=https"}])
async def test_the_status_link_never_comes_from_the_host_header(
        client: TestClient, forwarded: dict[str, str]) -> None:
    headers = {"Host": "evil.example", **forwarded}
    page = await (await post_form(client, headers=headers)).text()
    link = LINK_RE.search(page)
    assert link and link[1].startswith("/advice/ADV-")  # relative without a public_url
    assert "evil" not in page
    answer = await (await client.post("/advice", json={**VALID, "consent": True},
                                      headers=headers)).json()
    assert re.fullmatch(r"/advice/ADV-\w{6}\?t=[\w-]+", answer["status_url"])


async def test_with_a_public_url_the_link_is_full_whatever_the_host(make_deps) -> None:  # noqa: ANN001
    deps = await make_deps(network=NETWORK, web={"public_url": "https://bot.example.org/"})
    async with TestClient(TestServer(make_app(deps))) as client:
        headers = {"Host": "evil.example", "X-Forwarded-Host": "evil.example"}
        token = await form_token(client)  # the cookie is Secure: the test client is not
        page = await (await post_form(client, token=token, headers={
            **headers, "Cookie": f"sbcc_advice_csrf={token}"})).text()
        answer = await (await client.post("/advice", json={**VALID, "consent": True},
                                          headers=headers)).json()
    link = LINK_RE.search(page)
    assert link and link[1].startswith("https://bot.example.org/advice/ADV-")
    assert "evil" not in page
    assert answer["status_url"].startswith("https://bot.example.org/advice/ADV-")


@pytest.mark.parametrize("body", [
    b'{"organisation": "\\ud800 Studio", "email": "a@example.org", "sector": "games", '
    b'"question": "A question of some length", "consent": true}',
    b'{"organisation": "Studio", "email": "a@example.org", "sector": "games", '
    b'"question": "A question \\udfff of some length", "consent": true}',
    b'{"organisation": "Studio", "email": "a\\udc80@example.org", "sector": "games", '
    b'"question": "A question of some length", "consent": true}',
    b'{"organisation": "Studio", "email": "a@example.org", "sector": "games", '
    b'"question": "A question of some length", "consent": true, "x": ["\\ud800"]}',
])
async def test_json_with_a_lone_surrogate_is_400_and_nothing_is_stored(
        client: TestClient, db: Database, gateway: FakeGateway, translator: Translator,
        body: bytes) -> None:
    response = await client.post("/advice", data=body,
                                 headers={"Content-Type": "application/json"})
    assert response.status == 400
    assert (await response.json())["errors"] == {
        "request": translator.gettext(advice.BAD_BODY, "en")}
    assert await stored(db) == [] and gateway.sent == []


@pytest.mark.parametrize("email", ["anna\x00@example.org", "anna@exam\x00ple.org",
                                   "anna\u202e@example.org", "anna\u200b@example.org",
                                   "anna\x7f@example.org"])
async def test_an_email_with_hidden_characters_is_refused_by_field(
        client: TestClient, db: Database, email: str) -> None:
    response = await client.post("/advice", json={**VALID, "consent": True, "email": email})
    assert response.status == 400
    assert set((await response.json())["errors"]) == {"email"}
    assert await stored(db) == []


@pytest.mark.parametrize("path", [
    "/advice/ADV%00AAAAA?t=secret", "/advice/ADV-AAAAA%00?t=secret",
    "/advice/ADV-%E2%80%AEAAAA?t=secret", "/advice/ADV-AAAAAA?t=%C3%A9%00",
    "/advice/ADV-AAAAAA?t=%ED%A0%80", "/advice/ADV-0OOOOO?t=secret",
    "/advice/%FF%FE?t=%FF", "/advice/" + "A" * 17 + "?t=x",
])
async def test_a_status_link_that_cannot_be_one_is_404(client: TestClient, path: str) -> None:
    response = await client.get(path)
    assert response.status == 404
    assert "Request not found" in await response.text()


async def raw_request(client: TestClient, request: bytes) -> tuple[int, bytes]:
    """Bytes as a hostile client sends them (not valid UTF-8, say); the status and answer."""
    reader, writer = await asyncio.open_connection(client.host, client.port)
    try:
        writer.write(request)
        await writer.drain()
        answer = await reader.read()
    finally:
        writer.close()
    return int(answer.split(b" ", 2)[1]), answer


async def test_a_cookie_that_is_not_utf8_is_no_server_error(client: TestClient, db: Database
                                                            ) -> None:
    cookie = b"Cookie: sbcc_advice_csrf=\xff\xfe.1700000000.ab\r\n"
    status, answer = await raw_request(
        client, b"GET /advice HTTP/1.1\r\nHost: x\r\n" + cookie + b"Connection: close\r\n\r\n")
    assert status == 200 and b'name="csrf" value="' in answer
    body = urlencode({**VALID, "csrf": "\u00ff\u00fe.1700000000.ab"}).encode()
    status, answer = await raw_request(
        client, b"POST /advice HTTP/1.1\r\nHost: x\r\n" + cookie
        + b"Content-Type: application/x-www-form-urlencoded\r\n"
        + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
    assert status == 403 and b"This form has expired" in answer
    assert await stored(db) == []


async def test_room_pings_in_the_form_notify_nobody(client: TestClient,
                                                    gateway: FakeGateway) -> None:
    fields = {**VALID, "organisation": "@room Studio", "question": "Hello @room, help @ROOM!"}
    assert (await post_form(client, fields)).status == 200
    [notice] = [m for m in gateway.sent if m.msgtype == "m.notice"]
    content = notice.content()
    assert "Studio" in content["body"] and "help" in content["body"]
    assert not ROOM_PING.search(content["body"])
    assert not ROOM_PING.search(content["formatted_body"])
    assert content["m.mentions"] == {}


# -- retention: the requester's e-mail address -------------------------------------------


async def close_request(deps: Deps, ref: str) -> AdvisoryRequest:
    async with deps.db.session() as session:
        return await AdviceService(session, deps).close(ref)


async def erase_job(deps: Deps) -> None:
    [job] = [job for job in wire(deps).jobs if job.id == "advice-erase-emails"]
    assert job.trigger == "interval" and job.options["hours"] == 1
    await job.func()


async def test_closing_a_request_records_when(client: TestClient, deps: Deps, db: Database,
                                              clock: Clock) -> None:
    await post_form(client)
    [row] = await stored(db)
    clock.now += timedelta(days=3)
    closed = await close_request(deps, row.ref)
    assert (closed.status, closed.closed_at) == ("closed", clock.now)
    clock.now += timedelta(days=1)
    await close_request(deps, row.ref)  # closing again keeps the first time
    [row] = await stored(db)
    assert (row.status, row.closed_at) == ("closed", clock.now - timedelta(days=1))
    with pytest.raises(LookupError):
        await close_request(deps, "ADV-ZZZZZZ")


async def test_the_email_is_erased_180_days_after_closing_and_nothing_else(
        client: TestClient, deps: Deps, db: Database, clock: Clock) -> None:
    for _ in range(2):
        await post_form(client)
    closed, still_open = await stored(db)
    await close_request(deps, closed.ref)
    start = clock.now
    clock.now = start + timedelta(days=180) - timedelta(seconds=1)
    await erase_job(deps)
    assert [r.email for r in await stored(db)] == ["anna@example.org"] * 2
    clock.now = start + timedelta(days=180, seconds=1)
    await erase_job(deps)
    after, untouched = await stored(db)
    assert after.email is None and untouched.email == "anna@example.org"
    assert (after.ref, after.organisation, after.sector, after.location, after.question,
            after.status, after.created_at, after.closed_at) == (
        closed.ref, closed.organisation, closed.sector, closed.location, closed.question,
        "closed", closed.created_at, start)
    clock.now += timedelta(days=3650)  # an open request keeps its address however old
    await erase_job(deps)
    assert (await stored(db))[1].email == "anna@example.org"


async def test_the_retention_comes_from_the_advice_section(make_deps, db: Database,  # noqa: ANN001
                                                           clock: Clock) -> None:
    deps = await make_deps(network=NETWORK, advice={"retention": "2d"})
    async with TestClient(TestServer(make_app(deps))) as client:
        await post_form(client)
    [row] = await stored(db)
    await close_request(deps, row.ref)
    clock.now += timedelta(days=2, seconds=1)
    await erase_job(deps)
    assert [r.email for r in await stored(db)] == [None]


async def test_status_page_and_notice_without_the_email(
        client: TestClient, deps: Deps, db: Database, clock: Clock,
        translator: Translator) -> None:
    link = LINK_RE.search(await (await post_form(client)).text())
    assert link
    await close_request(deps, link[2])
    clock.now += timedelta(days=181)
    await erase_job(deps)
    response = await client.get(f"/advice/{link[2]}?t={link[3]}")
    assert response.status == 200
    page = await response.text()
    assert "<dd>Closed</dd>" in page
    assert "Your e-mail address has been erased" in page
    assert "will answer you here and by e-mail" not in page
    [row] = await stored(db)
    assert row.email is None and row.organisation == "Studio Nord"  # the rest is kept


async def test_an_open_request_still_promises_an_answer_by_email(client: TestClient) -> None:
    link = LINK_RE.search(await (await post_form(client)).text())
    assert link
    page = await (await client.get(f"/advice/{link[2]}?t={link[3]}")).text()
    assert "An advisor of the network will answer you here and by e-mail." in page
    assert "erased" not in page


# -- the service -----------------------------------------------------------------------


async def test_reference_clash_is_retried(deps: Deps, db: Database,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    refs = iter(["ADV-AAAAAA", "ADV-AAAAAA", "ADV-BBBBBB"])
    monkeypatch.setattr(advice_service, "new_ref", lambda: next(refs))
    async with db.session() as session:
        service = AdviceService(session, deps)
        first, _ = await service.create("Studio Nord", "a@example.org", "games", None,
                                        "A question of some length", "en", consent=True)
        second, secret = await service.create("Studio Süd", "b@example.org", "music", None,
                                              "Another question here", "pl", consent=True)
        assert (first.ref, second.ref) == ("ADV-AAAAAA", "ADV-BBBBBB")
        assert await service.find("adv-bbbbbb", secret) is second
        assert await service.find("ADV-AAAAAA", secret) is None


def test_every_template_string_is_listed_for_extraction() -> None:
    listed = set(pages.TEMPLATE_STRINGS) | set(advice.TEMPLATE_STRINGS)
    assert not set(pages.TEMPLATE_STRINGS) & set(advice.TEMPLATE_STRINGS)  # listed once
    for name in ("advice_form.html", "advice_done.html", "advice_status.html"):
        text = (TEMPLATES_DIR / name).read_text(encoding="utf-8")
        msgids = re.findall(r"_\('((?:[^'\\]|\\.)*)'", text)
        assert msgids, name
        assert set(msgids) <= listed, (name, set(msgids) - listed)
