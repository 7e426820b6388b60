"""Native polls (MSC3381) without a homeserver: the events the bot sends, the votes it
reads, what it refuses to believe, and the fake gateway's side of it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.events import CONTENT_LIMIT, PollResponse, StateChange
from bot.gateway import sync_filter, to_room_event
from bot.polls import END_TYPES, RESPONSE_TYPES, START_TYPES, parse_response, poll_end, poll_start
from tests.fakes import FakeGateway

ROOM = "!room:test"
UNSTABLE, STABLE = RESPONSE_TYPES


def test_the_event_types() -> None:
    assert START_TYPES == ("org.matrix.msc3381.poll.start", "m.poll.start")
    assert RESPONSE_TYPES == ("org.matrix.msc3381.poll.response", "m.poll.response")
    assert END_TYPES == ("org.matrix.msc3381.poll.end", "m.poll.end")


# -- what the bot sends ----------------------------------------------------------------------

def test_a_poll_start_is_what_element_sends() -> None:
    """As matrix-js-sdk's `PollStartEvent.serialize()` writes it (unstable names)."""
    etype, content = poll_start("Lunch?", [("pizza", "Pizza 🍕"), ("soup", "Soup")])
    assert etype == "org.matrix.msc3381.poll.start"
    assert content == {
        "org.matrix.msc3381.poll.start": {
            "question": {"org.matrix.msc1767.text": "Lunch?"},
            "kind": "org.matrix.msc3381.poll.disclosed",
            "max_selections": 1,
            "answers": [
                {"id": "pizza", "org.matrix.msc1767.text": "Pizza 🍕"},
                {"id": "soup", "org.matrix.msc1767.text": "Soup"},
            ],
        },
        "org.matrix.msc1767.text": "Lunch?\n1. Pizza 🍕\n2. Soup",
    }


def test_an_undisclosed_poll_with_several_selections() -> None:
    _etype, content = poll_start("When?", [("mon", "Monday"), ("tue", "Tuesday"),
                                           ("wed", "Wednesday")],
                                 disclosed=False, max_selections=2)
    assert content["org.matrix.msc3381.poll.start"] == {
        "question": {"org.matrix.msc1767.text": "When?"},
        "kind": "org.matrix.msc3381.poll.undisclosed",
        "max_selections": 2,
        "answers": [
            {"id": "mon", "org.matrix.msc1767.text": "Monday"},
            {"id": "tue", "org.matrix.msc1767.text": "Tuesday"},
            {"id": "wed", "org.matrix.msc1767.text": "Wednesday"},
        ],
    }
    assert content["org.matrix.msc1767.text"] == "When?\n1. Monday\n2. Tuesday\n3. Wednesday"


def test_a_poll_end_refers_to_its_poll() -> None:
    etype, content = poll_end("$poll", "The poll has closed. Top answer: Soup")
    assert etype == "org.matrix.msc3381.poll.end"
    assert content == {
        "m.relates_to": {"rel_type": "m.reference", "event_id": "$poll"},
        "org.matrix.msc3381.poll.end": {},
        "org.matrix.msc1767.text": "The poll has closed. Top answer: Soup",
    }


def answers(n: int) -> list[tuple[str, str]]:
    return [(f"a{i}", f"Answer {i}") for i in range(n)]


@pytest.mark.parametrize(("question", "choices", "max_selections"), [
    ("", answers(2), 1),
    ("   ", answers(2), 1),
    ("q" * 501, answers(2), 1),
    ("Q?", [], 1),
    ("Q?", answers(21), 1),
    ("Q?", answers(2), 0),
    ("Q?", answers(2), 3),
    ("Q?", [("", "empty id")], 1),
    ("Q?", [("x" * 101, "long id")], 1),
    ("Q?", [("half\ud800", "lone surrogate in an id")], 1),
    ("Q?", [("a", "one"), ("a", "same id")], 1),
    ("Q?", [("a", "")], 1),
    ("Q?", [("a", "t" * 201)], 1),
])
def test_a_poll_clients_would_refuse_or_cut_is_not_built(
        question: str, choices: list[tuple[str, str]], max_selections: int) -> None:
    with pytest.raises(ValueError):
        poll_start(question, choices, max_selections=max_selections)


def test_the_largest_poll_fits_in_one_event() -> None:
    biggest = [(f"{n:02}" + "i" * 98, "𝕏" * 200) for n in range(20)]
    _etype, content = poll_start("𝕏" * 500, biggest, max_selections=20)
    assert len(json.dumps(content, ensure_ascii=False).encode()) <= CONTENT_LIMIT
    assert len(content["org.matrix.msc3381.poll.start"]["answers"]) == 20


