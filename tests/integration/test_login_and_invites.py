"""Password login kept across restarts; invites honoured only from allowed inviters."""

from __future__ import annotations

import aiohttp
import pytest

from tests.integration.harness import is_joined


async def devices(base_url: str, token: str) -> list[str]:
    async with aiohttp.ClientSession() as http, http.get(
            f"{base_url}/_matrix/client/v3/devices",
            headers={"Authorization": f"Bearer {token}"}) as resp:
        assert resp.status == 200
        return sorted(d["device_id"] for d in (await resp.json())["devices"])


@pytest.mark.one_database
async def test_password_login_once_then_reused(register, member_factory, bot_factory,
                                               synapse) -> None:
    account = await register("sbcc")
    before = await devices(synapse.base_url, account.access_token)
    password_only = {"homeserver": synapse.base_url, "user_id": account.user_id,
                     "password": account.password}
    bot = await bot_factory(account, start=False, matrix=password_only)
    await bot.start()
    ala = await member_factory(await register("ala"))
    room = await ala.create_room(invite=[account.user_id])
    await ala.wait_for(is_joined(account.user_id))
    assert (await ala.ask(room, "!ping 1"))["content"]["body"] == "pong 1"
    after_first = await devices(synapse.base_url, account.access_token)
    assert len(after_first) == len(before) + 1, "one login, one new device"

    assert await bot.terminate() == 0
    await bot.start()
    assert (await ala.ask(room, "!ping 2"))["content"]["body"] == "pong 2"
    assert await devices(synapse.base_url, account.access_token) == after_first
    assert account.password not in bot.new_log()


@pytest.mark.one_database
async def test_invites_only_from_allowed_inviters(register, member_factory, bot_factory
                                                  ) -> None:
    account = await register("sbcc")
    ala_account, eve_account = await register("ala"), await register("eve")
    await bot_factory(account, allowed_inviters=[ala_account.user_id])
    eve = await member_factory(eve_account)
    ala = await member_factory(ala_account)
    eve_room = await eve.create_room(invite=[account.user_id])
    await eve.wait_for(lambda e: e.get("type") == "m.room.member"
                       and e.get("state_key") == account.user_id
                       and e["content"].get("membership") == "leave")
    ala_room = await ala.create_room(invite=[account.user_id])
    await ala.wait_for(is_joined(account.user_id))
    assert (await ala.ask(ala_room, "!ping ok"))["content"]["body"] == "pong ok"
    assert not any(is_joined(account.user_id)(e) for e in eve.events
                   if e.get("room_id") == eve_room)
