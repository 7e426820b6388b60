"""Converters for command arguments: `async convert(ctx, raw)`, or raise `BadArgument`.

Use them as annotations: `code: LanguageCode`, `who: UserId`, `where: Place` (a configured
location's RoomSpec), `on: OnOff` (a bool), and `Annotated[int, Ref(N_("“%(value)s” is not an
event number."))]` for the number of something (12 or #12)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated
from urllib.parse import unquote

from bot.errors import BadArgument, UserError
from bot.framework.parsing import REPLY_FALLBACK
from bot.i18n import N_, SUPPORTED_LANGUAGES, normalise_language
from bot.text import shown
from rooms.topology import RoomSpec

if TYPE_CHECKING:
    from bot.context import Context

SHOWN = 40  # how much of a rejected value an error message repeats


class LanguageCode(str):
    """One of the supported language codes (en, pl, de, lt, sv)."""

    @classmethod
    async def convert(cls, ctx: Context, raw: str) -> LanguageCode:
        code = normalise_language(raw)
        if code is None:
            raise BadArgument(
                N_("“%(value)s” is not a language I speak. Choose one of: %(choices)s."),
                value=raw[:SHOWN], choices=", ".join(SUPPORTED_LANGUAGES),
            )
        return cls(code)


# A user ID's shape: historical localparts allow any printable ASCII but ':'.
MXID_RE = re.compile(r"^@[!-9;-~]{1,255}:[A-Za-z0-9.\-]+(:\d+)?$")
MATRIX_TO_RE = re.compile(r"https://matrix\.to/#/((?:@|%40)[^\s\"'<>?]+)", re.IGNORECASE)
NOT_AN_MXID = N_("“%(value)s” is not a Matrix ID. Write it like @name:server, or mention the "
                 "person.")


def message_html(ctx: Context) -> str:
    """The message's HTML without a client's reply quote."""
    return REPLY_FALLBACK.sub("", ctx.message.formatted_body or "")


def pills(html: str, start: int = 0) -> list[str]:
    """The users mentioned (as matrix.to pills) in `html` from `start` on, in order."""
    found = (unquote(m.group(1)) for m in MATRIX_TO_RE.finditer(html, start))
    return [mxid for mxid in dict.fromkeys(found) if MXID_RE.match(mxid)]


def user_argument(ctx: Context, raw: str) -> str:
    """A user named by a typed @name:server, a matrix.to link, or a mention pill (whose
    plain text is only the display name)."""
    link = MATRIX_TO_RE.search(raw)
    if link:
        linked = unquote(link.group(1))
        if MXID_RE.match(linked):
            return linked
        raise BadArgument(NOT_AN_MXID, value=shown(linked, 80))
    candidate = raw.strip().rstrip(".,;!?")
    if MXID_RE.match(candidate):
        return candidate
    mentioned = pills(message_html(ctx))
    if mentioned:
        return mentioned[0]
    raise BadArgument(NOT_AN_MXID, value=raw.strip()[:80])


class UserId(str):
    """A member, named as `user_argument` accepts."""

    @classmethod
    async def convert(cls, ctx: Context, raw: str) -> UserId:
        return cls(user_argument(ctx, raw))


def parse_switch(value: str) -> bool:
    """on/off (yes/no, true/false, 1/0), for switches."""
    word = value.strip().casefold()
    if word in ("on", "yes", "true", "1"):
        return True
    if word in ("off", "no", "false", "0"):
        return False
    raise BadArgument(N_("“%(value)s” is neither on nor off."), value=value[:SHOWN])


class Switch:
    """on or off, as a bool."""

    metavar = "on|off"

    @staticmethod
    async def convert(_ctx: Context, raw: str) -> bool:
        return parse_switch(raw)


class Location:
    """A configured location, by key or name in any case (its `RoomSpec`)."""

    metavar = "location"

    @staticmethod
    async def convert(ctx: Context, raw: str) -> RoomSpec:
        return ctx.deps.config.network.find_location(raw)


Place = Annotated[RoomSpec, Location]  # a location, typed as what the converter gives
OnOff = Annotated[bool, Switch]


@dataclass(frozen=True)
class Shown:
    """`Annotated[Rest, Shown("title with @name …")]`: how an argument reads in usage lines
    and !help, when its parameter's name would not say it."""

    metavar: str


@dataclass(frozen=True)
class Ref:
    """The number of a record as typed: 12 or #12. `msgid` (with %(value)s) says what is
    wanted; a number no record can have (0, or beyond a 32-bit column) gets `missing`
    (with %(id)s), as an unknown one does, and is never sent to the database."""

    msgid: str
    missing: str | None = None

    async def convert(self, _ctx: Context, raw: str) -> int:
        value = raw.strip().removeprefix("#")
        if not value.isascii() or not value.isdigit() or len(value) > 30:
            raise BadArgument(self.msgid, value=raw.strip()[:SHOWN], example="12")
        if not 0 < int(value) < 2**31:
            if self.missing is not None:
                raise UserError(self.missing, id=value)
            raise BadArgument(self.msgid, value=raw.strip()[:SHOWN], example="12")
        return int(value)
