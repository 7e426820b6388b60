"""A member's own data: !mydata, !forget-me, !privacy, through the real dispatcher; and what
every feature declares it holds."""

from __future__ import annotations

import json

from bot.app import wire
from bot.db.models import Member
from bot.deps import Deps
from bot.members import is_former
from tests.fakes import Driver, FakeGateway


async def test_mydata_sends_a_json_file_to_a_direct_chat(driver: Driver, deps: Deps,
                                                         gateway: FakeGateway) -> None:
    await driver.send("!lang de")
    out = await driver.send("!mydata", room_id="!room:test")
    [dm] = gateway.created
    assert dm["is_direct"] and dm["invite"] == ("@ala:test",)
    summary, file, reply = out
    assert summary.room_id == file.room_id == dm["room_id"]
    assert reply.room_id == "!room:test" and reply.reply_to is not None
    data = json.loads(gateway.uploads[0][1])
    assert data["matrix_id"] == "@ala:test" and data["member"]["language"] == "de"
    assert file.msgtype == "m.file" and dict(file.extra)["filename"].endswith(".json")
    # the chat it opened is a direct chat: no prefix needed there
    [pong] = await driver.send("ping", room_id=dm["room_id"])
    assert pong.body.startswith("pong")


async def test_mydata_in_the_direct_chat_stays_there(driver: Driver, deps: Deps,
                                                     gateway: FakeGateway) -> None:
    await deps.direct.record("!dm:test")
    out = await driver.send("mydata", room_id="!dm:test")
    assert [o.room_id for o in out] == ["!dm:test", "!dm:test"] and gateway.created == []


async def test_forget_me_explains_then_erases_on_confirm(driver: Driver, deps: Deps) -> None:
    await driver.send("!lang pl")
    [plan] = await driver.send("!forget-me", sender="@ala:test")
    assert "!forget-me confirm" in plan.body
    async with deps.db.session() as s:
        assert await s.get(Member, "@ala:test") is not None  # nothing erased yet
    [done] = await driver.send("!forget-me confirm", sender="@ala:test")
    assert done.body
    async with deps.db.session() as s:
        assert await s.get(Member, "@ala:test") is None


async def test_privacy_says_what_how_long_and_who(driver: Driver) -> None:
    [out] = await driver.send("!privacy")
    for words in ("365d", "90d", "180d", "!mydata", "!forget-me", "showcase"):
        assert words in out.body, words


def test_every_part_has_a_name_and_says_what_it_is(deps: Deps) -> None:
    parts = wire(deps).personal_data
    names = [p.name for p in parts]
    assert names[0] == "member" and len(set(names)) == len(names)
    assert all(p.what for p in parts)


def test_a_former_member_cannot_be_traced_back() -> None:
    from bot.features.privacy.service import former_member

    a, b = former_member(), former_member()
    assert a != b and is_former(a) and a.endswith(":invalid")
