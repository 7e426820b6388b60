"""The advisory workflow on a real Synapse with a real SMTP server (aiosmtpd): an
organisation asks on the web form, an advisor in another country who opted in is
suggested, claims the request with 👀 (the notice is edited), answers with `!advice reply`
(an e-mail arrives, the status page shows it), the requester rates the help from the status
page and the coordinators see it in `!advice stats`; an unclaimed request is raised again
once after its time (the clock moved in the database), and once only across a restart
between the nudge's send and its record."""

from __future__ import annotations

import email
import email.policy
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiosmtpd.controller import Controller

from bot.homeserver import free_port
from tests.integration.harness import Member
from tests.integration.test_network import network, provision_cli, room_ids

TOKEN_RE = re.compile(r'name="csrf" value="([^"]+)"')


class Inbox:
    """An aiosmtpd handler that keeps what it was given."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.recipients: list[list[str]] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802
        self.recipients.append(list(envelope.rcpt_tos))
        self.messages.append(email.message_from_bytes(  # type: ignore[arg-type]
            envelope.original_content, policy=email.policy.default))
        return "250 OK"


@pytest.fixture
def smtp() -> Any:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
async def desk(register, member_factory, bot_factory, smtp, bot_db):  # noqa: ANN001, ANN201
    inbox, smtp_port = smtp
    prefix = "a" + uuid.uuid4().hex[:8]
    account, coord_account, ala_account = (await register("sbcc"), await register("coord"),
                                           await register("ala"))
    port = free_port()
    net = network(prefix, advisory_room={"alias": f"{prefix}-advisory", "language": "en"})
    bot = await bot_factory(
        account, start=False, network=net, coordinators=[coord_account.user_id],
        web={"listen": f"127.0.0.1:{port}", "public_url": f"http://127.0.0.1:{port}"},
        mail={"host": "127.0.0.1", "port": smtp_port, "security": "none",
              "sender": "Test Clusters <advice@clusters.example>"})
    code, out = provision_cli(bot.config_path)
    assert code == 0, out
    ids = room_ids(out)
    await bot.start()
    coord = await member_factory(coord_account)
    for key in ("advisory:advisory", "space:space", "location:rostock"):
        await coord.join(ids[key])
    ala = await member_factory(ala_account, encrypting=True)  # case rooms are encrypted
    await ala.join(ids["space:space"])  # the location rooms are for the space's members
    await ala.join(ids["location:rostock"])
    return {"bot": bot, "ids": ids, "coord": coord, "ala": ala, "inbox": inbox,
            "base": f"http://127.0.0.1:{port}", "account": account,
            "sqlite": bot_db[0].startswith("sqlite")}


def from_bot(desk: dict[str, Any], room: str, needle: str):  # noqa: ANN201
    bot_id = desk["account"].user_id
    return lambda e: (e.get("room_id") == room and e.get("sender") == bot_id
                      and needle in e.get("content", {}).get("body", ""))


async def ask_the_network(base: str, question: str) -> dict[str, str]:
    async with aiohttp.ClientSession() as http, http.post(f"{base}/advice", json={
            "organisation": "Muzeum Morskie", "email": "anna@museum.example",
            "sector": "heritage", "location": "szczecin", "question": question,
            "consent": True, "language": "pl"}) as resp:
        assert resp.status == 201, await resp.text()
        return await resp.json()


async def become_advisor(desk: dict[str, Any]) -> None:
    ala: Member = desk["ala"]
    rostock = desk["ids"]["location:rostock"]
    await ala.ask(rostock, "!lang en")  # (the Rostock room speaks German)
    await ala.ask(rostock, "!set location rostock")
    await ala.ask(rostock, "!set languages pl, de, en")
    answer = await ala.ask(rostock, "!set advisor on video, funding")
    assert "advisor now" in answer["content"]["body"]
    invited = await ala.wait_invite()
    assert invited == desk["ids"]["advisory:advisory"]
    await ala.join(invited)


async def test_a_question_from_outside_is_answered_by_email_across_the_border(
        desk: dict[str, Any]) -> None:
    ala: Member = desk["ala"]
    coord: Member = desk["coord"]
    advisory = desk["ids"]["advisory:advisory"]
    await become_advisor(desk)

    created = await ask_the_network(desk["base"], "Jak sfinansować video o naszym muzeum? "
                                                  "Szukamy partnera do produkcji video.")
    ref, status_url = created["ref"], created["status_url"]
    [notice] = await ala.wait_for(from_bot(desk, advisory, ref))
    body = notice["content"]["body"]
    assert "Suggested advisors:" in body and "video" in body
    assert ala.user_id in notice["content"]["m.mentions"]["user_ids"]
    assert "anna@museum.example" not in body

    # 👀 claims it: the notice is edited in place, a case room opens for the advisor
    await ala.client.room_send(advisory, "m.reaction", {"m.relates_to": {
        "rel_type": "m.annotation", "event_id": notice["event_id"], "key": "👀"}})
    [edit] = await coord.wait_for(lambda e: e.get("room_id") == advisory and e.get(
        "content", {}).get("m.relates_to", {}).get("event_id") == notice["event_id"]
        and "State: claimed" in e["content"].get("m.new_content", {}).get("body", ""))
    assert edit["content"]["m.relates_to"]["rel_type"] == "m.replace"
    case_room = await ala.wait_invite()
    await ala.join(case_room)
    await ala.wait_for(from_bot(desk, case_room, ref))

    # the answer goes out by e-mail, in the requester's language, and shows on the page
    answer = "Dzień dobry, polecamy program Kreatywna Europa i studio w Rostocku."
    reply = await ala.ask(case_room, f"!advice reply {answer}")
    assert "by e-mail" in reply["content"]["body"]
    await desk["bot"].wait_log("sent by e-mail")
    [mail] = desk["inbox"].messages
    assert desk["inbox"].recipients == [["anna@museum.example"]]
    assert ref in mail["Subject"] and mail["Content-Language"] == "pl"
    assert answer in mail.get_body(("plain",)).get_content()
    # (a browser keeps the form's cookie; aiohttp keeps one from an IP address when unsafe)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(status_url) as page:
            html = await page.text()
            assert page.status == 200 and answer in html
        # the requester rates the help from the status page
        token = TOKEN_RE.search(html)
        assert token is not None
        rate_url = status_url.replace(f"/advice/{ref}?", f"/advice/{ref}/rate?")
        async with http.post(rate_url, data={"csrf": token.group(1), "rating": "5",
                                             "comment": "Bardzo pomocne"},
                             allow_redirects=False) as rated:
            assert rated.status == 303, await rated.text()

    await coord.ask(advisory, "!lang en")  # welcomed in Rostock, they were taken for German
    stats = await coord.ask(advisory, "!advice stats")
    text = stats["content"]["body"]
    assert "rated 5.0 of 5 by 1 requester" in text
    assert "Szczecin" in text  # by location


async def test_an_unclaimed_request_is_raised_again_once(desk: dict[str, Any],
                                                         bot_sql) -> None:  # noqa: ANN001
    coord: Member = desk["coord"]
    advisory = desk["ids"]["advisory:advisory"]
    created = await ask_the_network(desk["base"], "How do we organise a design sprint?")
    ref = created["ref"]
    await coord.wait_for(from_bot(desk, advisory, ref))

    # three and a half days pass (the clock moved in the database), the bot restarts
    bot = desk["bot"]
    assert await bot.terminate() == 0
    then = datetime.now(UTC) - timedelta(days=3, hours=12)
    stamp = then.strftime("%Y-%m-%d %H:%M:%S") + ("" if desk["sqlite"] else "+00")
    await bot_sql(f"UPDATE advisory_requests SET created_at = '{stamp}'")
    await bot.start()
    [nudge] = await coord.wait_for(from_bot(desk, advisory, "⏳"))
    assert ref in nudge["content"]["body"]

    # as if the bot died after sending and before recording: restarted, it sends again
    # with the same transaction id, and the room still holds one nudge
    assert await bot.terminate() == 0
    assert await bot_sql("SELECT state FROM advice_dues") == [("sent",)]
    await bot_sql("UPDATE advice_dues SET state = 'sending'")
    await bot.start()  # follow-ups left "sending" go out before it listens
    await coord.settle(advisory)  # a sentinel command: everything before it is done
    nudges = [e for e in coord.events if from_bot(desk, advisory, "⏳")(e)]
    assert len(nudges) == 1
    assert await bot_sql("SELECT state FROM advice_dues") == [("sent",)]
