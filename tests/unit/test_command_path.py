"""The path from a message to its reply: what is awaited before the member is answered."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nio.crypto import OlmAccount
from sqlalchemy import delete, event

from bot.db import Database
from bot.db.models import Member
from bot.dispatcher import Dispatcher
from bot.events import Outgoing, RoomEvent
from bot.gateway.crypto import CryptoStore
from bot.languages import KnownLanguages
from bot.members import MemberService
from rooms.settings import RoomSettingsService
from tests.fakes import Driver, FakeGateway


class StatementsBeforeSend:
    """Counts the SQL statements run between a message's arrival and the bot's first
    send."""

    def __init__(self, db: Database, gateway: FakeGateway) -> None:
        self.count = 0
        self.at_send: list[int] = []
        event.listen(db.engine.sync_engine, "before_cursor_execute", self._executed)
        self._send = gateway.send
        gateway.send = self._sending  # type: ignore[method-assign]

    def _executed(self, *_args: Any) -> None:
        self.count += 1

    async def _sending(self, message: Outgoing) -> str:
        self.at_send.append(self.count)
        return await self._send(message)

    def reset(self) -> None:
        self.count = 0
        self.at_send.clear()


async def test_a_known_member_is_answered_after_one_statement(
        driver: Driver, db: Database, gateway: FakeGateway) -> None:
    await driver.send("!ping", sender="@ala:test")  # the bot meets her
    statements = StatementsBeforeSend(db, gateway)
    [out] = await driver.send("!ping again", sender="@ala:test")
    assert out.body == "pong again"
    # whether it was handled, who she is and the room's language: one round trip
    assert statements.at_send == [1]


def speaks(out: Outgoing) -> str:
    """The language `!lang` says it speaks (its first sentence names it, in that
    language)."""
    return out.body.split(".")[0]


async def test_a_new_language_is_spoken_from_the_next_command_on(driver: Driver) -> None:
    [before] = await driver.send("!lang")
    assert speaks(before) == "I speak English with you"
    await driver.send("!lang pl")
    [after] = await driver.send("!lang")
    assert "Polski" in speaks(after) and "English" not in after.body.split(":")[0]
    await driver.send("!lang en")
    [back] = await driver.send("!lang")
    assert speaks(back) == "I speak English with you"


async def test_the_room_language_unless_the_member_chose_one(driver: Driver,
                                                            db: Database) -> None:
    async with db.session() as session:
        await RoomSettingsService(session).set("!berlin:test", language="de")
    [room] = await driver.send("!lang", room_id="!berlin:test")
    assert "Deutsch" in speaks(room)
    [plain] = await driver.send("!lang", room_id="!elsewhere:test")
    assert "English" in speaks(plain)
    await driver.send("!lang sv", room_id="!elsewhere:test")
    [own] = await driver.send("!lang", room_id="!berlin:test")
    assert "Svenska" in speaks(own)


async def test_a_member_forgotten_since_the_bot_met_them_is_answered(
        driver: Driver, db: Database) -> None:
    await driver.send("!ping", sender="@ola:test")
    async with db.session() as session:
        await session.execute(delete(Member).where(Member.mxid == "@ola:test"))
    [out] = await driver.send("!ping back", sender="@ola:test")
    assert out.body == "pong back"
    async with db.session() as session:
        assert await MemberService(session, lambda: None).get("@ola:test") is not None  # type: ignore[arg-type, return-value]


async def test_a_command_is_answered_before_the_listeners_see_it(
        driver: Driver, dispatcher: Dispatcher, gateway: FakeGateway) -> None:
    seen: list[int] = []

    async def listener(ev: RoomEvent) -> None:
        seen.append(len(gateway.sent))

    dispatcher.add_listener(listener)
    await driver.send("!ping")
    assert seen == [1]


async def test_a_redelivered_command_is_not_answered_again(driver: Driver) -> None:
    message = driver.message("!ping once", event_id="$once")
    assert len(await driver.deliver(message)) == 1
    assert await driver.deliver(message) == []


async def test_the_members_met_are_remembered_up_to_a_bound(
        driver: Driver, dispatcher: Dispatcher, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(dispatcher._known_members, "max_size", 2)
    for who in ("@a:test", "@b:test", "@c:test"):
        await driver.send("!ping", sender=who)
    assert list(dispatcher._known_members) == ["@b:test", "@c:test"]  # the oldest forgotten
    [out] = await driver.send("!ping again", sender="@a:test")  # met again, answered
    assert out.body == "pong again"
    assert list(dispatcher._known_members) == ["@c:test", "@a:test"]


def test_the_crypto_store_is_not_touched_after_a_sync_that_encrypted_no_room(
        tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    store = CryptoStore("@sbcc:test", "DEVICE", str(tmp_path / "keys"))
    store.save_account(OlmAccount())
    store.save_encrypted_rooms({"!secret:test"})
    assert store.load_encrypted_rooms() == {"!secret:test"}

    def touched() -> None:
        raise AssertionError("the store was read")

    monkeypatch.setattr(store, "_get_account", touched)
    store.save_encrypted_rooms(set())  # what nio does after nearly every /sync


async def test_a_fresh_command_from_known_languages_is_answered_before_any_statement(
        driver: Driver, db: Database, gateway: FakeGateway) -> None:
    statements = StatementsBeforeSend(db, gateway)
    [first] = await driver.deliver(driver.message("!ping 1"), fresh=True)
    assert first.body == "pong 1" and statements.at_send[-1] >= 1  # languages read once
    statements.reset()
    [second] = await driver.deliver(driver.message("!ping 2"), fresh=True)
    assert second.body == "pong 2" and statements.at_send == [0]
    statements.reset()
    message = driver.message("!ping 3")
    await driver.deliver(message)  # not fresh (a restart's first batch): asked first
    assert statements.at_send == [1]
    assert await driver.deliver(message) == []  # and a redelivery is still recognised


async def test_fresh_commands_speak_a_changed_language_at_once(
        driver: Driver, db: Database) -> None:
    async def fresh(body: str, **where: str) -> list[Outgoing]:
        return await driver.deliver(driver.message(body, **where), fresh=True)

    [_] = await fresh("!lang")
    await fresh("!lang pl")
    [after] = await fresh("!lang")
    assert "Polski" in speaks(after)
    [_] = await fresh("!lang", room_id="!berlin:test", sender="@ola:test")
    async with db.session() as session:  # a room's language set elsewhere in the bot
        await RoomSettingsService(session).set("!berlin:test", language="de")
    [room] = await fresh("!lang", room_id="!berlin:test", sender="@ola:test")
    assert "Deutsch" in speaks(room)
    async with db.session() as session:  # forgotten (erased) since: English again
        member = await session.get(Member, "@ala:test")
        assert member is not None
        await session.delete(member)
    [gone] = await fresh("!lang", room_id="!elsewhere:test")
    assert speaks(gone) == "I speak English with you"


def test_languages_read_are_believed_for_a_while_only() -> None:
    """What another process changes (no flush here tells) is read again after the TTL."""
    now = [0.0]
    known = KnownLanguages(clock=lambda: now[0], ttl=60.0, kept=2)
    known.put("@a:test", "pl", "!r:test", None)
    assert known.get("@a:test", "!r:test") == ("pl", None)
    assert known.get("@a:test", "!other:test") is None  # the room not known
    now[0] = 61.0
    assert known.get("@a:test", "!r:test") is None
    known.put("@b:test", None, "!r2:test", "de")
    known.put("@c:test", None, "!r3:test", "sv")
    known.put("@d:test", None, "!r3:test", "sv")
    assert known.get("@b:test", "!r3:test") is None  # past the bound: the oldest forgotten
    assert known.get("@d:test", "!r3:test") == (None, "sv")
