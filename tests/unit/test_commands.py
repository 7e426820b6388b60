"""The first four commands and the dispatcher's behaviour, through the real dispatcher."""

from __future__ import annotations

import logging

import pytest
from babel.messages.pofile import read_po

from bot.context import txn_base
from bot.dispatcher import Dispatcher, error_reference
from bot.events import Invite
from bot.i18n import default_catalog_dir
from bot.members import MemberService
from tests.fakes import Driver, FakeGateway


def po_string(lang: str, msgid: str) -> str:
    """A translation read straight from the catalog file (independent of the Translator)."""
    with (default_catalog_dir() / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        message = read_po(f, locale=lang)[msgid]
    assert message is not None and message.string, f"{msgid!r} untranslated in {lang}"
    return message.string


async def test_ping_replies_pong_as_a_notice_reply_with_mention(driver: Driver) -> None:
    [out] = await driver.send("!ping", event_id="$p1")
    assert out.body == "pong"
    assert out.msgtype == "m.notice"
    content = out.content()
    assert content["m.relates_to"] == {"m.in_reply_to": {"event_id": "$p1"}}
    assert content["m.mentions"] == {"user_ids": ["@ala:test"]}
    assert content["format"] == "org.matrix.custom.html"


async def test_ping_echoes_text_escaped_in_html(driver: Driver) -> None:
    [out] = await driver.send('!ping <b>hi</b> & "you"')
    assert out.body == 'pong <b>hi</b> & "you"'
    assert out.html == "pong &lt;b&gt;hi&lt;/b&gt; &amp; &quot;you&quot;"


async def test_lang_sets_language_and_answers_in_it(driver: Driver, deps) -> None:
    [out] = await driver.send("!lang pl")
    expected = po_string("pl", "From now on I speak %(language)s with you.") % {
        "language": "Polski"}
    assert out.body == expected
    async with deps.db.session() as s:
        member = await MemberService(s, deps.clock).get("@ala:test")
        assert member is not None and member.language == "pl"
    [pong] = await driver.send("!ping")
    assert pong.body == po_string("pl", "pong")


async def test_lang_accepts_region_codes_and_case(driver: Driver) -> None:
    [out] = await driver.send("!lang DE-de")
    assert "Deutsch" in out.body


async def test_lang_rejects_unknown_language_listing_choices(driver: Driver, deps) -> None:
    [out] = await driver.send("!lang fr")
    assert out.body.startswith("⚠️")
    for code in ("en", "pl", "de", "lt", "sv"):
        assert code in out.body
    assert "!lang [code]" in out.body  # the usage line
    async with deps.db.session() as s:
        member = await MemberService(s, deps.clock).get("@ala:test")
        assert member is None or member.language is None


async def test_lang_without_argument_shows_current(driver: Driver) -> None:
    [out] = await driver.send("!lang")
    assert "English" in out.body and "!lang <code>" in out.body


async def test_help_lists_commands_and_explains_one(driver: Driver) -> None:
    [out] = await driver.send("!help")
    for usage in ("!ping [text…]", "!lang [code]", "!about", "!help [name]"):
        assert usage in out.body
    assert "<li><code>" in (out.html or "")
    [one] = await driver.send("!help lang")
    assert one.body.splitlines()[0] == "!lang [code]"
    assert "!language" in one.body


async def test_about_names_the_network_and_version(driver: Driver) -> None:
    from bot import __version__

    [out] = await driver.send("!about")
    assert "South Baltic Creative Clusters" in out.body
    assert __version__ in out.body


async def test_unknown_command_suggests_the_closest(driver: Driver) -> None:
    [out] = await driver.send("!pnig")
    assert "!pnig" in out.body and "!ping" in out.body and "!help" in out.body


async def test_too_many_arguments_is_a_usage_error(driver: Driver) -> None:
    [out] = await driver.send("!lang pl de")
    assert "de" in out.body and "!lang [code]" in out.body


async def test_errors_are_translated(driver: Driver) -> None:
    await driver.send("!lang de")
    [out] = await driver.send("!lang xx")
    template = po_string(
        "de", "“%(value)s” is not a language I speak. Choose one of: %(choices)s.")
    assert template.split("%(value)s")[1].split("%(choices)s")[0] in out.body


async def test_ignores_own_messages_notices_and_plain_chat(driver: Driver) -> None:
    assert await driver.send("!ping", sender="@sbcc:test") == []
    assert await driver.send("!ping", msgtype="m.notice") == []
    assert await driver.send("hello everyone") == []
    assert await driver.send("! ping") == []
    assert await driver.send("!!!") == []


async def test_direct_chat_needs_no_prefix(driver: Driver, dispatcher: Dispatcher) -> None:
    await dispatcher.on_invite(Invite("!dm:test", "@ala:test", is_direct=True))
    [out] = await driver.send("ping there", room_id="!dm:test")
    assert out.body == "pong there"


async def test_a_room_of_two_is_not_a_direct_chat(driver: Driver, dispatcher: Dispatcher,
                                                  gateway: FakeGateway) -> None:
    """A direct chat is what Matrix says it is (the invite's is_direct), not any room in
    which only the bot and one member happen to be."""
    gateway.room_sizes["!two:test"] = 2
    await dispatcher.on_invite(Invite("!two:test", "@ala:test", is_direct=False))
    assert await driver.send("ping there", room_id="!two:test") == []
    [out] = await driver.send("!ping there", room_id="!two:test")
    assert out.body == "pong there"


async def test_direct_chats_are_remembered_across_restarts(deps, gateway: FakeGateway) -> None:
    from tests.conftest import make_dispatcher

    await make_dispatcher(deps).on_invite(Invite("!dm:test", "@ala:test", is_direct=True))
    again = Driver(make_dispatcher(deps), gateway)  # a new process reads it from the database
    [out] = await again.send("ping", room_id="!dm:test")
    assert out.body == "pong"


async def test_an_overlong_command_is_refused_before_parsing(driver: Driver) -> None:
    [out] = await driver.send("!ping " + "x" * 5000)
    assert out.body.startswith("⚠️ That message is too long for a command: 5005 bytes, at most "
                               "4096.")
    [out] = await driver.send("!" + "y" * 3000)  # an unknown name is not echoed in full
    assert len(out.body) < 200


async def test_reply_fallback_is_stripped(driver: Driver) -> None:
    [out] = await driver.send("> <@bob:test> earlier text\n> more\n\n!ping yes")
    assert out.body == "pong yes"


async def test_same_event_twice_is_answered_once(driver: Driver) -> None:
    message = driver.message("!ping once", event_id="$dup")
    first = await driver.deliver(message)
    second = await driver.deliver(message)
    assert len(first) == 1 and second == []


async def test_reply_txn_id_derives_from_the_event(driver: Driver) -> None:
    [out] = await driver.send("!ping", event_id="$stable")
    assert out.txn_id == f"{txn_base('$stable')}.1"
    assert txn_base("$stable") != txn_base("$other")


async def test_internal_error_gives_reference_not_exception_text(
    driver: Driver, dispatcher: Dispatcher, caplog: pytest.LogCaptureFixture, monkeypatch
) -> None:
    cmd = dispatcher.registry.get("ping")
    assert cmd is not None

    async def broken(ctx, text=""):  # noqa: ANN001
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr(cmd, "callback", broken)
    with caplog.at_level(logging.ERROR):
        [out] = await driver.send("!ping", event_id="$boom")
    ref = error_reference("$boom")
    assert ref in out.body
    assert "hunter2" not in out.body and "RuntimeError" not in out.body
    assert any("$boom" in r.getMessage() and ref in r.getMessage() for r in caplog.records)
    # and the event is recorded: a redelivery does not produce a second apology
    assert await driver.send("!ping", event_id="$boom") == []


async def test_failed_command_rolls_back_its_changes(driver: Driver, dispatcher, deps,
                                                     monkeypatch) -> None:
    cmd = dispatcher.registry.get("lang")
    original = cmd.callback

    async def set_then_fail(ctx, code=None):  # noqa: ANN001
        await original(ctx, code)
        raise RuntimeError("after the change")

    monkeypatch.setattr(cmd, "callback", set_then_fail)
    await driver.send("!lang sv")
    async with deps.db.session() as s:
        member = await MemberService(s, deps.clock).get("@ala:test")
        assert member is None or member.language is None


async def test_handler_exception_never_escapes_on_event(driver: Driver, dispatcher,
                                                        gateway: FakeGateway) -> None:
    gateway.fail_sends = 5  # even the apology cannot be sent
    assert await driver.send("!ping") == []  # no exception reached us
