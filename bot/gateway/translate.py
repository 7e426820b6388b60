"""From raw Matrix JSON to `bot.events`, and the facts read from room state: pure functions,
no I/O, so they are tested without a homeserver."""

from __future__ import annotations

import math
from typing import Any

from bot.events import (
    MembershipChange,
    Message,
    PollResponse,
    Reaction,
    Redaction,
    RoomEvent,
    StateChange,
    Undecryptable,
)
from bot.polls import RESPONSE_TYPES, parse_response
from bot.text import without_surrogates

# Room versions in which the creators outrank everyone and are absent from power_levels.
CREATOR_POWER_VERSIONS = frozenset({"12", "org.matrix.hydra.11"})
# What an encrypted event may turn out to be (Element encrypts poll votes). State,
# memberships and redactions are never encrypted (the homeserver must read them): a
# decrypted payload claiming to be one is forged, and is ignored.
DECRYPTED_TYPES = frozenset({"m.room.message", "m.reaction", *RESPONSE_TYPES})


TIMELINE_LIMIT = 100  # events per room and /sync; a longer gap is fetched page by page


def sync_filter(timeline_limit: int = TIMELINE_LIMIT) -> dict[str, Any]:
    """What the bot syncs: room timelines and state, no presence, typing or receipts.
    Timelines are not filtered at all, not even the bot's own events (the gateway drops
    those): a `not_senders` filter does not spare the homeserver waking the bot's long-poll
    for each of its replies, and measured (bench/latency.py) it made every command's round
    trip 3-6% slower on Synapse. To-device messages (room keys) are not filtered:
    encryption needs them."""
    return {
        "presence": {"not_types": ["*"]},
        "account_data": {"not_types": ["*"]},
        "room": {
            "timeline": {"limit": timeline_limit},
            "state": {"lazy_load_members": True},
            "ephemeral": {"not_types": ["*"]},
            "account_data": {"not_types": ["*"]},
        },
    }


def _text(value: object) -> str | None:
    """A string from an event's JSON, or None. Lone surrogates (which JSON's \\ud800 escapes
    can produce, but no encoding can carry) become U+FFFD, so nothing later trips on them."""
    return without_surrogates(value) if isinstance(value, str) else None


def undecryptable(room_id: str, source: dict[str, Any]) -> Undecryptable | None:
    """An `m.room.encrypted` event the bot has no key for (yet)."""
    content = source.get("content")
    event_id, sender = source.get("event_id"), source.get("sender")
    if not isinstance(content, dict) or not isinstance(event_id, str) or not isinstance(
            sender, str):
        return None
    session_id = content.get("session_id")
    return Undecryptable(
        event_id=event_id, room_id=room_id, sender=sender, source=source,
        session_id=session_id if isinstance(session_id, str) else "",
        timestamp_ms=int(source.get("origin_server_ts") or 0),
    )


def to_room_event(room_id: str, source: dict[str, Any],
                  decrypted: bool = False) -> RoomEvent | None:
    """Translate one raw timeline event; None for what the bot does not look at.
    `decrypted`: `source` is the plaintext of an encrypted event (only messages, reactions
    and poll votes are believed from it)."""
    etype = source.get("type")
    content = source.get("content") or {}
    event_id = source.get("event_id", "")
    sender = source.get("sender", "")
    if not isinstance(content, dict):
        return None
    if decrypted and etype not in DECRYPTED_TYPES:
        return None
    if etype == "m.room.message":
        relates = content.get("m.relates_to") or {}
        if not isinstance(relates, dict):
            relates = {}
        reply = relates.get("m.in_reply_to") or {}
        return Message(
            event_id=event_id,
            room_id=room_id,
            sender=sender,
            body=_text(content.get("body")) or "",
            msgtype=str(content.get("msgtype", "")),
            formatted_body=_text(content.get("formatted_body")),
            timestamp_ms=int(source.get("origin_server_ts") or 0),
            in_reply_to=reply.get("event_id") if isinstance(reply, dict) else None,
            is_edit=relates.get("rel_type") == "m.replace",
        )
    if etype == "m.reaction":
        relates = content.get("m.relates_to") or {}
        if not isinstance(relates, dict) or relates.get("rel_type") != "m.annotation":
            return None
        target, key = relates.get("event_id"), _text(relates.get("key"))
        if not isinstance(target, str) or key is None:
            return None
        return Reaction(event_id, room_id, sender, target, key)
    if etype in RESPONSE_TYPES and "state_key" not in source:
        vote = parse_response(str(etype), content)
        if vote is None:
            return None
        return PollResponse(event_id, room_id, sender, vote[0], vote[1],
                            int(source.get("origin_server_ts") or 0))
    if etype == "m.room.encrypted":
        return undecryptable(room_id, source)
    if etype == "m.room.redaction":
        redacts = source.get("redacts") or content.get("redacts")
        return Redaction(event_id, room_id, sender, redacts) if isinstance(redacts, str) else None
    if decrypted or "state_key" not in source:  # state is never encrypted
        return None
    state_key = source["state_key"]
    if etype == "m.room.member":
        prev = (source.get("unsigned") or {}).get("prev_content") or {}
        name = _text(content.get("displayname"))
        return MembershipChange(
            event_id=event_id,
            room_id=room_id,
            user_id=state_key,
            membership=str(content.get("membership", "")),
            prev_membership=prev.get("membership") if isinstance(prev, dict) else None,
            sender=sender,
            display_name=name,
            timestamp_ms=int(source.get("origin_server_ts") or 0),
        )
    return StateChange(event_id, room_id, str(etype), str(state_key), sender, content)


def creator_power(state: list[dict[str, Any]], user_id: str) -> float | None:
    """`inf` when `user_id` is a creator of a room whose version privileges creators."""
    for ev in state:
        if ev.get("type") == "m.room.create" and ev.get("state_key") == "":
            content = ev.get("content") or {}
            if str(content.get("room_version", "1")) not in CREATOR_POWER_VERSIONS:
                return None
            creators = {ev.get("sender"), *(content.get("additional_creators") or [])}
            return math.inf if user_id in creators else None
    return None


def power_from_levels(content: dict[str, Any] | None, user_id: str) -> float:
    if content is None:  # no power_levels event: the spec's defaults
        return 0
    users = content.get("users") or {}
    if user_id in users:
        return float(users[user_id])
    return float(content.get("users_default", 0))


def is_encrypted_state(state: list[dict[str, Any]]) -> bool:
    """Whether a room's state turns encryption on (it can never be turned off)."""
    return any(ev.get("type") == "m.room.encryption" and ev.get("state_key") == ""
               for ev in state)
