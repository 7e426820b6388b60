"""Events on a real Synapse: RSVP by ✅, withdrawal by redaction, the waiting list, and a
due reminder arriving in the room."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.integration.harness import is_joined, reply_target
from tests.integration.test_network import network, provision_cli, room_ids


async def test_rsvp_reactions_waitlist_and_reminder(register, member_factory, bot_factory,
                                                    bot_sql) -> None:
    import uuid

    prefix = "f" + uuid.uuid4().hex[:8]
    account, coord_account = await register("sbcc"), await register("coord")
    bot = await bot_factory(account, start=False, network=network(prefix),
                            coordinators=[coord_account.user_id],
                            forums={"reminders": ["7d"], "grace": "6h"})
    code, out = provision_cli(bot.config_path)
    assert code == 0, out
    ids = room_ids(out)
    await bot.start()
    coord = await member_factory(coord_account)
    dm = await coord.create_room(invite=[account.user_id], is_direct=True)
    await coord.wait_for(is_joined(account.user_id))
    day = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    added = await coord.ask(dm, f"!forum add {day} 10:00 szczecin Annual Forum --capacity 1")
    assert "#1" in added["content"]["body"], added["content"]["body"]

    ala, bob = (await member_factory(await register("ala")),
                await member_factory(await register("bob")))
    room = ids["location:szczecin"]
    for m in (ala, bob):
        await m.join(ids["space:space"])
        await m.join(room)
    [post] = await ala.wait_for(lambda e: e.get("room_id") == room
                                and "Annual Forum" in e.get("content", {}).get("body", ""))

    async def react(member, key: str) -> str:  # noqa: ANN001
        resp = await member.client.room_send(room, "m.reaction", {"m.relates_to": {
            "rel_type": "m.annotation", "event_id": post["event_id"], "key": key}})
        return resp.event_id

    ala_yes = await react(ala, "✅")
    await bot.wait_log(f"{ala.user_id} answered yes to event 1")
    await react(bob, "✅")
    await bot.wait_log(f"{bob.user_id} answered yes to event 1")
    assert await bot_sql("SELECT mxid, waitlisted FROM rsvps ORDER BY answered_at") == [
        (ala.user_id, False), (bob.user_id, True)]

    await ala.client.room_redact(room, ala_yes)
    await bot.wait_log(f"{ala.user_id} withdrew from event 1")
    [news] = await bob.wait_for(lambda e: e.get("room_id") == room
                                and "🎉" in e.get("content", {}).get("body", ""))
    assert news["content"]["m.mentions"] == {"user_ids": [bob.user_id]}
    assert await bot_sql("SELECT mxid, waitlisted FROM rsvps") == [(bob.user_id, False)]
    details = await coord.ask(dm, "!forum 1")
    assert "Yes: 1" in details["content"]["body"]

    # a week before is a month away: let the bot find it due while it was down
    assert await bot.terminate() == 0
    await bot_sql("UPDATE reminders SET due_at = (SELECT created_at FROM forum_events)")
    await bot.start()
    [reminder] = await bob.wait_for(lambda e: e.get("room_id") == room
                                    and e.get("content", {}).get("body", "").startswith("⏰")
                                    and bob.user_id in str(e["content"].get("m.mentions")))
    assert "Annual Forum" in reminder["content"]["body"]
    assert reply_target(reminder) is None
    states = await bot_sql("SELECT state FROM reminders")
    assert {s for (s,) in states} == {"sent"}
