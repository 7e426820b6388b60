"""What the gateway hands to the rest of the bot: plain dataclasses, no nio types.

Keeping nio behind the gateway means commands, services and tests never depend on the
client library, and a recording fake of the gateway is a small, honest class.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from html import escape
from typing import Any

# Matrix allows 65 536 bytes for a whole event; what the bot writes stays well below.
CONTENT_LIMIT = 60_000
# "@room" notifies everyone in clients that follow the legacy push rule on the body, even
# without `m.mentions`: the bot never means it, so a word joiner keeps it from matching.
ROOM_PING = re.compile(r"@room\b", re.IGNORECASE)


TAG = re.compile(r"(<[^>]*>)")


def defuse(text: str) -> str:
    """`text` without anything that would notify a whole room."""
    return ROOM_PING.sub(lambda m: m.group(0)[0] + "\u2060" + m.group(0)[1:], text)


def defuse_html(html: str) -> str:
    """The same for HTML, in its text only: a link to `…/@room` keeps working."""
    return "".join(part if part.startswith("<") else defuse(part) for part in TAG.split(html))


def fitted(body: str, html: str | None) -> tuple[str, str | None]:
    """Body and HTML that fit in one event: when they do not, the body is cut (with "…")
    and the HTML is its escaped text (cutting HTML could break its markup)."""
    size = len(json.dumps({"body": body, "formatted_body": html or ""}).encode())
    if size <= CONTENT_LIMIT:
        return body, html
    cut = body
    while len(json.dumps(cut).encode()) > CONTENT_LIMIT // 2:
        cut = cut[:len(cut) * 3 // 4]
    cut = cut.rstrip() + " …"
    return cut, escape(cut, quote=False).replace("\n", "<br>")


@dataclass(frozen=True)
class Message:
    """An `m.room.message` from someone else."""

    event_id: str
    room_id: str
    sender: str
    body: str
    msgtype: str = "m.text"
    formatted_body: str | None = None
    timestamp_ms: int = 0
    in_reply_to: str | None = None
    is_edit: bool = False


@dataclass(frozen=True)
class Invite:
    room_id: str
    inviter: str | None
    is_direct: bool = False


@dataclass(frozen=True)
class MembershipChange:
    event_id: str
    room_id: str
    user_id: str
    membership: str
    prev_membership: str | None
    sender: str
    display_name: str | None = None
    timestamp_ms: int = 0


@dataclass(frozen=True)
class StateChange:
    """Any other state event; lets caches of power levels and names be invalidated."""

    event_id: str
    room_id: str
    type: str
    state_key: str
    sender: str
    content: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Reaction:
    """An `m.reaction` (annotation) on an event: an RSVP, an answer, a vote."""

    event_id: str
    room_id: str
    sender: str
    relates_to: str
    key: str


@dataclass(frozen=True)
class Redaction:
    """Someone removed an event (for us: usually a reaction being withdrawn)."""

    event_id: str
    room_id: str
    sender: str
    redacts: str


@dataclass(frozen=True)
class PollResponse:
    """A vote in a native poll (MSC3381, see `bot.polls`): the answer ids someone chose, as
    sent (unchecked against the poll's answers); none: the vote is withdrawn. Only a
    person's latest response counts."""

    event_id: str
    room_id: str
    sender: str
    poll_id: str  # the poll's start event
    answers: tuple[str, ...]
    timestamp_ms: int


@dataclass(frozen=True)
class Undecryptable:
    """An encrypted event the bot has no key for yet: kept (with its ciphertext) until the
    key arrives, then handled as what it turns out to be."""

    event_id: str
    room_id: str
    sender: str
    source: dict[str, Any] = field(hash=False, compare=False)
    session_id: str = ""
    timestamp_ms: int = 0


RoomEvent = (Message | MembershipChange | StateChange | Reaction | Redaction | PollResponse
             | Undecryptable)


@dataclass
class SyncBatch:
    """One /sync answer, already translated: timeline events in order, room by room."""

    next_batch: str
    events: list[RoomEvent] = field(default_factory=list)
    invites: list[Invite] = field(default_factory=list)
    left_rooms: list[str] = field(default_factory=list)
    room_keys: int = 0  # room keys that arrived with it: kept encrypted events may now open
    # Synced from a position this process was given itself (not one read from the database
    # at start): its events were never delivered before, to this process or any other
    fresh: bool = False


@dataclass(frozen=True)
class Outgoing:
    """A message to send. `html` must already be escaped (see `bot.formatting`)."""

    room_id: str
    body: str
    html: str | None = None
    msgtype: str = "m.notice"
    reply_to: str | None = None
    mentions: tuple[str, ...] = ()
    txn_id: str | None = None
    replaces: str | None = None  # edit this earlier event of ours instead of posting anew
    extra: tuple[tuple[str, Any], ...] = ()  # more content fields (a file's url and info)

    def _body(self) -> dict[str, Any]:
        body, html = fitted(defuse(self.body),
                            defuse_html(self.html) if self.html else self.html)
        content: dict[str, Any] = {"msgtype": self.msgtype, "body": body}
        if html is not None:
            content["format"] = "org.matrix.custom.html"
            content["formatted_body"] = html
        content["m.mentions"] = {"user_ids": list(self.mentions)} if self.mentions else {}
        content.update(self.extra)
        return content

    def content(self) -> dict[str, Any]:
        content = self._body()
        if self.replaces:
            fallback = {**content, "body": "* " + self.body}
            if self.html is not None:
                fallback["formatted_body"] = "* " + self.html
            fallback["m.new_content"] = content
            fallback["m.relates_to"] = {"rel_type": "m.replace", "event_id": self.replaces}
            return fallback
        if self.reply_to:
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": self.reply_to}}
        return content
