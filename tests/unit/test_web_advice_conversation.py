"""The status page's conversation: the advisors' answers (by name and place, never a Matrix
ID), the requester's replies (CSRF, secret, limits, state moves, history, delivery after the
commit) and ratings. Runs on SQLite and PostgreSQL (the `db` fixture)."""

from __future__ import annotations

import html
import logging
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.db import Database
from bot.db.models import AdviceEntry, AdviceMessage, AdvisoryRequest, Member
from bot.deps import Deps
from bot.features.advice import web as advice
from tests.conftest import Clock
from tests.unit.test_web_advice import LINK_RE, NETWORK, TOKEN_RE, make_app, post_form

ADVISOR = "@ola:test"
ANSWER = "Try the <b>jam</b> & the fair.\nSecond line."


class Deliveries:
    """Records what the routes hand over for delivery; fails when told to."""

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.fail = False

    async def __call__(self, message_id: int) -> None:
        self.ids.append(message_id)
        if self.fail:
            raise RuntimeError("homeserver away")


@pytest.fixture
async def deps(make_deps) -> Deps:  # noqa: ANN001
    return await make_deps(network=NETWORK, web={"advice_rate": "3/hour"})


@pytest.fixture
def deliveries() -> Deliveries:
    return Deliveries()


@pytest.fixture
async def client(deps: Deps, deliveries: Deliveries) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(make_app(deps, deliveries))) as test_client:
        yield test_client


async def new_request(client: TestClient, address: str = "192.0.2.1") -> tuple[str, str]:
    """A request sent through the form: its reference and status secret."""
    response = await post_form(client, headers={"X-Test-Remote": address})
    link = LINK_RE.search(await response.text())
    assert link
    return link[2], link[3]


async def change(db: Database, ref: str, **values: Any) -> None:
    async with db.session() as session:
        row = await session.scalar(select(AdvisoryRequest).where(AdvisoryRequest.ref == ref))
        assert row is not None
        for name, value in values.items():
            setattr(row, name, value)


async def request_row(db: Database, ref: str) -> AdvisoryRequest:
    async with db.session() as session:
        row = await session.scalar(select(AdvisoryRequest).where(AdvisoryRequest.ref == ref))
        assert row is not None
        return row


async def messages(db: Database) -> list[AdviceMessage]:
    async with db.session() as session:
        return list((await session.scalars(
            select(AdviceMessage).order_by(AdviceMessage.id))).all())


async def steps(db: Database, ref: str) -> list[tuple[str, str, str | None]]:
    """A request's history as (actor, action, detail), leaving out what the intake and
    the advisory room did."""
    row = await request_row(db, ref)
    async with db.session() as session:
        entries = (await session.scalars(select(AdviceEntry).where(
            AdviceEntry.request_id == row.id).order_by(AdviceEntry.id))).all()
    return [(e.actor, e.action, e.detail) for e in entries
            if e.actor == "requester" and e.action != "created"]


async def answer(db: Database, clock: Clock, ref: str, *, author: str | None = ADVISOR,
                 text: str = ANSWER, status: str = "answered") -> None:
    """An advisor's answer as the workflow stores it; the request answered."""
    row = await request_row(db, ref)
    async with db.session() as session:
        session.add(AdviceMessage(request_id=row.id, direction="out", author=author,
                                  text=text, created_at=clock(), state="sent"))
    await change(db, ref, status=status, assignee=ADVISOR, answered_at=clock())


async def add_advisor(db: Database, clock: Clock, mxid: str = ADVISOR,
                      name: str | None = "Ola <i>Nowak</i>", location: str | None = "rostock"
                      ) -> None:
    async with db.session() as session:
        session.add(Member(mxid=mxid, display_name=name, location=location,
                           first_seen=clock()))


async def status_page(client: TestClient, ref: str, secret: str, lang: str = "en"
                      ) -> tuple[ClientResponse, str]:
    response = await client.get(f"/advice/{ref}?t={secret}&lang={lang}")
    return response, await response.text()


async def token_of(client: TestClient, ref: str, secret: str) -> str:
    response, page = await status_page(client, ref, secret)
    assert response.status == 200
    found = TOKEN_RE.search(page)
    assert found
    return found[1]


