"""Encryption without a homeserver: what decrypted events may be, encrypted events kept for
their keys (answered once, or owned up to once), the key store on disk, the config."""

from __future__ import annotations

import asyncio
import os
import stat
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from nio.crypto import Olm, OlmDevice
from nio.crypto.key_request import OutgoingKeyRequest
from nio.events import ForwardedRoomKeyEvent, MegolmEvent
from sqlalchemy import func, select

from bot.app import parse_config, wire
from bot.db.models import HandledEvent, KeptEvent
from bot.deps import Deps
from bot.dispatcher import Dispatcher
from bot.errors import ConfigError, GatewayError
from bot.events import Message, Outgoing, Reaction, Undecryptable
from bot.gateway.client import MatrixGateway
from bot.gateway.crypto import BotOlm, CryptoStore, forwarded_by_origin, prepare_store_dir
from bot.gateway.translate import to_room_event
from bot.undecrypted import KeptEvents
from tests.conftest import Clock, base_config, make_dispatcher
from tests.fakes import FakeGateway

DM = "!dm:test"
ROOM = "!room:test"


def encrypted(event_id: str, room_id: str = DM, sender: str = "@ala:test",
              session: str = "s1") -> Undecryptable:
    source = {"type": "m.room.encrypted", "event_id": event_id, "sender": sender,
              "origin_server_ts": 1, "content": {
                  "algorithm": "m.megolm.v1.aes-sha2", "ciphertext": "AwgA…",
                  "sender_key": "curve", "device_id": "ALADEVICE", "session_id": session}}
    undecryptable = to_room_event(room_id, source)
    assert isinstance(undecryptable, Undecryptable)
    return undecryptable


def plain(event_id: str, body: str, room_id: str = DM, sender: str = "@ala:test") -> Message:
    return Message(event_id=event_id, room_id=room_id, sender=sender, body=body)


async def kept_rows(deps: Deps) -> list[KeptEvent]:
    async with deps.db.session() as session:
        return list(await session.scalars(select(KeptEvent).order_by(KeptEvent.event_id)))


# -- what an encrypted event may turn out to be -----------------------------------------------

def test_a_decrypted_payload_is_believed_only_as_a_message_or_reaction() -> None:
    """State, memberships and redactions are never encrypted: a payload claiming to be one
    is forged by whoever holds the room key (any member), and must not move our records."""
    forged = {"type": "m.room.member", "state_key": "@udo:test", "event_id": "$f",
              "sender": "@ala:test", "content": {"membership": "leave"}}
    assert to_room_event(ROOM, forged, decrypted=True) is None
    assert to_room_event(ROOM, {**forged, "type": "m.room.power_levels", "state_key": ""},
                         decrypted=True) is None
    assert to_room_event(ROOM, {"type": "m.room.redaction", "redacts": "$x", "event_id": "$r",
                                "sender": "@ala:test", "content": {}}, decrypted=True) is None
    assert to_room_event(ROOM, forged) is not None  # the same, unencrypted, is real state
    message = to_room_event(ROOM, {"type": "m.room.message", "event_id": "$m",
                                   "sender": "@ala:test",
                                   "content": {"msgtype": "m.text", "body": "!ping"}},
                            decrypted=True)
    assert isinstance(message, Message) and message.body == "!ping"
    reaction = to_room_event(ROOM, {"type": "m.reaction", "event_id": "$r", "sender": "@a:t",
                                    "content": {"m.relates_to": {
                                        "rel_type": "m.annotation", "event_id": "$post",
                                        "key": "✅"}}}, decrypted=True)
    assert reaction == Reaction("$r", ROOM, "@a:t", "$post", "✅")


@pytest.mark.parametrize("content", [None, "text", [], {"session_id": 5}])
def test_odd_encrypted_events_are_kept_or_ignored_never_raised(content: Any) -> None:
    source = {"type": "m.room.encrypted", "event_id": "$e", "sender": "@a:t",
              "content": content}
    event = to_room_event(ROOM, source)
    assert event is None or (isinstance(event, Undecryptable) and event.session_id == "")