def test_lone_surrogates_in_texts_are_made_safe() -> None:
    _etype, content = poll_start("Q\ud800?", [("a", "x\udfff")])
    json.dumps(content, ensure_ascii=False).encode()  # nothing trips on it
    assert content["org.matrix.msc1767.text"] == "Q\ufffd?\n1. x\ufffd"


# -- what the bot reads ----------------------------------------------------------------------

def relation(event_id: str = "$poll") -> dict[str, Any]:
    return {"m.relates_to": {"rel_type": "m.reference", "event_id": event_id}}


def test_an_unstable_response_as_element_sends_it() -> None:
    content = {**relation(), "org.matrix.msc3381.poll.response": {"answers": ["pizza"]}}
    assert parse_response(UNSTABLE, content) == ("$poll", ("pizza",))


def test_a_stable_response_as_the_msc_describes_it() -> None:
    content = {**relation(), "m.selections": ["mon", "wed"]}
    assert parse_response(STABLE, content) == ("$poll", ("mon", "wed"))


def test_no_answers_withdraw_the_vote() -> None:
    assert parse_response(UNSTABLE, {**relation(), UNSTABLE: {"answers": []}}) == ("$poll", ())
    assert parse_response(STABLE, {**relation(), "m.selections": []}) == ("$poll", ())


def test_answers_are_kept_as_sent_for_the_counter_to_judge() -> None:
    """Unknown ids spoil a vote, a repeated one counts once, extra ones are cut to the
    poll's max_selections (MSC3381): only the counter knows the poll, so nothing is
    dropped here."""
    content = {**relation(), "m.selections": ["b", "b", "nope", ""]}
    assert parse_response(STABLE, content) == ("$poll", ("b", "b", "nope", ""))


@pytest.mark.parametrize(("etype", "content"), [
    (UNSTABLE, {UNSTABLE: {"answers": ["a"]}}),  # no relation
    (UNSTABLE, {"m.relates_to": "$poll", UNSTABLE: {"answers": ["a"]}}),
    (UNSTABLE, {"m.relates_to": {"rel_type": "m.annotation", "event_id": "$poll"},
                UNSTABLE: {"answers": ["a"]}}),
    (UNSTABLE, {"m.relates_to": {"rel_type": "m.reference", "event_id": 7},
                UNSTABLE: {"answers": ["a"]}}),
    (UNSTABLE, {"m.relates_to": {"rel_type": "m.reference", "event_id": ""},
                UNSTABLE: {"answers": ["a"]}}),
    (UNSTABLE, {"m.relates_to": {"rel_type": "m.reference", "event_id": "$" + "p" * 300},
                UNSTABLE: {"answers": ["a"]}}),
    (UNSTABLE, {**relation()}),  # no answers block
    (UNSTABLE, {**relation(), UNSTABLE: ["a"]}),
    (UNSTABLE, {**relation(), UNSTABLE: {"answers": "a"}}),
    (UNSTABLE, {**relation(), UNSTABLE: {"answers": None}}),
    (UNSTABLE, {**relation(), UNSTABLE: {"answers": [1]}}),
    (UNSTABLE, {**relation(), UNSTABLE: {"answers": [["a"]]}}),
    (UNSTABLE, {**relation(), UNSTABLE: {"answers": [{"id": "a"}]}}),
    (UNSTABLE, {**relation(), UNSTABLE: {"answers": ["a"] * 21}}),
    (UNSTABLE, {**relation(), UNSTABLE: {"answers": ["a"] * 1_000_000}}),
    (UNSTABLE, {**relation(), UNSTABLE: {"answers": ["x" * 101]}}),
    (UNSTABLE, {**relation(), "m.selections": ["a"]}),  # the stable block, unstable type
    (STABLE, {**relation(), UNSTABLE: {"answers": ["a"]}}),  # and the other way round
    (STABLE, {**relation(), "m.selections": {"a": 1}}),
    (STABLE, {**relation(), "m.selections": [None]}),
    (STABLE, {**relation(), "m.selections": ["a", 2]}),
    (STABLE, {**relation(), "m.selections": ["x" * 10_000]}),
    (STABLE, {"m.selections": ["a"]}),
    ("m.reaction", {**relation(), "m.selections": ["a"]}),
    (STABLE, "not even a dict"),
])
def test_malformed_or_hostile_responses_are_no_votes(etype: str, content: Any) -> None:
    assert parse_response(etype, content) is None