async def send(client: TestClient, ref: str, secret: str, form: str, fields: dict[str, str],
               token: str | None = None, lang: str = "en", **kwargs: Any) -> ClientResponse:
    """A post from the status page's form `form` ("reply" or "rate")."""
    data = {"csrf": token if token is not None else await token_of(client, ref, secret),
            **fields}
    return await client.post(f"/advice/{ref}/{form}?t={secret}&lang={lang}", data=data,
                             allow_redirects=False, **kwargs)


async def reply(client: TestClient, ref: str, secret: str, text: str, **kwargs: Any
                ) -> ClientResponse:
    return await send(client, ref, secret, "reply", {"reply": text}, **kwargs)


async def rate(client: TestClient, ref: str, secret: str, stars: str, comment: str = "",
               **kwargs: Any) -> ClientResponse:
    return await send(client, ref, secret, "rate", {"rating": stars, "comment": comment},
                      **kwargs)


def error_of(page: str, field: str) -> str | None:
    found = re.search(rf'<p id="{field}-error" class="error" role="alert">([^<]*)</p>', page)
    return found[1] if found else None


def assert_private(response: ClientResponse) -> None:
    for name, value in advice.PRIVATE_HEADERS.items():
        assert response.headers[name] == value


# -- the status page -------------------------------------------------------------------


async def test_an_answer_shows_the_advisors_name_and_place_never_the_mxid(
        client: TestClient, db: Database, clock: Clock) -> None:
    ref, secret = await new_request(client)
    await add_advisor(db, clock)
    await answer(db, clock, ref)
    response, page = await status_page(client, ref, secret)
    assert response.status == 200
    assert "<h3>Answer from Ola &lt;i&gt;Nowak&lt;/i&gt;, Rostock (DE)</h3>" in page
    assert "ola:test" not in page and "<i>" not in page
    assert ('<div style="white-space: pre-wrap;">Try the &lt;b&gt;jam&lt;/b&gt; &amp; the '
            "fair.\nSecond line.</div>") in page
    assert '<time datetime="2026-11-27">27 Nov 2026</time>' in page
    assert "<dd>Answered</dd>" in page
    assert "will answer you" not in page  # answered: no promise of an answer


@pytest.mark.parametrize(("mxid", "name", "location", "heading"), [
    (ADVISOR, "Ola", None, "Answer from Ola"),
    (ADVISOR, None, "rostock", "Answer from an advisor of the network"),
    (ADVISOR, ADVISOR, "rostock", "Answer from an advisor of the network"),
    (None, None, None, "Answer from an advisor of the network"),  # no member (an alias)
])
async def test_an_answer_without_a_name_or_place_still_hides_the_mxid(
        client: TestClient, db: Database, clock: Clock, mxid: str | None, name: str | None,
        location: str | None, heading: str) -> None:
    ref, secret = await new_request(client)
    if mxid is not None:
        await add_advisor(db, clock, mxid, name, location)
    await answer(db, clock, ref, author=ADVISOR if mxid else "@former-1a2b:test")
    _response, page = await status_page(client, ref, secret)
    assert f"<h3>{heading}</h3>" in page
    assert "ola:test" not in page and "former" not in page


async def test_the_conversation_is_in_order_and_replies_are_marked_as_the_requesters(
        client: TestClient, db: Database, clock: Clock) -> None:
    ref, secret = await new_request(client)
    await add_advisor(db, clock)
    await answer(db, clock, ref, text="First answer")
    clock.now += timedelta(days=1)
    assert (await reply(client, ref, secret, "My <script>x</script> reply")).status == 303
    clock.now += timedelta(days=1)
    await answer(db, clock, ref, text="Second answer")
    _response, page = await status_page(client, ref, secret)
    first, mine, second = (page.index(text) for text in (
        "First answer", "My &lt;script&gt;x&lt;/script&gt; reply", "Second answer"))
    assert first < mine < second
    assert "<script>x" not in page
    assert re.search(r'<article class="reply">\s*<h3>Your reply</h3>\s*<p><time '
                     r'datetime="2026-11-28">28 Nov 2026</time></p>\s*<div[^>]*>My &lt;', page)
    assert page.count('<article class="answer">') == 2