def test_the_gateway_turns_what_nio_could_not_decrypt_into_a_kept_event() -> None:
    source = encrypted("$e1").source
    megolm = MegolmEvent.from_dict(source)
    assert isinstance(megolm, MegolmEvent)
    event = MatrixGateway._translate(DM, megolm)
    assert isinstance(event, Undecryptable) and event.session_id == "s1"
    gateway = MatrixGateway("http://127.0.0.1:1", "@sbcc:test")  # encryption off
    assert not gateway.encryption and gateway.decrypt(event) is None


# -- kept until the key comes ---------------------------------------------------------------

@pytest.fixture
async def dm(deps: Deps) -> str:
    await deps.direct.record(DM)
    return DM


async def test_a_message_whose_key_comes_later_is_answered_once(
        deps: Deps, dispatcher: Dispatcher, gateway: FakeGateway, dm: str) -> None:
    await dispatcher.on_event(encrypted("$e1"))
    await dispatcher.on_event(encrypted("$e1"))  # redelivered before the key came
    assert gateway.sent == [] and gateway.key_requests == ["$e1"]
    [row] = await kept_rows(deps)
    assert row.keys_requested and row.given_up_at is None

    await dispatcher.retry_kept()  # no key yet: nothing
    assert gateway.sent == []
    gateway.room_keys["$e1"] = plain("$e1", "ping")
    await dispatcher.retry_kept()
    [pong] = gateway.sent
    assert pong.body.startswith("pong") and pong.reply_to == "$e1"
    assert await kept_rows(deps) == []
    await dispatcher.retry_kept()
    await dispatcher.on_event(plain("$e1", "ping"))  # and nio decrypts a redelivery
    assert len(gateway.sent) == 1, "answered once"


async def test_a_message_whose_key_never_comes_is_owned_up_to_once(
        deps: Deps, dispatcher: Dispatcher, gateway: FakeGateway, clock: Clock,
        dm: str) -> None:
    await dispatcher.on_event(encrypted("$e1"))
    clock.now += timedelta(minutes=1)
    await dispatcher.retry_kept()
    assert gateway.sent == [], "two minutes' grace by default"
    clock.now += timedelta(minutes=1)
    await dispatcher.retry_kept()
    [told] = gateway.sent
    assert "could not read your message" in told.body
    assert told.reply_to == "$e1" and told.mentions == ("@ala:test",)
    [row] = await kept_rows(deps)
    assert row.given_up_at == clock.now and row.told

    gateway.room_keys["$e1"] = plain("$e1", "ping")  # too late
    await dispatcher.retry_kept()
    await dispatcher.on_event(plain("$e1", "ping"))
    assert gateway.sent == [told], "no answer after saying it could not be read"


async def test_a_key_arriving_while_the_sender_is_told_brings_no_answer(
        deps: Deps, dispatcher: Dispatcher, gateway: FakeGateway, clock: Clock,
        dm: str) -> None:
    """The key comes just after the bot gave up, while its notice is on the way — and with
    the key a /sync that tries the kept events again, beside the regular retry."""
    await dispatcher.on_event(encrypted("$e1"))
    clock.now += timedelta(minutes=2)
    send, after_the_key = gateway.send, []

    async def telling(message: Outgoing) -> str:
        event_id = await send(message)
        if not after_the_key:
            gateway.room_keys["$e1"] = plain("$e1", "ping")
            after_the_key.append(asyncio.create_task(dispatcher.retry_kept()))
            await asyncio.wait(after_the_key, timeout=0.5)
        return event_id

    gateway.send = telling  # type: ignore[method-assign]
    await dispatcher.retry_kept()
    await asyncio.gather(*after_the_key)
    assert [m.body for m in gateway.sent] == [gateway.sent[0].body]
    assert "could not read your message" in gateway.sent[0].body
    async with deps.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(HandledEvent).where(
            HandledEvent.event_id == "$e1")) == 1


