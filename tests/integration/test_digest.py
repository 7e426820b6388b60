"""The digest on a real Synapse: a preview posts the text and the chart image."""

from __future__ import annotations

import uuid

from tests.integration.test_network import network, provision_cli, room_ids


async def test_preview_posts_text_and_chart(register, member_factory, bot_factory) -> None:
    prefix = "d" + uuid.uuid4().hex[:8]
    account, coord_account = await register("sbcc"), await register("coord")
    bot = await bot_factory(account, start=False, network=network(prefix),
                            coordinators=[coord_account.user_id])
    code, out = provision_cli(bot.config_path)
    assert code == 0, out
    ids = room_ids(out)
    await bot.start()
    coord = await member_factory(coord_account)
    partners = ids["partners:partners"]
    await coord.join(partners)  # provisioning invited the coordinator
    await coord.join(ids["space:space"])
    await coord.join(ids["location:rostock"])
    for text in ("hello", "anyone here?", "yes!"):
        await coord.say(ids["location:rostock"], text)
    await coord.settle(ids["location:rostock"])  # the three are counted
    await coord.say(partners, "!digest preview")  # posts the digest itself, not a reply
    [image] = await coord.wait_for(lambda e: e.get("room_id") == partners
                                   and e.get("content", {}).get("msgtype") == "m.image")
    assert image["content"]["url"].startswith("mxc://")
    assert "Rostock" in image["content"]["body"]  # the text alternative
    [digest] = [e for e in coord.events if e.get("room_id") == partners
                and "Test Clusters" in e.get("content", {}).get("body", "")]
    assert "Rostock: 4 messages" in digest["content"]["body"]  # the three and the sentinel
    assert digest["content"]["formatted_body"].startswith("<h3>")