async def test_the_status_page_hands_out_the_csrf_cookie_and_the_forms(
        client: TestClient, db: Database, clock: Clock) -> None:
    ref, secret = await new_request(client)
    client.session.cookie_jar.clear()
    response, page = await status_page(client, ref, secret)
    cookie = response.cookies["sbcc_advice_csrf"]
    token = TOKEN_RE.search(page)
    assert token and cookie.value == token[1]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/advice"
    assert_private(response)
    assert f'action="/advice/{ref}/reply?t={secret}&amp;lang=en"' in page
    assert '<label for="reply">Your reply</label>' in page
    assert 'name="rating"' not in page  # nothing to rate before an answer
    await answer(db, clock, ref)
    _response, page = await status_page(client, ref, secret)
    assert f'action="/advice/{ref}/rate?t={secret}&amp;lang=en"' in page
    assert "<legend>How helpful was the answer?</legend>" in page
    for stars, label in ((1, "1 star"), (2, "2 stars"), (5, "5 stars")):
        assert re.search(rf'<input id="rating-{stars}" name="rating" type="radio" '
                         rf'value="{stars}"[^>]*> <label for="rating-{stars}"[^>]*>{label}'
                         r"</label>", page)
    assert '<label for="comment">Comment (optional)</label>' in page


async def test_without_the_email_neither_reply_nor_rating_is_offered(
        client: TestClient, db: Database, clock: Clock) -> None:
    ref, secret = await new_request(client)
    await answer(db, clock, ref, status="closed")
    await change(db, ref, email=None, closed_at=clock())
    _response, page = await status_page(client, ref, secret)
    assert "Your e-mail address has been erased" in page
    assert 'name="reply"' not in page and 'name="rating"' not in page
    assert "Try the &lt;b&gt;jam" in page  # the conversation stays readable


# -- replying --------------------------------------------------------------------------


@pytest.mark.parametrize(("before", "assignee", "after"), [
    ("answered", ADVISOR, "claimed"),
    ("answered", None, "new"),
    ("closed", ADVISOR, "claimed"),
    ("closed", None, "new"),
    ("claimed", ADVISOR, "claimed"),
    ("new", None, "new"),
])
async def test_a_reply_is_stored_moves_the_request_and_is_delivered_after_the_commit(
        client: TestClient, db: Database, clock: Clock, deliveries: Deliveries,
        before: str, assignee: str | None, after: str) -> None:
    ref, secret = await new_request(client)
    closed = before == "closed"
    await change(db, ref, status=before, assignee=assignee,
                 closed_at=clock() if closed else None, outcome="helped" if closed else None)
    clock.now += timedelta(hours=2)
    typed = "  Thanks!\x00 One more\u202e question:\r\n\r\n\r\nwhen?  "
    response = await reply(client, ref, secret, typed)
    assert response.status == 303
    assert response.headers["Location"] == f"/advice/{ref}?t={secret}&lang=en&done=reply"
    assert_private(response)
    [message] = await messages(db)
    assert (message.direction, message.author, message.state) == ("in", None, "pending")
    assert message.text == "Thanks! One more question:\n\nwhen?"
    assert message.created_at == clock.now
    assert deliveries.ids == [message.id]
    row = await request_row(db, ref)
    assert row.status == after
    assert row.activity_at == clock.now
    if closed:
        assert (row.closed_at, row.outcome) == (None, None)
    assert await steps(db, ref) == [("requester", "replied", None)] + (
        [("requester", "reopened", None)] if closed else [])
    page = await (await client.get(response.headers["Location"])).text()
    assert "Thank you: your reply has arrived and is passed on to the advisors." in page
    assert "One more question:" in page


async def test_a_reply_bumps_the_notice_version(client: TestClient, db: Database,
                                                clock: Clock) -> None:
    ref, secret = await new_request(client)
    await answer(db, clock, ref)
    version = (await request_row(db, ref)).notice_version
    assert (await reply(client, ref, secret, "Thanks")).status == 303
    assert (await request_row(db, ref)).notice_version > version