async def test_the_notice_is_in_the_senders_language(
        deps: Deps, dispatcher: Dispatcher, gateway: FakeGateway, clock: Clock, dm: str,
        driver: Any) -> None:
    await driver.send("!lang de", room_id=DM)
    gateway.sent.clear()
    await dispatcher.on_event(encrypted("$e1"))
    clock.now += timedelta(minutes=5)
    await dispatcher.retry_kept()
    [told] = gateway.sent
    english = deps.translator.bind("en")(
        "I could not read your message: it is end-to-end encrypted and its key has not "
        "reached me. Please send it again.")
    assert told.body != english and "could not read" not in told.body


async def test_outside_direct_chats_a_person_is_told_once_a_day(
        deps: Deps, dispatcher: Dispatcher, gateway: FakeGateway, clock: Clock) -> None:
    for n in (1, 2, 3):
        await dispatcher.on_event(encrypted(f"$a{n}", room_id=ROOM))
    await dispatcher.on_event(encrypted("$u1", room_id=ROOM, sender="@udo:test"))
    clock.now += timedelta(minutes=3)
    await dispatcher.retry_kept()
    assert sorted(o.reply_to or "" for o in gateway.sent) == ["$a1", "$u1"]
    assert all(r.given_up_at is not None for r in await kept_rows(deps))
    clock.now += timedelta(days=1, minutes=1)
    await dispatcher.on_event(encrypted("$a4", room_id=ROOM))
    clock.now += timedelta(minutes=3)
    await dispatcher.retry_kept()
    assert [o.reply_to for o in gateway.sent][-1] == "$a4", "a day later: told again"
    async with deps.db.session() as session:
        handled = await session.scalar(select(func.count()).select_from(HandledEvent))
    assert handled == 5, "every given-up event is recorded as handled"


async def test_without_encryption_the_sender_is_told_at_once(
        deps: Deps, dispatcher: Dispatcher, gateway: FakeGateway, dm: str) -> None:
    gateway.encryption = False
    await dispatcher.on_event(encrypted("$e1"))
    assert gateway.key_requests == []
    await dispatcher.retry_kept()
    [told] = gateway.sent
    assert told.reply_to == "$e1"


async def test_a_room_that_refuses_us_does_not_keep_the_event_forever(
        deps: Deps, dispatcher: Dispatcher, gateway: FakeGateway, clock: Clock,
        dm: str) -> None:
    await dispatcher.on_event(encrypted("$e1"))
    gateway.refuse.add(DM)
    clock.now += timedelta(minutes=3)
    await dispatcher.retry_kept()
    [row] = await kept_rows(deps)
    assert row.given_up_at is not None and not row.told


async def test_a_homeserver_outage_while_telling_is_tried_again(
        deps: Deps, dispatcher: Dispatcher, gateway: FakeGateway, clock: Clock,
        dm: str) -> None:
    await dispatcher.on_event(encrypted("$e1"))
    clock.now += timedelta(minutes=3)
    gateway.unavailable = 1
    await dispatcher.retry_kept()  # logged, not raised
    [row] = await kept_rows(deps)
    assert row.given_up_at is None and gateway.sent == []
    await dispatcher.retry_kept()
    [told] = gateway.sent
    assert told.reply_to == "$e1"


async def test_asking_for_the_key_failing_keeps_the_event_anyway(
        deps: Deps, dispatcher: Dispatcher, gateway: FakeGateway, dm: str) -> None:
    gateway.refuse.add(DM)
    await dispatcher.on_event(encrypted("$e1"))
    [row] = await kept_rows(deps)
    assert not row.keys_requested


async def test_kept_events_are_the_senders_data(deps: Deps, dispatcher: Dispatcher,
                                                clock: Clock, dm: str) -> None:
    await dispatcher.on_event(encrypted("$e1"))
    await dispatcher.on_event(encrypted("$u1", sender="@udo:test"))
    part = next(p for p in wire(deps).personal_data if p.name == "unreadable_messages")
    async with deps.db.session() as session:
        [exported] = await part.export(session, "@ala:test")
        assert exported["event_id"] == "$e1" and "source" not in exported
        assert await part.erase(session, "@ala:test", "@former-x:invalid") == 1
    assert [r.event_id for r in await kept_rows(deps)] == ["$u1"]
    clock.now += timedelta(days=8)
    async with deps.db.session() as session:
        assert await KeptEvents(session).prune(clock(), timedelta(days=7)) == 1
    assert await kept_rows(deps) == []