def test_lone_surrogates_in_answer_ids_are_made_safe() -> None:
    assert parse_response(STABLE, {**relation(), "m.selections": ["a\ud800"]}) == (
        "$poll", ("a\ufffd",))


# -- translation -------------------------------------------------------------------------------

def response_event(etype: str, content: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": etype, "event_id": "$vote", "sender": "@ala:test",
            "origin_server_ts": 1234, "content": content, **extra}


@pytest.mark.parametrize(("etype", "block"), [
    (UNSTABLE, {UNSTABLE: {"answers": ["soup"]}}),
    (STABLE, {"m.selections": ["soup"]}),
])
def test_both_response_types_become_poll_responses(etype: str, block: dict[str, Any]) -> None:
    source = response_event(etype, {**relation(), **block})
    expected = PollResponse("$vote", ROOM, "@ala:test", "$poll", ("soup",), 1234)
    assert to_room_event(ROOM, source) == expected
    # Element encrypts votes in encrypted rooms: the plaintext is believed
    assert to_room_event(ROOM, source, decrypted=True) == expected


def test_junk_with_a_response_type_is_no_poll_response() -> None:
    assert to_room_event(ROOM, response_event(STABLE, {"m.selections": ["a"]})) is None
    assert to_room_event(ROOM, response_event(UNSTABLE, {**relation(), UNSTABLE: 5})) is None
    assert to_room_event(ROOM, response_event(UNSTABLE, "garbage")) is None  # type: ignore[arg-type]
    assert to_room_event(ROOM, response_event("m.poll.start", {**relation()})) is None


def test_a_response_as_state_is_no_vote_and_never_believed_decrypted() -> None:
    """A state event of a response type is only state; a decrypted payload claiming a
    state key is forged (state is never encrypted) and ignored."""
    source = response_event(STABLE, {**relation(), "m.selections": ["a"]}, state_key="")
    assert isinstance(to_room_event(ROOM, source), StateChange)
    assert to_room_event(ROOM, source, decrypted=True) is None
    forged = {"type": "org.example.custom", "state_key": "", "event_id": "$f",
              "sender": "@ala:test", "content": {}}
    assert to_room_event(ROOM, forged, decrypted=True) is None


def test_the_sync_filter_lets_votes_through() -> None:
    """Timelines are not filtered at all: no type is kept out (poll votes, whatever a
    feature reads next)."""
    spec = sync_filter()
    assert spec["room"]["timeline"] == {"limit": 100}


async def test_read_back_only_responses_to_this_poll_count() -> None:
    """What the relations API returns is checked again: a response whose (decrypted)
    relation names another poll, an end event or junk is no vote for this one."""
    from bot.gateway import MatrixGateway

    gateway = MatrixGateway("http://127.0.0.1:1", "@sbcc:test")  # encryption off
    ok = response_event(STABLE, {**relation(), "m.selections": ["a"]})
    assert gateway._poll_response(ROOM, "$poll", ok) == PollResponse(
        "$vote", ROOM, "@ala:test", "$poll", ("a",), 1234)
    assert gateway._poll_response(ROOM, "$other", ok) is None
    _etype, end = poll_end("$poll", "closed")
    assert gateway._poll_response(ROOM, "$poll", response_event(END_TYPES[0], end)) is None
    encrypted = {"type": "m.room.encrypted", "event_id": "$e", "sender": "@ala:test",
                 "origin_server_ts": 1, "content": {
                     "algorithm": "m.megolm.v1.aes-sha2", "ciphertext": "AwgA",
                     "sender_key": "curve", "device_id": "D", "session_id": "s1",
                     **relation()}}
    assert gateway._poll_response(ROOM, "$poll", encrypted) is None  # no key: skipped
    await gateway.close()


# -- the fake gateway ---------------------------------------------------------------------------

async def test_the_fake_gateway_records_events_once_per_transaction() -> None:
    gateway = FakeGateway()
    etype, content = poll_start("Q?", answers(2))
    first = await gateway.send_event(ROOM, etype, content, "txn-1")
    assert await gateway.send_event(ROOM, etype, content, "txn-1") == first
    assert gateway.events_sent == [(ROOM, etype, content, "txn-1")]
    vote = PollResponse("$v", ROOM, "@ala:test", first, ("a0",), 5)
    gateway.poll_answers[first] = [vote]
    assert await gateway.poll_responses(ROOM, first) == [vote]
    assert await gateway.poll_responses(ROOM, "$other") == []