async def test_a_failed_delivery_does_not_fail_the_page_and_logs_no_secret_or_text(
        client: TestClient, db: Database, deliveries: Deliveries,
        caplog: pytest.LogCaptureFixture) -> None:
    ref, secret = await new_request(client)
    deliveries.fail = True
    with caplog.at_level(logging.DEBUG, logger="bot"):
        response = await reply(client, ref, secret, "A very private reply")
    assert response.status == 303
    [message] = await messages(db)
    assert message.state == "pending" and deliveries.ids == [message.id]
    ours = "\n".join(logging.Formatter().format(r) for r in caplog.records
                     if r.name.startswith("bot."))
    assert "RuntimeError: homeserver away" in ours  # with the traceback
    assert f"{ref}: reply {message.id} stored but not delivered yet" in ours
    assert secret not in ours and "very private" not in ours


@pytest.mark.parametrize("case", ["no field", "no cookie", "other token", "forged",
                                  "expired"])
async def test_a_reply_without_a_valid_csrf_token_is_refused(
        client: TestClient, db: Database, clock: Clock, deliveries: Deliveries,
        case: str) -> None:
    ref, secret = await new_request(client)
    await answer(db, clock, ref)
    token = await token_of(client, ref, secret)
    if case == "no field":
        token = ""
    elif case == "no cookie":
        client.session.cookie_jar.clear()
    elif case == "other token":  # well formed, in field and cookie, of another process
        token = advice.make_token(b"another process" * 2, clock().timestamp())
        client.session.cookie_jar.update_cookies({"sbcc_advice_csrf": token})
    elif case == "forged":
        nonce, issued, signature = token.split(".")
        token = f"{nonce}.{issued}.{'0' * len(signature)}"
        client.session.cookie_jar.update_cookies({"sbcc_advice_csrf": token})
    elif case == "expired":
        clock.now += timedelta(hours=2, seconds=1)
    response = await reply(client, ref, secret, "Hello <b>there</b>", token=token)
    assert response.status == 403
    assert_private(response)
    page = await response.text()
    assert error_of(page, "reply") == html.escape(
        "For your safety we only accept this when the page was opened on this site within "
        "the last two hours. Nothing was sent. Please send it once more.")
    assert ">Hello &lt;b&gt;there&lt;/b&gt;</textarea>" in page  # kept, to send again
    assert [m.direction for m in await messages(db)] == ["out"]
    assert deliveries.ids == [] and await steps(db, ref) == []
    assert (await request_row(db, ref)).status == "answered"
    # the page it answers with hands out a fresh token: sending once more works
    again = TOKEN_RE.search(page)
    assert again
    assert (await reply(client, ref, secret, "Hello", token=again[1])).status == 303


@pytest.mark.parametrize("which", ["secret", "ref", "none"])
async def test_a_reply_with_a_wrong_secret_is_404_and_stores_nothing(
        client: TestClient, db: Database, deliveries: Deliveries, which: str) -> None:
    ref, secret = await new_request(client)
    token = await token_of(client, ref, secret)
    target = {"secret": (ref, secret[:-2] + "xx"), "ref": ("ADV-ZZZZZZ", secret),
              "none": (ref, "")}[which]
    response = await reply(client, *target, "Hello", token=token)
    assert response.status == 404
    assert_private(response)
    page = await response.text()
    assert "Request not found" in page and secret not in page
    assert await messages(db) == [] and deliveries.ids == []


@pytest.mark.parametrize(("text", "message"), [
    ("", "Please write your reply."),
    (" \n\t\u202e ", "Please write your reply."),
    ("x" * 4001, "Your reply has 4001 characters; please write at most 4000."),
    ("x" * 5000, "Your reply has 5000 characters; please write at most 4000."),
])
async def test_an_empty_or_too_long_reply_is_refused_next_to_the_field(
        client: TestClient, db: Database, deliveries: Deliveries, text: str,
        message: str) -> None:
    ref, secret = await new_request(client)
    response = await reply(client, ref, secret, text)
    assert response.status == 400
    assert_private(response)
    page = await response.text()
    assert error_of(page, "reply") == message
    assert re.search(r'id="reply" name="reply"[^>]*aria-describedby="reply-hint reply-error"'
                     r'[^>]*aria-invalid="true"', page)
    assert await messages(db) == [] and deliveries.ids == [] and await steps(db, ref) == []