# -- files and private rooms ----------------------------------------------------------------

async def test_files_in_encrypted_rooms_are_sent_encrypted(
        driver: Any, gateway: FakeGateway) -> None:
    out = await driver.send("!mydata", room_id=ROOM)
    [dm] = gateway.created
    assert dm["encrypted"], "the direct chat the bot opens is encrypted"
    file = next(o for o in out if o.msgtype == "m.file")
    extra = dict(file.extra)
    assert "file" in extra and "url" not in extra
    assert extra["file"]["url"].startswith("mxc://")


async def test_private_rooms_can_be_left_unencrypted(db: Any, gateway: FakeGateway,
                                                     translator: Any, clock: Clock) -> None:
    config = parse_config(base_config(matrix={
        "homeserver": "http://127.0.0.1:1", "user_id": "@sbcc:test",
        "access_token": "secret-token-value", "encryption": {"private_rooms": False}}),
        environ={})
    deps = Deps(config=config, db=db, gateway=gateway, translator=translator, clock=clock,
                started_at=clock())
    driver_ = make_dispatcher(deps)
    await driver_.on_event(plain("$m", "!mydata", room_id=ROOM))
    [dm] = gateway.created
    assert not dm["encrypted"]
    file = next(o for o in gateway.sent if o.msgtype == "m.file")
    assert "url" in dict(file.extra)


# -- the key store on disk ----------------------------------------------------------------

def modes(directory: Path) -> dict[str, int]:
    found = {".": stat.S_IMODE(directory.stat().st_mode)}
    for path in directory.iterdir():
        found[path.name] = stat.S_IMODE(path.stat().st_mode)
    return found


def test_the_key_store_is_private(tmp_path: Path) -> None:
    store_dir = tmp_path / "keys"
    store = CryptoStore("@sbcc:test", "DEVICE", str(store_dir))
    olm = Olm("@sbcc:test", "DEVICE", store)  # creates and saves the device's account
    assert olm.account is not None
    found = modes(store_dir)
    assert found.pop(".") == 0o700
    assert found and set(found.values()) == {0o600}, found
    assert store.database.pragma("journal_mode") == "wal"
    # a copy restored with loose modes is tightened when opened again
    for path in store_dir.iterdir():
        os.chmod(path, 0o644)
    prepare_store_dir(store_dir)
    assert set(modes(store_dir).values()) == {0o600, 0o700}


def test_the_same_keys_are_opened_after_a_restart(tmp_path: Path) -> None:
    first = Olm("@sbcc:test", "DEVICE", CryptoStore("@sbcc:test", "DEVICE", str(tmp_path)))
    again = Olm("@sbcc:test", "DEVICE", CryptoStore("@sbcc:test", "DEVICE", str(tmp_path)))
    assert first.account.identity_keys == again.account.identity_keys


def test_the_key_store_passphrase_is_needed_to_open_it(tmp_path: Path) -> None:
    Olm("@sbcc:test", "DEVICE", CryptoStore("@sbcc:test", "DEVICE", str(tmp_path),
                                            "a long passphrase"))
    with pytest.raises(Exception):  # noqa: B017 (vodozemac's own error type)
        Olm("@sbcc:test", "DEVICE", CryptoStore("@sbcc:test", "DEVICE", str(tmp_path),
                                                "another one"))


# -- forwarded keys -------------------------------------------------------------------------

def test_a_forwarded_key_counts_only_from_the_sessions_own_device() -> None:
    assert forwarded_by_origin({"sender_key": "K", "forwarding_curve25519_key_chain": []},
                               "K")
    assert not forwarded_by_origin({"sender_key": "K",
                                    "forwarding_curve25519_key_chain": ["X"]}, "K")
    assert not forwarded_by_origin({"sender_key": "K",
                                    "forwarding_curve25519_key_chain": []}, "X")


