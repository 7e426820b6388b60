"""The bridge on a real Synapse: a webhook post and an advice form submission arrive in
their rooms with HTML escaped; !share and !announce reach the right rooms in the right
language; and a real headless Chromium goes through the advice form and the showcase."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid

import aiohttp
import pytest

from bot.homeserver import free_port
from tests.integration.test_network import network, provision_cli, room_ids

TOKEN = "hook-token-" + "x" * 24


@pytest.fixture
async def bridge(register, member_factory, bot_factory, synapse):  # noqa: ANN201
    prefix = "b" + uuid.uuid4().hex[:8]
    account, coord_account = await register("sbcc"), await register("coord")
    port = free_port()
    net = network(prefix, advisory_room={"alias": f"{prefix}-advisory", "language": "en"})
    bot = await bot_factory(
        account, start=False, network=net, coordinators=[coord_account.user_id],
        web={"listen": f"127.0.0.1:{port}", "public_url": f"http://127.0.0.1:{port}",
             "hooks": {"city": {"token": TOKEN, "rooms": ["rostock", "partners"]}}})
    code, out = provision_cli(bot.config_path)
    assert code == 0, out
    ids = room_ids(out)
    await bot.start()
    coord = await member_factory(coord_account)
    for key in ("partners:partners", "advisory:advisory", "space:space", "location:rostock",
                "location:szczecin", "topic:design"):
        await coord.join(ids[key])
    return {"bot": bot, "ids": ids, "coord": coord, "base": f"http://127.0.0.1:{port}",
            "account": account}


def from_bot(bridge, room_key: str, needle: str):  # noqa: ANN001, ANN201
    room = bridge["ids"][room_key]
    bot_id = bridge["account"].user_id
    return lambda e: (e.get("room_id") == room and e.get("sender") == bot_id
                      and needle in e.get("content", {}).get("body", ""))


@pytest.mark.one_database
async def test_webhook_post_arrives_escaped(bridge) -> None:  # noqa: ANN001
    payload = {"title": "City of Rostock", "text": "Open call <2027> & more",
               "html": "<p>Open call <b>now</b><script>alert(1)</script></p>",
               "link": "https://rostock.de/call"}
    async with aiohttp.ClientSession() as http, http.post(
            f"{bridge['base']}/hooks/city", json=payload,
            headers={"Authorization": f"Bearer {TOKEN}"}) as resp:
        assert resp.status == 202, await resp.text()
    coord = bridge["coord"]
    for key in ("location:rostock", "partners:partners"):
        [event] = await coord.wait_for(from_bot(bridge, key, "Open call"))
        html = event["content"]["formatted_body"]
        assert "<b>now</b>" in html and "<script>" not in html and "alert(1)" not in html
    async with aiohttp.ClientSession() as http, http.post(
            f"{bridge['base']}/hooks/city", json=payload,
            headers={"Authorization": "Bearer wrong-token-wrong-token"}) as resp:
        assert resp.status == 401
    await bridge["bot"].wait_log("city")
    assert TOKEN not in bridge["bot"].new_log()


async def test_share_and_announce(bridge, member_factory, register) -> None:  # noqa: ANN001
    coord, ids = bridge["coord"], bridge["ids"]
    await coord.ask(ids["location:szczecin"], "!share Nowy film #video <premiere>")
    [relay] = await coord.wait_for(from_bot(bridge, "topic:design", "Nowy film"))
    assert "&lt;premiere&gt;" in relay["content"]["formatted_body"]
    await coord.ask(ids["partners:partners"],
                    "!announce en: Tickets are out | pl: Bilety już są | de: Karten sind da")
    await coord.wait_for(from_bot(bridge, "location:szczecin", "Bilety już są"))
    await coord.wait_for(from_bot(bridge, "location:rostock", "Karten sind da"))
    await coord.wait_for(from_bot(bridge, "topic:design", "Tickets are out"))


@pytest.mark.skipif(
    not os.environ.get("CI") and (shutil.which("chromium") is None
                                  or shutil.which("chromedriver") is None),
    reason="needs Debian's chromium and chromium-driver; .ci/run installs them, and in CI "
           "this test always runs")
@pytest.mark.one_database
async def test_browser_advice_form_and_showcase(bridge) -> None:  # noqa: ANN001
    from tests.integration.browser import Browser

    base, coord = bridge["base"], bridge["coord"]
    await coord.ask(bridge["ids"]["partners:partners"], "!consent showcase on")
    await coord.ask(bridge["ids"]["partners:partners"], "!set org Studio <Nord>")
    async with Browser() as browser:
        page = await browser.open(f"{base}/advice?lang=de")
        assert page.lang == "de"
        await browser.fill({"organisation": "Museum <Ostsee>", "email": "info@museum.example",
                            "question": "Wie finden wir Partner für eine Ausstellung?"},
                           selects={"sector": "heritage", "location": "rostock"},
                           checks=("consent",))
        done = await browser.submit()
        assert "ADV-" in done.text
        ref = next(w for w in done.text.split() if w.startswith("ADV-")).strip(".,:;")
        status = await browser.follow_link_containing(f"/advice/{ref}")
        assert ref in status.text
        showcase = await browser.open(f"{base}/showcase")
        assert "Studio <Nord>" in showcase.text  # rendered as text, not markup
    [posted] = await coord.wait_for(from_bot(bridge, "advisory:advisory", ref))
    assert "Museum &lt;Ostsee&gt;" in posted["content"]["formatted_body"]
    await asyncio.sleep(0)