async def test_4000_characters_are_accepted(client: TestClient, db: Database) -> None:
    ref, secret = await new_request(client)
    assert (await reply(client, ref, secret, "ż" * 4000)).status == 303  # 24 KB as sent
    [message] = await messages(db)
    assert message.text == "ż" * 4000


async def test_a_reply_after_the_email_was_erased_is_refused(
        client: TestClient, db: Database, clock: Clock, deliveries: Deliveries) -> None:
    ref, secret = await new_request(client)
    token = await token_of(client, ref, secret)
    await change(db, ref, status="closed", closed_at=clock(), email=None, outcome="helped")
    response = await reply(client, ref, secret, "Still there?", token=token)
    assert response.status == 400
    assert "your e-mail address has been erased, so you cannot reply" in await response.text()
    assert await messages(db) == [] and deliveries.ids == [] and await steps(db, ref) == []
    row = await request_row(db, ref)
    assert (row.status, row.outcome) == ("closed", "helped")


async def test_a_body_over_the_limit_is_413(client: TestClient, db: Database) -> None:
    ref, secret = await new_request(client)
    response = await reply(client, ref, secret, "x" * (advice.POST_BODY + 1))
    assert response.status == 413
    assert error_of(await response.text(), "reply") == (
        "This is too large to be sent here (at most 64 KiB). Please shorten it.")
    assert await messages(db) == []


async def test_an_error_page_speaks_the_readers_language_and_its_links_keep_the_secret(
        client: TestClient) -> None:
    ref, secret = await new_request(client)
    response = await reply(client, ref, secret, "", lang="de")
    assert response.status == 400
    page = await response.text()
    assert '<html lang="de">' in page and "Standort:" in page
    assert f'action="/advice/{ref}/reply?t={secret}&amp;lang=de"' in page
    assert f'href="/advice/{ref}?t={secret}&amp;lang=pl"' in page  # the status page's


async def test_replies_are_limited_per_request(client: TestClient, db: Database,
                                               clock: Clock) -> None:
    ref, secret = await new_request(client)
    other_ref, other_secret = await new_request(client)
    assert (await reply(client, ref, secret, "")).status == 400  # refused: not counted
    for i in range(advice.REF_RATE.count):
        address = {"X-Test-Remote": f"198.51.100.{i}"}  # whoever holds the link
        assert (await reply(client, ref, secret, f"Reply {i}", headers=address)).status == 303
    refused = await reply(client, ref, secret, "One too many")
    assert refused.status == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    assert_private(refused)
    page = await refused.text()
    assert error_of(page, "reply") == (
        "Please wait 60 minutes before you send something here again.")
    assert ">One too many</textarea>" in page
    assert (await rate(client, ref, secret, "5")).status == 429  # ratings count as well
    assert (await reply(client, other_ref, other_secret, "Mine")).status == 303
    assert len(await messages(db)) == advice.REF_RATE.count + 1
    clock.now += timedelta(hours=1, seconds=1)
    assert (await reply(client, ref, secret, "Later")).status == 303


async def test_posts_are_limited_per_client(client: TestClient, db: Database) -> None:
    links = [await new_request(client, f"192.0.2.{i}") for i in range(4)]
    sent = 0
    for ref, secret in links[:3]:
        for _ in range(advice.REF_RATE.count):
            assert (await reply(client, ref, secret, "Hello")).status == 303
            sent += 1
            if sent == advice.CLIENT_RATE.count:
                break
    ref, secret = links[3]
    assert (await reply(client, ref, secret, "Hello")).status == 429
    other = {"X-Test-Remote": "203.0.113.9"}
    assert (await reply(client, ref, secret, "Hello", headers=other)).status == 303
    assert len(await messages(db)) == advice.CLIENT_RATE.count + 1


# -- rating ----------------------------------------------------------------------------


