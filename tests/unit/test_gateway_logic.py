"""The gateway's pure parts: event translation, message content, power levels (room v12)."""

from __future__ import annotations

import math

from bot.events import MembershipChange, Message, Outgoing, StateChange
from bot.gateway import creator_power, power_from_levels, to_room_event


def create_event(sender: str, version: str = "12", **content: object) -> dict:
    return {"type": "m.room.create", "state_key": "", "sender": sender,
            "content": {"room_version": version, **content}}


def test_v12_creator_outranks_everyone() -> None:
    state = [create_event("@ala:x")]
    assert creator_power(state, "@ala:x") == math.inf
    assert creator_power(state, "@bob:x") is None


def test_v12_additional_creators() -> None:
    state = [create_event("@ala:x", additional_creators=["@bob:y"])]
    assert creator_power(state, "@bob:y") == math.inf


def test_older_versions_use_power_levels_only() -> None:
    assert creator_power([create_event("@ala:x", version="10")], "@ala:x") is None


def test_power_levels_users_and_default() -> None:
    levels = {"users": {"@coord:x": 50}, "users_default": 5}
    assert power_from_levels(levels, "@coord:x") == 50
    assert power_from_levels(levels, "@other:x") == 5
    assert power_from_levels(None, "@other:x") == 0


def test_message_translation_reads_reply_and_edit() -> None:
    source = {"type": "m.room.message", "event_id": "$1", "sender": "@a:x",
              "origin_server_ts": 5,
              "content": {"msgtype": "m.text", "body": "!ping",
                          "m.relates_to": {"m.in_reply_to": {"event_id": "$0"}}}}
    event = to_room_event("!r", source)
    assert event == Message("$1", "!r", "@a:x", "!ping", "m.text", None, 5, "$0", False)
    source["content"]["m.relates_to"] = {"rel_type": "m.replace", "event_id": "$0"}
    edited = to_room_event("!r", source)
    assert isinstance(edited, Message) and edited.is_edit


def test_malformed_content_does_not_break_translation() -> None:
    assert to_room_event("!r", {"type": "m.room.message", "content": "garbage"}) is None
    odd = to_room_event("!r", {"type": "m.room.message", "event_id": "$2", "sender": "@a:x",
                               "content": {"body": 42, "m.relates_to": "x"}})
    assert isinstance(odd, Message) and odd.body == "" and odd.in_reply_to is None


def test_membership_and_state() -> None:
    member = to_room_event("!r", {
        "type": "m.room.member", "state_key": "@b:x", "sender": "@b:x", "event_id": "$3",
        "content": {"membership": "join", "displayname": "Bea"},
        "unsigned": {"prev_content": {"membership": "invite"}}})
    assert member == MembershipChange("$3", "!r", "@b:x", "join", "invite", "@b:x", "Bea", 0)
    topic = to_room_event("!r", {"type": "m.room.topic", "state_key": "", "sender": "@a:x",
                                 "event_id": "$4", "content": {"topic": "t"}})
    assert isinstance(topic, StateChange) and topic.type == "m.room.topic"
    assert to_room_event("!r", {"type": "m.reaction", "content": {}}) is None


def test_outgoing_content_is_a_spec_reply_notice() -> None:
    out = Outgoing("!r", "pong", "pong", reply_to="$1", mentions=("@a:x",), txn_id="t")
    assert out.content() == {
        "msgtype": "m.notice", "body": "pong", "format": "org.matrix.custom.html",
        "formatted_body": "pong", "m.relates_to": {"m.in_reply_to": {"event_id": "$1"}},
        "m.mentions": {"user_ids": ["@a:x"]},
    }
    assert Outgoing("!r", "hi").content()["m.mentions"] == {}


def test_error_responses_become_exceptions() -> None:
    import pytest
    from nio import ErrorResponse

    from bot.errors import GatewayError, HomeserverUnavailable
    from bot.gateway.client import _check

    class Transport:
        def __init__(self, status: int) -> None:
            self.status = status

    def error(status: int, code: str) -> ErrorResponse:
        resp = ErrorResponse("nope", code)
        resp.transport_response = Transport(status)
        return resp

    with pytest.raises(HomeserverUnavailable):
        _check(error(502, "M_UNKNOWN"), "sync")
    with pytest.raises(GatewayError) as final:
        _check(error(403, "M_FORBIDDEN"), "send")
    assert not isinstance(final.value, HomeserverUnavailable)
    assert final.value.errcode == "M_FORBIDDEN"
    assert _check("fine", "x") == "fine"


def test_reactions_and_redactions() -> None:
    from bot.events import Reaction, Redaction

    reaction = to_room_event("!r", {
        "type": "m.reaction", "event_id": "$r", "sender": "@a:x",
        "content": {"m.relates_to": {"rel_type": "m.annotation", "event_id": "$q",
                                     "key": "✅"}}})
    assert reaction == Reaction("$r", "!r", "@a:x", "$q", "✅")
    assert to_room_event("!r", {"type": "m.reaction", "content": {
        "m.relates_to": {"rel_type": "m.reference", "event_id": "$q"}}}) is None
    redaction = to_room_event("!r", {"type": "m.room.redaction", "event_id": "$d",
                                     "sender": "@a:x", "content": {"redacts": "$r"}})
    assert redaction == Redaction("$d", "!r", "@a:x", "$r")
    old_style = to_room_event("!r", {"type": "m.room.redaction", "event_id": "$d",
                                     "sender": "@a:x", "redacts": "$r", "content": {}})
    assert old_style == Redaction("$d", "!r", "@a:x", "$r")


def test_an_invite_says_whether_it_is_a_direct_chat() -> None:
    """As nio hands the invite state over (it moves a member event's content out of the
    event's source)."""
    from nio.events.invite_events import InviteEvent

    from bot.gateway import MatrixGateway

    gateway = MatrixGateway("http://127.0.0.1:1", "@sbcc:test")

    def invite_state(**content: object) -> list[object]:
        return [InviteEvent.parse_event({
            "type": "m.room.member", "sender": "@ala:test", "state_key": "@sbcc:test",
            "content": {"membership": "invite", **content}})]

    direct = gateway._invite("!dm:test", invite_state(is_direct=True))
    assert direct.is_direct and direct.inviter == "@ala:test"
    assert not gateway._invite("!room:test", invite_state()).is_direct
    assert not gateway._invite("!room:test", invite_state(is_direct="yes")).is_direct


def test_text_with_lone_surrogates_is_made_safe() -> None:
    event = to_room_event("!r:test", {"type": "m.room.message", "event_id": "$1",
                                      "sender": "@a:test",
                                      "content": {"msgtype": "m.text", "body": "hi \ud800!"}})
    assert isinstance(event, Message) and event.body == "hi \ufffd!"
    event.body.encode("utf-8")  # nothing later trips on it


def test_what_the_bot_sends_cannot_ping_the_room() -> None:
    content = Outgoing("!r:test", "hey @room and @Room!", "<a href='https://x/@room'>@room</a>"
                       ).content()
    assert "@room" not in content["body"].lower()
    assert "https://x/@room" in content["formatted_body"]  # a link keeps working
    assert ">@room<" not in content["formatted_body"]
    huge = Outgoing("!r:test", "x" * 100_000, "<b>" + "y" * 100_000 + "</b>").content()
    assert len(huge["body"]) + len(huge["formatted_body"]) < 65_536
