"""Inbound webhooks (`POST /hooks/{name}`) through aiohttp's test client, and the HTML
sanitiser they use: what a hostile or careless sender would try (malformed links, lone
surrogates, any JSON at all, retries with an `Idempotency-Key`, "@room"). On SQLite and
PostgreSQL (the `db` fixture)."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from bot.app import wire
from bot.db import Database
from bot.db.models import HookDelivery, NetworkRoom
from bot.deps import Deps
from bot.events import Outgoing
from bot.features.webhooks.sanitize import sanitize_html
from bot.features.webhooks.web import BadPayload, parse_payload, render
from bot.web.pages import MAX_BODY, WebState
from tests.conftest import Clock, network, room_id
from tests.fakes import FakeGateway
from tests.unit.test_web_basics import NETWORK, TOKEN, WEB, make_app, serve

AUTH = {"Authorization": f"Bearer {TOKEN}"}
ROSTOCK, PARTNERS = room_id("location:rostock"), room_id("partners")
ROOM_PING = re.compile(r"@room\b", re.IGNORECASE)  # what the legacy push rule matches


@pytest.fixture
async def deps(make_deps) -> Deps:  # noqa: ANN001
    return await make_deps(network=NETWORK, web=WEB)


@pytest.fixture
def seen() -> list[web.Request]:
    return []


@pytest.fixture
async def client(deps: Deps, seen: list[web.Request]) -> AsyncIterator[TestClient]:
    @web.middleware
    async def record(request: web.Request,
                     handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                     ) -> web.StreamResponse:
        seen.append(request)
        return await handler(request)

    async with serve(make_app(deps, WebState(), middlewares=(record,))) as client:
        yield client


async def post(client: TestClient, payload: object, headers: dict[str, str] | None = None,
               name: str = "city") -> tuple[int, dict]:
    resp = await client.post(f"/hooks/{name}", json=payload,
                             headers=AUTH if headers is None else headers)
    return resp.status, await resp.json()


# -- refused ----------------------------------------------------------------------------------


async def test_unknown_hook_is_404(client: TestClient, gateway: FakeGateway) -> None:
    assert await post(client, {"text": "hi"}, name="nope") == (404, {"error": "no such hook"})
    assert gateway.sent == []


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer wrong-token-wrong-token-wrong-tok"},
    {"Authorization": f"Bearer {TOKEN}x"},
    {"Authorization": f"Bearer {TOKEN[:-1]}"},
    {"Authorization": f"Basic {TOKEN}"},
    {"Authorization": TOKEN},
    {"Authorization": "Bearer"},
    {"Authorization": "Bearer "},
    {"Authorization": "Bearer żółw"},
])
async def test_missing_or_wrong_token_is_401_and_nothing_is_posted(
        client: TestClient, gateway: FakeGateway, headers: dict[str, str]) -> None:
    resp = await client.post("/hooks/city", json={"text": "hi"}, headers=headers)
    assert resp.status == 401
    assert resp.headers["WWW-Authenticate"] == "Bearer"
    assert (await resp.json())["error"] == "missing or wrong bearer token"
    assert gateway.sent == []


async def test_the_bearer_scheme_is_case_insensitive(client: TestClient) -> None:
    status, _ = await post(client, {"text": "hi"}, {"Authorization": f"bearer {TOKEN}"})
    assert status == 202


@pytest.mark.parametrize(("body", "reason"), [
    (b"{", "the body is not JSON"),
    (b"", "the body is not JSON"),
    (b"\xff\xfe{}", "the body is not JSON"),
    (b"[" * 5000 + b"]" * 5000, "the body is not JSON"),
    (b'["text"]', "the body must be a JSON object"),
    (b'"text"', "the body must be a JSON object"),
    (b"{}", "text is missing"),
    (b'{"title": "T"}', "text is missing"),
    (b'{"text": null}', "text is missing"),
    (b'{"text": ""}', "text is empty"),
    (b'{"text": " \\n\\t"}', "text is empty"),
    (b'{"text": 5}', "text must be a string"),
    (b'{"text": ["a"]}', "text must be a string"),
    (b'{"text": "a", "html": 5}', "html must be a string"),
    (b'{"text": "a", "html": {"b": 1}}', "html must be a string"),
    (b'{"text": "a", "title": ["T"]}', "title must be a string"),
    (b'{"text": "a", "title": 1}', "title must be a string"),
    (b'{"text": "a", "link": 5}', "link must be a string"),
    (b'{"text": "a", "link": "ftp://example.org/x"}', "link must be an http:// or https:// URL"),
    (b'{"text": "a", "link": "javascript:alert(1)"}',
     "link must be an http:// or https:// URL"),
    (b'{"text": "a", "link": "https://"}', "link must be an http:// or https:// URL"),
    (b'{"text": "a", "link": "https://ex ample.org"}',
     "link must be an http:// or https:// URL"),
    (b'{"text": "a", "link": "example.org"}', "link must be an http:// or https:// URL"),
    (b'{"text": "a", "title": "' + b"T" * 201 + b'"}', "title is longer than 200 characters"),
    (b'{"text": "' + b"x" * 8001 + b'"}', "text is longer than 8000 characters"),
])
async def test_bad_payload_is_400_naming_the_problem(
        client: TestClient, gateway: FakeGateway, body: bytes, reason: str) -> None:
    resp = await client.post("/hooks/city", data=body,
                             headers={**AUTH, "Content-Type": "application/json"})
    assert resp.status == 400
    assert await resp.json() == {"error": reason}
    assert gateway.sent == []


async def test_limits_are_inclusive(client: TestClient, gateway: FakeGateway) -> None:
    status, _ = await post(client, {"text": "x" * 8000, "title": "T" * 200})
    assert status == 202


async def test_a_body_over_16_kib_with_content_length_is_413(
        client: TestClient, gateway: FakeGateway, seen: list[web.Request]) -> None:
    body = b'{"text": "' + b"x" * MAX_BODY + b'"}'
    resp = await client.post("/hooks/city", data=body,
                             headers={**AUTH, "Content-Type": "application/json"})
    assert resp.status == 413
    assert seen[-1].content_length == len(body)
    assert gateway.sent == []


async def test_a_chunked_body_over_16_kib_is_413(
        client: TestClient, gateway: FakeGateway, seen: list[web.Request]) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"text": "'
        for _ in range(5):
            yield b"x" * 4096
        yield b'"}'

    resp = await client.post("/hooks/city", data=chunks(),
                             headers={**AUTH, "Content-Type": "application/json"})
    assert resp.status == 413
    assert seen[-1].content_length is None
    assert seen[-1].headers.get("Transfer-Encoding") == "chunked"
    assert gateway.sent == []


async def test_a_small_chunked_body_is_accepted(
        client: TestClient, gateway: FakeGateway, seen: list[web.Request]) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"text": "'
        yield b"x" * 4000
        yield b'"}'

    resp = await client.post("/hooks/city", data=chunks(), headers=AUTH)
    assert resp.status == 202
    assert seen[-1].content_length is None
    assert len(gateway.sent) == 2


async def test_over_the_rate_is_429_until_the_window_moves(
        client: TestClient, gateway: FakeGateway, clock: Clock) -> None:
    start = clock.now
    assert (await post(client, {"text": "one"}))[0] == 202
    clock.now = start + timedelta(seconds=20)
    assert (await post(client, {"text": "two"}))[0] == 202
    clock.now = start + timedelta(seconds=30)
    resp = await client.post("/hooks/city", json={"text": "three"}, headers=AUTH)
    assert resp.status == 429
    assert resp.headers["Retry-After"] == "30"
    assert "error" in await resp.json()
    assert len(gateway.sent) == 4  # two posts, two rooms each
    clock.now = start + timedelta(seconds=60)  # the first post leaves the window
    assert (await post(client, {"text": "three"}))[0] == 202
    assert (await post(client, {"text": "four"}))[0] == 429


async def test_unauthenticated_requests_do_not_use_up_the_rate(client: TestClient) -> None:
    for _ in range(5):
        assert (await post(client, {"text": "x"}, {"Authorization": "Bearer nope"}))[0] == 401
    assert (await post(client, {"text": "one"}))[0] == 202
    assert (await post(client, {"text": "two"}))[0] == 202


async def test_rooms_not_provisioned_are_skipped(
        client: TestClient, deps: Deps, gateway: FakeGateway,
        caplog: pytest.LogCaptureFixture) -> None:
    async with deps.db.session() as s:
        await s.execute(delete(NetworkRoom).where(NetworkRoom.key == "partners"))
    with caplog.at_level(logging.WARNING, logger="bot.features.webhooks.web"):
        assert await post(client, {"text": "hi"}) == (202, {"posted": [ROSTOCK]})
    assert [m.room_id for m in gateway.sent] == [ROSTOCK]
    assert any("partners" in r.getMessage() and "not provisioned" in r.getMessage()
               for r in caplog.records)


async def test_no_provisioned_room_is_503(client: TestClient, deps: Deps,
                                          gateway: FakeGateway) -> None:
    async with deps.db.session() as s:
        await s.execute(delete(NetworkRoom).where(
            NetworkRoom.key.in_(("partners", "location:rostock"))))
    assert await post(client, {"text": "hi"}) == (503, {"error": "no room to post in"})
    assert gateway.sent == []


async def test_a_failed_send_leaves_that_room_out(client: TestClient,
                                                  gateway: FakeGateway) -> None:
    gateway.fail_sends = 1
    assert await post(client, {"text": "hi"}) == (202, {"posted": [PARTNERS]})
    gateway.fail_sends = 2
    assert await post(client, {"text": "hi"}) == (502, {"error": "could not post into any room"})


# -- accepted ---------------------------------------------------------------------------------


async def test_accepted_post_reaches_both_rooms_sanitised(
        client: TestClient, gateway: FakeGateway, caplog: pytest.LogCaptureFixture) -> None:
    payload = {
        "title": "Build <failed>",
        "text": "Step 3 & 4 failed",
        "html": '<b onclick="steal()">Step 3</b> &amp; 4 failed<script>alert(1)</script>'
                '<img src="https://tracker.example/pixel.png"><img src="mxc://test/abc">',
        "link": "https://ci.example.org/run/1?a=1&b=2",
    }
    with caplog.at_level(logging.DEBUG):
        status, data = await post(client, payload)
    assert (status, data) == (202, {"posted": [ROSTOCK, PARTNERS]})
    assert [m.room_id for m in gateway.sent] == [ROSTOCK, PARTNERS]
    first, second = gateway.sent
    assert first.body == second.body == (
        "Build <failed>\nStep 3 & 4 failed\nhttps://ci.example.org/run/1?a=1&b=2")
    assert first.html == second.html == (
        "<b>Build &lt;failed&gt;</b><br><b>Step 3</b> &amp; 4 failed"
        '<img src="mxc://test/abc"><br>'
        '<a href="https://ci.example.org/run/1?a=1&amp;b=2">'
        "https://ci.example.org/run/1?a=1&amp;b=2</a>")
    for message in gateway.sent:
        assert message.msgtype == "m.notice"
        assert message.mentions == ()
        assert message.content()["m.mentions"] == {}
        assert message.txn_id is not None and message.txn_id.startswith("sbcc.hook.city.")
    assert first.txn_id != second.txn_id
    posted = [r for r in caplog.records
              if r.name == "bot.features.webhooks.web" and "posted" in r.message]
    assert len(posted) == 1 and "city" in posted[0].getMessage()
    for record in caplog.records:
        assert TOKEN not in record.getMessage()
        assert TOKEN not in repr(record.args)


async def test_plain_text_is_escaped_when_there_is_no_html(client: TestClient,
                                                           gateway: FakeGateway) -> None:
    status, _ = await post(client, {"text": "<b>not bold</b> & co\nline two"})
    assert status == 202
    message = gateway.sent[0]
    assert message.body == "<b>not bold</b> & co\nline two"
    assert message.html == "&lt;b&gt;not bold&lt;/b&gt; &amp; co<br>line two"


async def test_html_that_sanitises_to_nothing_falls_back_to_the_text(
        client: TestClient, gateway: FakeGateway) -> None:
    status, _ = await post(client, {"text": "fallback", "html": "<script>x()</script>",
                                    "title": None, "link": None})
    assert status == 202
    assert gateway.sent[0].html == "fallback"
    assert gateway.sent[0].body == "fallback"


async def test_title_whitespace_is_collapsed(client: TestClient, gateway: FakeGateway) -> None:
    await post(client, {"text": "t", "title": "  Two\nlines  "})
    assert gateway.sent[0].body == "Two lines\nt"
    assert gateway.sent[0].html == "<b>Two lines</b><br>t"


async def test_rooms_are_named_by_key_as_the_network_names_them(
        make_deps, gateway: FakeGateway) -> None:  # noqa: ANN001
    hooks = {"all": {"token": TOKEN, "rooms": ["design", "advisory", "szczecin", "partners"]}}
    deps = await make_deps(network=network("szczecin", topics=("design",), partners="",
                                           advisory=""), web={"hooks": hooks})
    async with serve(make_app(deps, WebState())) as client:
        status, data = await post(client, {"text": "hi"}, name="all")
    rooms = [room_id("topic:design"), room_id("advisory"), room_id("location:szczecin"),
             room_id("partners")]
    assert (status, data) == (202, {"posted": rooms})
    assert [m.room_id for m in gateway.sent] == rooms


async def test_each_app_has_its_own_rate_window(deps: Deps, clock: Clock) -> None:
    async with serve(make_app(deps, WebState())) as first:
        for text in ("one", "two"):
            assert (await post(first, {"text": text}))[0] == 202
        assert (await post(first, {"text": "three"}))[0] == 429
    async with serve(make_app(deps, WebState())) as second:  # a restart forgets the window
        assert (await post(second, {"text": "three"}))[0] == 202


# -- malformed links and lone surrogates: 400 naming the problem, never 500 -------------------


async def post_raw(client: TestClient, body: bytes, headers: dict[str, str] | None = None
                   ) -> tuple[int, dict]:
    resp = await client.post("/hooks/city", data=body, headers={
        **AUTH, "Content-Type": "application/json", **(headers or {})})
    return resp.status, await resp.json()


@pytest.mark.parametrize(("link", "reason"), [
    ("http://[::1", "link has a malformed host"),
    ("https://[::1/path", "link has a malformed host"),
    ("https://[v1.x]/", "link has a malformed host"),
    ("https://[not-an-ip]/", "link has a malformed host"),
    ("https://\\uff03/", "link has a malformed host"),  # invalid under NFKC normalisation
    ("https://x:99999", "link has an invalid port (it must be a number from 0 to 65535)"),
    ("https://x:-1/", "link has an invalid port (it must be a number from 0 to 65535)"),
    ("https://x:abc/", "link has an invalid port (it must be a number from 0 to 65535)"),
    ("https://ex\\u0000ample.org", "link contains a control or invisible character"),
    ("https://example.org/\\u0007", "link contains a control or invisible character"),
    ("https://example.org/a\\u0085b", "link contains a control or invisible character"),
    ("https://example.org/\\u202egpj.exe", "link contains a control or invisible character"),
    ("https://example.org/\\u200b", "link contains a control or invisible character"),
    ("https://example.org/\\u2028x", "link contains a control or invisible character"),
    ("https://:80/", "link must be an http:// or https:// URL"),
    ("https://example.org/" + "x" * 2000, "link is longer than 2000 characters"),
])
async def test_a_malformed_link_is_400_naming_the_problem(
        client: TestClient, gateway: FakeGateway, link: str, reason: str) -> None:
    body = b'{"text": "a", "link": "' + link.encode() + b'"}'  # the JSON escapes as sent
    assert await post_raw(client, body) == (400, {"error": reason})
    assert gateway.sent == []


@pytest.mark.parametrize("link", ["https://[::1]:8080/x", "http://example.org:0/",
                                  "https://example.org:65535/a?b=c#d", "https://bücher.de/ä",
                                  "https://user@example.org/"])
async def test_well_formed_links_are_posted(client: TestClient, gateway: FakeGateway,
                                            link: str) -> None:
    assert (await post(client, {"text": "a", "link": link}))[0] == 202
    assert gateway.sent[0].body == f"a\n{link}"


@pytest.mark.parametrize(("body", "reason"), [
    (b'{"text": "\\ud800"}', "text contains a lone surrogate (an unpaired \\ud800-\\udfff "
                            "escape)"),
    (b'{"text": "ok \\udfff ok"}', "text contains a lone surrogate (an unpaired "
                                  "\\ud800-\\udfff escape)"),
    (b'{"text": "\\ude00\\ud83d"}', "text contains a lone surrogate (an unpaired "
                                   "\\ud800-\\udfff escape)"),  # a pair in the wrong order
    (b'{"text": "a", "title": "\\ud83d"}', "title contains a lone surrogate (an unpaired "
                                          "\\ud800-\\udfff escape)"),
    (b'{"text": "a", "html": "<b>\\udbff</b>"}', "html contains a lone surrogate (an unpaired "
                                                "\\ud800-\\udfff escape)"),
    (b'{"text": "a", "link": "https://x.org/\\ud800"}', "link contains a lone surrogate (an "
                                                       "unpaired \\ud800-\\udfff escape)"),
    (b'{"text": "a", "extra": [{"deep": ["\\ud800"]}]}', "the body contains a lone surrogate "
                                                        "(an unpaired \\ud800-\\udfff "
                                                        "escape)"),
    (b'{"text": "a", "\\ud800": 1}', "the body contains a lone surrogate (an unpaired "
                                    "\\ud800-\\udfff escape)"),
    (b'{"text": 5, "title": "\\ud800"}', "title contains a lone surrogate (an unpaired "
                                        "\\ud800-\\udfff escape)"),
])
async def test_a_lone_surrogate_anywhere_is_400_not_500(
        client: TestClient, gateway: FakeGateway, body: bytes, reason: str) -> None:
    assert await post_raw(client, body) == (400, {"error": reason})
    assert gateway.sent == []


async def test_a_surrogate_pair_is_a_character_and_is_posted(client: TestClient,
                                                             gateway: FakeGateway) -> None:
    body = b'{"text": "fine \\ud83d\\ude00", "title": "\\ud83c\\udf89"}'
    status, _ = await post_raw(client, body)
    assert status == 202
    assert gateway.sent[0].body == "\U0001f389\nfine \U0001f600"


async def test_controls_and_bidi_overrides_leave_the_title(client: TestClient,
                                                          gateway: FakeGateway) -> None:
    status, _ = await post(client, {"text": "t", "title": "Build\u202e\u0000 ok\u2066"})
    assert status == 202
    assert gateway.sent[0].body == "Build ok\nt"


# any JSON value, any string (lone surrogates, controls, "@room" included), any bytes
CHARS = st.characters(exclude_categories=()) | st.sampled_from(
    ["\ud800", "\udfff", "\x00", "\u202e", "\u2028", "<", "&", "\n"])
STRINGS = st.lists(st.text(CHARS, max_size=8) | st.sampled_from(["@room", "@ROOM:", " @room"]),
                   max_size=5).map("".join)
URLISH = st.lists(st.sampled_from(
    ["http://", "https://", "ftp://", "[", "]", ":", "99999", "80", "::1", "x", ".org", "/",
     "@", "%", "?", "#", " ", "\t", "\x00", "\ud800", "ä", "\uff03", "\u202e", "javascript:"]),
    max_size=8).map("".join)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | STRINGS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(STRINGS, inner, max_size=4),
    max_leaves=12)
FIELD_VALUES = STRINGS | URLISH | JSON_VALUES
PAYLOADS = st.builds(  # mostly a text, so that links, titles and html are reached
    lambda fields, extra: {**extra, **fields},
    st.fixed_dictionaries({"text": STRINGS.filter(str.strip) | FIELD_VALUES},
                          optional={"title": FIELD_VALUES, "html": FIELD_VALUES,
                                    "link": URLISH | FIELD_VALUES}),
    st.dictionaries(STRINGS, JSON_VALUES, max_size=2))


def encoded(value: object) -> bytes:
    return json.dumps(value).encode()  # lone surrogates become "\ud800" escapes


BODIES = st.one_of(PAYLOADS.map(encoded), PAYLOADS.map(encoded), JSON_VALUES.map(encoded),
                   st.binary(max_size=200),
                   st.text(CHARS, max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")))


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(BODIES)
def test_the_payload_parser_raises_nothing_but_its_400(raw: bytes) -> None:
    try:
        payload = parse_payload(raw)
    except BadPayload as e:
        assert e.reason.isprintable() and e.reason.encode("utf-8")
        return
    body, html = render(payload)  # what an accepted payload becomes, sent as the gateway does
    content = Outgoing("!room:test", body, html).content()
    json.dumps(content, ensure_ascii=False).encode("utf-8")
    assert not ROOM_PING.search(content["body"])
    assert not ROOM_PING.search(content["formatted_body"])


# -- Idempotency-Key: a retried post posts once -----------------------------------------------


async def keys(db: Database) -> dict[tuple[str, str], str]:
    async with db.session() as s:
        return {(r.hook, r.key): r.posted for r in (await s.scalars(select(HookDelivery))).all()}


def keyed(key: str) -> dict[str, str]:
    return {**AUTH, "Idempotency-Key": key}


async def test_a_retry_with_the_same_key_posts_once_and_answers_the_same(
        client: TestClient, gateway: FakeGateway, db: Database) -> None:
    assert await post(client, {"text": "deployed"}, keyed("run-41")) == (
        202, {"posted": [ROSTOCK, PARTNERS]})
    assert await keys(db) == {("city", "run-41"): f"{ROSTOCK} {PARTNERS}"}
    for _ in range(2):
        resp = await client.post("/hooks/city", json={"text": "deployed"},
                                 headers=keyed("run-41"))
        assert resp.status == 200
        assert resp.headers["Idempotent-Replayed"] == "true"
        assert await resp.json() == {"posted": [ROSTOCK, PARTNERS]}
    assert len(gateway.sent) == 2  # one post, two rooms
    # a replay sends nothing and does not use up the hook's rate (2/min)
    assert (await post(client, {"text": "deployed"}, keyed("run-42")))[0] == 202
    assert (await post(client, {"text": "deployed"}, keyed("run-43")))[0] == 429
    assert (await post(client, {"text": "deployed"}, keyed("run-41")))[0] == 429
    assert len(gateway.sent) == 4


async def test_other_keys_and_no_key_post_each_time(make_deps, gateway: FakeGateway,  # noqa: ANN001
                                                    db: Database) -> None:
    hooks = {name: {"token": TOKEN, "rooms": ["rostock"], "rate": "100/min"}
             for name in ("city", "ci")}
    deps = await make_deps(network=NETWORK, web={"hooks": hooks})
    async with serve(make_app(deps, WebState())) as client:
        for name, headers in [("city", keyed("a")), ("city", keyed("b")), ("ci", keyed("a")),
                              ("city", AUTH), ("city", AUTH)]:
            assert (await post(client, {"text": "x"}, headers, name=name))[0] == 202
        assert (await post(client, {"text": "x"}, keyed("a"), name="ci"))[0] == 200
    assert len(gateway.sent) == 5
    assert set(await keys(db)) == {("city", "a"), ("city", "b"), ("ci", "a")}


async def test_a_quoted_key_is_the_same_key(client: TestClient, gateway: FakeGateway) -> None:
    assert (await post(client, {"text": "x"}, keyed('"k-1"')))[0] == 202
    assert (await post(client, {"text": "x"}, keyed("k-1")))[0] == 200
    assert len(gateway.sent) == 2


@pytest.mark.parametrize("key", ["", "   ", '""', "x" * 129, "é", "a\u00a0b", "ключ"])
async def test_a_malformed_key_is_400(client: TestClient, gateway: FakeGateway, db: Database,
                                      key: str) -> None:
    status, data = await post(client, {"text": "x"}, keyed(key))
    assert (status, data) == (400, {"error": "Idempotency-Key must be 1 to 128 printable "
                                             "ASCII characters"})
    assert gateway.sent == [] and await keys(db) == {}


async def test_two_key_headers_are_400_and_the_longest_key_works(
        client: TestClient, gateway: FakeGateway) -> None:
    resp = await client.post("/hooks/city", json={"text": "x"},
                             headers=[*AUTH.items(), ("Idempotency-Key", "a"),
                                      ("Idempotency-Key", "b")])
    assert resp.status == 400
    assert await resp.json() == {"error": "send one Idempotency-Key header, not 2"}
    assert gateway.sent == []
    assert (await post(client, {"text": "x"}, keyed("k" + " ~" * 63 + "!")))[0] == 202


async def test_a_refused_payload_claims_no_key(client: TestClient, gateway: FakeGateway,
                                               db: Database) -> None:
    assert (await post(client, {"text": ""}, keyed("k")))[0] == 400
    assert await keys(db) == {}
    assert (await post(client, {"text": "now right"}, keyed("k")))[0] == 202
    assert len(gateway.sent) == 2


async def test_a_concurrent_duplicate_does_not_post_while_the_first_is_under_way(
        client: TestClient, gateway: FakeGateway, monkeypatch: pytest.MonkeyPatch) -> None:
    entered, go_on = asyncio.Event(), asyncio.Event()
    send = gateway.send

    async def slow_send(message: Outgoing) -> str:
        entered.set()
        await go_on.wait()
        return await send(message)

    monkeypatch.setattr(gateway, "send", slow_send)
    first = asyncio.create_task(post(client, {"text": "x"}, keyed("same")))
    await asyncio.wait_for(entered.wait(), 5)
    resp = await client.post("/hooks/city", json={"text": "x"}, headers=keyed("same"))
    assert resp.status == 409
    assert resp.headers["Retry-After"] == "5"
    assert "under way" in (await resp.json())["error"]
    go_on.set()
    assert await first == (202, {"posted": [ROSTOCK, PARTNERS]})
    assert await post(client, {"text": "x"}, keyed("same")) == (
        200, {"posted": [ROSTOCK, PARTNERS]})
    assert (await post(client, {"text": "x"}, keyed("other")))[0] == 202  # 2/min: 409 and
    assert len(gateway.sent) == 4                                       # 200 did not count


async def test_simultaneous_duplicates_post_once(make_deps, gateway: FakeGateway) -> None:  # noqa: ANN001
    hooks = {"city": {"token": TOKEN, "rooms": ["rostock", "partners"], "rate": "100/min"}}
    deps = await make_deps(network=NETWORK, web={"hooks": hooks})
    async with serve(make_app(deps, WebState())) as client:
        answers = await asyncio.gather(*(post(client, {"text": "x"}, keyed("burst"))
                                         for _ in range(6)))
    statuses = sorted(status for status, _ in answers)
    assert statuses.count(202) == 1 and set(statuses) <= {200, 202, 409}
    assert len(gateway.sent) == 2
    for status, data in answers:
        if status in (200, 202):
            assert data == {"posted": [ROSTOCK, PARTNERS]}


async def test_when_every_send_fails_the_key_is_released_and_a_retry_posts(
        client: TestClient, gateway: FakeGateway, db: Database) -> None:
    gateway.fail_sends = 2
    assert await post(client, {"text": "x"}, keyed("k")) == (
        502, {"error": "could not post into any room"})
    assert await keys(db) == {}
    assert await post(client, {"text": "x"}, keyed("k")) == (202, {"posted": [ROSTOCK, PARTNERS]})
    assert len(gateway.sent) == 2


async def test_a_partial_post_is_replayed_as_it_was(client: TestClient, gateway: FakeGateway,
                                                    clock: Clock) -> None:
    gateway.fail_sends = 1
    assert await post(client, {"text": "x"}, keyed("k")) == (202, {"posted": [PARTNERS]})
    clock.now += timedelta(minutes=1)
    assert await post(client, {"text": "x"}, keyed("k")) == (200, {"posted": [PARTNERS]})
    assert [m.room_id for m in gateway.sent] == [PARTNERS]


async def test_no_room_to_post_in_releases_the_key(client: TestClient, deps: Deps,
                                                   db: Database) -> None:
    async with deps.db.session() as s:
        await s.execute(delete(NetworkRoom).where(
            NetworkRoom.key.in_(("partners", "location:rostock"))))
    assert (await post(client, {"text": "x"}, keyed("k")))[0] == 503
    assert await keys(db) == {}


@pytest.mark.parametrize(("age", "posted", "status"), [
    (timedelta(seconds=89), "", 409),  # under way: two rooms × 15 s + 60 s
    (timedelta(seconds=91), "", 202),  # abandoned (the process died): taken over
    (timedelta(hours=23), f"{ROSTOCK}", 200),
    (timedelta(days=1, seconds=1), f"{ROSTOCK}", 202),  # expired: a new post
])
async def test_a_stored_key_by_its_age(client: TestClient, gateway: FakeGateway, db: Database,
                                       clock: Clock, age: timedelta, posted: str,
                                       status: int) -> None:
    async with db.session() as s:
        s.add(HookDelivery(hook="city", key="k", at=clock() - age, posted=posted))
    assert (await post(client, {"text": "x"}, keyed("k")))[0] == status
    assert len(gateway.sent) == (2 if status == 202 else 0)
    if status == 202:
        assert await keys(db) == {("city", "k"): f"{ROSTOCK} {PARTNERS}"}


async def test_the_prune_job_forgets_keys_after_a_day(deps: Deps, db: Database,
                                                      clock: Clock) -> None:
    async with db.session() as s:
        s.add(HookDelivery(hook="city", key="old", at=clock() - timedelta(days=1, seconds=1),
                           posted=ROSTOCK))
        s.add(HookDelivery(hook="city", key="young", at=clock() - timedelta(hours=23),
                           posted=ROSTOCK))
    [job] = [job for job in wire(deps).jobs if job.id == "prune-hook-keys"]
    assert job.trigger == "interval" and job.options["hours"] == 1
    await job.func()
    assert set(await keys(db)) == {("city", "young")}


# -- "@room" ----------------------------------------------------------------------------------


async def test_room_pings_in_a_hooks_text_title_and_html_notify_nobody(
        client: TestClient, gateway: FakeGateway) -> None:
    for payload in ({"text": "@room deploy done", "title": "@ROOM alert"},
                    {"text": "plain @Room", "html": "<b>@room</b> look"}):
        assert (await post(client, payload, keyed(payload["text"])))[0] == 202
    for message in gateway.sent:
        content = message.content()
        assert "room" in content["body"].lower()
        assert not ROOM_PING.search(content["body"])
        assert not ROOM_PING.search(content["formatted_body"])
        assert content["m.mentions"] == {}


# -- sanitize_html ----------------------------------------------------------------------------


@pytest.mark.parametrize(("dirty", "clean"), [
    ("<b>bold</b> <i>it</i> <strong>s</strong> <em>e</em>",
     "<b>bold</b> <i>it</i> <strong>s</strong> <em>e</em>"),
    ('<b onclick="x()" style="color:red" id="a">b</b>', "<b>b</b>"),
    ("<p>a<script>alert(1)</script><style>p{}</style>b</p>", "<p>ab</p>"),
    ('<a href="https://example.org" onmouseover="x">l</a>',
     '<a href="https://example.org" rel="noopener">l</a>'),
    ('<a href="javascript:alert(1)">j</a>', '<a rel="noopener">j</a>'),
    ('<a href="mxc://test/x">m</a>', '<a rel="noopener">m</a>'),
    ('<a href="/relative">r</a>', '<a rel="noopener">r</a>'),
    ('<a href="mailto:a@b.c" target="_blank" name="n">m</a>',
     '<a href="mailto:a@b.c" target="_blank" name="n" rel="noopener">m</a>'),
    ('<a href="magnet:?xt=urn:btih:abc" target="_top">m</a>',
     '<a href="magnet:?xt=urn:btih:abc" rel="noopener">m</a>'),
    ('<img src="https://example.org/x.png" alt="x">', ""),
    ('<img src="data:image/png;base64,AAAA">', ""),
    ("<img>", ""),
    ('<p><img src="mxc://test/abc" width="64" height="x" alt="a" onerror="e()"></p>',
     '<p><img src="mxc://test/abc" width="64" alt="a"></p>'),
    ('<font color="#ff0000" data-mx-color="red" data-mx-bg-color="#00FF00">f</font>',
     '<font color="#ff0000" data-mx-bg-color="#00FF00">f</font>'),
    ('<span data-mx-spoiler="plot" data-mx-color="#123456" class="x">s</span>',
     '<span data-mx-spoiler="plot" data-mx-color="#123456">s</span>'),
    ('<code class="language-python hljs">x</code>', '<code class="language-python">x</code>'),
    ('<code class="evil">x</code>', "<code>x</code>"),
    ('<ol start="3" type="a"><li>x</li></ol>', '<ol start="3"><li>x</li></ol>'),
    ("<iframe src='https://x'>i</iframe><object>o</object><form><input>f</form>", "iof"),
    ("<mx-reply><blockquote>forged</blockquote></mx-reply>real", "real"),
    ("a<!-- comment -->b", "ab"),
    ("<details><summary>s</summary>d</details><hr><pre>p</pre><del>d</del>",
     "<details><summary>s</summary>d</details><hr><pre>p</pre><del>d</del>"),
    ("<table><caption>c</caption><thead><tr><th>h</th></tr></thead>"
     "<tbody><tr><td>d</td></tr></tbody></table>",
     "<table><caption>c</caption><thead><tr><th>h</th></tr></thead>"
     "<tbody><tr><td>d</td></tr></tbody></table>"),
    ("<h1>1</h1><h6>6</h6><blockquote>q</blockquote><sup>s</sup><sub>s</sub><u>u</u><s>s</s>",
     "<h1>1</h1><h6>6</h6><blockquote>q</blockquote><sup>s</sup><sub>s</sub><u>u</u><s>s</s>"),
    ("<b>unclosed", "<b>unclosed</b>"),
    ("&lt;img src=x&gt; <b>", "&lt;img src=x&gt; <b></b>"),
])
def test_sanitize_html(dirty: str, clean: str) -> None:
    assert sanitize_html(dirty) == clean


def test_sanitize_html_keeps_no_img_whose_alt_pretends_a_source() -> None:
    dirty = '<img alt=\'x" src="mxc://a/b\' src="https://evil.example/p.png">'
    assert sanitize_html(dirty) == ""