def test_the_bot_accepts_the_answer_to_its_own_key_request_only(tmp_path: Path) -> None:
    olm = BotOlm("@sbcc:test", "DEVICE", CryptoStore("@sbcc:test", "DEVICE", str(tmp_path)))
    olm.device_store.add(OlmDevice("@ala:test", "ALADEV",
                                   {"ed25519": "ED-ALA", "curve25519": "CU-ALA"}))

    def forwarded(session: str, room: str = DM, signing: str = "ED-ALA",
                  chain: list[str] | None = None) -> ForwardedRoomKeyEvent:
        event = ForwardedRoomKeyEvent.from_dict({
            "type": "m.forwarded_room_key", "sender": "@ala:test", "content": {
                "algorithm": "m.megolm.v1.aes-sha2", "room_id": room, "session_id": session,
                "session_key": "k", "sender_key": "CU-ALA",
                "sender_claimed_ed25519_key": signing,
                "forwarding_curve25519_key_chain": chain or []}}, "@ala:test", "CU-ALA")
        assert isinstance(event, ForwardedRoomKeyEvent), event
        return event

    accepts = olm._should_accept_forward
    assert not accepts("@ala:test", "CU-ALA", forwarded("s1")), "never asked for"
    olm.outgoing_key_requests["s1"] = OutgoingKeyRequest("s1", "s1", DM,
                                                         "m.megolm.v1.aes-sha2")
    assert accepts("@ala:test", "CU-ALA", forwarded("s1"))
    assert not accepts("@ala:test", "CU-ALA", forwarded("s1", room="!other:test"))
    assert not accepts("@ala:test", "CU-ALA", forwarded("s1", signing="ED-EVE"))
    assert not accepts("@ala:test", "CU-ALA", forwarded("s1", chain=["CU-EVE"]))
    assert not accepts("@eve:test", "CU-EVE", forwarded("s1")), "an unknown device"


# -- configuration --------------------------------------------------------------------------

def matrix(**encryption: object) -> dict[str, object]:
    return base_config(matrix={"homeserver": "http://127.0.0.1:1", "user_id": "@sbcc:test",
                               "access_token": "secret-token-value",
                               "encryption": encryption})


def test_encryption_is_on_by_default_with_keys_beside_the_database() -> None:
    config = parse_config(base_config(database={"url": "sqlite:///data/sbcc.db"}),
                          environ={})
    e2e = config.matrix.encryption
    assert e2e.enabled and e2e.encrypt_private_rooms
    assert e2e.store_dir(config.database.url) == Path("data/sbcc.crypto")
    assert e2e.undecryptable_wait.delta == timedelta(minutes=2)
    assert e2e.store_dir("postgresql+asyncpg://db/sbcc") == Path("crypto-store")
    off = parse_config(matrix(enabled=False, private_rooms=True), environ={})
    assert not off.matrix.encryption.encrypt_private_rooms


def test_the_store_passphrase_comes_from_the_environment_and_stays_secret() -> None:
    config = parse_config(matrix(store_path="/var/lib/sbcc/keys"),
                          environ={"SBCC_CRYPTO_PASSPHRASE": "correct horse battery"})
    assert config.matrix.encryption.store_passphrase == "correct horse battery"
    assert "correct horse battery" in config.secrets()
    assert "correct horse" not in repr(config)


@pytest.mark.parametrize(("section", "problem"), [
    ({"enabled": "yes"}, "matrix.encryption.enabled: must be true or false"),
    ({"undecryptable_wait": "soon"}, "matrix.encryption.undecryptable_wait"),
    ({"store_passphrase": "replace-me"}, "matrix.encryption.store_passphrase"),
    ({"private_room": False}, "did you mean 'private_rooms'"),
])
def test_encryption_config_mistakes_are_named(section: dict[str, object],
                                              problem: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(matrix(**section), environ={})
    assert problem in str(err.value)


async def test_nio_refusing_is_a_final_gateway_error() -> None:
    from nio.exceptions import LocalProtocolError

    gateway = MatrixGateway("http://127.0.0.1:1", "@sbcc:test")

    async def refuse() -> None:
        raise LocalProtocolError("No such room")

    with pytest.raises(GatewayError) as err:
        await gateway._call(refuse, "send")
    assert "No such room" in str(err.value)
    await gateway.close()