@pytest.mark.parametrize("stars", [1, 2, 3, 4, 5])
async def test_a_rating_is_stored_and_shown(client: TestClient, db: Database, clock: Clock,
                                            deliveries: Deliveries, stars: int) -> None:
    ref, secret = await new_request(client)
    await answer(db, clock, ref)
    clock.now += timedelta(hours=1)
    response = await rate(client, ref, secret, str(stars), " Very <b>good</b> & quick ")
    assert response.status == 303
    assert response.headers["Location"] == f"/advice/{ref}?t={secret}&lang=en&done=rate"
    assert_private(response)
    row = await request_row(db, ref)
    assert (row.rating, row.rating_comment, row.rated_at) == (
        stars, "Very <b>good</b> & quick", clock.now)
    assert row.status == "answered"
    assert await steps(db, ref) == [("requester", "rated", str(stars))]
    assert deliveries.ids == []
    page = await (await client.get(response.headers["Location"])).text()
    label = "1 star" if stars == 1 else f"{stars} stars"
    assert f"Your rating: <strong>{label}</strong>" in page
    assert "Very &lt;b&gt;good&lt;/b&gt; &amp; quick" in page and "<b>good" not in page
    assert re.search(rf'id="rating-{stars}"[^>]*checked', page)
    assert "Thank you for your rating." in page


@pytest.mark.parametrize("stars", ["0", "6", "x", "", "1.5", "-1", "٣", "100"])
async def test_a_rating_outside_1_to_5_is_refused(client: TestClient, db: Database,
                                                  clock: Clock, stars: str) -> None:
    ref, secret = await new_request(client)
    await answer(db, clock, ref)
    response = await rate(client, ref, secret, stars, "kept <i>comment</i>")
    assert response.status == 400
    page = await response.text()
    assert error_of(page, "rating") == "Please choose between 1 and 5 stars."
    assert ">kept &lt;i&gt;comment&lt;/i&gt;</textarea>" in page
    row = await request_row(db, ref)
    assert (row.rating, row.rated_at) == (None, None) and await steps(db, ref) == []


@pytest.mark.parametrize("status", ["new", "claimed"])
async def test_no_rating_before_an_answer(client: TestClient, db: Database, status: str
                                          ) -> None:
    ref, secret = await new_request(client)
    await change(db, ref, status=status)
    response = await rate(client, ref, secret, "5")
    assert response.status == 400
    page = await response.text()
    assert error_of(page, "rating") == "You can rate once you have an answer."
    assert 'name="rating"' not in page
    assert (await request_row(db, ref)).rating is None and await steps(db, ref) == []


async def test_a_second_rating_replaces_the_first(client: TestClient, db: Database,
                                                 clock: Clock) -> None:
    ref, secret = await new_request(client)
    await answer(db, clock, ref, status="closed")
    assert (await rate(client, ref, secret, "2", "Slow")).status == 303
    clock.now += timedelta(days=1)
    assert (await rate(client, ref, secret, "5", "  ")).status == 303
    row = await request_row(db, ref)
    assert (row.rating, row.rating_comment, row.rated_at) == (5, None, clock.now)
    assert row.status == "closed"  # rating does not reopen
    assert await steps(db, ref) == [("requester", "rated", "2"), ("requester", "rated", "5")]


async def test_a_long_comment_is_refused_next_to_the_comment(
        client: TestClient, db: Database, clock: Clock) -> None:
    ref, secret = await new_request(client)
    await answer(db, clock, ref)
    response = await rate(client, ref, secret, "4", "y" * 2001)
    assert response.status == 400
    page = await response.text()
    assert error_of(page, "comment") == (
        "Your comment has 2001 characters; please write at most 2000.")
    assert error_of(page, "rating") is None
    assert re.search(r'id="rating-4"[^>]*checked', page)  # the choice is kept
    assert (await request_row(db, ref)).rating is None
    assert (await rate(client, ref, secret, "4", "y" * 2000)).status == 303


async def test_a_rating_needs_the_csrf_token_and_the_secret(
        client: TestClient, db: Database, clock: Clock) -> None:
    ref, secret = await new_request(client)
    await answer(db, clock, ref)
    token = await token_of(client, ref, secret)
    assert (await rate(client, ref, secret, "5", token="")).status == 403
    assert (await rate(client, ref, secret[:-1] + "A", "5", token=token)).status == 404
    assert (await request_row(db, ref)).rating is None


def test_the_redirect_carries_only_the_secret_and_the_language() -> None:
    url = urlsplit(advice._page_url("ADV-AAAAAA", "s3cr-t_", "pl", "reply"))
    assert url.path == "/advice/ADV-AAAAAA"
    assert parse_qs(url.query) == {"t": ["s3cr-t_"], "lang": ["pl"], "done": ["reply"]}
